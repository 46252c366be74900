"""One `auditwheel repair` command line: the dry-run shows exactly what the repair stage execs."""

from __future__ import annotations

from pathlib import Path

from tests.unit.conftest import write_wheel
from tests.unit.fakes import FakeEngine, make_context
from tfwheelbuild.pipeline.stages import repair
from tfwheelbuild.plan import OUT, RAW_WHEELS

RAW = f"{OUT}/raw/demo_pkg-1.0-cp311-cp311-linux_aarch64.whl"


def repaired_engine(tmp_path: Path) -> FakeEngine:
    engine = FakeEngine()
    engine.answer(f"ls {RAW_WHEELS}", lines=[RAW])
    made = tmp_path / "made"
    made.mkdir()
    wheel = write_wheel(made, tag="cp311-cp311-manylinux_2_17_aarch64")
    engine.archives[f"{OUT}/repaired"] = {wheel.name: wheel.read_bytes()}
    return engine


def test_the_dry_run_shows_the_repair_command_the_stage_execs(tmp_path: Path) -> None:
    engine = repaired_engine(tmp_path)
    ctx = make_context(tmp_path, engine, plat="manylinux_2_17_aarch64", exclude=("libfoo.so.1", "lib bar.so"))
    ctx.container = engine.start("builder:1", mounts=[], labels={})
    repair.run(ctx)
    execd = next(line for line in engine.execs() if line.startswith("auditwheel repair"))
    shown = next(line for line in ctx.plan.describe() if line.startswith("repair:"))
    assert shown.removeprefix("repair:").strip().replace(RAW_WHEELS, RAW) == execd
    assert execd == (f"auditwheel repair -w {OUT}/repaired --plat manylinux_2_17_aarch64 --exclude libfoo.so.1 "
                     f"--exclude 'lib bar.so' {RAW}")


def test_the_repair_stage_shows_then_repairs_and_stages_the_stamped_wheel(tmp_path: Path) -> None:
    engine = repaired_engine(tmp_path)
    ctx = make_context(tmp_path, engine)
    ctx.container = engine.start("builder:1", mounts=[], labels={})
    facts = repair.run(ctx)
    execs = engine.execs()
    # The release's own policy (the recipe's) when no --plat is given.
    assert execs[:3] == [f"sh -c 'ls {RAW_WHEELS}'", f"auditwheel show {RAW}",
                         f"auditwheel repair -w {OUT}/repaired --plat {ctx.plan.repair.plat} {RAW}"]
    assert next(c for c in engine.calls if c.method == "exec" and c.cmd[1] == "repair").env == {
        "SOURCE_DATE_EPOCH": "0"}
    assert ctx.wheel is not None and ctx.wheel.parent == ctx.staging
    assert facts["raw_wheel"] == RAW.rsplit("/", 1)[-1]
    assert facts["wheel"] == ctx.wheel.name and facts["policy"] == ["manylinux_2_17_aarch64"]
    assert ctx.build_key and len(str(facts["sha256"])) == 64
