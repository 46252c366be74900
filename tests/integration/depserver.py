"""A loopback HTTP server of the 2.18-style fixture's external archives, laid out as a mirror:
http://127.0.0.1:PORT/<original host>/<path>, what `--bazel-mirror` rewrites every URL to.

Optional Basic auth (for the 401 case) and a log of the paths asked for, so a test can prove who
downloaded what. Started and stopped by the test: a stopped server is the "network gone" proof.
"""

from __future__ import annotations

import base64
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from deps_archives import HOST, archives


class DepServer:
    def __init__(self, *, auth: tuple[str, str] | None = None) -> None:
        files = {f"/{HOST}/{path}": data for path, data in archives().items()}
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
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def downloads(self) -> list[str]:
        return [r for r in self.requests if r != "/"]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
