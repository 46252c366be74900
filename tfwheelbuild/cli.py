"""Command line: parse, call, and map every TfwbError to one clear line and its exit code.

Build, test, repair, base images and recipes live here; publishing and nightly jobs in
cli_nightly.py; what both need (the error edge, engine sessions) in cliutil.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from tfwheelbuild import __version__, validate
from tfwheelbuild.arm64image import arm64_image, python_from_tags
from tfwheelbuild.cliutil import (
    VERBOSE_HELP,
    WORK_DIR_HELP,
    CommandGroup,
    checked,
    handle_errors,
    resolve_settings,
    settings_options,
)
from tfwheelbuild.enginesession import engine_session
from tfwheelbuild.hostpaths import default_work_root, host_ca
from tfwheelbuild.redact import redact, redact_all


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tfwheelbuild")
def main() -> None:
    """Build TensorFlow wheels for Linux arm64 (aarch64) from source, in Docker.

    \b
    Example:
      tfwheelbuild build --tf 2.16.1 --py 3.11
    """


@main.command()
@click.option("--tf", "tf_version", required=True, callback=checked(validate.release),
              help="TensorFlow release X.Y.Z, e.g. 2.16.1 (tag v2.16.1), or a release candidate 2.17.0rc1 "
              "(tag v2.17.0-rc1).")
@click.option("--py", "python", required=True, callback=checked(validate.python),
              help="Python version of the wheel, e.g. 3.11.")
@settings_options
@click.option("--publish", "do_publish", is_flag=True, help="Publish the tested wheel to --index afterwards.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="After publishing, install the wheel from the index in the clean runtime image.")
@click.option("--nightly", is_flag=True, help="Stamp the wheel X.Y.Z.devYYYYMMDD (today, UTC), as tf-nightly does.")
@click.option("--nightly-date", default="", metavar="YYYYMMDD", callback=checked(validate.nightly_date),
              help="Nightly stamp with this date.")
@click.option("--allow-unsupported-python", is_flag=True, help="Build a Python outside the release's range.")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path),
              help="TOML recipe overrides, or `infer`: derive the recipe from the checkout (the default for a "
              "release with no recipe).")
@click.option("--force", is_flag=True, help="Rebuild even when the output dir or index has this build key.")
@click.option("--retest", is_flag=True,
              help="Run the runtime test even when this exact wheel (same bytes) passed it before.")
@click.option("--keep-container", is_flag=True,
              help="On failure, leave the build container running for `tfwheelbuild shell`.")
@click.option("--dry-run", is_flag=True, help="Print the plan without touching Docker (with --json: as JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print a one-object JSON summary on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Stream all build output.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the result.")
@click.option("--image", "image_tag", default="", metavar="REGISTRY/NAME:TAG",
              help="Then build an arm64 image with the tested wheel in a venv (see `tfwheelbuild image`).")
@click.option("--push-image", is_flag=True,
              help="Push the --image (the registry and credentials are checked before the build).")
@click.option("--registry-auth", type=click.Path(path_type=Path),
              help="Registry credentials for --push-image: a JSON file shaped like ~/.docker/config.json.")
@handle_errors
def build(**kw: Any) -> None:
    """Build, repair and test a TensorFlow wheel for linux aarch64.

    Options not given on the command line come from TFWHEELBUILD_* variables, then from
    tfwheelbuild.toml (or [tool.tfwheelbuild] in pyproject.toml), then the defaults.

    \b
    Examples:
      tfwheelbuild build --tf 2.16.1 --py 3.11
      tfwheelbuild build --tf 2.16.1 --py 3.11 --source ./tensorflow --patches ./my-patches
      tfwheelbuild build --tf 2.17.0 --py 3.11 --dry-run
      tfwheelbuild build --tf 2.20.0 --py 3.12 --nightly --publish --index https://pypi.internal/
    """
    from tfwheelbuild.config import resolve_matrix
    from tfwheelbuild.infer import inference_lines, wanted_recipe
    from tfwheelbuild.jobs import build_options, today
    from tfwheelbuild.patchset import find_patches
    from tfwheelbuild.plan import make_plan, nightly_repo_env
    from tfwheelbuild.recipes import check_python

    recipe, infer = wanted_recipe(kw["tf_version"], kw["recipe_file"])
    if recipe is not None and not infer:
        check_python(recipe, kw["python"], allow_unsupported=kw["allow_unsupported_python"])
    # The config file's [[overrides]] that select this release and Python apply, as in `nightly`.
    settings, config = resolve_settings(kw, releases=(kw["tf_version"],), pythons=(kw["python"],))
    settings = resolve_matrix(settings, config)[0].settings
    opts = build_options(kw["tf_version"], kw["python"], settings,
                         nightly_date=kw["nightly_date"] or (today() if kw["nightly"] else ""))
    if infer:  # no written recipe, or --recipe infer: the checkout says how it builds
        recipe = infer(opts.source, opts.ref)
        check_python(recipe, kw["python"], allow_unsupported=kw["allow_unsupported_python"])
        if not kw["dry_run"] and not kw["quiet"]:
            for line in inference_lines(recipe):
                click.echo(line, err=True)
    assert recipe is not None
    nightly_repo_env(recipe, opts.nightly_date)  # bad dates and pre-2.20 releases fail before any work
    if opts.deps is not None:  # another release's or Python's bundle, or a corrupt one: refused before any work
        from tfwheelbuild.deps import check_bundle

        check_bundle(opts.deps, opts.tf_version, opts.python)
    elif opts.bazel_mirror and not kw["dry_run"]:
        from tfwheelbuild.deps import probe_mirror

        probe_mirror(opts.bazel_mirror)
    patches = find_patches(recipe.release, opts.patch_dirs, include_default=opts.default_patches)
    from tfwheelbuild.cli_image import check_build_image

    image_request = None if kw["dry_run"] else check_build_image(
        kw["image_tag"], python=kw["python"], push=kw["push_image"], registry_auth=kw["registry_auth"])
    if kw["dry_run"]:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        emulated = os.uname().machine not in ("aarch64", "arm64")
        plan = make_plan(opts, recipe, patches=patches, engine_cpus=os.cpu_count() or 1, engine_mem=mem,
                         engine_emulated=emulated, engine_arch=os.uname().machine)
        if kw["as_json"]:
            click.echo(json.dumps(plan_json(plan)))
            return
        for line in plan.describe():
            click.echo(redact(line))
        return
    summary = _build_recorded(opts, recipe, patches, settings, kw)
    wheel_file = Path(str(summary.get("wheel", "")))
    if image_request is not None and wheel_file.is_file():
        from tfwheelbuild.cli_image import image_after_build

        summary["image"] = image_after_build(image_request, wheel_file, base_image=settings["base-image"],
                                             mirror=settings["mirror"], work_dir=settings["work-dir"],
                                             verbose=kw["verbose"])
    elif image_request is not None:
        click.echo(f"no image: the wheel is on the index, not in the output dir ({wheel_file.name})", err=True)
    if kw["as_json"]:
        click.echo(json.dumps(redact_all(summary)))
        return
    if summary["status"] == "skipped":
        where = "the index" if summary.get("where") == "index" else "the output dir"
        click.echo(f"up to date: {summary['wheel']} in {where} already has build key {str(summary['build_key'])[:16]} "
                   "(use --force to rebuild)")
    else:
        hits = dict(summary.get("cache") or {}).get("remote cache hit")
        click.echo(f"built {summary['wheel']} in {summary['seconds']} s"
                   + (f" ({hits} actions from the remote cache)" if hits else ""))
        if summary.get("report"):
            click.echo(f"report: {summary['report']}")
        toolchain = dict(summary.get("toolchain") or {})
        # Said plainly on every build: where this wheel was made otherwise than upstream's.
        for line in list(toolchain.get("differences") or []):
            click.echo(f"differs from upstream: {line}")
    made = summary.get("image")
    if isinstance(made, dict):
        click.echo(f"image {made['tag']}" + (" (pushed)" if made["status"] == "pushed" else "")
                   + f": docker run --rm {made['tag']}")
    published = summary.get("published")
    if isinstance(published, dict):
        said = "published to" if published["status"] == "uploaded" else "already identical on"
        click.echo(f"{said} {published['index']}" + ("; installs from it" if "verified" in published else ""))


def plan_json(plan: Any) -> dict[str, Any]:
    """The dry-run's plan for machines: every field of the BuildPlan plus the lines a person reads, with
    credentials out (the remote cache's secret URL is dropped; every URL loses its userinfo)."""
    from dataclasses import asdict

    fields = asdict(plan)
    fields["remote"].pop("secret_url", None)
    fields["source"].pop("fetch_url", None)  # the URL the container fetches: the source URL, or a mount
    fields = json.loads(json.dumps(fields, default=str))
    return {"status": "dry-run", **redact_all(fields), "describe": [redact(line) for line in plan.describe()]}


def _build_recorded(opts: Any, recipe: Any, patches: Any, settings: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """The build, kept in the run history with a report page beside its log (skips are not recorded)."""
    from tfwheelbuild.cli_nightly import record_build
    from tfwheelbuild.errors import TfwbError
    from tfwheelbuild.history import now_iso

    started = now_iso()

    def record(summary: dict[str, Any] | None, error: TfwbError | None, build_dir: Path) -> str:
        # Best effort: a history that cannot be written must not fail a build that succeeded.
        try:
            return str(record_build(summary, error, tf_version=opts.tf_version, python=opts.python,
                                    started=started, report_dir=build_dir))
        except TfwbError as exc:
            click.echo(f"warning: not recorded in the run history: {exc.message}", err=True)
            return ""

    try:
        summary = _build_and_publish(opts, recipe, patches, settings, kw)
    except TfwbError as exc:
        if exc.log_path:  # it got as far as a build directory
            record(None, exc, Path(exc.log_path).parent)
        raise
    if summary.get("log"):
        summary["report"] = record(summary, None, Path(str(summary["log"])).parent)
    return summary


def _build_and_publish(opts: Any, recipe: Any, patches: Any, settings: Any, kw: dict[str, Any]) -> dict[str, Any]:
    from tfwheelbuild.history import History
    from tfwheelbuild.jobs import pin_source
    from tfwheelbuild.manifest import check_writable
    from tfwheelbuild.pipeline import run_build
    from tfwheelbuild.publish import resolve_index

    target = resolve_index(settings["index"]) if kw["do_publish"] else None  # a bad --index fails first
    check_writable(opts.output)
    opts, commit = pin_source(opts, recipe, lambda line: click.echo(line, err=True))
    if target is None:
        return run_build(opts, recipe, patches, commit=commit, force=kw["force"], quiet=kw["quiet"],
                         verbose=kw["verbose"], keep_container=kw["keep_container"], retest=kw["retest"])
    from tfwheelbuild.jobs import index_lookup, publish_and_verify

    with History() as history:
        summary = run_build(opts, recipe, patches, commit=commit, force=kw["force"], quiet=kw["quiet"],
                            verbose=kw["verbose"], in_index=index_lookup(target, history),
                            keep_container=kw["keep_container"], retest=kw["retest"])
        if summary.get("where") != "index":  # a wheel in the output dir was tested when it was built
            click.echo(f"▶ publish {Path(str(summary['wheel'])).name} to {target.display}", err=True)
            summary["published"] = publish_and_verify(Path(str(summary["wheel"])), str(summary["build_key"]),
                                                      target, history, verify=kw["verify"], settings=settings,
                                                      verbose=kw["verbose"])
    return summary


@main.command()
@click.argument("wheel", type=click.Path(path_type=Path))
@click.option("--py", "python", default="", callback=checked(validate.python),
              help="Python to test with [default: from the wheel's tag].")
@click.option("--base-image", default="", callback=checked(validate.image),
              help="arm64 base image for the runtime image.")
@click.option("--mirror", default="", callback=checked(validate.url), help="apt mirror for the debootstrap fallback.")
@click.option("--index-url", default="", callback=checked(validate.url),
              help="Package index for the wheel's dependencies.")
@click.option("--test-command", default="", help="Extra command run in the test venv.")
@click.option("--expect-version", default="", help="Expected __version__ [default: the wheel's].")
@click.option("--work-dir", type=click.Path(path_type=Path), help=WORK_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
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
    from tfwheelbuild.testrun import RuntimeTestSpec, run_runtime_test
    from tfwheelbuild.wheelinfo import inspect_wheel

    info = inspect_wheel(wheel, python=python)
    python = python or python_from_tags(info.pythons)
    with engine_session(work_dir, "tests", info.name, verbose=verbose) as (engine, log):
        tag = arm64_image(engine, log, runtime_recipe(python), base_image=base_image, mirror=mirror, python=python)
        spec = RuntimeTestSpec(image=tag, python=python, expected_version=expect_version or info.version,
                               index_url=index_url, test_command=test_command,
                               ca_bundle=host_ca(), proxy_env=host_proxy_env())
        result = run_runtime_test(engine, wheel, spec, log, labels={})
    if as_json:
        click.echo(json.dumps(redact_all({"status": "passed", "wheel": str(wheel), **result})))
    else:
        click.echo(runtime_test_summary(wheel.name, result))


def runtime_test_summary(wheel: str, result: dict[str, Any]) -> str:
    """What a passing runtime test found, for a person (--json keeps every field for machines)."""
    smoke = dict(result.get("smoke") or {})
    info = dict(smoke.get("build_info") or {})
    found = [f"tensorflow {smoke['version']}" if smoke.get("version") else "",
             f"imports in {smoke['import_seconds']} s" if "import_seconds" in smoke else "",
             "64x64 matmul correct" if "matmul_sum" in smoke else "",
             f"built for CPU ({info.get('cpu_compiler', 'compiler not recorded')})" if info and
             not info.get("is_cuda_build") else "GPU build" if info.get("is_cuda_build") else ""]
    lines = [f"passed: {wheel}", *(f"  {fact}" for fact in found if fact)]
    if result.get("test_command"):
        lines.append(f"  test command passed: {result['test_command']}")
    return "\n".join(lines)


@main.group()
def base() -> None:
    """Base images for the builder and runtime images, made without a registry.

    `build` pulls ubuntu:22.04 when a registry answers and otherwise bootstraps a Debian base
    itself; these commands make one ahead of time (air-gapped hosts) or from a rootfs tarball.

    \b
    Examples:
      tfwheelbuild base bootstrap --suite bookworm
      tfwheelbuild base import ./ubuntu-base-22.04.5-base-arm64.tar.gz --sha256 HEX
      tfwheelbuild build --tf 2.16.1 --py 3.11 --base-image tfwheelbuild/base:bookworm-arm64
    """


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
      tfwheelbuild base bootstrap --suite bookworm --mirror http://mirror.internal/debian
    """
    from tfwheelbuild.bootstrap import (
        base_tag,
        bootstrap_base,
        check_mirror,
        check_suite,
        check_suite_on_mirror,
        host_mirror,
    )
    from tfwheelbuild.buildlog import BuildLog
    from tfwheelbuild.engine import Engine

    check_suite(suite)
    mirror = check_mirror(mirror) if mirror else host_mirror()
    engine = Engine.connect()
    tag = base_tag(suite)
    if engine.image_id(tag) and not force:
        click.echo(f"{tag} exists (use --force to rebuild)")
        return
    check_suite_on_mirror(suite, mirror)
    log = BuildLog(default_work_root() / "base" / f"{suite}.log")
    try:
        bootstrap_base(engine, suite, mirror, log)
    finally:
        log.close()
    click.echo(tag)


@base.command("import")
@click.argument("source")
@click.option("--sha256", default="", help="The tarball's sha256 [default: from SHA256SUMS beside a URL].")
@click.option("--name", default="", help="Image name: tfwheelbuild/base:NAME-ARCH [default: from the file name].")
@click.option("--arch", type=click.Choice(["arm64", "amd64"]), default="arm64", show_default=True,
              help="The rootfs's architecture (amd64: a base for --mode cross builders).")
@click.option("--force", is_flag=True, help="Import again when the image exists.")
@handle_errors
def base_import(source: str, sha256: str, name: str, arch: str, force: bool) -> None:
    """Make a base image from a root filesystem tarball (URL or path), checksum first.

    A URL is imported only when its sha256 matches --sha256 or the SHA256SUMS file published
    beside it; then pass the printed tag as --base-image.

    \b
    Example:
      tfwheelbuild base import \\
        https://cdimage.ubuntu.com/ubuntu-base/releases/22.04/release/ubuntu-base-22.04.5-base-arm64.tar.gz
      tfwheelbuild build --tf 2.16.1 --py 3.10 --base-image tfwheelbuild/base:ubuntu-base-22.04.5-base-arm64
    """
    from tfwheelbuild.rootfs import check_import_args, image_name, import_rootfs

    name = name or image_name(source)
    check_import_args(source, sha256=sha256, name=name)
    with engine_session(None, "base", f"import-{name}-{arch}", verbose=False) as (engine, log):
        imported = import_rootfs(engine, source, name=name, arch=arch, sha256=sha256, ca_bundle=host_ca(), log=log,
                                 force=force)
    click.echo(imported.tag)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the releases as JSON on stdout.")
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
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("dist"), show_default=True,
              help="Directory the repaired wheel is written to.")
@click.option("--plat", default="", callback=checked(validate.plat),
              help="Demand this policy, e.g. manylinux_2_34_aarch64 [default: auto].")
@click.option("--exclude", multiple=True, help="Library auditwheel must not graft (repeatable).")
@click.option("--build-tag", default="", callback=checked(validate.build_tag),
              help="Wheel build tag to add, starting with a digit (PEP 427), e.g. 1.")
@click.option("--base-image", default="", callback=checked(validate.image),
              help="arm64 base image for the builder image.")
@click.option("--mirror", default="", callback=checked(validate.url), help="apt mirror for the debootstrap fallback.")
@click.option("--work-dir", type=click.Path(path_type=Path), help=WORK_DIR_HELP)
@click.option("--allow-4k-pages", is_flag=True, help="Accept ELF files that load only on 4 KiB-page kernels.")
@click.option("--max-wheel-size", default="240M", show_default=True, callback=checked(validate.wheel_size),
              help="Refuse a repaired wheel over this size (0: no limit).")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@handle_errors
def repair(wheel: Path, output: Path, plat: str, exclude: tuple[str, ...], build_tag: str, base_image: str,
           mirror: str, work_dir: Path | None, allow_4k_pages: bool, max_wheel_size: str, verbose: bool) -> None:
    """Run auditwheel repair on a linux_aarch64 wheel inside the arm64 builder image.

    \b
    Example:
      tfwheelbuild repair tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl --plat manylinux_2_34_aarch64
    """
    from tfwheelbuild.manifest import atomic_copy, check_writable
    from tfwheelbuild.plan import OUT, RepairPlan, builder_python, builder_recipe, parse_source_date_epoch
    from tfwheelbuild.recipes import load_recipes, release_of
    from tfwheelbuild.stages.repair import repair_in_container
    from tfwheelbuild.wheelinfo import inspect_wheel

    info = inspect_wheel(wheel)
    epoch = parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", ""))  # auditwheel's zip times
    check_writable(output)
    python = python_from_tags(info.pythons)
    recipes = load_recipes()
    recipe = recipes.get(release_of(info.version)) or recipes[max(recipes, key=lambda r: tuple(map(int, r.split("."))))]
    with engine_session(work_dir, "repairs", info.name, verbose=verbose) as (engine, log):
        tag = arm64_image(engine, log, builder_recipe(builder_python(recipe, python), recipe.build_pip),
                           base_image=base_image,
                           mirror=mirror, python=python)
        container = engine.start(tag, mounts=[], labels={})
        engine.exec(container, ["mkdir", "-p", f"{OUT}/raw", f"{OUT}/repaired"], sink=log.line)
        engine.put_files(container, f"{OUT}/raw", {wheel.name: wheel})
        repaired = repair_in_container(engine, container, f"{OUT}/raw/{wheel.name}",
                                       RepairPlan(plat="" if plat == "auto" else plat, exclude=exclude,
                                                  build_tag=build_tag, allow_4k_pages=allow_4k_pages,
                                                  max_wheel_size=validate.wheel_size_bytes(max_wheel_size)), log,
                                       log.path.parent / "staging", source_date_epoch=int(epoch) if epoch else None)
        atomic_copy(repaired.path, output / repaired.path.name)
    click.echo(f"repaired: {output / repaired.path.name} (grafted: {', '.join(repaired.grafted) or 'nothing'})")


def _register() -> None:
    from tfwheelbuild.cli_nightly import history, matrix, nightly, publish
    from tfwheelbuild.cli_ops import cache, clean, doctor, images, shell

    for command in (publish, nightly, matrix, history, doctor, images, cache, clean, shell):
        main.add_command(command)
    from tfwheelbuild.cli_ops import diff

    main.add_command(diff)
    from tfwheelbuild.cli_fetch import fetch

    main.add_command(fetch)
    from tfwheelbuild.cli_image import image

    main.add_command(image)


_register()
