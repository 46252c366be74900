"""run_pipeline with fake stages and the fake engine: order, timing, cleanup however the run ends, and
--keep-container on failure only."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.unit.fakes import FakeEngine, make_context
from tfwheelbuild.errors import CompileError, Interrupted, TfwbError
from tfwheelbuild.pipeline.buildlog import first_error_block
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.pipeline.run import STAGES, StageResult, run_pipeline
from tfwheelbuild.pipeline.stages import Stage


@dataclass(kw_only=True)
class FakeStage:
    """A stage that records its turn, lets the clock run `seconds`, then does `action`."""

    NAME: str
    ran: list[str]
    clock: list[float] = field(default_factory=lambda: [0.0])
    seconds: float = 1.0
    action: Callable[[BuildContext], None] | None = None

    def run(self, ctx: BuildContext) -> dict[str, object]:
        self.ran.append(self.NAME)
        self.clock[0] += self.seconds
        if self.action is not None:
            self.action(ctx)
        return {"stage": self.NAME}


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr("tfwheelbuild.pipeline.run.time.monotonic", lambda: now[0])
    return now


def start_builder(ctx: BuildContext) -> None:
    ctx.container = ctx.engine.start("builder:1", mounts=[], labels={})


def start_throwaway(ctx: BuildContext) -> None:
    ctx.engine.start("runtime:1", mounts=[], labels={})


def fail(error: BaseException) -> Callable[[BuildContext], None]:
    def action(ctx: BuildContext) -> None:
        raise error

    return action


def stages(ran: list[str], clock: list[float], *actions: tuple[str, Callable[[BuildContext], None] | None]
           ) -> list[Stage]:
    return [FakeStage(NAME=name, ran=ran, clock=clock, seconds=1.5 + i, action=action)
            for i, (name, action) in enumerate(actions)]


def test_every_stage_module_is_a_stage_in_the_documented_order() -> None:
    assert [s.NAME for s in STAGES] == ["images", "container", "source", "configure", "patches", "compile", "repair",
                                        "test", "output"]


def test_stages_run_in_order_with_their_time_and_facts(tmp_path: Path, clock: list[float]) -> None:
    ctx = make_context(tmp_path)
    ran: list[str] = []
    results = run_pipeline(ctx, stages(ran, clock, ("first", None), ("second", None), ("third", None)))
    assert ran == ["first", "second", "third"]
    assert results == [StageResult(name="first", seconds=1.5, ok=True),
                       StageResult(name="second", seconds=2.5, ok=True),
                       StageResult(name="third", seconds=3.5, ok=True)]
    assert ctx.facts["second"] == {"stage": "second"}
    assert ctx.facts["durations"] == {"first": 1.5, "second": 2.5, "third": 3.5}
    ctx.log.close()
    text = ctx.log.path.read_text()
    assert "== ▶ first" in text and "== ✓ first (1.5 s)" in text and "== ✓ third (3.5 s)" in text


def test_a_failing_stage_stops_the_run_and_is_timed_as_failed(tmp_path: Path, clock: list[float]) -> None:
    ctx = make_context(tmp_path)
    ran: list[str] = []
    error = CompileError("bazel build failed")
    with pytest.raises(CompileError) as raised:
        run_pipeline(ctx, stages(ran, clock, ("first", None), ("broken", fail(error)), ("never", None)))
    assert raised.value is error
    assert ran == ["first", "broken"]
    assert ctx.facts["durations"] == {"first": 1.5, "broken": 2.5}
    assert "broken" not in ctx.facts
    ctx.log.close()
    assert "== ✕ broken (2.5 s)" in ctx.log.path.read_text()


def test_every_container_is_removed_after_a_success(tmp_path: Path, clock: list[float]) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine)
    run_pipeline(ctx, stages([], clock, ("container", start_builder), ("test", start_throwaway)))
    assert len(engine.started) == 2
    assert engine.live == set()
    assert sorted(engine.removed) == sorted(engine.started)
    assert engine.methods()[-1:] == ["remove"] and "remove_all" in engine.methods()


@pytest.mark.parametrize("error", [CompileError("no wheel"), KeyboardInterrupt(), Interrupted("interrupted by SIGINT"),
                                   RuntimeError("a bug in a stage")],
                         ids=["tfwb-error", "keyboard-interrupt", "interrupted", "unexpected"])
def test_every_container_is_removed_however_the_run_fails(tmp_path: Path, clock: list[float],
                                                          error: BaseException) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine)
    with pytest.raises(type(error)):
        run_pipeline(ctx, stages([], clock, ("container", start_builder), ("test", start_throwaway),
                                 ("compile", fail(error))))
    assert engine.live == set()
    assert engine.kept == set()


def test_a_signal_during_a_stage_becomes_interrupted_and_cleans_up(tmp_path: Path, clock: list[float]) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine, keep_container=True)

    def sigterm(ctx: BuildContext) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted) as raised:
        run_pipeline(ctx, stages([], clock, ("container", start_builder), ("compile", sigterm)))
    assert raised.value.exit_code == 128 + signal.SIGTERM
    # An interrupted run keeps nothing, even with --keep-container: the user asked it to stop.
    assert engine.live == set() and engine.kept == set()


def test_keep_container_keeps_the_build_container_on_failure_and_says_how_to_enter_it(
        tmp_path: Path, clock: list[float]) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine, keep_container=True)
    with pytest.raises(TfwbError) as raised:
        run_pipeline(ctx, stages([], clock, ("container", start_builder), ("test", start_throwaway),
                                 ("compile", fail(CompileError("bazel build failed", remedy="read the log")))))
    builder, throwaway = engine.started
    assert engine.kept == {builder}
    assert engine.live == {builder}
    assert throwaway in engine.removed
    assert raised.value.remedy == ("read the log; the build container is kept: `tfwheelbuild shell b1` (or "
                                   "`docker exec -it tfwb-b1 bash`), removed by `tfwheelbuild clean`")


def test_keep_container_keeps_nothing_after_a_success(tmp_path: Path, clock: list[float]) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine, keep_container=True)
    run_pipeline(ctx, stages([], clock, ("container", start_builder)))
    assert engine.kept == set() and engine.live == set()


def test_keep_container_before_any_container_started_keeps_nothing(tmp_path: Path, clock: list[float]) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine, keep_container=True)
    with pytest.raises(CompileError) as raised:
        run_pipeline(ctx, stages([], clock, ("images", fail(CompileError("no base")))))
    assert engine.kept == set()
    assert "kept" not in raised.value.remedy


def test_the_failing_stage_output_gives_the_first_error_block(tmp_path: Path, clock: list[float]) -> None:
    """What run_build attaches to the error: the failing stage's own first error, not an earlier stage's."""
    engine = FakeEngine()
    engine.answer("configure.py", lines=["WARNING: error: a harmless warning configure printed"])
    engine.answer("bazel build", code=1, lines=["Loading: 12 packages", "ERROR: /tfwb/src/BUILD:3:1: no such target",
                                                "INFO: Elapsed time: 2.0s"])
    ctx = make_context(tmp_path, engine)

    def configure(ctx: BuildContext) -> None:
        ctx.run(["python3", "configure.py"])

    def compile_(ctx: BuildContext) -> None:
        if ctx.run(["bazel", "build", "//:wheel"]) != 0:
            raise CompileError("bazel build failed")

    with pytest.raises(CompileError):
        run_pipeline(ctx, stages([], clock, ("container", start_builder), ("configure", configure),
                                 ("compile", compile_)))
    assert first_error_block(ctx.log.stage_lines()) == ["ERROR: /tfwb/src/BUILD:3:1: no such target",
                                                        "INFO: Elapsed time: 2.0s"]
