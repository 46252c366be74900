"""`tfwheelbuild fetch`: on a connected host, the deps bundle an air-gapped `build --deps` needs."""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import click

from tfwheelbuild.cli.edge import checked, handle_errors, resolve_settings, settings_options
from tfwheelbuild.core import validate


@click.command()
@click.option("--tf", "tf_version", required=True, callback=checked(validate.release),
              help="TensorFlow release X.Y.Z the bundle is for.")
@click.option("--py", "python", required=True, callback=checked(validate.python), help="Python version, e.g. 3.11.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Bundle directory [default: tfwb-deps-<release>-py<python>]; a second fetch adds what is missing.")
@settings_options
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), help="TOML recipe overrides.")
@click.option("--json", "as_json", is_flag=True, help="Print a one-object JSON summary on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Stream all build output.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the result.")
@handle_errors
def fetch(**kw: Any) -> None:
    """Download Bazel's external dependencies of a build into a deps bundle, for `build --deps`.

    Runs the build's own analysis (same configs, same target) in the builder, so the bundle holds
    exactly what that build downloads: the repository cache (content-addressed), the hermetic
    Python interpreter archive, the wheels of the release's requirements lock (which Bazel's own pip
    installs), the Bazel binary when the builder image has no Bazel of that version, and a manifest
    of every file with its URL, sha256 and size.

    \b
    Example (connected host, then carry the directory over):
      tfwheelbuild fetch --tf 2.18.0 --py 3.11 --out deps-2.18
      tfwheelbuild build --tf 2.18.0 --py 3.11 --deps deps-2.18     # air-gapped host
    """
    from tfwheelbuild.artifacts.deps import probe_mirror
    from tfwheelbuild.buildopts import build_options
    from tfwheelbuild.core.matrix import resolve_matrix
    from tfwheelbuild.core.patchset import find_patches
    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.engine.locks import cache_lock, run_lock
    from tfwheelbuild.errors import TfwbError, UsageError
    from tfwheelbuild.pipeline.buildlog import BuildLog
    from tfwheelbuild.pipeline.context import BuildContext
    from tfwheelbuild.pipeline.run import run_pipeline
    from tfwheelbuild.pipeline.stages import configure, container, images, patches, source
    from tfwheelbuild.pipeline.stages import fetch as fetch_stage
    from tfwheelbuild.plan import check_mode, make_plan
    from tfwheelbuild.recipes import check_python, recipe_for

    recipe = recipe_for(kw["tf_version"], overrides_file=kw["recipe_file"])
    check_python(recipe, kw["python"], allow_unsupported=False)
    settings, config = resolve_settings(kw, releases=(kw["tf_version"],), pythons=(kw["python"],))
    settings = resolve_matrix(settings, config)[0].settings
    opts = build_options(kw["tf_version"], kw["python"], settings)
    if opts.deps is not None:
        raise UsageError("fetch writes a bundle (--out); --deps is for `build` on the air-gapped host")
    check_mode(opts, recipe)
    bundle = (kw["out"] or Path(f"tfwb-deps-{opts.tf_version}-py{opts.python}")).resolve()
    if bundle.exists() and not bundle.is_dir():
        raise UsageError(f"--out {bundle} exists and is not a directory")
    if opts.bazel_mirror:
        probe_mirror(opts.bazel_mirror)
    found = find_patches(recipe.release, opts.patch_dirs, include_default=opts.default_patches)
    started = time.monotonic()
    engine = Engine.connect()
    info = engine.info()
    plan = make_plan(opts, recipe, patches=found, engine_cpus=info.cpus, engine_mem=info.mem_bytes,
                     engine_emulated=not info.native_arm64, engine_arch=info.arch)
    build_id = f"{time.strftime('%Y%m%d-%H%M%S')}-fetch-tf{opts.tf_version}-py{opts.python}-{secrets.token_hex(2)}"
    build_dir = opts.work_root / "builds" / build_id
    engine.labels["org.tfwheelbuild.build"] = build_id
    log = BuildLog(build_dir / "build.log", verbose=kw["verbose"], quiet=kw["quiet"])
    ctx = BuildContext(plan=plan, engine=engine, info=info, log=log, build_dir=build_dir, build_id=build_id)
    bundle.mkdir(parents=True, exist_ok=True)
    ctx.facts[fetch_stage.BUNDLE_FACT] = str(bundle)

    def say(line: str) -> None:
        if not kw["quiet"]:
            print(line, file=sys.stderr, flush=True)

    try:
        with cache_lock(opts.work_root, opts.cache_namespace, say), run_lock(build_dir, engine.labels):
            run_pipeline(ctx, (images, container, source, configure, patches, fetch_stage))
    except TfwbError as exc:
        exc.log_path = str(log.path)
        raise
    finally:
        log.close()
    facts = dict(ctx.facts["fetch"])
    facts["seconds"] = round(time.monotonic() - started, 1)
    facts["log"] = str(log.path)
    if kw["as_json"]:
        click.echo(json.dumps(facts))
        return
    click.echo(f"deps bundle {bundle}: {facts['archives']} archives ({facts['added']} new), {facts['wheels']} "
               f"wheels, {facts['bazel_binaries']} Bazel binaries, {int(str(facts['bytes'])) / 2**20:.1f} MB; "
               "carry it over and run "
               f"`tfwheelbuild build --tf {opts.tf_version} --py {opts.python} --deps {bundle}`")
