"""Reading recipe files: the packaged recipes.toml (complete, versioned) and a user's override file
(partial tables laid over it; see tfwheelbuild.recipes for the rules)."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from tfwheelbuild.errors import UsageError
from tfwheelbuild.recipes.checks import build_recipe, check_table, describe_value
from tfwheelbuild.recipes.model import TABLE_KEYS, Recipe, release_sort_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["load_recipes", "merge_overrides"]

_RELEASE_RE = re.compile(r"^[0-9]+\.[0-9]+$")


def _read_toml(path: Path | None, text: str | None = None) -> dict[str, Any]:
    where = str(path) if path is not None else "the packaged recipes.toml"
    try:
        if text is None:
            assert path is not None
            text = path.read_text(encoding="utf-8")
        data: dict[str, Any] = tomllib.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read recipe file {where}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"recipe file {where} is not valid TOML: {exc}") from exc
    return data


def _release_tables(data: Mapping[str, Any], *, where: str, allow_default: bool) -> dict[str, dict[str, Any]]:
    """The release tables of a parsed file, with names checked. Accepts unquoted [2.16] too."""
    tables: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if name == "recipe_version":
            continue
        if not isinstance(value, dict):
            raise UsageError(f"{where}: top-level key '{name}' must be a table like [\"2.16\"]")
        if name.isdigit() and value and all(k.isdigit() and isinstance(v, dict) for k, v in value.items()):
            # [2.16] without quotes parses as the dotted key 2 -> 16.
            for minor, table in value.items():
                tables[f"{name}.{minor}"] = table
            continue
        if name == "default" and allow_default:
            tables[name] = value
            continue
        if not _RELEASE_RE.match(name):
            hint = " or 'default'" if allow_default else ""
            raise UsageError(f"{where}: table [{name}] is not a TensorFlow minor release like \"2.16\"{hint}")
        tables[name] = value
    return tables


def _parse_recipes(data: Mapping[str, Any], *, where: str) -> dict[str, Recipe]:
    recipe_version = data.get("recipe_version")
    if isinstance(recipe_version, bool) or not isinstance(recipe_version, int):
        raise UsageError(
            f"{where}: top-level 'recipe_version' must be an integer, got {describe_value(recipe_version)}"
        )
    recipes: dict[str, Recipe] = {}
    for release, table in _release_tables(data, where=where, allow_default=False).items():
        values = check_table(release, table, where=where)
        recipes[release] = build_recipe(release, values, recipe_version, where=where)
    if not recipes:
        raise UsageError(f"{where}: no release tables")
    return {r: recipes[r] for r in sorted(recipes, key=release_sort_key)}


@functools.cache
def _packaged_recipes() -> dict[str, Recipe]:
    text = resources.files("tfwheelbuild").joinpath("recipes.toml").read_text(encoding="utf-8")
    return _parse_recipes(_read_toml(None, text), where="the packaged recipes.toml")


def load_recipes(path: Path | None = None) -> dict[str, Recipe]:
    """All recipes of a complete recipe file (the packaged one when `path` is None), in release order."""
    if path is None:
        return dict(_packaged_recipes())
    return _parse_recipes(_read_toml(path), where=str(path))


def merge_overrides(recipes: Mapping[str, Recipe], overrides_file: Path) -> dict[str, Recipe]:
    """`recipes` with a user's override file merged over them (see tfwheelbuild.recipes)."""
    where = str(overrides_file)
    data = _read_toml(overrides_file)
    if "recipe_version" in data:
        raise UsageError(f"{where}: 'recipe_version' belongs to the packaged recipes, not an override file")
    tables = _release_tables(data, where=where, allow_default=True)
    default = check_table("default", tables.pop("default", {}), where=where)
    per_release = {release: check_table(release, t, where=where) for release, t in tables.items()}
    recipe_version = next(iter(recipes.values())).recipe_version if recipes else 0

    merged: dict[str, Recipe] = {}
    for release in sorted({*recipes, *per_release}, key=release_sort_key):
        specific = per_release.get(release, {})
        base = recipes.get(release)
        if base is None:
            values = {**default, **specific}
            for key in TABLE_KEYS:
                if key in default and key in specific:
                    values[key] = _merge_pairs(default[key], specific[key])
            merged[release] = build_recipe(release, values, recipe_version, where=where)
            continue
        merged[release] = _apply(_apply(base, default), specific)
    return merged


def _merge_pairs(old: object, new: object) -> tuple[tuple[str, str], ...]:
    assert isinstance(old, tuple) and isinstance(new, tuple)
    return tuple(sorted({**dict(old), **dict(new)}.items()))


def _apply(recipe: Recipe, values: Mapping[str, object]) -> Recipe:
    if not values:
        return recipe
    changed: dict[str, object] = {}
    for key, value in values.items():
        if key in TABLE_KEYS:
            changed[key] = _merge_pairs(getattr(recipe, key), value)
        else:
            changed[key] = value
    if "uncertain" not in values:
        # What the user set is their call, no longer our guess.
        changed["uncertain"] = tuple(k for k in recipe.uncertain if k not in values)
    merged = recipe.key_values()
    merged.update(changed)
    return build_recipe(recipe.release, merged, recipe.recipe_version, where=f"recipe {recipe.release}")
