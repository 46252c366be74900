"""Shared unit-test helpers: small, valid wheels built with zipfile; a static file server on loopback."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

WheelMaker = Callable[..., Path]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def write_wheel(directory: Path, *, name: str = "demo_pkg", version: str = "1.0",
                tag: str = "cp311-cp311-linux_aarch64", build: str = "",
                extra: Mapping[str, bytes] | None = None) -> Path:
    """A wheel with a proper dist-info (WHEEL, METADATA, RECORD), deflated like real ones."""
    dist_info = f"{name}-{version}.dist-info"
    files: dict[str, bytes] = {f"{name}/__init__.py": b"VALUE = 1\n" * 20}
    files.update(extra or {})
    wheel_lines = ["Wheel-Version: 1.0", "Generator: tfwheelbuild-tests", "Root-Is-Purelib: false",
                   f"Tag: {tag}"]
    if build:
        wheel_lines.append(f"Build: {build}")
    files[f"{dist_info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\n"
                                      f"Version: {version}\n").encode()
    files[f"{dist_info}/WHEEL"] = ("\n".join(wheel_lines) + "\n").encode()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    parts = [name, version, *([build] if build else []), tag]
    path = directory / ("-".join(parts) + ".whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


@pytest.fixture
def make_wheel(tmp_path: Path) -> WheelMaker:
    """`make_wheel(**kw)` writes a wheel into tmp_path (see write_wheel for the keywords)."""

    def make(**kw: object) -> Path:
        return write_wheel(tmp_path, **kw)  # type: ignore[arg-type]

    return make


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def static_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """(base URL, served directory) of a real HTTP server on 127.0.0.1, reached without any proxy."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The user's working directory for one test (no tfwheelbuild.toml unless the test writes one)."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return tmp_path / "dist"
