"""The pipeline in one screen: the stages of a build, in order, and the loop that runs them.

Each stage is a module with NAME and run(ctx) -> facts (the `Stage` protocol, which mypy checks). The
loop times each one, shows ✓/✕, records facts for the manifest, and removes every container the run
started, however it ends.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from tfwheelbuild import __version__
from tfwheelbuild.engine.client import Engine, EngineInfo
from tfwheelbuild.engine.locks import cache_lock, run_lock
from tfwheelbuild.engine.preflight import expected_key, find_in_output
from tfwheelbuild.errors import Interrupted, TfwbError
from tfwheelbuild.pipeline.buildlog import BuildLog, first_error_block
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.pipeline.stages import (
    Stage,
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
from tfwheelbuild.pipeline.stages.container import container_name
from tfwheelbuild.plan import BuildOptions, BuildPlan, PatchFile, make_plan
from tfwheelbuild.recipes import Recipe
from tfwheelbuild.results import BuildResult
from tfwheelbuild.util.ci import endgroup, github_actions, group, step_summary, write_step_summary
from tfwheelbuild.util.interrupts import signals_raise_interrupted

STAGES: Final[tuple[Stage, ...]] = (
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


def run_pipeline(ctx: BuildContext, stages: Sequence[Stage] = STAGES) -> list[StageResult]:
    results: list[StageResult] = []
    durations: dict[str, float] = {}
    ctx.facts["durations"] = durations
    fold = github_actions()
    with signals_raise_interrupted():
        try:
            for stage in stages:
                name = stage.NAME
                if fold:
                    ctx.log.terminal(group(name))
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
                    if fold:
                        ctx.log.terminal(endgroup())
                    raise
                elapsed = time.monotonic() - started
                durations[name] = round(elapsed, 1)
                ctx.facts[name] = facts
                results.append(StageResult(name=name, seconds=elapsed, ok=True))
                ctx.log.say(f"✓ {name} ({elapsed:.1f} s)")
                if fold:
                    ctx.log.terminal(endgroup())
        except TfwbError as exc:
            if ctx.keep_container and ctx.container and not isinstance(exc, Interrupted):
                ctx.engine.keep(ctx.container)
                name = container_name(ctx.build_id)
                exc.remedy = (f"{exc.remedy}; the build container is kept: `tfwheelbuild shell {ctx.build_id}` "
                              f"(or `docker exec -it {name} bash`), removed by `tfwheelbuild clean`")
            raise
        finally:
            ctx.engine.remove_all()
            if fold:
                write_step_summary(step_summary(
                    f"tfwheelbuild: TensorFlow {ctx.plan.tf_version} for Python {ctx.plan.python}",
                    [(r.name, r.seconds, r.ok) for r in results],
                    {"wheel": str(ctx.facts.get("output", {}).get("wheel", "")), "build key": ctx.build_key,
                     "log": str(ctx.log.path)}))
    return results


def run_build(opts: BuildOptions, recipe: Recipe, patches: tuple[PatchFile, ...], *, commit: str, force: bool,
              quiet: bool = False, verbose: bool = False, keep_container: bool = False, retest: bool = False,
              in_index: Callable[[str], str | None] | None = None) -> BuildResult:
    """Plan against the engine's size, skip when the build key is already built, else run the stages.

    Already built means: a wheel with this key in the output dir, or (with `in_index`, which maps a
    key to a published file name) in the package index.
    """
    started = time.monotonic()
    engine = Engine.connect()
    info = engine.info()
    plan = make_plan(opts, recipe, patches=patches, engine_cpus=info.cpus, engine_mem=info.mem_bytes,
                     engine_emulated=not info.native_arm64, engine_arch=info.arch)

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    with cache_lock(opts.work_root, opts.cache_namespace, say):
        return _build_or_skip(opts, plan, engine, info, commit=commit, force=force, quiet=quiet, verbose=verbose,
                              in_index=in_index, started=started, keep_container=keep_container, retest=retest)


def _build_or_skip(opts: BuildOptions, plan: BuildPlan, engine: Engine, info: EngineInfo, *, commit: str,
                   force: bool, quiet: bool, verbose: bool, in_index: Callable[[str], str | None] | None,
                   started: float, keep_container: bool, retest: bool) -> BuildResult:
    key = None if force else expected_key(plan, engine, commit)
    if key is not None:
        wheel = find_in_output(plan, key)
        if wheel is not None:
            return BuildResult(status="skipped", where="output", wheel=str(wheel), build_key=key,
                               manifest=f"{wheel}.manifest.json", seconds=round(time.monotonic() - started, 2))
        published = in_index(key) if in_index else None
        if published:
            return BuildResult(status="skipped", where="index", wheel=published, build_key=key,
                               seconds=round(time.monotonic() - started, 2))
    build_id = f"{time.strftime('%Y%m%d-%H%M%S')}-tf{opts.tf_version}-py{opts.python}-{secrets.token_hex(2)}"
    build_dir = opts.work_root / "builds" / build_id
    engine.labels["org.tfwheelbuild.build"] = build_id
    log = BuildLog(build_dir / "build.log", verbose=verbose, quiet=quiet)
    log.say(f"tfwheelbuild {__version__}: TensorFlow {opts.tf_version} for Python {opts.python} "
            f"on a {info.arch} engine ({'native arm64' if info.native_arm64 else 'arm64 emulated'}); "
            f"log: {log.path}")
    ctx = BuildContext(plan=plan, engine=engine, info=info, log=log, build_dir=build_dir, build_id=build_id,
                       keep_container=keep_container, retest=retest)
    try:
        with run_lock(build_dir, engine.labels):  # `clean` leaves this build's containers alone meanwhile
            results = run_pipeline(ctx)
    except TfwbError as exc:
        exc.log_path = str(log.path)
        exc.details = first_error_block(log.stage_lines())
        raise
    finally:
        log.close()
    output = ctx.facts["output"]
    return BuildResult(status="built", wheel=str(output["wheel"]), wheel_sha256=str(output["sha256"]),
                       build_key=ctx.build_key, manifest=str(output["manifest"]), log=str(log.path),
                       cache=dict(ctx.facts.get("compile", {}).get("cache", {})),
                       toolchain=dict(ctx.facts.get("configure", {}).get("toolchain", {})),
                       seconds=round(time.monotonic() - started, 1),
                       stages=tuple((r.name, round(r.seconds, 1)) for r in results))

