"""Checking recipe values: each key's kind and rules, the defaults of optional keys, and building a
`Recipe` from checked values. Shared by the packaged file, override files and inferred recipes, so
all three refuse the same things with the same words."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from tfwheelbuild.errors import UsageError
from tfwheelbuild.recipes.model import KINDS, RECIPE_KEYS, TARGETS, Recipe

__all__ = [
    "OPTIONAL_KEYS",
    "PYTHON_VERSION_RE",
    "REQUIRED_KEYS",
    "build_recipe",
    "check_table",
    "describe_value",
    "recipe_from_values",
    "suggest",
]

# Keys a release may leave out, with the value that means "not applicable".
_DEFAULTS: dict[str, object] = {
    "python_env": "",
    "repo_env": {},
    "wheel_type_env": False,
    "cross_config": "",
    "release_config": "",
    "cross_clang": "",
    # A release added by an override file without these is built like the newest packaged ones.
    "compiler": "clang",
    "compiler_version": "18.1.8",
    "linker": "lld",
    "sysroot": "/dt10",
    "uncertain": [],
    "wheel_name": "tensorflow",
}
OPTIONAL_KEYS: tuple[str, ...] = tuple(k for k in RECIPE_KEYS if k in _DEFAULTS)
REQUIRED_KEYS: tuple[str, ...] = tuple(k for k in RECIPE_KEYS if k not in _DEFAULTS)

COMPILERS = ("gcc", "clang")
LINKERS = ("ld", "lld")
PYTHON_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+$")
_COMPILER_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){0,2}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WHEEL_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def suggest(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; valid keys: " + ", ".join(choices)


def describe_value(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _check_value(release: str, key: str, value: object) -> object:
    """Validate one key's value and return it normalised (lists as tuples, tables as sorted pairs)."""
    if key not in KINDS:
        raise UsageError(f"unknown recipe key '{key}' in {release}{suggest(key, RECIPE_KEYS)}")
    kind = KINDS[key]
    if kind == "str":
        if not isinstance(value, str):
            raise UsageError(f"recipe key '{key}' in {release} must be a string, got {describe_value(value)}")
        _check_str(release, key, value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"recipe key '{key}' in {release} must be true or false, got {describe_value(value)}")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(
                f"recipe key '{key}' in {release} must be a list of strings, got {describe_value(value)}"
            )
        items = tuple(value)
        _check_list(release, key, items)
        return items
    # kind == "table"
    if not isinstance(value, dict):
        raise UsageError(
            f"recipe key '{key}' in {release} must be a table of NAME = \"value\", got {describe_value(value)}"
        )
    pairs: dict[str, str] = {}
    for name, v in value.items():
        if not _ENV_NAME_RE.match(name):
            raise UsageError(f"recipe key '{key}' in {release}: '{name}' is not a valid variable name")
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise UsageError(
                f"recipe key '{key}' in {release}: {name} must be a string, e.g. {name} = \"1\", "
                f"got {describe_value(v)}"
            )
        pairs[name] = str(v)
    return tuple(sorted(pairs.items()))


