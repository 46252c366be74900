"""`build`: one wheel through the build service, and what it did said for a person or as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from tfwheelbuild.cli.edge import checked, handle_errors, resolve_settings, settings_options
from tfwheelbuild.core import validate
from tfwheelbuild.results import EntryResult
from tfwheelbuild.service import ALLOW_UNSUPPORTED_HELP, RECIPE_HELP
from tfwheelbuild.util.redact import redact, redact_all


@click.command()
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
@click.option("--allow-unsupported-python", is_flag=True, help=ALLOW_UNSUPPORTED_HELP)
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), help=RECIPE_HELP)
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
    from tfwheelbuild.core.matrix import resolve_matrix
    from tfwheelbuild.plan import make_plan
    from tfwheelbuild.service import BuildRequest, choose_recipe, prepare, run_entry, today

    def say(line: str) -> None:
        click.echo(line, err=True)

    request = BuildRequest(
        tf_version=kw["tf_version"], python=kw["python"], recipe_file=kw["recipe_file"],
        allow_unsupported_python=kw["allow_unsupported_python"],
        nightly_date=kw["nightly_date"] or (today() if kw["nightly"] else ""), force=kw["force"],
        quiet=kw["quiet"], verbose=kw["verbose"], keep_container=kw["keep_container"], retest=kw["retest"],
        publish=kw["do_publish"], verify=kw["verify"], image_tag=kw["image_tag"], push_image=kw["push_image"],
        registry_auth=kw["registry_auth"])
    chosen = choose_recipe(request)  # an unsupported Python fails before the config is read
    # The config file's [[overrides]] that select this release and Python apply, as in `nightly`.
    settings, config = resolve_settings(kw, releases=(kw["tf_version"],), pythons=(kw["python"],))
    settings = resolve_matrix(settings, config)[0].settings
    prepared = prepare(request, settings, explain=None if kw["dry_run"] or kw["quiet"] else say,
                       probe=not kw["dry_run"], chosen=chosen)
    if kw["dry_run"]:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        emulated = os.uname().machine not in ("aarch64", "arm64")
        plan = make_plan(prepared.opts, prepared.recipe, patches=prepared.patches, engine_cpus=os.cpu_count() or 1,
                         engine_mem=mem, engine_emulated=emulated, engine_arch=os.uname().machine)
        if kw["as_json"]:
            click.echo(json.dumps(plan_json(plan)))
            return
        for line in plan.describe():
            click.echo(redact(line))
        return
    from tfwheelbuild.runs.record import record_build

    result = run_entry(prepared, request, settings, say=say, record=record_build)
    if kw["as_json"]:
        click.echo(json.dumps(redact_all(result.summary())))
        return
    for line in result_lines(result):
        click.echo(line)


def result_lines(result: EntryResult) -> list[str]:
    """What a build did, for a person (--json keeps every field for machines)."""
    build = result.build
    lines: list[str] = []
    if build.status == "skipped":
        where = "the index" if build.where == "index" else "the output dir"
        lines.append(f"up to date: {build.wheel} in {where} already has build key {build.build_key[:16]} "
                     "(use --force to rebuild)")
    else:
        hits = build.cache.get("remote cache hit")
        lines.append(f"built {build.wheel} in {build.seconds} s"
                     + (f" ({hits} actions from the remote cache)" if hits else ""))
        if result.report:
            lines.append(f"report: {result.report}")
        # Said plainly on every build: where this wheel was made otherwise than upstream's.
        lines += [f"differs from upstream: {line}" for line in list(build.toolchain.get("differences") or [])]
    made = result.image
    if made is not None:
        lines.append(f"image {made['tag']}" + (" (pushed)" if made["status"] == "pushed" else "")
                     + f": docker run --rm {made['tag']}")
    published = result.published
    if published is not None:
        said = "published to" if published.status == "uploaded" else "already identical on"
        lines.append(f"{said} {published.index}" + ("; installs from it" if published.verified is not None else ""))
    return lines


def plan_json(plan: Any) -> dict[str, Any]:
    """The dry-run's plan for machines: every field of the BuildPlan plus the lines a person reads, with
    credentials out (the remote cache's secret URL is dropped; every URL loses its userinfo)."""
    from dataclasses import asdict

    fields = asdict(plan)
    fields["remote"].pop("secret_url", None)
    fields["source"].pop("fetch_url", None)  # the URL the container fetches: the source URL, or a mount
    fields = json.loads(json.dumps(fields, default=str))
    return {"status": "dry-run", **redact_all(fields), "describe": [redact(line) for line in plan.describe()]}
