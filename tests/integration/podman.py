"""Podman's Docker-compatible service, started by the tests on a socket of their own (rootful, as root).

Its image store is kept under the tests' cache root, so the images the tool builds there (content-keyed, as
on Docker) are reused by the next session, like the main engine's. Its configuration is the tests' own
(CONTAINERS_CONF, CONTAINERS_REGISTRIES_CONF), never the host's /etc/containers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.harness import cache_root


@dataclass(frozen=True)
class PodmanService:
    host: str  # unix://…/podman.sock
    top: Path
    proc: subprocess.Popen[bytes]

    def docker(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        """The docker CLI against Podman's socket: what a user with `DOCKER_HOST` pointed there runs."""
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def limits(self) -> dict[str, int]:
        """The hard limits the service itself runs with (/proc/PID/limits): "open files", "processes"."""
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.proc.pid}/limits").read_text().splitlines():
            for name in ("open files", "processes"):
                if line.startswith(f"Max {name} "):
                    found[name] = int(line.split()[-2])  # the hard limit (value before the unit)
        return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_podman(*, containers_conf: str = "", insecure_registry: str = "") -> PodmanService:
    podman = shutil.which("podman")
    if podman is None:
        pytest.fail("podman is missing: run scripts/setup-host.sh --test (Debian's podman and catatonit)")
    if os.geteuid() != 0:
        pytest.skip("the Podman tests run its rootful service, which needs root")
    top = Path(tempfile.mkdtemp(prefix="tfwb-podman-"))  # short: a unix socket's path is at most 107 bytes
    store = cache_root() / "podman" / "storage"
    store.mkdir(parents=True, exist_ok=True)
    (top / "containers.conf").write_text(containers_conf)
    registries = ['unqualified-search-registries = ["docker.io"]\n']
    if insecure_registry:  # the loopback registry speaks plain HTTP
        registries.append(f'[[registry]]\nlocation = "{insecure_registry}"\ninsecure = true\n')
    (top / "registries.conf").write_text("".join(registries))
    env = {**os.environ, "CONTAINERS_CONF": str(top / "containers.conf"),
           "CONTAINERS_REGISTRIES_CONF": str(top / "registries.conf")}
    # The run root is fixed: Podman's database records it beside the store and refuses another one. In /run,
    # a tmpfs, as Podman's own (its state goes with a reboot, which Podman expects).
    proc = subprocess.Popen([podman, "--root", str(store), "--runroot", "/run/tfwb-tests-podman", "system", "service",
                             "--time=0", f"unix://{top / 'podman.sock'}"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=(top / "service.log").open("wb"))
    service = PodmanService(host=f"unix://{top / 'podman.sock'}", top=top, proc=proc)
    for _ in range(60):
        if (top / "podman.sock").exists() and service.docker("version", timeout=20).returncode == 0:
            return service
        time.sleep(0.5)
    service.stop()
    pytest.fail(f"Podman's service did not answer: {(top / 'service.log').read_text()[-2000:]}")


def ulimits_conf(limits: dict[str, int]) -> str:
    """containers.conf giving every container the service's own hard limits: Podman otherwise asks runc for its
    built-in maximum, which a host without CAP_SYS_RESOURCE refuses (README, Podman)."""
    return (f'[containers]\ndefault_ulimits = ["nofile={limits["open files"]}:{limits["open files"]}", '
            f'"nproc={limits["processes"]}:{limits["processes"]}"]\n')


def can_raise_limits() -> bool:
    """Whether this process holds CAP_SYS_RESOURCE (bit 24 of CapEff): then Podman's defaults start anyway."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 24 & 1)
    return False
