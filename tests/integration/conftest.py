"""End-to-end fixtures: a real Docker engine, emulated arm64, the TensorFlow-shaped source repo.

Nothing here is mocked. The engine must answer (`make test` starts one through
scripts/setup-host.sh); images and Bazel caches are content-keyed and reused across runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from make_repo import make_repo  # noqa: E402

FIXTURE_PATCHES = ROOT / "tests" / "fixtures" / "patches"


def cache_root() -> Path:
    """Outside the checkout, so CI's fresh clones on the same machine reuse it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tfwheelbuild-tests"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, object]:
        return dict(json.loads(self.stdout.strip().splitlines()[-1]))


def tfwheelbuild(*args: str, timeout: int = 3600, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> CliResult:
    """The real command line, in a real process, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "tfwheelbuild", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False, env=env, cwd=cwd)
    sys.stderr.write(proc.stderr[-4000:])
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def engine_ready() -> None:
    result = subprocess.run(["docker", "info"], capture_output=True, check=False)
    if result.returncode != 0:
        pytest.fail("no Docker engine answers: run `make test` (it starts one) or scripts/setup-host.sh")


@pytest.fixture(scope="session")
def fixture_repo(engine_ready: None) -> Path:
    return make_repo(cache_root() / "fixture-repo", units=3)


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    path = cache_root() / "work"
    path.mkdir(parents=True, exist_ok=True)
    # Runtime-test passes are kept by wheel bytes across runs; each test session starts without them,
    # so every distinct wheel is really tested at least once per session.
    import shutil

    shutil.rmtree(path / "test-results", ignore_errors=True)
    yield path


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


@pytest.fixture()
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    import time
    import urllib.request

    from passlib.apache import HtpasswdFile

    packages = tmp_path / "packages"
    packages.mkdir()
    # apr_md5_crypt (Apache's own), not bcrypt: passlib 1.7 breaks on bcrypt >= 4.1.
    htpasswd = HtpasswdFile(str(tmp_path / "htpasswd"), new=True, default_scheme="apr_md5_crypt")
    user, password = "nightly", "s3cret-Index-pw"
    htpasswd.set_password(user, password)
    htpasswd.save()
    port = _free_port()
    log = (tmp_path / "pypiserver.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("pypi-server")), "run", "-i", "127.0.0.1", "-p", str(port),
         "-P", str(tmp_path / "htpasswd"), "-a", "update", str(packages)],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/simple/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"pypiserver exited: {(tmp_path / 'pypiserver.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield IndexServer(url=url, simple_url=url + "/simple/", user=user, password=password, packages=packages)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@dataclass(frozen=True)
class WebDavCache:
    """nginx's WebDAV module on loopback: the simplest real HTTP cache Bazel speaks to."""

    url: str
    root: Path

    def usage(self) -> tuple[int, int]:
        """(files, bytes) stored."""
        files = [p for p in self.root.rglob("*") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)


@pytest.fixture()
def webdav_cache(tmp_path: Path) -> Iterator[WebDavCache]:
    import shutil
    import time
    import urllib.error
    import urllib.request

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: `make test` installs nginx-light (scripts/setup-host.sh --test)")
    prefix = tmp_path / "nginx"
    root = prefix / "cache"
    root.mkdir(parents=True)
    port = _free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(f"""\
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
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "probe", timeout=1)
            except urllib.error.HTTPError:
                break  # 404: nginx answers
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"nginx exited: {(prefix / 'error.log').read_text()[-2000:]}")
                time.sleep(0.1)
        yield WebDavCache(url=url, root=root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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


@pytest.fixture()
def grpc_cache(tmp_path: Path) -> Iterator[GrpcCache]:
    import socket
    import time

    bgd = buildgrid_venv() / "bin" / "bgd"
    prefix = tmp_path / "buildgrid"
    root = prefix / "storage"
    root.mkdir(parents=True)
    port = _free_port()
    conf = prefix / "bgd.yml"
    # Instance "" is the one Bazel asks for without --remote_instance_name; the LRU action cache
    # keeps its index in memory and the ActionResult messages in the disk storage, so usage() sees
    # both uploads. The capabilities service comes with the instance.
    conf.write_text(f"""\
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
""")
    log = prefix / "bgd.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(bgd), "server", "start", "-vv", str(conf)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    url = f"grpc://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"BuildGrid did not come up on 127.0.0.1:{port} (exit {proc.poll()}):\n"
                                f"{log.read_text()[-3000:]}")
                time.sleep(0.2)
        probe = subprocess.run([str(bgd), "capabilities", "--remote", url], capture_output=True, text=True,
                               timeout=60, check=False)
        if probe.returncode != 0 or "cacheCapabilities" not in probe.stdout:
            pytest.fail(f"BuildGrid on {url} does not answer GetCapabilities:\n{probe.stdout[-1500:]}"
                        f"{probe.stderr[-1500:]}\n{log.read_text()[-1500:]}")
        yield GrpcCache(url=url, root=root, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


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


@pytest.fixture(scope="module")
def second_engine(engine_ready: None) -> Iterator[SecondEngine]:
    import secrets
    import shutil
    import signal
    import tempfile
    import time

    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.fail("dockerd is missing: Debian's docker.io provides it (scripts/setup-host.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("starting a second dockerd needs root")
    # Short paths (a unix socket's is limited to 107 bytes), in /tmp: on the disk the main engine uses.
    top = Path(tempfile.mkdtemp(prefix="tfwb-dockerd-"))
    bridge = f"tfwb-br{secrets.token_hex(3)}"  # interface names: at most 15 characters
    subnet = f"10.213.{secrets.randbelow(250) + 1}"
    for step in (["link", "add", bridge, "type", "bridge"], ["addr", "add", f"{subnet}.1/24", "dev", bridge],
                 ["link", "set", bridge, "up"]):
        subprocess.run(["ip", *step], check=True)
    (top / "daemon.json").write_text("{}\n")  # not /etc/docker/daemon.json, whatever the main engine was given
    argv = [dockerd, "--config-file", str(top / "daemon.json"), "--host", f"unix://{top / 'docker.sock'}",
            "--data-root", str(top / "data"), "--exec-root", str(top / "exec"), "--pidfile", str(top / "dockerd.pid"),
            # Its own bridge, made here; no iptables/ip6tables rules, no ip_forward sysctl, no NAT: nothing the
            # main engine's networking sees. Not --bridge=none: dockerd then deletes the host's docker0,
            # which the main engine's containers need (moby daemon_unix.go, removeDefaultBridgeInterface).
            f"--bridge={bridge}", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"]
    # No --containerd: dockerd starts its own containerd, rooted in <data-root>/containerd/daemon with its
    # state, config and sockets in <exec-root>/containerd (the main engine's are under /var/run/docker).
    engine = SecondEngine(host=f"unix://{top / 'docker.sock'}", data_root=top / "data", log=top / "dockerd.log")
    with engine.log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not engine.answers():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the second dockerd did not answer on {engine.host} within 60 s (exit {proc.poll()}):\n"
                            f"{engine.log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield engine
    finally:
        proc.send_signal(signal.SIGTERM)  # dockerd stops its containers and its containerd, and unmounts
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pidfile = top / "exec" / "containerd" / "containerd.pid"
            try:  # this dockerd's own containerd (its config is under `top`), never the main engine's
                pid = int(pidfile.read_text())
                if str(top) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        left = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                if line.split()[1].startswith(str(top))]
        for mount in reversed(left):
            subprocess.run(["umount", "-l", mount], check=False)
        shutil.rmtree(top, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", bridge], check=False)


@pytest.fixture(scope="session")
def fixture_wheel(fixture_repo: Path, work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's 2.16.1 wheel, built once per session in cross mode (seconds with warm Bazel caches),
    with its manifest beside it: for the tests that start from a built wheel (images, registries)."""
    out = tmp_path_factory.mktemp("fixture-wheel")
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--patches",
                          str(FIXTURE_PATCHES), "--output", str(out), "--work-dir", str(work_dir), "--mode", "cross",
                          "--json")
    assert result.code == 0, result.stderr[-3000:]
    return Path(str(result.json()["wheel"]))


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


@pytest.fixture()
def image_registry(tmp_path: Path) -> Iterator[ImageRegistry]:
    (tmp_path / "open").mkdir()
    proc, registry = _start_registry(tmp_path / "open", auth=False)
    yield registry
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def auth_registry(tmp_path: Path) -> Iterator[ImageRegistry]:
    (tmp_path / "auth").mkdir()
    proc, registry = _start_registry(tmp_path / "auth", auth=True)
    yield registry
    proc.terminate()
    proc.wait(timeout=10)
