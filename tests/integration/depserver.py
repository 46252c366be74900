"""A loopback HTTP server of the 2.18-style fixture's external archives, laid out as a mirror:
http://127.0.0.1:PORT/<original host>/<path>, what `--bazel-mirror` rewrites every URL to.

It is also the package index of the style's requirements lock: PEP 503 pages under /simple/ and the
pinned wheel under /packages/ (what `--bazel-pip-index URL/simple` points Bazel's pip at).

Optional Basic auth (for the 401 case) and a log of the paths asked for, so a test can prove who
downloaded what. Started and stopped by the test: a stopped server is the "network gone" proof.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from deps_archives import HOST, WHEEL_FILE, WHEEL_PROJECT, archives, wheel


class DepServer:
    def __init__(self, *, auth: tuple[str, str] | None = None) -> None:
        files = {f"/{HOST}/{path}": data for path, data in archives().items()}
        digest = hashlib.sha256(wheel()).hexdigest()
        files.update({
            "/simple/": f'<a href="{WHEEL_PROJECT}/">{WHEEL_PROJECT}</a>\n'.encode(),
            f"/simple/{WHEEL_PROJECT}/":
                f'<a href="../../packages/{WHEEL_FILE}#sha256={digest}">{WHEEL_FILE}</a>\n'.encode(),
            f"/packages/{WHEEL_FILE}": wheel(),
        })
        self.requests: list[str] = []
        expected = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() if auth else None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if expected and self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
                    self.end_headers()
                    return
                data = files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                if self.path.startswith("/simple/"):
                    self.send_header("Content-Type", "text/html")  # pip reads index pages of this type only
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple"

    def downloads(self) -> list[str]:
        """Bazel's downloads through the mirror (not the index's pages or wheels)."""
        return [r for r in self.requests if r.startswith(f"/{HOST}/")]

    def wheel_downloads(self) -> list[str]:
        return [r for r in self.requests if r.startswith("/packages/")]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
