"""Per-release build recipes: what each TensorFlow minor release needs to build an aarch64 wheel.

The facts live in the packaged `recipes.toml` (one table per minor release, data only). The record
and its key set are in recipe_model, the checks of each key in recipe_checks, the reading of files
in recipe_files and the `versions` table in recipe_table; this module resolves a TensorFlow version
such as "2.16.1" to its minor's recipe and is where callers import all of it from.

Override files hold tables named after minor releases (quoted: ["2.16"]) or "default" (applied to
every release first), each with any subset of RECIPE_KEYS. Lists and scalars replace the packaged
value; the two tables (repo_env, configure_env) are merged key by key. A table for a release the
package does not know adds it, provided it (with "default") gives every required key.
"""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from tfwheelbuild.errors import UnknownReleaseError, UnsupportedPythonError, UsageError
from tfwheelbuild.recipes.checks import OPTIONAL_KEYS, PYTHON_VERSION_RE, REQUIRED_KEYS, recipe_from_values
from tfwheelbuild.recipes.files import load_recipes, merge_overrides
from tfwheelbuild.recipes.model import PIP_PACKAGE, PROVENANCE_FIELDS, RECIPE_KEYS, TARGETS, Recipe, release_sort_key
from tfwheelbuild.recipes.table import format_versions_table, versions_rows

__all__ = [
    "OPTIONAL_KEYS",
    "PIP_PACKAGE",
    "PROVENANCE_FIELDS",
    "RECIPE_KEYS",
    "REQUIRED_KEYS",
    "TARGETS",
    "Recipe",
    "check_python",
    "format_versions_table",
    "load_recipes",
    "merge_overrides",
    "recipe_for",
    "recipe_from_values",
    "release_of",
    "release_sort_key",
    "versions_rows",
]


def release_of(tf_version: str) -> str:
    """The minor release ("2.16") of a TensorFlow version ("2.16.1", "2.16", "2.16.0rc1")."""
    try:
        version = Version(tf_version.strip())
    except InvalidVersion as exc:
        raise UsageError(
            f"'{tf_version}' is not a TensorFlow version", remedy="give a full release X.Y.Z, e.g. 2.16.1"
        ) from exc
    if len(version.release) < 2:
        raise UsageError(
            f"'{tf_version}' does not name a minor release", remedy="give a full release X.Y.Z, e.g. 2.16.1"
        )
    return f"{version.release[0]}.{version.release[1]}"


def recipe_for(tf_version: str, *, overrides_file: Path | None = None) -> Recipe:
    """The recipe that builds `tf_version`; patch releases and pre-releases use their minor's."""
    release = release_of(tf_version)
    recipes = load_recipes()
    if overrides_file is not None:
        recipes = merge_overrides(recipes, overrides_file)
    recipe = recipes.get(release)
    if recipe is None:
        raise UnknownReleaseError(
            f"TensorFlow {release} has no recipe; recipes cover {', '.join(f'{r}.x' for r in recipes)}"
        )
    return recipe


def check_python(recipe: Recipe, py: str, *, allow_unsupported: bool) -> None:
    """Refuse a Python outside the release's documented range unless forced."""
    if not PYTHON_VERSION_RE.match(py):
        raise UsageError(f"'{py}' is not a Python version like 3.11", remedy="pass --py 3.X, e.g. --py 3.11")
    if py in recipe.pythons or allow_unsupported:
        return
    raise UnsupportedPythonError(
        f"TensorFlow {recipe.release} supports Python {', '.join(recipe.pythons)}; you asked for {py}"
    )
