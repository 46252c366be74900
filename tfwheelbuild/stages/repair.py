"""Stage: auditwheel repair inside the arm64 builder: graft the libraries, set the manylinux tag.

With no --plat, auditwheel picks the most compatible policy the wheel reaches; --plat demands one
and fails when the build cannot meet it.
"""

from __future__ import annotations

import shutil

from tfwheelbuild.buildlog import first_error_block
from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import CompileError, RepairError
from tfwheelbuild.plan import OUT
from tfwheelbuild.wheelinfo import inspect_wheel, set_build_tag

NAME = "repair"


def run(ctx: BuildContext) -> dict[str, object]:
    plan = ctx.plan.repair
    raw: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", f"ls {OUT}/raw/*.whl"], sink=raw.append)
    if len(raw) != 1 or not raw[0].endswith(".whl"):
        raise CompileError(f"expected one wheel in {OUT}/raw, found: {raw}")
    ctx.run(["auditwheel", "show", raw[0]])
    cmd = ["auditwheel", "repair", "-w", f"{OUT}/repaired"]
    if plan.plat:
        cmd += ["--plat", plan.plat]
    for lib in plan.exclude:
        cmd += ["--exclude", lib]
    start = len(ctx.log.tail())
    code = ctx.run([*cmd, raw[0]])
    if code != 0:
        block = [ln for ln in first_error_block(ctx.log.tail()[start:]) if ln.strip()]
        raise RepairError(f"auditwheel repair failed: {block[-1] if block else 'exit ' + str(code)}")
    if ctx.staging.exists():
        shutil.rmtree(ctx.staging)
    wheels = [p for p in ctx.engine.get_files(ctx.container, f"{OUT}/repaired", ctx.staging)
              if p.suffix == ".whl"]
    if len(wheels) != 1:
        raise RepairError(f"auditwheel produced {len(wheels)} wheels, expected one")
    wheel = wheels[0]
    if plan.build_tag:
        wheel = set_build_tag(wheel, plan.build_tag)
    info = inspect_wheel(wheel)
    ctx.wheel = wheel
    ctx.log.say(f"repaired: {wheel.name} (grafted: {', '.join(info.grafted) or 'nothing'})")
    return {"raw_wheel": raw[0].rsplit("/", 1)[-1], "wheel": wheel.name, "policy": list(info.platforms),
            "grafted": list(info.grafted)}
