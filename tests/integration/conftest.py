"""End-to-end fixtures: a real Docker engine, emulated arm64, the TensorFlow-shaped source repo.

Nothing here is mocked. The engine must answer (`make test` starts one through
scripts/setup-host.sh); images and Bazel caches are content-keyed and reused across runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.faults import NAMESPACE
from tests.integration.harness import FIXTURE_PATCHES, ROOT, cache_root, tfwheelbuild
from tests.integration.servers import (
    GrpcCache,
    ImageRegistry,
    IndexServer,
    SecondEngine,
    WebDavCache,
    _free_port,
    _start_registry,
    buildgrid_conf,
    buildgrid_venv,
    nginx_conf,
)

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from make_repo import make_repo


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


# The fault suite's builds (test_faults_e2e.py, test_faults_resources_e2e.py): their own cache namespace.
@pytest.fixture()
def build_args(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> list[str]:
    return ["build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--work-dir", str(work_dir),
            "--cache-namespace", NAMESPACE, "--output", str(tmp_path / "out"), "--patches", str(FIXTURE_PATCHES)]


@pytest.fixture()
def emulated_args(build_args: list[str]) -> list[str]:
    """The arm64 builder under qemu, whose stages last long enough to be signalled, filled or stopped
    mid-way. On this x86_64 host `auto` cross-compiles, and a warm cross compile is over in seconds."""
    return [*build_args, "--mode", "emulated"]


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
    conf.write_text(nginx_conf(prefix, root, port))
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
    conf.write_text(buildgrid_conf(root, port))
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
