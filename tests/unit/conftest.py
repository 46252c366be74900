"""Shared unit-test helpers: small, valid wheels built with zipfile; a static file server on loopback; and
the guard that keeps unit tests off subprocesses, the network beyond loopback and the Docker engine."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import ipaddress
import socket
import subprocess
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import docker
import pytest

from tests.unit.helpers_refusal import git_repo

WheelMaker = Callable[..., Path]


class ReachedOutside(RuntimeError):
    """A unit test reached a real subprocess, network host or engine: that is an engine test's job."""


def _refuse(what: str) -> Callable[..., object]:
    def refuse(*args: object, **_kwargs: object) -> object:
        raise ReachedOutside(f"a unit test reached {what} {args[:1]!r}: use the fakes (tests/unit/fakes.py), "
                             "or mark the test "
                             "@pytest.mark.allow_subprocess if running a local tool is its point")

    return refuse


def _loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) and address else None
    if not isinstance(host, str):
        return False  # a unix socket: the Docker engine's default address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_outside_world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """cibuildwheel's guard: what would leave the process raises instead, so a unit test that means to fake
    the engine cannot silently talk to the real one. Servers a test starts on loopback stay reachable."""
    if request.node.get_closest_marker("allow_subprocess") is None:
        monkeypatch.setattr(subprocess, "Popen", _refuse("subprocess.Popen"))
    monkeypatch.setattr(docker, "DockerClient", _refuse("the Docker SDK (docker.DockerClient)"))
    monkeypatch.setattr(docker, "APIClient", _refuse("the Docker SDK (docker.APIClient)"))
    monkeypatch.setattr(docker, "from_env", _refuse("the Docker SDK (docker.from_env)"))
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex

    def guarded_connect(sock: socket.socket, address: object) -> None:
        if not _loopback(address):
            raise ReachedOutside(f"a unit test opened a connection to {address!r}: only loopback servers the "
                                 "test starts are allowed")
        connect(sock, address)  # type: ignore[arg-type]

    def guarded_connect_ex(sock: socket.socket, address: object) -> int:
        if not _loopback(address):
            raise ReachedOutside(f"a unit test opened a connection to {address!r}: only loopback servers the "
                                 "test starts are allowed")
        return connect_ex(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_subprocess: a unit test whose point is a local tool (git, sh, the "
                                       "CLI in a child process); the guard lets it run subprocesses")


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


@pytest.fixture
def tagged_repo(tmp_path: Path) -> Path:
    """A source with tag v2.16.1: a build from it passes every host-side check and goes for the engine."""
    return git_repo(tmp_path / "tensorflow", "v2.16.1")
