"""Command line: parse, call, and map every TfwbError to one clear line and its exit code."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from tfwheelbuild import __version__
from tfwheelbuild.errors import TfwbError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def default_work_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tfwheelbuild"


def handle_errors(func: F) -> F:
    """The one place errors are caught: message, remedy, log path, exit code; no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TfwbError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.remedy:
                click.echo(f"  fix: {exc.remedy}", err=True)
            if exc.log_path:
                click.echo(f"  log: {exc.log_path}", err=True)
            if exc.details:
                click.echo("---- first error in the log ----", err=True)
                for line in exc.details:
                    click.echo(f"  {line}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tfwheelbuild")
def main() -> None:
    """Build TensorFlow wheels for Linux arm64 (aarch64) from source, in Docker.

    \b
    Example:
      tfwheelbuild build --tf 2.16.1 --py 3.11
    """


def parse_pairs(values: tuple[str, ...], what: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} takes KEY=VALUE, got {item!r}")
        pairs.append((key, value))
    return tuple(pairs)


@main.command()
@click.option("--tf", "tf_version", required=True, help="TensorFlow release, e.g. 2.16.1 (tag v2.16.1).")
@click.option("--py", "python", required=True, help="Python version of the wheel, e.g. 3.11.")
@click.option("--source", default="https://github.com/tensorflow/tensorflow.git", show_default=True,
              help="Git URL, local path or file:// URL of the TensorFlow source.")
@click.option("--ref", default="", help="Git ref to build instead of tag v<tf>.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("dist"), show_default=True)
@click.option("--base-image", default="", help="arm64 base image [default: ubuntu:22.04, falling back "
              "to a debootstrapped Debian base when no registry answers].")
@click.option("--mirror", default="", help="apt mirror for the debootstrap fallback [default: the host's].")
@click.option("--configure", "configure", multiple=True, metavar="KEY=VALUE",
              help="Answer for configure.py (repeatable), e.g. TF_NEED_CLANG=1.")
@click.option("--patches", "patch_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Extra patch series dir (repeatable), applied after the tool's own.")
@click.option("--no-default-patches", is_flag=True, help="Skip the tool's patches/<minor>/series.")
@click.option("--jobs", type=click.IntRange(min=1), help="Bazel --jobs [default: from engine CPUs/RAM].")
@click.option("--ram-mb", type=click.IntRange(min=512), help="Bazel --local_ram_resources in MB.")
@click.option("--plat", default="", help="Demand this manylinux policy, e.g. manylinux_2_34_aarch64.")
@click.option("--exclude", multiple=True, help="Library auditwheel must not graft (repeatable).")
@click.option("--project-name", default="", help="Distribution name, e.g. tensorflow-aarch64-internal.")
@click.option("--build-tag", default="", help="Wheel build tag, e.g. 1.")
@click.option("--index-url", default="", help="Package index for test dependencies [default: pip's].")
@click.option("--test-command", default="", help="Extra command run in the test venv.")
@click.option("--bazel-arg", "bazel_args", multiple=True, help="Extra bazel build argument (repeatable).")
@click.option("--allow-unsupported-python", is_flag=True, help="Build a Python outside the release's range.")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), help="TOML recipe overrides.")
@click.option("--work-dir", type=click.Path(path_type=Path), help="Logs and staging [default: ~/.cache/tfwheelbuild].")
@click.option("--force", is_flag=True, help="Rebuild even when the output dir has a wheel with this build key.")
@click.option("--dry-run", is_flag=True, help="Print the plan without touching Docker.")
@click.option("--json", "as_json", is_flag=True, help="Print a one-object JSON summary on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Stream all build output.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the result.")
@handle_errors
def build(**kw: Any) -> None:
    """Build, repair and test a TensorFlow wheel for linux aarch64.

    \b
    Examples:
      tfwheelbuild build --tf 2.16.1 --py 3.11
      tfwheelbuild build --tf 2.16.1 --py 3.11 --source ./tensorflow --patches ./my-patches
      tfwheelbuild build --tf 2.17.0 --py 3.11 --dry-run
    """
    from tfwheelbuild.bootstrap import host_mirror
    from tfwheelbuild.patchset import find_patches
    from tfwheelbuild.pipeline import run_build
    from tfwheelbuild.plan import BuildOptions, make_plan
    from tfwheelbuild.preflight import check_tag, host_bazel_env, host_proxy_env
    from tfwheelbuild.recipes import check_python, recipe_for

    recipe = recipe_for(kw["tf_version"], overrides_file=kw["recipe_file"])
    check_python(recipe, kw["python"], allow_unsupported=kw["allow_unsupported_python"])
    work_root = kw["work_dir"] or default_work_root()
    opts = BuildOptions(
        tf_version=kw["tf_version"], python=kw["python"], source=kw["source"], ref=kw["ref"],
        output=kw["output"], work_root=work_root, base_image=kw["base_image"],
        mirror=kw["mirror"] or host_mirror(), configure=parse_pairs(kw["configure"], "--configure"),
        patch_dirs=tuple(kw["patch_dirs"]), default_patches=not kw["no_default_patches"],
        jobs=kw["jobs"], ram_mb=kw["ram_mb"], plat=kw["plat"], exclude=tuple(kw["exclude"]),
        project_name=kw["project_name"], build_tag=kw["build_tag"], index_url=kw["index_url"],
        test_command=kw["test_command"], bazel_args=tuple(kw["bazel_args"]),
        ca_bundle=DEFAULT_CA if DEFAULT_CA.is_file() else None, proxy_env=host_proxy_env(),
        bazel_env=host_bazel_env(),
    )
    patches = find_patches(recipe.release, opts.patch_dirs, include_default=opts.default_patches)
    if kw["dry_run"]:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        emulated = os.uname().machine not in ("aarch64", "arm64")
        plan = make_plan(opts, recipe, patches=patches, engine_cpus=os.cpu_count() or 1, engine_mem=mem,
                         engine_emulated=emulated)
        for line in plan.describe():
            click.echo(line)
        return
    from tfwheelbuild.manifest import check_writable

    check_writable(opts.output)
    commit = check_tag(opts.source, opts.ref or f"v{opts.tf_version}")
    summary = run_build(opts, recipe, patches, commit=commit, force=kw["force"], quiet=kw["quiet"],
                        verbose=kw["verbose"])
    if kw["as_json"]:
        click.echo(json.dumps(summary))
    elif summary["status"] == "skipped":
        click.echo(f"up to date: {summary['wheel']} already has build key {str(summary['build_key'])[:16]} "
                   "(use --force to rebuild)")
    else:
        click.echo(f"built {summary['wheel']} in {summary['seconds']} s")


