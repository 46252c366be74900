"""The real servers the end-to-end tests start on loopback (pypiserver, nginx's WebDAV, BuildGrid, a second
dockerd, docker-registry): what each one is, its configuration, and how it starts. conftest.py's fixtures
start and stop them."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.harness import cache_root


@dataclass(frozen=True)
class IndexServer:
    """A real pypiserver on loopback: uploads need the htpasswd user, reads are open (its default)."""

    url: str  # upload URL (pypiserver takes uploads at its root)
    simple_url: str
    user: str
    password: str
    packages: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "TWINE_USERNAME": self.user, "TWINE_PASSWORD": self.password, **extra}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_conf(prefix: Path, root: Path, port: int) -> str:
    """nginx.conf for a WebDAV cache rooted at `root`, everything else of nginx's under `prefix`."""
    return f"""\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
# The worker must be able to write into the cache root (the master runs as root here).
user root;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            root {root};
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 1G;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class WebDavCache:
    """nginx's WebDAV module on loopback: the simplest real HTTP cache Bazel speaks to."""

    url: str
    root: Path

    def usage(self) -> tuple[int, int]:
        """(files, bytes) stored."""
        files = [p for p in self.root.rglob("*") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)


BUILDGRID = "buildgrid==0.4.4"  # the newest on PyPI here; Bazel 4.2.3's gRPC client works with it


def buildgrid_venv() -> Path:
    """BuildGrid in its own venv (its pins are not ours), made once per machine, reused after."""
    import fcntl
    import shutil

    venv = cache_root() / "buildgrid-venv"
    stamp = venv / "tfwheelbuild-installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / "buildgrid-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == BUILDGRID and (venv / "bin" / "bgd").is_file():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # half-made or another version
        for argv in ([sys.executable, "-m", "venv", str(venv)],
                     [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", BUILDGRID]):
            result = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False)
            if result.returncode != 0:
                pytest.fail(f"could not install {BUILDGRID} into {venv}: {' '.join(argv)}\n{result.stderr[-3000:]}")
        stamp.write_text(BUILDGRID)
    return venv


@dataclass(frozen=True)
class GrpcCache(WebDavCache):
    """BuildGrid on loopback: a real REAPI (gRPC) cache, CAS and action results in one disk storage."""

    log: Path

    def requests(self) -> dict[str, int]:
        """REAPI method -> calls the server logged (it logs each request at -vv)."""
        import collections
        import re

        return dict(collections.Counter(re.findall(r'Received request\..* method="(\w+)"', self.log.read_text())))


def buildgrid_conf(root: Path, port: int) -> str:
    """bgd.yml for a cache in `root`, on loopback."""
    # Instance "" is the one Bazel asks for without --remote_instance_name; the LRU action cache
    # keeps its index in memory and the ActionResult messages in the disk storage, so usage() sees
    # both uploads. The capabilities service comes with the instance.
    return f"""\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
authorization:
  method: none
storages:
  - !disk-storage &storage
    path: {root}
caches:
  - !lru-action-cache &action-cache
    storage: *storage
    max-cached-refs: 100000
    allow-updates: true
    cache-failed-actions: false
instances:
  - name: ""
    services:
      - !action-cache
        cache: *action-cache
      - !cas
        storage: *storage
      - !bytestream
        storage: *storage
"""


@dataclass(frozen=True)
class SecondEngine:
    """A second dockerd on its own socket: a stand-in for a remote Docker host, sharing nothing with the
    main engine (/var/run/docker.sock) but the kernel."""

    host: str  # unix://…/docker.sock
    data_root: Path
    log: Path

    def docker(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def answers(self) -> bool:
        try:
            return self.docker("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False


@dataclass(frozen=True)
class ImageRegistry:
    """Debian's docker-registry (the distribution registry) on loopback; `htpasswd`: asks for ci/pw."""

    host: str  # 127.0.0.1:PORT, which dockerd treats as an insecure (plain HTTP) registry

    def tag(self, name: str) -> str:
        return f"{self.host}/{name}"


def _start_registry(root: Path, *, auth: bool) -> tuple[subprocess.Popen[bytes], ImageRegistry]:
    import shutil
    import time
    import urllib.error
    import urllib.request
    import warnings

    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is missing: run scripts/setup-host.sh --test (Debian's docker-registry)")
    port = _free_port()
    config = [f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
              f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"]
    if auth:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # the registry takes bcrypt only; glibc's crypt makes it with no extra package

            hashed = crypt.crypt("pw", crypt.mksalt(crypt.METHOD_BLOWFISH))
        (root / "htpasswd").write_text(f"ci:{hashed}\n")
        config.append(f"auth:\n  htpasswd:\n    realm: tfwb\n    path: {root / 'htpasswd'}\n")
    (root / "config.yml").write_text("".join(config))
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=(root / "registry.log").open("wb"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(100):
        try:
            opener.open(f"http://127.0.0.1:{port}/v2/", timeout=2).close()
            break
        except urllib.error.HTTPError:
            break  # 401: up, and asking for credentials
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"docker-registry did not answer: {(root / 'registry.log').read_text()[-2000:]}")
    return proc, ImageRegistry(host=f"127.0.0.1:{port}")
