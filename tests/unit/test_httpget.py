import base64
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from tfwheelbuild.util import httpget


class _Refuses(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401 if "Authorization" not in self.headers else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_url_auth_unquotes_the_userinfo() -> None:
    assert httpget.url_auth("https://us%40er:p%3Ass@example.invalid/x") == ("us@er", "p:ss")
    assert httpget.url_auth("https://example.invalid/x") is None


def test_request_sends_basic_auth_from_a_pair() -> None:
    built = httpget.request("https://example.invalid/", auth=("u", "p"))
    assert built.get_header("Authorization") == "Basic " + base64.b64encode(b"u:p").decode()


def test_failure_tells_a_status_from_no_answer(refusing_server: str) -> None:
    with pytest.raises(OSError) as refused:
        httpget.open_request(httpget.request(refusing_server), timeout=5, direct=True)
    assert httpget.failure(refused.value)[0] == 401
    with httpget.open_request(httpget.request(refusing_server, auth=("u", "p")), timeout=5, direct=True):
        pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    with pytest.raises(OSError) as silent:
        httpget.open_request(httpget.request(closed), timeout=5, direct=True)
    code, reason = httpget.failure(silent.value)
    assert code is None and reason