@main.command()
@click.argument("wheel", type=click.Path(path_type=Path))
@click.option("--py", "python", default="", help="Python to test with [default: from the wheel's tag].")
@click.option("--base-image", default="", help="arm64 base image for the runtime image.")
@click.option("--mirror", default="", help="apt mirror for the debootstrap fallback.")
@click.option("--index-url", default="", help="Package index for the wheel's dependencies.")
@click.option("--test-command", default="", help="Extra command run in the test venv.")
@click.option("--expect-version", default="", help="Expected __version__ [default: the wheel's].")
@click.option("--work-dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.option("-v", "--verbose", is_flag=True)
@handle_errors
def test(wheel: Path, python: str, base_image: str, mirror: str, index_url: str, test_command: str,
         expect_version: str, work_dir: Path | None, as_json: bool, verbose: bool) -> None:
    """Install any aarch64 TensorFlow wheel in a clean arm64 runtime and smoke-test it.

    \b
    Example:
      tfwheelbuild test dist/tensorflow-2.16.1-cp311-cp311-manylinux_2_34_aarch64.whl
    """
    from tfwheelbuild.plan import runtime_recipe
    from tfwheelbuild.preflight import host_proxy_env
    from tfwheelbuild.runtime_test import RuntimeTestSpec, run_runtime_test
    from tfwheelbuild.wheelinfo import inspect_wheel

    info = inspect_wheel(wheel)
    python = python or _python_from_tags(info.pythons)
    with _engine_session(work_dir, "tests", info.name, verbose=verbose) as (engine, log):
        tag = _arm64_image(engine, log, runtime_recipe(python), base_image=base_image, mirror=mirror, python=python)
        spec = RuntimeTestSpec(image=tag, python=python, expected_version=expect_version or info.version,
                               index_url=index_url, test_command=test_command,
                               ca_bundle=DEFAULT_CA if DEFAULT_CA.is_file() else None, proxy_env=host_proxy_env())
        result = run_runtime_test(engine, wheel, spec, log, labels={})
    if as_json:
        click.echo(json.dumps({"status": "passed", "wheel": str(wheel), **result}))
    else:
        click.echo(f"passed: {wheel.name} ({json.dumps(result.get('smoke', {}))})")


@contextmanager
def _engine_session(work_dir: Path | None, kind: str, name: str, *, verbose: bool) -> Iterator[tuple[Any, Any]]:
    """An engine and a log for a single-stage command; containers removed, log path on errors."""
    from tfwheelbuild.buildlog import BuildLog
    from tfwheelbuild.engine import Engine

    engine = Engine.connect()
    log_dir = (work_dir or default_work_root()) / kind / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    log = BuildLog(log_dir / f"{kind}.log", verbose=verbose)
    try:
        yield engine, log
    except TfwbError as exc:
        exc.log_path = str(log.path)
        raise
    finally:
        engine.remove_all()
        log.close()


def _arm64_image(engine: Any, log: Any, recipe: Any, *, base_image: str, mirror: str, python: str) -> str:
    """Base (pulled or bootstrapped), proven to run arm64, then `recipe` on top of it; its tag."""
    from tfwheelbuild.bootstrap import host_mirror
    from tfwheelbuild.plan import base_plan
    from tfwheelbuild.stages.images import ensure_base, ensure_image

    base_ref, base_id = ensure_base(engine, log, base_plan(base_image, mirror or host_mirror(), python), python)
    engine.check_arm64(base_ref)
    tag, _ = ensure_image(engine, log, recipe, base_ref, base_id, DEFAULT_CA if DEFAULT_CA.is_file() else None)
    return str(tag)


def _python_from_tags(pythons: tuple[str, ...]) -> str:
    for tag in pythons:
        if tag.startswith("cp") and tag[2:].isdigit():
            return f"{tag[2]}.{tag[3:]}"
    raise UsageError(f"cannot tell the Python from the wheel's tags ({', '.join(pythons)}); pass --py")


@main.group()
def base() -> None:
    """Base images for the builder and runtime images."""


@base.command("bootstrap")
@click.option("--suite", default="bookworm", show_default=True,
              help="Debian suite: bullseye (Python 3.9), bookworm (3.11), trixie (3.13).")
@click.option("--mirror", default="", help="apt mirror [default: the host's Debian mirror].")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@handle_errors
def base_bootstrap(suite: str, mirror: str, force: bool) -> None:
    """Create an arm64 Debian base image with debootstrap (no registry needed).

    \b
    Example:
      tfwheelbuild base bootstrap --suite bookworm --mirror http://deb.debian.org/debian
    """
    from tfwheelbuild.bootstrap import base_tag, bootstrap_base, host_mirror
    from tfwheelbuild.buildlog import BuildLog
    from tfwheelbuild.engine import Engine

    engine = Engine.connect()
    tag = base_tag(suite)
    if engine.image_id(tag) and not force:
        click.echo(f"{tag} exists (use --force to rebuild)")
        return
    log = BuildLog(default_work_root() / "base" / f"{suite}.log")
    try:
        bootstrap_base(engine, suite, mirror or host_mirror(), log)
    finally:
        log.close()
    click.echo(tag)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def versions(as_json: bool) -> None:
    """List the TensorFlow releases this tool has recipes for.

    \b
    Example:
      tfwheelbuild versions --json
    """
    from tfwheelbuild.recipes import format_versions_table, load_recipes, versions_rows

    rows = versions_rows(load_recipes())
    click.echo(json.dumps(rows, indent=2) if as_json else format_versions_table(rows))


@main.command()
@click.argument("wheel", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("dist"), show_default=True)
@click.option("--plat", default="", help="Demand this policy, e.g. manylinux_2_34_aarch64 [default: auto].")
@click.option("--exclude", multiple=True, help="Library auditwheel must not graft (repeatable).")
@click.option("--build-tag", default="", help="Wheel build tag to add.")
@click.option("--base-image", default="", help="arm64 base image for the builder image.")
@click.option("--mirror", default="", help="apt mirror for the debootstrap fallback.")
@click.option("--work-dir", type=click.Path(path_type=Path))
@click.option("-v", "--verbose", is_flag=True)
@handle_errors
def repair(wheel: Path, output: Path, plat: str, exclude: tuple[str, ...], build_tag: str, base_image: str,
           mirror: str, work_dir: Path | None, verbose: bool) -> None:
    """Run auditwheel repair on a linux_aarch64 wheel inside the arm64 builder image.

    \b
    Example:
      tfwheelbuild repair tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl --plat manylinux_2_34_aarch64
    """
    from tfwheelbuild.manifest import atomic_copy, check_writable
    from tfwheelbuild.plan import OUT, RepairPlan, builder_python, builder_recipe
    from tfwheelbuild.recipes import load_recipes, release_of
    from tfwheelbuild.stages.repair import repair_in_container
    from tfwheelbuild.wheelinfo import inspect_wheel

    info = inspect_wheel(wheel)
    check_writable(output)
    python = _python_from_tags(info.pythons)
    recipes = load_recipes()
    recipe = recipes.get(release_of(info.version)) or recipes[max(recipes, key=lambda r: tuple(map(int, r.split("."))))]
    with _engine_session(work_dir, "repairs", info.name, verbose=verbose) as (engine, log):
        tag = _arm64_image(engine, log, builder_recipe(builder_python(recipe, python), recipe.build_pip),
                           base_image=base_image,
                           mirror=mirror, python=python)
        container = engine.start(tag, mounts=[], labels={})
        engine.exec(container, ["mkdir", "-p", f"{OUT}/raw", f"{OUT}/repaired"], sink=log.line)
        engine.put_files(container, f"{OUT}/raw", {wheel.name: wheel})
        repaired = repair_in_container(engine, container, f"{OUT}/raw/{wheel.name}",
                                       RepairPlan(plat=plat, exclude=exclude, build_tag=build_tag), log,
                                       log.path.parent / "staging")
        atomic_copy(repaired.path, output / repaired.path.name)
    click.echo(f"repaired: {output / repaired.path.name} (grafted: {', '.join(repaired.grafted) or 'nothing'})")
