"""Stage: auditwheel repair inside the arm64 builder: graft the libraries, set the manylinux tag.

With no --plat, auditwheel picks the most compatible policy the wheel reaches ("auto"); --plat
demands one and fails when the build cannot meet it. `tfwheelbuild repair` uses the same core.

Reproducible: auditwheel (6.x honours SOURCE_DATE_EPOCH) re-zips the wheel in sorted order with the
build's time on every entry; the stamp step then pins times and modes on the host, whatever the
builder's auditwheel did. The stamp holds only what the build key decides (no build id, tool
version or source URL: those are in the manifest), so one key gives one wheel, byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tfwheelbuild.buildlog import BuildLog, first_error_block
from tfwheelbuild.context import BuildContext
from tfwheelbuild.engine import Engine
from tfwheelbuild.errors import CompileError, RepairError
from tfwheelbuild.key import KEY_VERSION, build_key
from tfwheelbuild.plan import OUT, RepairPlan
from tfwheelbuild.wheelinfo import (
    STAMP_FILE,
    WheelInfo,
    add_dist_info_file,
    foreign_libraries,
    inspect_wheel,
    set_build_tag,
)

NAME = "repair"


def run(ctx: BuildContext) -> dict[str, object]:
    raw: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", f"ls {OUT}/raw/*.whl"], sink=raw.append)
    if len(raw) != 1 or not raw[0].endswith(".whl"):
        raise CompileError(f"expected one wheel in {OUT}/raw, found: {raw}")
    if ctx.staging.exists():
        shutil.rmtree(ctx.staging)
    info = repair_in_container(ctx.engine, ctx.container, raw[0], ctx.plan.repair, ctx.log, ctx.staging,
                               source_date_epoch=ctx.source_date_epoch)
    foreign = foreign_libraries(info.path)
    if foreign:
        name, machine = foreign[0]
        raise CompileError(f"the wheel's {name} is {machine} code, not aarch64 ({len(foreign)} such libraries)",
                           remedy="a cross build must use the release's cross-compile config; see the log's "
                                  "bazel command")
    # The build key travels inside the wheel too, so a wheel found anywhere says how it was made.
    ctx.build_key = build_key(ctx.plan, ctx.commit, ctx.builder_id)
    add_dist_info_file(info.path, STAMP_FILE, stamp_bytes(ctx.build_key, ctx.commit, ctx.source_date_epoch),
                       source_date_epoch=ctx.source_date_epoch)
    info = inspect_wheel(info.path)
    ctx.wheel = info.path
    return {"raw_wheel": raw[0].rsplit("/", 1)[-1], "wheel": info.path.name, "policy": list(info.platforms),
            "grafted": list(info.grafted)}


def stamp_bytes(build_key: str, commit: str, source_date_epoch: int) -> bytes:
    """The stamp file: a function of the build key alone (the commit and the time are in it)."""
    stamp = {"build_key": build_key, "key_version": KEY_VERSION, "commit": commit,
             "source_date_epoch": source_date_epoch}
    return (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode()


def repair_in_container(engine: Engine, container: str, raw_wheel: str, plan: RepairPlan, log: BuildLog,
                        dest: Path, *, source_date_epoch: int | None = None) -> WheelInfo:
    """Repair `raw_wheel` (a path inside the container) and bring the result to `dest` on the host."""
    env = {"SOURCE_DATE_EPOCH": str(source_date_epoch)} if source_date_epoch is not None else None

    def sink(cmd: list[str]) -> int:
        log.command(cmd, "builder")
        return engine.exec(container, cmd, sink=log.line, env=env)

    sink(["auditwheel", "show", raw_wheel])
    cmd = ["auditwheel", "repair", "-w", f"{OUT}/repaired"]
    if plan.plat:
        cmd += ["--plat", plan.plat]
    for lib in plan.exclude:
        cmd += ["--exclude", lib]
    start = log.mark()
    code = sink([*cmd, raw_wheel])
    if code != 0:
        block = [ln for ln in first_error_block(log.since(start)) if ln.strip()]
        raise RepairError(f"auditwheel repair failed: {block[-1] if block else 'exit ' + str(code)}")
    wheels = [p for p in engine.get_files(container, f"{OUT}/repaired", dest) if p.suffix == ".whl"]
    if len(wheels) != 1:
        raise RepairError(f"auditwheel produced {len(wheels)} wheels, expected one")
    wheel = (set_build_tag(wheels[0], plan.build_tag, source_date_epoch=source_date_epoch) if plan.build_tag
             else wheels[0])
    info = inspect_wheel(wheel)
    log.say(f"repaired: {wheel.name} (grafted: {', '.join(info.grafted) or 'nothing'})")
    return info
