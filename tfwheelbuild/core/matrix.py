"""The build matrix: releases × pythons with [[overrides]] applied, and its table and CI formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from tfwheelbuild.core import validate
from tfwheelbuild.core.config import CLI, ConfigFile, Settings, identifier, invalid_value
from tfwheelbuild.core.options import BY_NAME, jsonable
from tfwheelbuild.errors import ConfigError, UsageError


@dataclass(frozen=True)
class MatrixEntry:
    tf_version: str
    python: str
    identifier: str
    settings: Settings  # after this entry's overrides
    overridden: tuple[str, ...] = ()  # keys whose value an override changed for this entry


def resolve_matrix(settings: Settings, config: ConfigFile | None) -> tuple[MatrixEntry, ...]:
    """releases × pythons in declared order, duplicates dropped, overrides applied (later wins).

    Overrides belong to the file layer: a key given on the command line or in the environment
    keeps that value for every entry, as in cibuildwheel.
    """
    for key, flag in (("releases", "--tf"), ("pythons", "--py")):
        if not settings[key]:
            env = BY_NAME[key].env
            raise ConfigError(f"no {key} to build: the matrix is empty",
                              remedy=f"set {key} = [...] in tfwheelbuild.toml, {env}, or pass {flag}")
    releases = [_checked(validate.release, "releases", tf, settings.origin("releases"), "--tf")
                for tf in settings["releases"]]
    pythons = [_checked(validate.python, "pythons", py, settings.origin("pythons"), "--py")
               for py in settings["pythons"]]
    entries: dict[str, MatrixEntry] = {}
    for tf in releases:
        for py in pythons:
            ident = identifier(tf, py)  # a repeat overwrites its first entry in place: same result
            values, origins = dict(settings.values), dict(settings.origins)
            for override in config.overrides if config is not None else ():
                if not override.matches(tf, py):
                    continue
                for key, value in override.settings.items():
                    if _file_layer(settings.origin(key)):
                        values[key], origins[key] = value, override.where
            changed = tuple(k for k in BY_NAME if values[k] != settings.values[k])
            entries[ident] = MatrixEntry(tf_version=tf, python=py, identifier=ident, overridden=changed,
                                         settings=Settings(MappingProxyType(values), MappingProxyType(origins)))
    return tuple(entries.values())


def _checked(check: Callable[[str], str], key: str, value: str, origin: str, flag: str) -> str:
    """One release or Python of the matrix, normalised (' v2.16.1' -> 2.16.1), or the error of its layer."""
    try:
        return check(value)
    except ValueError as exc:
        if origin == CLI:
            raise UsageError(f"{flag} {value!r}: {exc}", remedy="run `tfwheelbuild versions` for the releases and "
                             "Pythons with recipes") from None
        raise invalid_value(key, value, origin, str(exc)) from None


def _file_layer(origin: str) -> bool:
    return origin != CLI and not origin.startswith("environment ")


def format_matrix_table(entries: tuple[MatrixEntry, ...]) -> str:
    rows = [("ID", "TF", "PYTHON", "OVERRIDES")]
    for e in entries:
        changed = ", ".join(f"{k}={json.dumps(jsonable(k, e.settings[k]))}" for k in e.overridden)
        rows.append((e.identifier, e.tf_version, e.python, changed or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
                   for row in rows)


def format_github_matrix(entries: tuple[MatrixEntry, ...]) -> str:
    """`{"include": [...]}` for `strategy.matrix: ${{ fromJSON(...) }}`; only overridden keys are added."""
    include = [{"id": e.identifier, "tf": e.tf_version, "py": e.python,
                **{k: jsonable(k, e.settings[k]) for k in e.overridden}} for e in entries]
    return json.dumps({"include": include}, separators=(",", ":"))
