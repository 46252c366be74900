"""Commands that look at the host and at builds: doctor, shell, diff."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tfwheelbuild.cli.edge import declared_option, docker_host_option, handle_errors
from tfwheelbuild.core.options import default
from tfwheelbuild.util.hostpaths import default_work_root, host_ca

if TYPE_CHECKING:
    pass


@click.command()
@declared_option("source", help="Source to check (a mirror or local checkout on air-gapped hosts) "
                 f"[default: {default('source')}].")
@declared_option("mirror", callback=None,  # checked with the apt-specific message before any check
                 help="apt mirror to check [default: the host's].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@docker_host_option
@handle_errors
def doctor(source: str, mirror: str, as_json: bool) -> None:
    """Check that this host can build: engine, arm64 execution, disk, RAM, and the network it needs.

    Exits non-zero when a build could not work; each failed check says how to fix it.

    \b
    Example:
      tfwheelbuild doctor --source /srv/mirrors/tensorflow.git
      tfwheelbuild doctor --docker-host ssh://builder@arm64-box
    """
    import os
    from dataclasses import asdict

    from tfwheelbuild.buildenv.bazelisk import DEFAULT_BASE_URL  # the builder's own default, read on the host
    from tfwheelbuild.engine.bootstrap import check_mirror, host_mirror
    from tfwheelbuild.engine.doctor import format_table, run_checks
    from tfwheelbuild.engine.records import SHELL_ROLES
    from tfwheelbuild.errors import ImageError
    from tfwheelbuild.plan import DEFAULT_BASE_IMAGE

    def arm64_image(engine: Any) -> str:
        # Any arm64 OS image of the tool's already here serves (or the default base); a registry is only
        # asked when there is none, so a host that bootstrapped its base never tries to pull. Not its
        # one-file tools image (uv, FROM scratch): it has no `uname` to run.
        for role in SHELL_ROLES:
            for tag, arch in engine.images_labelled(f"org.tfwheelbuild.role={role}"):
                if arch == "arm64":
                    return str(tag)
        if engine.image_id(DEFAULT_BASE_IMAGE) and engine.image_arch(DEFAULT_BASE_IMAGE) == "arm64":
            return DEFAULT_BASE_IMAGE
        try:
            engine.pull(DEFAULT_BASE_IMAGE)
        except ImageError as exc:
            raise ImageError(f"no arm64 image here to test with, and {DEFAULT_BASE_IMAGE} cannot be pulled",
                             remedy="run `tfwheelbuild base bootstrap` (no registry needed)") from exc
        return DEFAULT_BASE_IMAGE

    if mirror:
        check_mirror(mirror)
    checks = run_checks(
        source=source, apt_mirror=mirror or host_mirror(),
        pip_index=pip_index_url(),
        bazel_mirror=os.environ.get("BAZELISK_BASE_URL", DEFAULT_BASE_URL + "/"),
        ca_bundle=host_ca(), arm64_image=arm64_image, cache_dir=default_work_root(),
        source_required=source != default("source"))
    if as_json:
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        click.echo(format_table(checks))
    if any(c.status == "fail" for c in checks):
        sys.exit(1)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("build", default="")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--list", "list_only", is_flag=True, help="List the build containers instead.")
@docker_host_option
@handle_errors
def shell(build: str, command: tuple[str, ...], list_only: bool) -> None:
    """Enter a build's container: one kept with `build --keep-container`, or a build still running.

    BUILD is a build id (or its unique end, e.g. the last 4 characters); default: the newest. The
    shell starts in the source tree, where `bazel build` runs as the failed build ran it.

    \b
    Examples:
      tfwheelbuild shell
      tfwheelbuild shell 20261125-101500-tf2.16.1-py3.11-3f2a
      tfwheelbuild shell 3f2a -- bazel info output_base
    """
    import os

    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.errors import UsageError
    from tfwheelbuild.plan import SRC

    if list_only and command:
        raise UsageError(f"--list runs no command (got {' '.join(command)!r})",
                         remedy="drop the command to list, or drop --list to run it in a build's container")
    if not list_only and not shutil.which("docker"):
        raise UsageError("the docker command line client is not installed",
                         remedy="install it (the shell needs its terminal handling), or use `docker exec` from a "
                                "host that has it")
    found = Engine.connect().build_containers()
    if list_only:
        rows = [r for r in found if not build or r.build_id == build or r.build_id.endswith(build)]
        for row in rows:
            click.echo(f"{row.build_id:<44} {row.status:<10} {row.name}")
        if not rows:
            click.echo(f"no build containers{' match ' + repr(build) if build else ''} (a failed build keeps "
                       "its container with --keep-container)")
        return
    chosen = [r for r in found if not build or r.build_id == build or r.build_id.endswith(build)]
    if not chosen:
        raise UsageError(f"no build container {'matches ' + repr(build) if build else 'is left'}",
                         remedy="rerun the failed build with --keep-container; `tfwheelbuild shell --list` shows "
                                "what there is")
    if build and len(chosen) > 1:
        raise UsageError(f"{build!r} matches {len(chosen)} builds: {', '.join(r.build_id for r in chosen)}",
                         remedy="give more of the build id")
    target = chosen[0]
    if target.status != "running":
        raise UsageError(f"the container of build {target.build_id} is {target.status}",
                         remedy="`tfwheelbuild clean` removes it; rerun with --keep-container for a live one")
    # The docker CLI owns the terminal handling (raw mode, resize, detach keys) that an
    # interactive shell needs; the SDK offers none of it.
    tty = ["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else []
    argv = ["docker", "exec", "-i", *tty, "-w", SRC, target.name, *(command or ("bash", "-l"))]
    click.echo(f"entering {target.name} (exit the shell to leave; the container stays until "
               "`tfwheelbuild clean`)", err=True)
    os.execvp("docker", argv)


@click.command()
@click.argument("wheel_a", type=click.Path(path_type=Path))
@click.argument("wheel_b", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: identical, and the differing members.")
@handle_errors
def diff(wheel_a: Path, wheel_b: Path, as_json: bool) -> None:
    """Compare two wheels member by member: exit 0 when byte-identical, 1 when not.

    One line per differing member: `contents` (its bytes differ), `metadata` (same bytes, other zip
    metadata: time, mode, position, compression), `only in A` / `only in B`.

    \b
    Example:
      SOURCE_DATE_EPOCH=1700000000 tfwheelbuild build ... --output a --force
      SOURCE_DATE_EPOCH=1700000000 tfwheelbuild build ... --output b --force
      tfwheelbuild diff a/tensorflow-*.whl b/tensorflow-*.whl
    """
    from tfwheelbuild.artifacts.wheeldiff import diff_wheels

    diffs = diff_wheels(wheel_a, wheel_b)
    if as_json:
        click.echo(json.dumps({"identical": not diffs, "a": str(wheel_a), "b": str(wheel_b),
                               "members": [vars(d) for d in diffs]}, indent=2))
    elif not diffs:
        click.echo(f"identical: {wheel_a.name} and {wheel_b.name} are the same bytes")
    else:
        for d in diffs:
            click.echo(d.line())
    if diffs:
        sys.exit(1)


def pip_index_url() -> str:
    """The index pip on this host uses: PIP_INDEX_URL, else pip's configuration, else pip's own default
    (read from pip itself: the tool names no index of its own)."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    import subprocess

    try:
        configured = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                                    capture_output=True, text=True, timeout=30)
        if configured.returncode == 0 and configured.stdout.strip():
            return configured.stdout.strip()
        from pip._internal.models.index import PyPI  # pip's own default; no public API names it

        return str(PyPI.simple_url)
    except (ImportError, OSError, subprocess.SubprocessError):
        return ""

