"""The pipeline in one screen: the stages of a build, in order, and the loop that runs them.

Each stage is a module with NAME and run(ctx) -> facts. The loop times each one, shows ✓/✕,
records facts for the manifest, and removes every container the run started, however it ends.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType, ModuleType

from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import Interrupted, TfwbError
from tfwheelbuild.stages import (
    compile,
    configure,
    container,
    images,
    output,
    patches,
    repair,
    runtime_test,
    source,
)

STAGES: tuple[ModuleType, ...] = (
    images,        # base (pull or debootstrap), builder, runtime: content-hashed, built once
    container,     # the long-lived arm64 build container with its cache volumes
    source,        # release tag -> cached git mirror -> work tree; commit recorded
    configure,     # configure.py, every prompt answered by environment, stdin closed
    patches,       # the series, in order; each patch's sha256 recorded
    compile,       # bazel build of the wheel target + the packaging step
    repair,        # auditwheel repair: manylinux tag, grafted libraries
    runtime_test,  # clean arm64 runtime, fresh venv, pip install, smoke test
    output,        # wheel + manifest into the output dir, atomically
)


@dataclass(frozen=True, kw_only=True)
class StageResult:
    name: str
    seconds: float
    ok: bool


def run_pipeline(ctx: BuildContext, stages: Sequence[ModuleType] = STAGES) -> list[StageResult]:
    results: list[StageResult] = []
    durations: dict[str, float] = {}
    ctx.facts["durations"] = durations
    with _signals_raise_interrupted():
        try:
            for stage in stages:
                name = str(stage.NAME)
                ctx.log.say(f"▶ {name}")
                ctx.log.begin_stage()
                started = time.monotonic()
                try:
                    facts = stage.run(ctx)
                except BaseException:
                    elapsed = time.monotonic() - started
                    durations[name] = round(elapsed, 1)
                    results.append(StageResult(name=name, seconds=elapsed, ok=False))
                    ctx.log.end_progress()
                    ctx.log.say(f"✕ {name} ({elapsed:.1f} s)")
                    raise
                elapsed = time.monotonic() - started
                durations[name] = round(elapsed, 1)
                ctx.facts[name] = facts
                results.append(StageResult(name=name, seconds=elapsed, ok=True))
                ctx.log.say(f"✓ {name} ({elapsed:.1f} s)")
        finally:
            ctx.engine.remove_all()
    return results


@contextmanager
def _signals_raise_interrupted() -> Iterator[None]:
    """SIGINT/SIGTERM become Interrupted, so `finally` blocks remove containers and temp files."""

    def handler(signum: int, frame: FrameType | None) -> None:
        code = 128 + signum
        error = Interrupted(f"interrupted by {signal.Signals(signum).name}")
        error.exit_code = code
        raise error

    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}
    for sig in (signal.Signals.SIGINT, signal.Signals.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


__all__ = ["STAGES", "StageResult", "TfwbError", "run_pipeline"]
