"""The only module that imports `docker`: images, containers, volumes, streamed output, cleanup.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from tfwheelbuild.errors import (
    EmulationMissingError,
    EngineError,
    EngineUnavailableError,
    ImageError,
    PushError,
    UsageError,
)
from tfwheelbuild.interrupts import signals_deferred

ARM64 = "linux/arm64"
# What talking to the engine can raise: its own refusals, and a daemon gone mid-call (stopped,
# crashed, restarted), which surfaces from requests/urllib3 rather than as an APIError.
ENGINE_FAILURES = (docker.errors.APIError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)
LABEL = "org.tfwheelbuild"
BUILD_LABEL = "org.tfwheelbuild.build"
# What the Docker SDK can connect to (docker.utils.parse_host and the ssh client).
LineSink = Callable[[str], None]
RUN_ONCE_SECONDS = 300
USER_IMAGE_ROLE = "image"


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


class Engine:
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
                      if base_url or os.environ.get("DOCKER_HOST") else None)
            raise EngineUnavailableError(f"cannot reach a Docker engine at {where}: {_first_line(exc)}",
                                         remedy=remedy) from exc
        return cls(client)

    def info(self) -> EngineInfo:
        try:
            data = self._client.info()
            version = self._client.version()
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error reading its facts: {_first_line(exc)}") from exc
        kind, kind_version = engine_kind(version, data)
        return EngineInfo(version=kind_version, kind=kind,
                          api_version=str(version.get("ApiVersion", "?")),
                          arch=str(data.get("Architecture", "?")), cpus=int(data.get("NCPU", 1)),
                          mem_bytes=int(data.get("MemTotal", 0)), root_dir=str(data.get("DockerRootDir", "")))

    # ---- images -------------------------------------------------------------------------------
    def image_id(self, ref: str) -> str | None:
        try:
            return str(self._client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            return None
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error looking up image {ref}: {_first_line(exc)}") from exc

    def images_labelled(self, label: str) -> list[tuple[str, str]]:
        """(first tag, architecture) of local images carrying `label` (key or key=value)."""
        try:
            images = self._client.images.list(filters={"label": label})
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing images: {_first_line(exc)}") from exc
        return [(str(i.tags[0]), str(i.attrs.get("Architecture", "?"))) for i in images if i.tags]

    def image_arch(self, ref: str) -> str:
        return str(self._image_attrs(ref).get("Architecture", "?"))

    def image_labels(self, ref: str) -> dict[str, str]:
        labels = (self._image_attrs(ref).get("Config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def _image_attrs(self, ref: str) -> dict[str, Any]:
        try:
            return dict(self._client.images.get(ref).attrs)
        except docker.errors.ImageNotFound as exc:
            # Asked for right after it was made or found: gone means someone removed it meanwhile.
            raise ImageError(f"image {ref} is not on the engine (removed while this run used it?)") from exc
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error inspecting image {ref}: {_first_line(exc)}") from exc

    def pull(self, ref: str, platform: str = ARM64) -> str:
        repo, _, tag = ref.partition(":")
        try:
            image = self._client.images.pull(repo, tag=tag or "latest", platform=platform)
        except ENGINE_FAILURES as exc:
            raise _engine_gone(exc, f"pulling {ref}") or ImageError(
                f"cannot pull {ref} for {platform}: {_first_line(exc)}") from exc
        return str(image.id)

    def build_image(self, context: Path, tag: str, *, sink: LineSink, platform: str = ARM64,
                    labels: Mapping[str, str] | None = None, nocache: bool = False,
                    build_args: Mapping[str, str] | None = None) -> str:
        """Build with the classic builder, which records the requested platform correctly.

        `nocache`: its layer cache ignores the platform, so the same rootfs ADDed for another
        architecture earlier would come back with that architecture recorded.
        """
        api = self._client.api
        image_id = ""
        error = ""
        try:
            for chunk in api.build(path=str(context), tag=tag, platform=platform, rm=True, nocache=nocache,
                                   forcerm=True, decode=True, labels=dict(labels or {}),
                                   buildargs=dict(build_args or {})):
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        if line.strip():
                            sink(line)
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    sink(error)
                aux = chunk.get("aux")
                if isinstance(aux, dict) and "ID" in aux:
                    image_id = str(aux["ID"])
        except ENGINE_FAILURES as exc:
            raise _engine_gone(exc, f"building {tag}") or ImageError(
                f"building {tag} failed: {_first_line(exc)}") from exc
        if error:
            raise ImageError(f"building {tag} failed: {error}")
        if image_id:
            return image_id
        found = self.image_id(tag)
        if found is None:
            raise ImageError(f"building {tag} reported success but the engine has no such image")
        return found

    def image_size(self, ref: str) -> int:
        return int(self._image_attrs(ref).get("Size", 0))

    def push(self, ref: str, *, auth: Mapping[str, str] | None, sink: LineSink) -> str:
        """Push `ref`; the digest the registry answered. A refusal (credentials, the registry's
        errors, which arrive inside the stream) is PushError; a daemon gone mid-push is EngineError."""
        repo, _, tag = ref.rpartition(":")
        digest = ""
        try:
            for chunk in self._client.api.push(repo, tag=tag, stream=True, decode=True,
                                               auth_config=dict(auth) if auth else None):
                if "error" in chunk:
                    raise PushError(f"pushing {ref} failed: {str(chunk['error']).strip()}")
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                status = chunk.get("status")
                if status and not chunk.get("progressDetail"):
                    sink(f"{chunk.get('id', '')} {status}".strip())
        except ENGINE_FAILURES as exc:
            raise _engine_gone(exc, f"pushing {ref}") or PushError(
                f"pushing {ref} failed: {_first_line(exc)}") from exc
        return digest

    # ---- volumes ------------------------------------------------------------------------------
    def ensure_volume(self, name: str, labels: Mapping[str, str]) -> None:
        try:
            try:
                self._client.volumes.get(name)
            except docker.errors.NotFound:
                self._client.volumes.create(name=name, labels=dict(labels))
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error preparing cache volume {name}: {_first_line(exc)}") from exc

    # ---- housekeeping -------------------------------------------------------------------------
    def tool_images(self) -> list[Resource]:
        """Images this tool built or bootstrapped (labelled with their role)."""
        try:
            images = self._client.images.list(filters={"label": "org.tfwheelbuild.role"})
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing images: {_first_line(exc)}") from exc
        # A user's image (`tfwheelbuild image`) inherits the label from the runtime image under it; it is
        # their product, not a cache of ours, so `images --prune` must never see it.
        return [Resource(name=(i.tags or [i.short_id])[0], size=int(i.attrs.get("Size", 0)),
                         created=str(i.attrs.get("Created", "")),
                         kind=str((i.labels or {}).get("org.tfwheelbuild.role", "")), id=str(i.id)) for i in images
                if (i.labels or {}).get("org.tfwheelbuild.role") != USER_IMAGE_ROLE]

    def tool_volumes(self) -> list[Resource]:
        """The tool's cache volumes with their sizes (Docker's own disk-usage accounting)."""
        try:
            volumes = self._client.df().get("Volumes") or []
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error reading disk usage: {_first_line(exc)}") from exc
        return [Resource(name=str(v["Name"]), size=max(0, int((v.get("UsageData") or {}).get("Size", 0))),
                         created=str(v.get("CreatedAt", "")), kind="volume", id=str(v["Name"]))
                for v in volumes if LABEL in (v.get("Labels") or {})]

    def remove_image(self, ref: str) -> bool:
        """Remove an image; False when a container still uses it (the engine refuses: 409)."""
        try:
            self._client.images.remove(ref)
        except ENGINE_FAILURES as exc:
            if _in_use(exc):
                return False
            raise EngineError(f"cannot remove image {ref}: {_first_line(exc)}") from exc
        return True

    def remove_volume(self, name: str) -> bool:
        """Remove a volume; False when a container (a running build) still uses it."""
        try:
            self._client.volumes.get(name).remove()
        except ENGINE_FAILURES as exc:
            if _in_use(exc):
                return False
            raise EngineError(f"cannot remove volume {name}: {_first_line(exc)}") from exc
        return True

    def tool_containers(self) -> list[ToolContainer]:
        """Every container carrying the tool's label, running or not (what `clean` chooses from)."""
        try:
            found = self._client.containers.list(all=True, filters={"label": LABEL})
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing containers: {_first_line(exc)}") from exc
        return [ToolContainer(id=str(c.id), name=str(c.name), status=str(c.status),
                              labels={str(k): str(v) for k, v in (c.labels or {}).items()}) for c in found]

    def remove_container(self, container_id: str) -> bool:
        """Force-remove one container; False when it was already gone (its run removed it meanwhile)."""
        try:
            self._client.containers.get(container_id).remove(force=True)
        except docker.errors.NotFound:
            return False
        except ENGINE_FAILURES as exc:
            raise EngineError(f"cannot remove container {container_id[:12]}: {_first_line(exc)}") from exc
        return True

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
                raise _container_error(exc, image) from exc
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
            raise EngineError(f"engine error running {cmd[0]}: {_first_line(exc)}") from exc
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
            raise EngineError(f"engine error inspecting the build container: {_first_line(exc)}") from exc
        if user in ("", "0", "root"):
            return  # an image without a build user (an older or user-built one): nothing to hand over
        dirs = " ".join(shlex.quote(t) for t in targets)
        who = shlex.quote(user)
        script = (f'me=$(id -u {who}):$(id -g {who}); for d in {dirs}; do '
                  '[ "$(stat -c %u:%g "$d")" = "$me" ] || chown -R "$me" "$d"; done')
        code = self.exec(container_id, ["sh", "-c", script], sink=sink, user="0")
        if code != 0:
            raise EngineError(f"cannot hand the cache volumes {dirs} to the build user (exit {code})")

    def put_files(self, container_id: str, dest_dir: str, files: Mapping[str, bytes | Path]) -> None:
        """Copy files (bytes, or host paths streamed from disk) into `dest_dir` of the container.

        The archive is spooled to a temporary file, so a TensorFlow wheel of hundreds of MB never
        sits in memory twice; it also works for remote engines, where bind mounts do not.
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
                        info.mode = 0o644
                        tar.addfile(info, io.BytesIO(data))
            spool.seek(0)
            try:
                self._client.containers.get(container_id).put_archive(dest_dir, spool)
            except ENGINE_FAILURES as exc:
                raise EngineError(f"cannot copy files into the container: {_first_line(exc)}") from exc

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
                raise EngineError(f"cannot copy {src_dir} out of the container: {_first_line(exc)}") from exc
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

    def build_containers(self) -> list[BuildContainer]:
        """Build containers (of running builds, or kept after a failure), newest first."""
        try:
            found = self._client.containers.list(all=True, filters={"label": BUILD_LABEL})
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing containers: {_first_line(exc)}") from exc
        rows = [BuildContainer(name=str(c.name), build_id=str(c.labels.get(BUILD_LABEL, "")),
                               status=str(c.status), created=str(c.attrs.get("Created", ""))) for c in found]
        return sorted(rows, key=lambda r: r.created, reverse=True)

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
            raise EngineError(f"engine error running {cmd[0]} in {image}: {_first_line(exc)}") from exc
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error running {cmd[0]} in {image}: {_first_line(exc)}") from exc
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


def check_engine_address(value: str) -> str:
    """An engine address the SDK can use (unix://, tcp://, ssh://, …), else UsageError; `value` back."""
    from tfwheelbuild import validate

    try:
        if validate.docker_host(value):
            return value
    except ValueError:
        pass
    raise UsageError(f"{value!r} is not a Docker engine address",
                     remedy="give unix:///var/run/docker.sock, tcp://HOST:2375, ssh://USER@HOST (the docker CLI's "
                            "DOCKER_HOST forms)")


def _in_use(exc: Exception) -> bool:
    return isinstance(exc, docker.errors.APIError) and exc.status_code == 409


def _engine_gone(exc: Exception, doing: str) -> EngineError | None:
    """A daemon that stopped answering mid-call is the engine's failure, not the image's: exit 34, retried."""
    if isinstance(exc, docker.errors.APIError):
        return None
    return EngineError(f"{doing}: {_first_line(exc)}")


def _container_error(exc: Exception, image: str) -> Exception:
    text = _first_line(exc)
    if "exec format error" in text:
        return EmulationMissingError(f"arm64 binaries cannot run on this engine ({text})")
    return EngineError(f"cannot start a container from {image}: {text}")


def _first_line(exc: BaseException) -> str:
    if not isinstance(exc, docker.errors.APIError) and isinstance(exc, ENGINE_FAILURES):
        return "the Docker engine stopped answering (the daemon stopped or restarted)"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
