"""Commands that keep an index stocked: publish, nightly, matrix, history.

Passwords are never options here: twine and pip find them in TWINE_USERNAME/TWINE_PASSWORD,
keyring or ~/.pypirc, so they stay out of shell history and process lists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tfwheelbuild import validate
from tfwheelbuild.cliutil import VERBOSE_HELP, WORK_DIR_HELP, checked, handle_errors, resolve_settings, settings_options
from tfwheelbuild.hostpaths import default_work_root
from tfwheelbuild.indexverify import verify_from_index
from tfwheelbuild.nightly import Outcome

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
@click.option("--base-image", default="", callback=checked(validate.image),
              help="arm64 base image for the runtime image (verification).")
@click.option("--mirror", default="", callback=checked(validate.url), help="apt mirror for the debootstrap fallback.")
@click.option("--index-url", default="", callback=checked(validate.url),
              help="Package index for the wheel's dependencies (verification).")
@click.option("--work-dir", type=click.Path(path_type=Path), help=WORK_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with each wheel's result on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
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

    from tfwheelbuild.publish import publish as do_publish
    from tfwheelbuild.publish import resolve_index, verify_published

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

    from tfwheelbuild.config import resolve_matrix
    from tfwheelbuild.history import History, now_iso
    from tfwheelbuild.nightly import Entry, run_entries, run_status
    from tfwheelbuild.publish import resolve_index

    settings, config = resolve_settings(kw, releases=kw["releases"], pythons=kw["pythons"],
                                        publish=kw["do_publish"], retries=kw["retries"])
    matrix = {m.identifier: m for m in check_entries(resolve_matrix(settings, config))}
    target = resolve_index(settings["index"])

    def say(line: str) -> None:
        click.echo(line, err=True)

    started = now_iso()
    with History() as history:
        run_id = history.start_run("nightly", started=started)
        say(f"nightly run {run_id}: {len(matrix)} entries -> {target.display}")
        attempt = _attempt(matrix, target, history, publish=settings["publish"], verify=kw["verify"],
                           force=kw["force"], verbose=kw["verbose"], say=say)
        entries = [Entry(identifier=m.identifier, tf_version=m.tf_version, python=m.python) for m in matrix.values()]
        outcomes = run_entries(entries, attempt, retries=settings["retries"], say=say)
        status = run_status(outcomes)
        work_root = settings["work-dir"] or default_work_root()
        report_dir = kw["report_dir"] or work_root / "nightly" / f"{started.replace(':', '')[:15]}-run{run_id}"
        json_path, html_path = _report(history, run_id, started, status, outcomes, report_dir)
        history.finish_run(run_id, status, html_path)
    if kw["as_json"]:
        click.echo(json_path.read_text())
    built = sum(o.status == "built" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    say(f"nightly run {run_id} {status}: {built} built, {skipped} up to date, {failed} failed; report: {html_path}")
    if failed:
        sys.exit(1)


def check_entries(entries: tuple[Any, ...]) -> tuple[Any, ...]:
    """Every matrix entry names a release with a recipe and a Python it supports, as `build` demands:
    a matrix that would fail (or fan out CI jobs that fail) is refused before anything runs."""
    from tfwheelbuild.errors import UnsupportedPythonError
    from tfwheelbuild.infer import wanted_recipe
    from tfwheelbuild.recipes import check_python

    for entry in entries:
        recipe, _ = wanted_recipe(entry.tf_version, None)
        if recipe is None:
            continue  # newer than every recipe: inferred from its checkout (Pythons too) when its job runs
        try:
            check_python(recipe, entry.python, allow_unsupported=False)
        except UnsupportedPythonError as exc:
            # A matrix has no --allow-unsupported-python: a one-off build does.
            exc.remedy = (f"keep {entry.python} out of this release's entries (`tfwheelbuild versions` lists each "
                          "release's Pythons), or build it alone with `tfwheelbuild build "
                          f"--tf {entry.tf_version} --py {entry.python} --allow-unsupported-python`")
            raise
    return entries


def _attempt(matrix: dict[str, Any], target: Any, history: Any, *, publish: bool, verify: bool, force: bool,
             verbose: bool, say: Any) -> Any:
    from tfwheelbuild.infer import wanted_recipe
    from tfwheelbuild.jobs import build_options, index_lookup, pin_source, publish_and_verify
    from tfwheelbuild.manifest import check_writable
    from tfwheelbuild.nightly import Entry
    from tfwheelbuild.patchset import find_patches
    from tfwheelbuild.pipeline import run_build
    from tfwheelbuild.recipes import check_python

    lookup = index_lookup(target, history)

    def attempt(entry: Entry) -> Outcome:
        settings = matrix[entry.identifier].settings
        opts = build_options(entry.tf_version, entry.python, settings)
        recipe, infer = wanted_recipe(entry.tf_version, None)
        if infer is not None:
            recipe = infer(opts.source, opts.ref)
        assert recipe is not None
        check_python(recipe, entry.python, allow_unsupported=False)
        patches = find_patches(recipe.release, opts.patch_dirs, include_default=opts.default_patches)
        check_writable(opts.output)
        opts, commit = pin_source(opts, recipe, say)
        image_request = None
        if settings["image"]:
            from tfwheelbuild.cli_image import check_build_image

            image_request = check_build_image(f"{settings['image']}:{entry.tf_version}-py{entry.python}",
                                              python=entry.python, push=bool(settings["image-push"]),
                                              registry_auth=None)
        summary = run_build(opts, recipe, patches, commit=commit, force=force, verbose=verbose,
                            in_index=lookup if publish else None)
        if publish and summary.get("where") != "index":
            summary["published"] = publish_and_verify(Path(str(summary["wheel"])), str(summary["build_key"]),
                                                      target, history, verify=verify, settings=settings,
                                                      verbose=verbose)
        if image_request is not None and Path(str(summary["wheel"])).is_file():
            from tfwheelbuild.cli_image import image_after_build

            made = image_after_build(image_request, Path(str(summary["wheel"])), base_image=settings["base-image"],
                                     mirror=settings["mirror"], work_dir=settings["work-dir"], verbose=verbose)
            say(f"image {made['tag']} {made['status']}")
        return outcome_of(summary, entry.tf_version, entry.python)

    return attempt


def outcome_of(summary: dict[str, Any], tf_version: str, python: str) -> Outcome:
    """A build summary (built or skipped, maybe published) as the history's and report's Outcome."""
    wheel = Path(str(summary["wheel"]))
    published = dict(summary.get("published") or {})
    stages = dict(summary.get("stages") or {})
    return Outcome(identifier=f"{tf_version}-py{python}", tf_version=tf_version, python=python,
                   status="built" if summary["status"] == "built" else "skipped",
                   where=str(summary.get("where", "")), published=str(published.get("status", "")),
                   verified="verified" in published, seconds=float(str(summary["seconds"])),
                   wheel=wheel.name, wheel_size=wheel.stat().st_size if wheel.is_file() else 0,
                   build_key=str(summary["build_key"]), log_path=str(summary.get("log", "")),
                   manifest=str(summary.get("manifest", "")),
                   stages=tuple((name, float(sec), "passed") for name, sec in stages.items()))


def record_build(summary: dict[str, Any] | None, error: Any, *, tf_version: str, python: str, started: str,
                 report_dir: Path) -> Path:
    """A single `build` in the run history, with its own report.html (stages, and the trend of this
    release × Python over earlier builds and nights)."""
    from tfwheelbuild.history import History

    if summary is not None:
        outcome = outcome_of(summary, tf_version, python)
    else:
        outcome = Outcome(identifier=f"{tf_version}-py{python}", tf_version=tf_version, python=python,
                          status="failed", error=error.message, exit_code=error.exit_code, log_path=error.log_path)
    status = "failed" if outcome.status == "failed" else "passed"
    with History() as history:
        run_id = history.start_run("build", started=started)
        _, html = _report(history, run_id, started, status, [outcome], report_dir, kind="build")
        history.finish_run(run_id, status, html)
    return html


def _report(history: Any, run_id: int, started: str, status: str, outcomes: list[Any],
            report_dir: Path, kind: str = "nightly") -> tuple[Path, Path]:
    from tfwheelbuild.history import EntryRecord, now_iso
    from tfwheelbuild.report import ReportEntry, RunReport, write_report

    for o in outcomes:
        history.add_entry(run_id, EntryRecord(
            identifier=o.identifier, tf_version=o.tf_version, python=o.python, status=o.status, seconds=o.seconds,
            wheel=o.wheel, wheel_size=o.wheel_size, build_key=o.build_key, error=o.error, log_path=o.log_path,
            stages=o.stages))
    entries = tuple(ReportEntry(
        identifier=o.identifier, tf_version=o.tf_version, python=o.python,
        status=o.status, published=o.published, where=o.where,
        seconds=o.seconds, wheel=o.wheel, wheel_size=o.wheel_size, build_key=o.build_key, error=o.error,
        log_path=o.log_path, manifest_path=o.manifest, stages=o.stages) for o in outcomes)
    trends = {o.identifier: history.trend(o.identifier) for o in outcomes}
    run = RunReport(kind=kind, started=started, finished=now_iso(), status=status, entries=entries)
    return write_report(report_dir, run, trends)


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
    from tfwheelbuild.config import format_github_matrix, format_matrix_table, resolve_matrix

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
    from dataclasses import asdict

    from tfwheelbuild.history import History

    with History() as db:
        runs = db.runs(limit)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in runs], indent=2))
        return
    if not runs:
        click.echo("no runs yet")
    for run in runs:
        click.echo(f"run {run.id}  {run.kind}  {run.started}  {run.status}  {run.report_path or ''}")
        for e in run.entries:
            click.echo(f"    {e.identifier:<18} {e.status:<8} {e.seconds:>8.1f} s  {e.wheel or e.error}")

