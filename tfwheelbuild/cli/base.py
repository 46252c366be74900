"""Commands around a wheel and the images: test, repair, base images, versions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from tfwheelbuild.cli.edge import VERBOSE_HELP, checked, declared_option, docker_host_option, handle_errors
from tfwheelbuild.core import validate
from tfwheelbuild.engine.arm64 import arm64_image, python_from_tags
from tfwheelbuild.engine.session import engine_session
from tfwheelbuild.util.hostpaths import default_work_root, host_ca
from tfwheelbuild.util.redact import redact_all


@click.command()
@click.argument("wheel", type=click.Path(path_type=Path))
@click.option("--py", "python", default="", callback=checked(validate.python),
              help="Python to test with [default: from the wheel's tag].")
@declared_option("base-image", help="arm64 base image for the runtime image.")
@declared_option("mirror")
@declared_option("index-url", help="Package index for the wheel's dependencies.")
@declared_option("test-command")
@declared_option("installer")
@click.option("--expect-version", default="", help="Expected __version__ [default: the wheel's].")
@declared_option("work-dir")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@docker_host_option
@handle_errors
def test(wheel: Path, python: str, base_image: str, mirror: str, index_url: str, test_command: str, installer: str,
         expect_version: str, work_dir: Path | None, as_json: bool, verbose: bool) -> None:
    """Install any aarch64 TensorFlow wheel in a clean arm64 runtime and smoke-test it.

    \b
    Example:
      tfwheelbuild test dist/tensorflow-2.16.1-cp311-cp311-manylinux_2_34_aarch64.whl
    """
    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
    from tfwheelbuild.engine.preflight import host_proxy_env
    from tfwheelbuild.engine.runtest import RuntimeTestSpec, run_runtime_test
    from tfwheelbuild.plan import runtime_recipe

    info = inspect_wheel(wheel, python=python)
    python = python or python_from_tags(info.pythons)
    with engine_session(work_dir, "tests", info.name, verbose=verbose) as (engine, log):
        tag = arm64_image(engine, log, runtime_recipe(python), base_image=base_image, mirror=mirror, python=python)
        spec = RuntimeTestSpec(image=tag, python=python, expected_version=expect_version or info.version,
                               index_url=index_url, test_command=test_command, installer=installer,
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
    if result.get("installer"):
        found.append(f"installed with {result['installer']}")
    lines = [f"passed: {wheel}", *(f"  {fact}" for fact in found if fact)]
    if result.get("test_command"):
        lines.append(f"  test command passed: {result['test_command']}")
    return "\n".join(lines)


@click.group()
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
@declared_option("mirror", callback=None,  # checked with the apt-specific message before any work
                 help="apt mirror [default: the host's Debian mirror].")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@docker_host_option
@handle_errors
def base_bootstrap(suite: str, mirror: str, force: bool) -> None:
    """Create an arm64 Debian base image with debootstrap (no registry needed).

    \b
    Example:
      tfwheelbuild base bootstrap --suite bookworm --mirror http://mirror.internal/debian
    """
    from tfwheelbuild.engine.bootstrap import (
        base_tag,
        bootstrap_base,
        check_mirror,
        check_suite,
        check_suite_on_mirror,
        host_mirror,
    )
    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.pipeline.buildlog import BuildLog

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
@docker_host_option
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
    from tfwheelbuild.engine.rootfs import check_import_args, image_name, import_rootfs

    name = name or image_name(source)
    check_import_args(source, sha256=sha256, name=name)
    with engine_session(None, "base", f"import-{name}-{arch}", verbose=False) as (engine, log):
        imported = import_rootfs(engine, source, name=name, arch=arch, sha256=sha256, ca_bundle=host_ca(), log=log,
                                 force=force)
    click.echo(imported.tag)


@click.command()
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


@click.command()
@click.argument("wheel", type=click.Path(path_type=Path))
@declared_option("output", help="Directory the repaired wheel is written to [default: dist].")
@declared_option("plat", help="Demand this policy, e.g. manylinux_2_34_aarch64 [default: auto].")
@declared_option("exclude")
@declared_option("build-tag", help="Wheel build tag to add, starting with a digit (PEP 427), e.g. 1.")
@declared_option("base-image", help="arm64 base image for the builder image.")
@declared_option("mirror")
@declared_option("work-dir")
@click.option("--allow-4k-pages", is_flag=True, help="Accept ELF files that load only on 4 KiB-page kernels.")
@click.option("--max-wheel-size", default="240M", show_default=True, callback=checked(validate.wheel_size),
              help="Refuse a repaired wheel over this size (0: no limit).")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@docker_host_option
@handle_errors
def repair(wheel: Path, output: Path, plat: str, exclude: tuple[str, ...], build_tag: str, base_image: str,
           mirror: str, work_dir: Path | None, allow_4k_pages: bool, max_wheel_size: str, verbose: bool) -> None:
    """Run auditwheel repair on a linux_aarch64 wheel inside the arm64 builder image.

    \b
    Example:
      tfwheelbuild repair tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl --plat manylinux_2_34_aarch64
    """
    from tfwheelbuild.artifacts.manifest import atomic_copy, check_writable
    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
    from tfwheelbuild.pipeline.stages.repair import repair_in_container
    from tfwheelbuild.plan import OUT, RepairPlan, builder_python, builder_recipe, parse_source_date_epoch
    from tfwheelbuild.recipes import load_recipes, release_of

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
