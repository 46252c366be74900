"""The engine: containers, exec with streamed output, files in and out, cleanup. Only the engine side
(engine.py and its engine_*.py parts: images, housekeeping, failures, records) imports `docker`.

Stages talk to the engine through this small surface so that the pure planning code never sees
the SDK, and so that every container a run starts is tracked and removed however the run ends.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from tfwheelbuild.engine.failures import ENGINE_FAILURES, container_error, first_line
from tfwheelbuild.engine.images import EngineImages
from tfwheelbuild.engine.inventory import EngineHousekeeping
from tfwheelbuild.engine.records import (
    ARM64,
    BUILD_LABEL,
    LABEL,
    RUN_ONCE_SECONDS,
    USER_IMAGE_ROLE,
    BuildContainer,
    EngineInfo,
    LineSink,
    Mount,
    Resource,
    ToolContainer,
    check_engine_address,
    engine_kind,
    podman_socket,
)
from tfwheelbuild.errors import (
    EmulationMissingError,
    EngineError,
    EngineUnavailableError,
)
from tfwheelbuild.util.interrupts import signals_deferred

# What `from tfwheelbuild.engine.client import …` offered before images, housekeeping and records got modules.
__all__ = ["ARM64", "BUILD_LABEL", "ENGINE_FAILURES", "LABEL", "RUN_ONCE_SECONDS", "USER_IMAGE_ROLE", "BuildContainer",
           "Engine", "EngineInfo", "LineSink", "Mount", "Resource", "ToolContainer", "check_engine_address",
           "engine_kind", "podman_socket"]


class Engine(EngineImages, EngineHousekeeping):
    """Containers a run starts and execs into, tracked so every one is removed however the run ends; the
    images and housekeeping methods come from the two mixins."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._containers: dict[str, Any] = {}
        # Put on every container this engine starts (a build's id), so a run's containers can be
        # told from those of other runs on the same engine.
        self.labels: dict[str, str] = {}
        self._kept: set[str] = set()

    @classmethod
    def connect(cls, base_url: str | None = None) -> Engine:
        if base_url is None:
            # Found once and put where --docker-host puts an address: later connections and the docker
            # commands this process runs then reach the same engine.
            detected = podman_socket(os.environ, os.path.exists, os.getuid())
            if detected:
                os.environ["DOCKER_HOST"] = detected
        try:
            # ssh:// engines go through the ssh client, as the docker CLI does (the user's ssh config
            # and agent), instead of paramiko.
            client = (docker.DockerClient(base_url=base_url, version="auto", use_ssh_client=True) if base_url
                      else docker.from_env(version="auto", use_ssh_client=True))
            client.ping()
        except Exception as exc:  # the SDK raises many unrelated types for "nothing answers"
            # The address itself, as the user gave it (--docker-host sets DOCKER_HOST): "DOCKER_HOST"
            # would send someone who typed --docker-host looking for a variable they never set.
            where = base_url or os.environ.get("DOCKER_HOST") or "the default socket (/var/run/docker.sock)"
            remedy = (f"start the engine at {where}, or point --docker-host (or DOCKER_HOST) at one that answers"
                      if base_url or os.environ.get("DOCKER_HOST") else
                      "start Docker (scripts/setup-host.sh does it on Debian/Ubuntu) or Podman's service "
                      "(`systemctl start podman.socket`), or set DOCKER_HOST")
            raise EngineUnavailableError(f"cannot reach a Docker engine at {where}: {first_line(exc)}",
                                         remedy=remedy) from exc
        return cls(client)

    def info(self) -> EngineInfo:
        try:
            data = self._client.info()
            version = self._client.version()
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error reading its facts: {first_line(exc)}") from exc
        kind, kind_version = engine_kind(version, data)
        return EngineInfo(version=kind_version, kind=kind,
                          api_version=str(version.get("ApiVersion", "?")),
                          arch=str(data.get("Architecture", "?")), cpus=int(data.get("NCPU", 1)),
                          mem_bytes=int(data.get("MemTotal", 0)), root_dir=str(data.get("DockerRootDir", "")))

    # ---- volumes ------------------------------------------------------------------------------
    def ensure_volume(self, name: str, labels: Mapping[str, str]) -> None:
        try:
            try:
                self._client.volumes.get(name)
            except docker.errors.NotFound:
                self._client.volumes.create(name=name, labels=dict(labels))
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error preparing cache volume {name}: {first_line(exc)}") from exc


    # ---- containers ---------------------------------------------------------------------------
    def start(self, image: str, *, mounts: Sequence[Mount], labels: Mapping[str, str],
              env: Mapping[str, str] | None = None, platform: str = ARM64,
              name: str | None = None, network: str = "bridge", mem_limit: int = 0) -> str:
        """Start a long-lived container (steps then run in it with `exec`); network "host" reaches loopback.

        `mem_limit` (bytes) caps memory and swap alike, so a build over it meets the OOM killer
        instead of swapping for hours.
        """
        limits = {"mem_limit": mem_limit, "memswap_limit": mem_limit} if mem_limit else {}
        volumes = {m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in mounts}
        return self._tracked_run(image, command=["sleep", "infinity"], platform=platform, volumes=volumes,
                                 labels={**labels}, environment=dict(env or {}), init=True, name=name,
                                 network_mode=network, **limits)

    def _tracked_run(self, image: str, **kwargs: Any) -> str:
        """Create and start a container that `remove_all` will find. Signals wait the half second
        this takes: a Ctrl-C landing mid-request would leave a container the run never learnt of."""
        with signals_deferred():
            try:
                container = self._client.containers.run(image, detach=True,
                                                        **{**kwargs, "labels": {LABEL: "1", **self.labels,
                                                                                **kwargs.get("labels", {})}})
            except ENGINE_FAILURES as exc:
                raise container_error(exc, image) from exc
            with self._lock:
                self._containers[container.id] = container
        return str(container.id)

    def exec(self, container_id: str, cmd: Sequence[str], *, sink: LineSink,
             env: Mapping[str, str] | None = None, workdir: str | None = None, user: str = "") -> int:
        """Run a command (as the image's user, or `user`), stream its merged output line by line to
        `sink`, return its exit code."""
        api = self._client.api
        try:
            exec_id = api.exec_create(container_id, list(cmd), environment=dict(env or {}), user=user,
                                      workdir=workdir, stdout=True, stderr=True, stdin=False)["Id"]
            for line in _lines(api.exec_start(exec_id, stream=True)):
                sink(line)
            code = api.exec_inspect(exec_id).get("ExitCode")
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error running {cmd[0]}: {first_line(exc)}") from exc
        if code is None:
            raise EngineError(f"{cmd[0]} ended without an exit code (the container stopped?)")
        return int(code)

    def own_volumes(self, container_id: str, targets: Sequence[str], sink: LineSink) -> None:
        """Give the mounted cache volumes to the image's user (the one step run as root).

        A new volume takes the owner of the image's directory; a volume that earlier versions
        filled as root is handed over once, recursively, and is left alone after that.
        """
        try:
            user = str(self._client.api.inspect_container(container_id)["Config"].get("User") or "")
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error inspecting the build container: {first_line(exc)}") from exc
        if user in ("", "0", "root"):
            return  # an image without a build user (an older or user-built one): nothing to hand over
        dirs = " ".join(shlex.quote(t) for t in targets)
        who = shlex.quote(user)
        script = (f'me=$(id -u {who}):$(id -g {who}); for d in {dirs}; do '
                  '[ "$(stat -c %u:%g "$d")" = "$me" ] || chown -R "$me" "$d"; done')
        code = self.exec(container_id, ["sh", "-c", script], sink=sink, user="0")
        if code != 0:
            raise EngineError(f"cannot hand the cache volumes {dirs} to the build user (exit {code})")

    def put_files(self, container_id: str, dest_dir: str, files: Mapping[str, bytes | Path],
                  private_to: int | None = None) -> None:
        """Copy files (bytes, or host paths streamed from disk) into `dest_dir` of the container.

        The archive is spooled to a temporary file, so a TensorFlow wheel of hundreds of MB never
        sits in memory twice; it also works for remote engines, where bind mounts do not.
        `private_to`: bytes entries become mode 0600, owned by that uid (credentials for the build user).
        """
        with tempfile.TemporaryFile() as spool:
            with tarfile.open(fileobj=spool, mode="w") as tar:
                for name, data in files.items():
                    if isinstance(data, Path):
                        info = tar.gettarinfo(str(data), arcname=name)
                        info.uid = info.gid = 0
                        info.uname = info.gname = ""
                        with data.open("rb") as handle:
                            tar.addfile(info, handle)
                    else:
                        info = tarfile.TarInfo(name)
                        info.size = len(data)
                        info.mode = 0o644 if private_to is None else 0o600
                        info.uid = info.gid = private_to or 0
                        tar.addfile(info, io.BytesIO(data))
            spool.seek(0)
            try:
                self._client.containers.get(container_id).put_archive(dest_dir, spool)
            except ENGINE_FAILURES as exc:
                raise EngineError(f"cannot copy files into the container: {first_line(exc)}") from exc

    def get_files(self, container_id: str, src_dir: str, dest: Path) -> list[Path]:
        """Copy the regular files of `src_dir` out of the container into `dest` (streamed via disk)."""
        written: list[Path] = []
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as spool:
            try:
                stream, _ = self._client.containers.get(container_id).get_archive(src_dir)
                for chunk in stream:
                    spool.write(chunk)
            except ENGINE_FAILURES as exc:
                raise EngineError(f"cannot copy {src_dir} out of the container: {first_line(exc)}") from exc
            spool.seek(0)
            with tarfile.open(fileobj=spool) as tar:
                for member in tar.getmembers():
                    handle = tar.extractfile(member) if member.isfile() else None
                    if handle is None:
                        continue
                    target = dest / Path(member.name).name
                    with target.open("wb") as out:
                        shutil.copyfileobj(handle, out, 1 << 20)
                    written.append(target)
        return written

    def remove(self, container_id: str) -> None:
        with self._lock:
            container = self._containers.pop(container_id, None)
        try:
            (container or self._client.containers.get(container_id)).remove(force=True)
        except docker.errors.NotFound:
            pass
        except ENGINE_FAILURES:
            pass  # best effort: cleanup must never mask the error that got us here

    def remove_all(self) -> None:
        for container_id in list(self._containers):
            self.remove(container_id)
        # A signal can land after the engine created a container and before `start` recorded it:
        # the labels this engine puts on its containers find those too.
        if self.labels:
            try:
                strays = self._client.containers.list(
                    all=True, filters={"label": [f"{k}={v}" for k, v in self.labels.items()]})
            except ENGINE_FAILURES:
                return  # best effort, as in remove()
            for container in strays:
                if container.id not in self._kept:
                    self.remove(str(container.id))

    def keep(self, container_id: str) -> None:
        """Leave this container running when the run ends (--keep-container): `remove_all` skips it."""
        with self._lock:
            container = self._containers.pop(container_id, None)
            self._kept.add(str(container.id) if container is not None else container_id)

    def run_once(self, image: str, cmd: Sequence[str], *, platform: str = ARM64) -> tuple[int, str]:
        """Run a short command in a throwaway container; return (exit code, output)."""
        container_id = self._tracked_run(image, command=list(cmd), platform=platform)
        container = self._containers[container_id]
        try:
            code = int(container.wait(timeout=RUN_ONCE_SECONDS).get("StatusCode", 1))
            output = container.logs().decode("utf-8", "replace")
        except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise EngineError(f"{cmd[0]} in {image} did not finish within {RUN_ONCE_SECONDS} s") from exc
        except requests.exceptions.ConnectionError as exc:
            # The SDK's wait timeout arrives wrapped as a connection error around urllib3's read timeout.
            if isinstance(exc.args[0] if exc.args else None, urllib3.exceptions.ReadTimeoutError):
                raise EngineError(f"{cmd[0]} in {image} did not finish within {RUN_ONCE_SECONDS} s") from exc
            raise EngineError(f"engine error running {cmd[0]} in {image}: {first_line(exc)}") from exc
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error running {cmd[0]} in {image}: {first_line(exc)}") from exc
        finally:
            self.remove(container_id)
        return code, output

    def check_arm64(self, image: str) -> None:
        """Prove arm64 code runs (natively or through qemu binfmt) with a tiny container."""
        code, output = self.run_once(image, ["uname", "-m"])
        if code != 0 or output.strip() != "aarch64":
            raise EmulationMissingError(
                f"arm64 containers do not run on this engine (uname -m gave {output.strip()!r}, "
                f"exit {code})")


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")

