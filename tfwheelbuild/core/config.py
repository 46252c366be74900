"""Option cascade: command line > environment > config file > defaults.

Pure logic, like cibuildwheel's options: the only I/O is reading the config file. Every option is
declared once, in options.OPTIONS; this module turns raw values into each option's type and picks the
layer that wins. Values are checked where they enter, so an error names the key and the layer it came from.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tfwheelbuild.core import validate
from tfwheelbuild.core.options import BY_NAME, NOT_OVERRIDABLE, OPTIONS, OptionDef, jsonable, normalize_key
from tfwheelbuild.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

CLI = "command line"
DEFAULT = "default"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _error(where: str, message: str) -> ConfigError | UsageError:
    # A bad flag is a usage mistake (exit 2); a bad file or variable is configuration (exit 21).
    if where.startswith("environment "):  # the file's remedy would send the user to the wrong place
        return ConfigError(message, remedy=f"fix or unset {where.removeprefix('environment ')}")
    return UsageError(message) if where == CLI else ConfigError(message)


def _items(raw: str, separators: str = r"[,\s]+") -> list[str]:
    return [item.strip() for item in re.split(separators, raw) if item.strip()]


def convert(opt: OptionDef, raw: Any, where: str, base: Path | None = None) -> Any:
    """`raw` (a TOML value, a string from the environment, or a click value) as the option's type.

    `base` is the config file's directory: relative paths written in a file mean relative to it.
    """

    def bad(expected: str) -> ConfigError | UsageError:
        return _error(where, f"invalid value for '{opt.name}' from {where}: expected {expected}, got {raw!r}")

    def as_path(value: Any) -> Path:
        if not isinstance(value, str | Path) or not str(value):
            raise bad("a path")
        path = Path(value)
        return base / path if base is not None and not path.is_absolute() else path

    if opt.kind == "str":
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise bad("a string")
        if opt.choices and str(raw) not in opt.choices:
            raise bad("one of " + ", ".join(opt.choices))
        if opt.check is None:
            return str(raw)
        try:
            return opt.check(str(raw))
        except ValueError as exc:
            raise invalid_value(opt.name, str(raw), where, str(exc)) from None
    if opt.kind == "path":
        return as_path(raw)
    if opt.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, str | int) else ""
        if text not in _TRUE + _FALSE:
            raise bad("a boolean (1/0, true/false, yes/no)")
        return text in _TRUE
    if opt.kind == "int":
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int):
                raise ValueError
            number = int(raw)
        except ValueError:
            raise bad("an integer") from None
        if opt.minimum is not None and number < opt.minimum:
            raise bad(f"an integer ≥ {opt.minimum}")
        return number
    if opt.kind == "list":
        items = _items(raw) if isinstance(raw, str) else raw
        # A TOML float (pythons = [3.10]) would silently become 3.1: only strings are accepted.
        if not isinstance(items, list | tuple) or not all(isinstance(i, str | Path) for i in items):
            raise bad("a list of strings (quote versions: \"3.10\")")
        return tuple(as_path(i) for i in items) if opt.paths else tuple(str(i) for i in items)
    # "table": a TOML table, "K=V,K=V", or a sequence of "K=V" strings / (K, V) pairs. Only commas
    # separate, so a value may hold spaces: CC_OPT_FLAGS=-march=armv8-a -O3.
    entries = list(raw.items()) if isinstance(raw, Mapping) else _items(raw, ",") if isinstance(raw, str) else raw
    if not isinstance(entries, list | tuple):
        raise bad("a table of KEY=VALUE")
    pairs: list[tuple[str, str]] = []
    for entry in entries:
        shown = entry if isinstance(entry, str) else "=".join(map(str, entry)) if isinstance(entry, tuple | list) \
            else str(entry)
        if isinstance(entry, str):
            key, sep, value = entry.partition("=")
            entry = (key.strip(), value) if sep else ("", "")
        # Name the one entry that is wrong, not the whole collection (a tuple repr from click's multiple=True).
        if not isinstance(entry, tuple | list) or len(entry) != 2 or not entry[0]:
            raise invalid_value(opt.name, shown, where, "not KEY=VALUE, e.g. TF_NEED_CLANG=1")
        key, value = entry
        if isinstance(value, bool):
            value = "1" if value else "0"  # configure.py answers TF_NEED_X with 1/0
        elif not isinstance(value, str | int):
            raise invalid_value(opt.name, shown, where, "not KEY=VALUE with a string, number or boolean value")
        try:
            validate.configure_key(str(key))
        except ValueError as exc:
            raise invalid_value(opt.name, shown, where, str(exc)) from None
        pairs.append((str(key), str(value)))
    return tuple(pairs)


def invalid_value(name: str, value: str, where: str, reason: str) -> ConfigError | UsageError:
    """One wording for a value a check refused: the flag as typed, or the key and the layer it came from."""
    if where == CLI:
        return _error(where, f"--{name} {value!r}: {reason}")
    return _error(where, f"invalid value for '{name}' from {where}: {value!r}: {reason}")


# ------------------------------------------------------------------------------------- config file


@dataclass(frozen=True)
class Override:
    """One [[overrides]] table: option values for the matrix entries `select` matches."""

    select: tuple[str, ...]
    settings: Mapping[str, Any]
    where: str  # e.g. "tfwheelbuild.toml [[overrides]] #2 (select '2.17.*')"

    def matches(self, tf_version: str, python: str) -> bool:
        ident = identifier(tf_version, python)
        return any(fnmatch.fnmatchcase(ident if "-py" in pattern else tf_version, pattern)
                   for pattern in self.select)


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    settings: Mapping[str, Any]  # already converted to each option's type
    overrides: tuple[Override, ...] = ()


def identifier(tf_version: str, python: str) -> str:
    return f"{tf_version}-py{python}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def find_config(cwd: Path, explicit: Path | None) -> Path | None:
    if explicit is not None:
        path = cwd / explicit
        if not path.is_file():
            what = ("is a directory, not a file" if path.is_dir() else "is not a regular file" if path.exists()
                    else "does not exist")
            raise ConfigError(f"config file {explicit} {what}",
                              remedy="give --config the path of a .toml file, or drop it to use ./tfwheelbuild.toml")
        return path
    if (cwd / "tfwheelbuild.toml").is_file():
        return cwd / "tfwheelbuild.toml"
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool")
        if isinstance(tool, dict) and "tfwheelbuild" in tool:
            return pyproject
    return None


def _check_keys(table: Mapping[str, Any], where: str, allowed: set[str], hints: set[str]) -> dict[str, Any]:
    """`table` with dashed keys; an unknown key fails with the closest of `hints`."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = normalize_key(key)
        if name not in allowed:
            if name in BY_NAME:
                raise ConfigError(f"'{key}' cannot be set in {where}: it applies to the whole matrix")
            close = difflib.get_close_matches(name, sorted(hints), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown key '{key}' in {where}{hint}")
        if name in out:
            raise ConfigError(f"'{name}' is set twice in {where} (as '-' and '_' spellings)")
        out[name] = value
    return out


def _section(doc: dict[str, Any], path: Path) -> tuple[dict[str, Any], str]:
    tool = doc.pop("tool", {})
    ours = tool.get("tfwheelbuild") if isinstance(tool, dict) else None
    if path.name == "pyproject.toml":
        if not isinstance(ours, dict):
            raise ConfigError(f"{path} has no [tool.tfwheelbuild] table")
        return ours, f"{path} [tool.tfwheelbuild]"
    # tfwheelbuild.toml: settings at the top, or (for files copied from a pyproject) in [tool.tfwheelbuild].
    if not isinstance(tool, dict) or set(tool) - {"tfwheelbuild"} or not isinstance(ours, dict | None):
        raise ConfigError(f"unknown key 'tool' in {path}; only a [tool.tfwheelbuild] table is allowed there")
    ours = dict(ours or {})
    overrides = [*_override_list(doc.pop("overrides", []), path), *_override_list(ours.pop("overrides", []), path)]
    clash = sorted(set(map(normalize_key, doc)) & set(map(normalize_key, ours)))
    if clash:
        raise ConfigError(f"'{clash[0]}' is set both at the top of {path} and in its [tool.tfwheelbuild]")
    return {**doc, **ours, **({"overrides": overrides} if overrides else {})}, str(path)


def _override_list(value: Any, where: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(o, dict) for o in value):
        raise ConfigError(f"'overrides' in {where} must be an array of tables: [[overrides]]")
    return value


def load_config(path: Path) -> ConfigFile:
    table, where = _section(_read_toml(path), path)
    raw_overrides = _override_list(table.pop("overrides", []), where)
    base = path.parent
    names = set(BY_NAME)
    settings = {name: convert(BY_NAME[name], value, str(path), base)
                for name, value in _check_keys(table, where, names, names | {"overrides"}).items()}
    overrides = []
    for number, raw in enumerate(raw_overrides, 1):
        select = raw.pop("select", None)
        label = f"{where} [[overrides]] #{number}"
        if not isinstance(select, str) or not select.split():
            raise ConfigError(f"{label} needs select = \"PATTERN ...\", e.g. select = \"2.17.*\"")
        label += f" (select '{select}')"
        values = {name: convert(BY_NAME[name], value, label, base)
                  for name, value in _check_keys(raw, label, names - NOT_OVERRIDABLE, names).items()}
        overrides.append(Override(select=tuple(select.split()), settings=MappingProxyType(values), where=label))
    return ConfigFile(path=path, settings=MappingProxyType(settings), overrides=tuple(overrides))


# ------------------------------------------------------------------------------------------ cascade


@dataclass(frozen=True)
class Settings:
    """Every option's value and the layer it came from."""

    values: Mapping[str, Any]
    origins: Mapping[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.values[normalize_key(key)]

    def origin(self, key: str) -> str:
        return self.origins[normalize_key(key)]

    def describe(self) -> list[str]:
        """`key = value  (origin)` lines, for showing where each setting came from."""
        return [f"{name} = {json.dumps(jsonable(name, value))}  ({self.origins[name]})"
                for name, value in self.values.items()]


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, tuple | list | dict) and not value)


def resolve(cli: Mapping[str, Any], env: Mapping[str, str], config: ConfigFile | None) -> Settings:
    """Command line > environment (TFWHEELBUILD_*) > config file > defaults, per key."""
    cli = {normalize_key(k): v for k, v in cli.items()}
    unknown = set(cli) - set(BY_NAME)
    if unknown:
        raise ValueError(f"not options: {', '.join(sorted(unknown))}")  # a wiring bug, not a user error
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for opt in OPTIONS:
        # An empty variable counts as unset: CI templates expand missing inputs to "".
        if _given(cli.get(opt.name)):
            origin, value = CLI, convert(opt, cli[opt.name], CLI)
        elif env.get(opt.env, "").strip():
            origin = f"environment {opt.env}"
            value = convert(opt, env[opt.env].strip(), origin)
        elif config is not None and opt.name in config.settings:
            origin, value = str(config.path), config.settings[opt.name]
        else:
            origin, value = DEFAULT, opt.default
        values[opt.name], origins[opt.name] = value, origin
    return Settings(values=MappingProxyType(values), origins=MappingProxyType(origins))
