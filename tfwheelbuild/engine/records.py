"""What the engine side hands back and takes: plain records and the labels the tool puts on its things."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tfwheelbuild.errors import UsageError

ARM64 = "linux/arm64"
LABEL = "org.tfwheelbuild"
BUILD_LABEL = "org.tfwheelbuild.build"
# What the Docker SDK can connect to (docker.utils.parse_host and the ssh client).
LineSink = Callable[[str], None]
RUN_ONCE_SECONDS = 300
USER_IMAGE_ROLE = "image"
TOOLS_ROLE = "tools"  # one-file images (FROM scratch): no shell, nothing to run in
# The roles of full arm64 OS images (a shell, `uname`), the smallest first.
SHELL_ROLES = ("base", "runtime", "builder")


@dataclass(frozen=True, kw_only=True)
class EngineInfo:
    version: str
    api_version: str
    arch: str  # the engine host's machine: x86_64, aarch64
    cpus: int
    mem_bytes: int
    root_dir: str = ""  # where the engine keeps images and volumes (on the engine's host)
    kind: str = "docker"  # docker, podman, docker-desktop (engine_kind)

    @property
    def native_arm64(self) -> bool:
        return self.arch in ("aarch64", "arm64")

    @property
    def label(self) -> str:
        return {"podman": "Podman", "docker-desktop": "Docker Desktop"}.get(self.kind, "Docker")


def engine_kind(version: Mapping[str, Any], info: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, its own version) of the engine behind the Docker API: Podman's compatible service names
    itself among the /version components ("Podman Engine"); Docker Desktop (Apple silicon, Windows) in
    /info's OperatingSystem. Pure, from the two answers."""
    for component in version.get("Components") or []:
        if isinstance(component, Mapping) and "podman" in str(component.get("Name", "")).lower():
            return "podman", str(component.get("Version") or version.get("Version", "?"))
    if "podman" in str((version.get("Platform") or {}).get("Name", "")).lower():
        return "podman", str(version.get("Version", "?"))
    if str(info.get("OperatingSystem", "")).startswith("Docker Desktop"):
        return "docker-desktop", str(version.get("Version", "?"))
    return "docker", str(version.get("Version", "?"))


@dataclass(frozen=True, kw_only=True)
class Resource:
    name: str
    size: int
    created: str
    kind: str
    id: str


@dataclass(frozen=True, kw_only=True)
class BuildContainer:
    name: str
    build_id: str
    status: str  # running, exited, ...
    created: str


@dataclass(frozen=True, kw_only=True)
class ToolContainer:
    """Any container carrying the tool's label, as `clean` sees it."""

    id: str
    name: str
    status: str  # created, running, paused, restarting, removing, exited, dead
    labels: Mapping[str, str]

    @property
    def stopped(self) -> bool:
        return self.status in ("created", "exited", "dead")


@dataclass(frozen=True, kw_only=True)
class Mount:
    source: str  # a volume name or an absolute host path
    target: str
    read_only: bool = False



DOCKER_SOCKET = "/var/run/docker.sock"


def podman_socket(env: Mapping[str, str], exists: Callable[[str], bool], uid: int) -> str | None:
    """Where Podman's Docker-compatible service listens, when nothing names an engine and Docker's own socket
    is absent (a RHEL-family host that runs Podman, as cibuildwheel's users do): the user's rootless socket
    (`systemctl --user start podman.socket`) first, then the rootful one (`systemctl start podman.socket`).
    None: the Docker SDK's own default stands."""
    if env.get("DOCKER_HOST") or exists(DOCKER_SOCKET):
        return None
    runtime = env.get("XDG_RUNTIME_DIR") or (f"/run/user/{uid}" if uid else "")
    candidates = [f"{runtime}/podman/podman.sock"] if runtime else []
    candidates.append("/run/podman/podman.sock")
    return next((f"unix://{path}" for path in candidates if exists(path)), None)


def check_engine_address(value: str) -> str:
    """An engine address the SDK can use (unix://, tcp://, ssh://, …), else UsageError; `value` back."""
    from tfwheelbuild.core import validate

    try:
        if validate.docker_host(value):
            return value
    except ValueError:
        pass
    raise UsageError(f"{value!r} is not a Docker engine address",
                     remedy="give unix:///var/run/docker.sock, tcp://HOST:2375, ssh://USER@HOST (the docker CLI's "
                            "DOCKER_HOST forms)")
