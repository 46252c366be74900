"""A fake Engine for unit tests: it records every call the pipeline and the stages make, answers `exec`
from a script, and never talks to Docker.

It subclasses the real Engine so a BuildContext takes it as it is; any method it does not fake reaches
a client that refuses, so a stage that starts calling something new fails loudly instead of quietly.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfwheelbuild.engine.client import ARM64, Engine, EngineInfo, LineSink, Mount
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.plan import BuildOptions, PatchFile, make_plan
from tfwheelbuild.recipes import recipe_for


class _NoClient:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"FakeEngine does not fake the client's {name!r}: add it to tests/unit/fakes.py")


@dataclass(frozen=True, kw_only=True)
class Call:
    """One call into the engine, in the order it was made."""

    method: str
    container: str = ""
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        return shlex.join(self.cmd)


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What an `exec` whose command line contains `match` prints and exits with."""

    match: str
    code: int = 0
    lines: tuple[str, ...] = ()
    then: Callable[[], None] | None = None  # e.g. raise KeyboardInterrupt mid-command


class FakeEngine(Engine):
    def __init__(self) -> None:
        super().__init__(_NoClient())
        self.calls: list[Call] = []
        self.answers: list[Answer] = []
        self.started: list[str] = []
        self.live: set[str] = set()
        self.removed: list[str] = []
        self.kept: set[str] = set()
        self.put: dict[str, dict[str, bytes | Path]] = {}  # dest dir -> what was copied in
        self.archives: dict[str, dict[str, bytes]] = {}  # src dir -> what get_files hands back
        self.volumes: list[str] = []

    # ---- scripting ------------------------------------------------------------------------------
    def answer(self, match: str, *, code: int = 0, lines: Sequence[str] = (),
               then: Callable[[], None] | None = None) -> None:
        """The first answer whose `match` is in the command line wins; unmatched commands print nothing, exit 0."""
        self.answers.append(Answer(match=match, code=code, lines=tuple(lines), then=then))

    def execs(self) -> list[str]:
        """The command lines exec'd, in order."""
        return [c.line for c in self.calls if c.method == "exec"]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    # ---- the Engine surface the pipeline and stages use -----------------------------------------
    def start(self, image: str, *, mounts: Sequence[Mount], labels: Mapping[str, str],
              env: Mapping[str, str] | None = None, platform: str = ARM64,
              name: str | None = None, network: str = "bridge", mem_limit: int = 0) -> str:
        container = f"fake{len(self.started) + 1:02d}" + "0" * 58
        self.started.append(container)
        self.live.add(container)
        self.calls.append(Call(method="start", container=container, extra={
            "image": image, "mounts": tuple(mounts), "labels": {**self.labels, **labels}, "platform": platform,
            "name": name, "network": network, "mem_limit": mem_limit}))
        return container

    def exec(self, container_id: str, cmd: Sequence[str], *, sink: LineSink,
             env: Mapping[str, str] | None = None, workdir: str | None = None, user: str = "") -> int:
        call = Call(method="exec", container=container_id, cmd=tuple(cmd), env=dict(env or {}), workdir=workdir,
                    user=user)
        self.calls.append(call)
        answer = next((a for a in self.answers if a.match in call.line), None)
        if answer is None:
            return 0
        for text in answer.lines:
            sink(text)
        if answer.then is not None:
            answer.then()
        return answer.code

    def ensure_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self.volumes.append(name)
        self.calls.append(Call(method="ensure_volume", extra={"name": name, "labels": dict(labels)}))

    def own_volumes(self, container_id: str, targets: Sequence[str], sink: LineSink) -> None:
        self.calls.append(Call(method="own_volumes", container=container_id, extra={"targets": tuple(targets)}))

    def put_files(self, container_id: str, dest_dir: str, files: Mapping[str, bytes | Path],
                  private_to: int | None = None) -> None:
        self.put.setdefault(dest_dir, {}).update(files)
        self.calls.append(Call(method="put_files", container=container_id, extra={"dest": dest_dir,
                                                                                   "names": tuple(files),
                                                                                   "private_to": private_to}))

    def get_files(self, container_id: str, src_dir: str, dest: Path) -> list[Path]:
        self.calls.append(Call(method="get_files", container=container_id, extra={"src": src_dir}))
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in self.archives.get(src_dir, {}).items():
            (dest / name).write_bytes(data)
            written.append(dest / name)
        return written

    def remove(self, container_id: str) -> None:
        self.calls.append(Call(method="remove", container=container_id))
        if container_id in self.live:
            self.live.discard(container_id)
            self.removed.append(container_id)

    def remove_all(self) -> None:
        self.calls.append(Call(method="remove_all"))
        for container in sorted(self.live - self.kept):
            self.remove(container)

    def keep(self, container_id: str) -> None:
        self.calls.append(Call(method="keep", container=container_id))
        self.kept.add(container_id)


INFO = EngineInfo(version="27.0", api_version="1.46", arch="x86_64", cpus=2, mem_bytes=8 * 1024**3)


def make_context(tmp_path: Path, engine: FakeEngine | None = None, *, patches: tuple[PatchFile, ...] = (),
                 keep_container: bool = False, **options: Any) -> BuildContext:
    """A BuildContext over a real plan (TensorFlow 2.16.1, Python 3.11 unless `options` say otherwise), a
    fake engine and a real, quiet build log under tmp_path."""
    opts = BuildOptions(**{"tf_version": "2.16.1", "python": "3.11", "output": tmp_path / "dist",
                           "work_root": tmp_path / "work", **options})
    plan = make_plan(opts, recipe_for(opts.tf_version), patches=patches, engine_cpus=INFO.cpus,
                     engine_mem=INFO.mem_bytes, engine_emulated=True, engine_arch="aarch64")
    build_dir = tmp_path / "work" / "builds" / "b1"
    log = BuildLog(build_dir / "build.log", quiet=True)
    return BuildContext(plan=plan, engine=engine or FakeEngine(), info=INFO, log=log, build_dir=build_dir,
                        build_id="b1", keep_container=keep_container)