def _check_str(release: str, key: str, value: str) -> None:
    if key == "target" and value not in TARGETS:
        raise UsageError(
            f"recipe key 'target' in {release} must be one of {', '.join(TARGETS)}, got '{value}'"
        )
    if key == "python_env" and value and not _ENV_NAME_RE.match(value):
        raise UsageError(f"recipe key 'python_env' in {release}: '{value}' is not a variable name")
    if key == "compiler" and value not in COMPILERS:
        raise UsageError(f"recipe key 'compiler' in {release} must be one of {', '.join(COMPILERS)}, got '{value}'")
    if key == "linker" and value not in LINKERS:
        raise UsageError(f"recipe key 'linker' in {release} must be one of {', '.join(LINKERS)}, got '{value}'")
    if key == "compiler_version" and not _COMPILER_VERSION_RE.match(value):
        raise UsageError(f"recipe key 'compiler_version' in {release}: '{value}' is not a version like \"17.0.6\"")
    if key == "sysroot" and not value.startswith("/"):
        raise UsageError(f"recipe key 'sysroot' in {release}: '{value}' is not an absolute path like \"/dt10\"")
    if key == "cross_clang" and value and not value.isdigit():
        raise UsageError(f"recipe key 'cross_clang' in {release}: '{value}' is not a clang major like \"17\"")
    if key == "release_config" and value and not re.fullmatch(r"[A-Za-z0-9_]+", value):
        raise UsageError(f"recipe key 'release_config' in {release}: '{value}' is not a config name")
    if key == "manylinux" and value.strip() and not re.fullmatch(r"manylinux(2014|_2_[0-9]+)_aarch64", value):
        raise UsageError(f"recipe key 'manylinux' in {release}: '{value}' is not an aarch64 manylinux policy "
                         "like manylinux2014_aarch64 or manylinux_2_27_aarch64")
    if key in ("bazel", "manylinux") and not value.strip():
        raise UsageError(f"recipe key '{key}' in {release} must not be empty")
    if key == "wheel_name" and not _WHEEL_NAME_RE.match(value):
        raise UsageError(f"recipe key 'wheel_name' in {release}: '{value}' is not a valid project name")


def _check_list(release: str, key: str, items: tuple[str, ...]) -> None:
    if key == "pythons":
        if not items:
            raise UsageError(f"recipe key 'pythons' in {release} must list at least one Python")
        for py in items:
            if not PYTHON_VERSION_RE.match(py):
                raise UsageError(f"recipe key 'pythons' in {release}: '{py}' is not a version like \"3.11\"")
    elif key == "build_pip":
        for req in items:
            try:
                Requirement(req)
            except InvalidRequirement as exc:
                raise UsageError(
                    f"recipe key 'build_pip' in {release}: '{req}' is not a pip requirement: {exc}"
                ) from exc
    elif key == "uncertain":
        for name in items:
            if name not in KINDS:
                raise UsageError(
                    f"recipe key 'uncertain' in {release} names unknown key '{name}'"
                    f"{suggest(name, RECIPE_KEYS)}"
                )


def check_table(release: str, table: Mapping[str, Any], *, where: str) -> dict[str, object]:
    """Validate every key of one (possibly partial) release table; return normalised values."""
    try:
        return {key: _check_value(release, key, value) for key, value in table.items()}
    except UsageError as exc:
        raise UsageError(exc.message, remedy=f"fix it in {where}") from None


def build_recipe(release: str, values: Mapping[str, object], recipe_version: int, *, where: str) -> Recipe:
    """A recipe from checked values (as `check_table` returns them), optional keys defaulted."""
    missing = [k for k in REQUIRED_KEYS if k not in values]
    if missing:
        raise UsageError(
            f"{where}: recipe {release} is missing required key(s): {', '.join(missing)}",
            remedy=f"a recipe must give {', '.join(REQUIRED_KEYS)}; "
            f"optional: {', '.join(OPTIONAL_KEYS)}",
        )
    # Any: every value has passed _check_value, which gives each key its field's type.
    full: dict[str, Any] = {
        k: values[k] if k in values else _check_value(release, k, _DEFAULTS[k]) for k in RECIPE_KEYS
    }
    return Recipe(release=release, recipe_version=recipe_version, **full)


def recipe_from_values(release: str, values: Mapping[str, object], recipe_version: int, *, where: str) -> Recipe:
    """A recipe from already-normalised values (as a Recipe holds them), checked like a file's."""
    raw: dict[str, object] = {}
    for key, value in values.items():
        if key not in KINDS:
            continue
        kind = KINDS[key]
        if kind == "table":
            raw[key] = dict(value) if isinstance(value, tuple) else value
        elif kind == "list":
            raw[key] = list(value) if isinstance(value, tuple) else value
        else:
            raw[key] = value
    return build_recipe(release, check_table(release, raw, where=where), recipe_version, where=where)
