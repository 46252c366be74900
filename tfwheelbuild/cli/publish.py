"""Commands that keep an index stocked: publish, nightly, matrix, history.

Passwords are never options here: twine and pip find them in TWINE_USERNAME/TWINE_PASSWORD,
keyring or ~/.pypirc, so they stay out of shell history and process lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tfwheelbuild.cli.edge import (
    VERBOSE_HELP,
    checked,
    declared_option,
    docker_host_option,
    handle_errors,
    resolve_settings,
    settings_options,
)
from tfwheelbuild.core import validate
from tfwheelbuild.index.target import IndexTarget
from tfwheelbuild.index.verify import verify_from_index
from tfwheelbuild.runs.entry import EntryRecord
from tfwheelbuild.runs.history import History
from tfwheelbuild.runs.nightly import Entry
from tfwheelbuild.service import ALLOW_UNSUPPORTED_HELP, RECIPE_HELP
from tfwheelbuild.util.hostpaths import default_work_root

INDEX_HELP = ("Where to publish: an http(s) upload URL (pypiserver, devpi, Artifactory, Nexus), a ~/.pypirc "
              "repository name, an existing directory, or a new one written as a path (/…, ./…, ../…, ~/…, "
              "file://…) [default: the local index under the user's data dir].")


@click.command()
@click.argument("wheels", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--index", default="", help=INDEX_HELP)
@click.option("--simple-url", default="", callback=checked(validate.url),
              help="Where pip reads the index [default: derived from --index].")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Install each published wheel from the index in the clean runtime image and import it.")
@declared_option("base-image", help="arm64 base image for the runtime image (verification).")
@declared_option("mirror")
@declared_option("index-url", help="Package index for the wheel's dependencies (verification).")
@declared_option("work-dir")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with each wheel's result on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@docker_host_option
@handle_errors
def publish(wheels: tuple[Path, ...], index: str, simple_url: str, verify: bool, base_image: str, mirror: str,
            index_url: str, work_dir: Path | None, as_json: bool, verbose: bool) -> None:
    """Upload wheels to a package index with twine (or into a local directory index).

    The same file already on the index is a no-op; a different file under the same name is refused.

    \b
    Examples:
      TWINE_USERNAME=ci TWINE_PASSWORD=... tfwheelbuild publish dist/*.whl --index https://pypi.internal/
      tfwheelbuild publish dist/*.whl --index /srv/wheels        # then: pip install --index-url file:///srv/wheels/simple/
    """
    from functools import partial

    from tfwheelbuild.index.publish import publish as do_publish
    from tfwheelbuild.index.publish import verify_published
    from tfwheelbuild.index.target import resolve_index

    target = resolve_index(index, simple_url=simple_url)
    results = do_publish(list(wheels), target)
    rows: list[dict[str, Any]] = []
    for wheel, result in zip(wheels, results, strict=True):
        row: dict[str, Any] = {"wheel": result.wheel, "status": result.status, "index": result.index,
                               "simple_url": result.simple_url}
        if verify:
            row["verified"] = verify_published(result, target, partial(
                verify_from_index, wheel, target, base_image=base_image, mirror=mirror, index_url=index_url,
                work_dir=work_dir, verbose=verbose))
        rows.append(row)
        if not as_json:
            said = "published" if result.status == "uploaded" else "already on the index (identical), skipped"
            click.echo(f"{said}: {result.wheel} -> {result.index}" + ("; installs from it" if verify else ""))
    if as_json:
        click.echo(json.dumps({"published": rows}))


@click.command()
@click.option("--tf", "releases", multiple=True, help="Release to build (repeatable) [default: the config's].")
@click.option("--py", "pythons", multiple=True, help="Python to build (repeatable) [default: the config's].")
@settings_options
@click.option("--publish/--no-publish", "do_publish", default=None,
              help="Publish what passed its runtime test [default: the config's publish, true].")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="After publishing, install each wheel from the index in the clean runtime image.")
@click.option("--retries", type=click.IntRange(min=0), help="Retries for infrastructure failures [default: 1].")
@click.option("--report-dir", type=click.Path(path_type=Path),
              help="Where report.json and report.html go [default: <work dir>/nightly/<run>].")
@click.option("--force", is_flag=True, help="Rebuild entries the output dir or index already has.")
@click.option("--allow-unsupported-python", is_flag=True, help=ALLOW_UNSUPPORTED_HELP)
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), help=RECIPE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report's JSON on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@handle_errors
def nightly(**kw: Any) -> None:
    """Build every matrix entry whose build key the index lacks; test, publish, report.

    Continues past a failed entry, retries once what the infrastructure broke (engine, network),
    and exits non-zero when any entry failed. Each run writes report.json and report.html and is
    kept in the run history (`tfwheelbuild history`).

    \b
    Example (tfwheelbuild.toml: releases = ["2.16.1", "2.17.0"], pythons = ["3.11"], index = "..."):
      tfwheelbuild nightly
    """
    import sys

    from tfwheelbuild.core.matrix import resolve_matrix
    from tfwheelbuild.index.target import resolve_index
    from tfwheelbuild.runs.history import History, now_iso
    from tfwheelbuild.runs.nightly import run_entries, run_status
    from tfwheelbuild.runs.record import write_run

    settings, config = resolve_settings(kw, releases=kw["releases"], pythons=kw["pythons"],
                                        publish=kw["do_publish"], retries=kw["retries"])
    matrix = {m.identifier: m for m in check_entries(resolve_matrix(settings, config), recipe_file=kw["recipe_file"],
                                                     allow_unsupported=kw["allow_unsupported_python"])}
    target = resolve_index(settings["index"])

    def say(line: str) -> None:
        click.echo(line, err=True)

    started = now_iso()
    with History() as history:
        run_id = history.start_run("nightly", started=started)
        say(f"nightly run {run_id}: {len(matrix)} entries -> {target.display}")
        attempt = _attempt(matrix, kw, target, history, publish=settings["publish"], say=say)
        entries = [Entry(identifier=m.identifier, tf_version=m.tf_version, python=m.python) for m in matrix.values()]
        outcomes = run_entries(entries, attempt, retries=settings["retries"], say=say)
        status = run_status(outcomes)
        work_root = settings["work-dir"] or default_work_root()
        report_dir = kw["report_dir"] or work_root / "nightly" / f"{started.replace(':', '')[:15]}-run{run_id}"
        json_path, html_path = write_run(history, run_id, started, status, outcomes, report_dir)
        history.finish_run(run_id, status, html_path)
    if kw["as_json"]:
        click.echo(json_path.read_text())
    built = sum(o.status == "built" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    say(f"nightly run {run_id} {status}: {built} built, {skipped} up to date, {failed} failed; report: {html_path}")
    if failed:
        sys.exit(1)


def check_entries(entries: tuple[Any, ...], *, recipe_file: Path | None = None,
                  allow_unsupported: bool = False) -> tuple[Any, ...]:
    """Every matrix entry names a release with a recipe and a Python it supports, as `build` demands:
    a matrix that would fail (or fan out CI jobs that fail) is refused before anything runs."""
    from tfwheelbuild.errors import UnsupportedPythonError
    from tfwheelbuild.recipes import check_python
    from tfwheelbuild.recipes.infer import wanted_recipe

    for entry in entries:
        recipe, _ = wanted_recipe(entry.tf_version, recipe_file)
        if recipe is None:
            continue  # newer than every recipe: inferred from its checkout (Pythons too) when its job runs
        try:
            check_python(recipe, entry.python, allow_unsupported=allow_unsupported)
        except UnsupportedPythonError as exc:
            # `matrix` has no --allow-unsupported-python: `nightly` and a one-off build do.
            exc.remedy = (f"keep {entry.python} out of this release's entries (`tfwheelbuild versions` lists each "
                          "release's Pythons), or build it alone with `tfwheelbuild build "
                          f"--tf {entry.tf_version} --py {entry.python} --allow-unsupported-python`")
            raise
    return entries


def _attempt(matrix: dict[str, Any], kw: dict[str, Any], target: IndexTarget, history: History, *, publish: bool,
             say: Callable[[str], None]) -> Callable[[Entry], EntryRecord]:
    """One matrix entry through the build service, as the nightly loop's record of it."""
    from tfwheelbuild.service import BuildRequest, entry_record, prepare, run_entry

    def attempt(entry: Entry) -> EntryRecord:
        settings = matrix[entry.identifier].settings
        image = f"{settings['image']}:{entry.tf_version}-py{entry.python}" if settings["image"] else ""
        request = BuildRequest(tf_version=entry.tf_version, python=entry.python, recipe_file=kw["recipe_file"],
                               allow_unsupported_python=kw["allow_unsupported_python"], force=kw["force"],
                               verbose=kw["verbose"], publish=publish, verify=kw["verify"], image_tag=image,
                               push_image=bool(image and settings["image-push"]))
        prepared = prepare(request, settings, explain=None)
        result = run_entry(prepared, request, settings, target=target if publish else None, history=history,
                           say=say)
        if result.image is not None:
            say(f"image {result.image['tag']} {result.image['status']}")
        return entry_record(result, entry.tf_version, entry.python)

    return attempt


@click.command()
@click.option("--tf", "releases", multiple=True, help="Release (repeatable) [default: the config's].")
@click.option("--py", "pythons", multiple=True, help="Python (repeatable) [default: the config's].")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config file.")
@click.option("--format", "fmt", type=click.Choice(["table", "github", "json"]), default="table", show_default=True,
              help="table for people; github: an include-list for a CI job matrix; json: a list of entries.")
@handle_errors
def matrix(releases: tuple[str, ...], pythons: tuple[str, ...], config_path: Path | None, fmt: str) -> None:
    """Print the resolved release × Python matrix (github: a JSON include-list for a CI job matrix).

    \b
    Example (GitHub Actions):
      echo "matrix=$(tfwheelbuild matrix --format github)" >> "$GITHUB_OUTPUT"
    """
    from tfwheelbuild.core.matrix import format_github_matrix, format_matrix_table, resolve_matrix

    settings, config = resolve_settings({"config_path": config_path}, releases=releases, pythons=pythons)
    entries = check_entries(resolve_matrix(settings, config))
    if fmt == "github":
        click.echo(format_github_matrix(entries))
    elif fmt == "json":
        click.echo(json.dumps([{"id": e.identifier, "tf": e.tf_version, "py": e.python} for e in entries]))
    else:
        click.echo(format_matrix_table(entries))


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many of the most recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs and their entries as JSON on stdout.")
@handle_errors
def history(limit: int, as_json: bool) -> None:
    """Show the last runs (nightly and build) with each entry's status and duration.

    \b
    Example:
      tfwheelbuild history --limit 5
    """
    with History() as db:
        runs = db.runs(limit)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in runs], indent=2))
        return
    if not runs:
        click.echo("no runs yet")
    for run in runs:
        click.echo(f"run {run.id}  {run.kind}  {run.started}  {run.status}  {run.report_path or ''}")
        for e in run.entries:
            click.echo(f"    {e.identifier:<18} {e.status:<8} {e.seconds:>8.1f} s  {e.wheel or e.error}")

