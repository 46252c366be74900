"""Commands for what the tool leaves behind: images, cache volumes, containers, staging and logs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tfwheelbuild.cli.edge import F, declared_option, docker_host_option, handle_errors
from tfwheelbuild.util.hostpaths import default_work_root

if TYPE_CHECKING:
    from tfwheelbuild.engine.client import Engine, Resource


def _prune_options(what: str) -> Callable[[F], F]:
    def wrap(func: F) -> F:
        for option in reversed((
            click.option("--prune", is_flag=True, help=f"Remove the tool's {what} older than --older-than."),
            click.option("--older-than", default="30d", show_default=True, help="Age for --prune: 30d, 12h, 90m."),
            click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."),
            docker_host_option,
        )):
            func = option(func)
        return func

    return wrap


@click.command()
@_prune_options("images")
@handle_errors
def images(prune: bool, older_than: str, as_json: bool) -> None:
    """List (or prune) the base, builder and runtime images this tool made.

    Images are keyed by content hash, so a pruned one is simply rebuilt when needed.

    \b
    Example:
      tfwheelbuild images --prune --older-than 14d
    """
    from tfwheelbuild.runs.report import human_size

    found = _survey(older_than, lambda e: e.tool_images(), lambda e, i: e.remove_image(i.id), prune=prune)
    _show("images", found, as_json, lambda i: f"{i.kind:<8} {i.name:<60} {human_size(i.size):>10}  {i.created[:19]}",
          footer="" if found.found else "no tfwheelbuild images")


@click.command()
@_prune_options("cache volumes")
@handle_errors
def cache(prune: bool, older_than: str, as_json: bool) -> None:
    """Sizes of the cache volumes (Bazel per toolchain, git mirrors, pip, uv), and pruning by age.

    A volume in use by a running build is never removed (the engine refuses; this says which, and
    prunes the others).

    \b
    Example:
      tfwheelbuild cache --prune --older-than 60d
    """
    from tfwheelbuild.runs.report import human_size

    found = _survey(older_than, lambda e: e.tool_volumes(), lambda e, v: e.remove_volume(v.name), prune=prune)
    _show("volumes", found, as_json, lambda v: f"{v.name:<40} {human_size(v.size):>10}  {v.created[:19]}",
          footer=f"total {human_size(sum(v.size for v in found.found))} in {len(found.found)} volumes")


@dataclass(frozen=True, kw_only=True)
class _Survey:
    found: list[Resource]
    removed: list[str]
    in_use: list[str]  # a container still uses these: the engine refused to remove them


def _survey(older_than: str, listing: Callable[[Engine], list[Resource]], remove: Callable[[Engine, Resource], bool],
            *, prune: bool) -> _Survey:
    """The tool's images or volumes, and with `prune` the names removed and those a container still uses."""
    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.engine.housekeeping import older_than as select
    from tfwheelbuild.engine.housekeeping import parse_age

    age = parse_age(older_than, "--older-than")  # before the engine: a bad age needs no engine to say so
    engine = Engine.connect()
    found = listing(engine)
    removed: list[str] = []
    in_use: list[str] = []
    if prune:
        for item in select(found, age):
            (removed if remove(engine, item) else in_use).append(item.name)
    return _Survey(found=found, removed=removed, in_use=in_use)


def _show(key: str, survey: _Survey, as_json: bool, line: Callable[[Resource], str], *, footer: str) -> None:
    if as_json:
        click.echo(json.dumps({key: [vars(r) for r in survey.found], "removed": survey.removed,
                               "in_use": survey.in_use}, indent=2))
        return
    for item in survey.found:
        click.echo(("removed " if item.name in survey.removed else "") + line(item))
    if footer:
        click.echo(footer)
    if survey.in_use:
        click.echo(f"left {len(survey.in_use)} in use by a container (a running build?): {', '.join(survey.in_use)}")


@click.command()
@click.option("--logs-older-than", default="", help="Also delete build dirs (logs) older than this: 30d.")
@declared_option("work-dir")
@docker_host_option
@handle_errors
def clean(logs_older_than: str, work_dir: Path | None) -> None:
    """Remove what earlier runs left: stopped or kept containers and wheel staging copies.

    Logs stay unless --logs-older-than says otherwise; caches and images have their own commands.

    \b
    Example:
      tfwheelbuild clean --logs-older-than 30d
    """
    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.engine.housekeeping import (
        containers_to_clean,
        left_summary,
        old_build_dirs,
        parse_age,
        staging_dirs,
    )
    from tfwheelbuild.engine.locks import dir_is_live, run_is_live
    from tfwheelbuild.errors import UsageError

    # Every argument is checked before anything is removed.
    age = parse_age(logs_older_than, "--logs-older-than") if logs_older_than else None
    root = work_dir or default_work_root()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--work-dir {root} is not a directory", remedy="give the --work-dir your builds used")
    engine = Engine.connect()
    choice = containers_to_clean(engine.tool_containers(), run_is_live)
    removed = [c.name for c in choice.remove if engine.remove_container(c.id)]
    # A build still running owns its build dir, staging copy included.
    staging = [p for p in staging_dirs(root) if not dir_is_live(p.parent)]
    for path in staging:
        shutil.rmtree(path, ignore_errors=True)
    old = [p for p in old_build_dirs(root, age) if not dir_is_live(p)] if age is not None else []
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    click.echo(f"removed {len(removed)} containers, {len(staging)} staging dirs, {len(old)} old build dirs")
    for line in left_summary(choice.left):
        click.echo(line)
