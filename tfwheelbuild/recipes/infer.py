"""Recipe inference: the recipe a TensorFlow checkout's own files give, laid over a written one.

The facts are read by infer_facts from any `Checkout` (infer_checkout: a directory, or one commit of
a git repository read on the host) and said by infer_report. This module lays them over a recipe:
the written one when there is one (the checkout wins where they disagree, and says so), else the
newest written recipe not newer than the release, with every fact not read from the checkout marked
uncertain. Callers import all of it from here.

Pure: no Docker; `GitCheckout` only runs host git.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from tfwheelbuild.errors import InferenceError, UnknownReleaseError
from tfwheelbuild.recipes import (
    TARGETS,
    Recipe,
    load_recipes,
    merge_overrides,
    recipe_for,
    recipe_from_values,
    release_of,
    release_sort_key,
)
from tfwheelbuild.recipes.checkout import Checkout, DirCheckout, GitCheckout, git_checkout
from tfwheelbuild.recipes.facts import INFERRED_KEYS, Fact, Inference, infer_facts, show_value
from tfwheelbuild.recipes.report import inference_lines, inference_record

__all__ = [
    "INFERRED_KEYS",
    "Checkout",
    "DirCheckout",
    "Fact",
    "GitCheckout",
    "Inference",
    "apply_inference",
    "git_checkout",
    "infer_facts",
    "infer_recipe",
    "inference_lines",
    "inference_record",
    "recipe_from_source",
    "wanted_recipe",
]

# Without these a build cannot even be planned; the rest fall back to the nearest written recipe.
_ESSENTIAL = ("bazel", "target", "pythons")
# What settles each essential fact when the checkout cannot.
_SETTLES = {
    "bazel": "recipe key 'bazel' (or USE_BAZEL_VERSION)",
    "target": f"recipe key 'target' ({' or '.join(TARGETS)})",
    "pythons": "recipe key 'pythons' (the Pythons the release supports)",
}


def _same(key: str, written: object, inferred: object, recipe: Recipe) -> bool:
    if key == "compiler_version":
        return str(written).split(".")[0] == str(inferred)
    if key == "repo_env":
        # Only USE_PYWRAP_RULES is read from the checkout; other pairs are the recipe's own.
        return dict(recipe.repo_env).get("USE_PYWRAP_RULES") == dict(inferred if isinstance(inferred, tuple)
                                                                      else ()).get("USE_PYWRAP_RULES")
    return written == inferred


def _merged_value(key: str, recipe: Recipe, inferred: object, *, written: bool) -> object:
    if key == "compiler_version" and written and str(recipe.compiler_version).split(".")[0] == str(inferred):
        return recipe.compiler_version  # the written full version of the same major is more precise
    if key == "repo_env":
        pairs = {k: v for k, v in recipe.repo_env if k != "USE_PYWRAP_RULES"}
        pairs.update(dict(inferred) if isinstance(inferred, tuple) else {})
        return tuple(sorted(pairs.items()))
    return inferred


def apply_inference(inference: Inference, *, release: str, written: Recipe | None,
                    known: Mapping[str, Recipe]) -> Recipe:
    """The recipe to build `release` with: `written` (or the nearest known recipe) with every fact the
    checkout settles laid over it. With no written recipe, a fact the checkout cannot settle and no
    recipe can stand in for is an InferenceError; the facts taken over from another release are marked
    uncertain."""
    if written is None:
        for key, why in inference.undecided:
            if key in _ESSENTIAL:
                raise InferenceError(
                    f"cannot infer '{key}' for TensorFlow {release}: {why}",
                    remedy=f"set {_SETTLES[key]} in a table [\"{release}\"] of a --recipe FILE "
                           "(with the other keys `tfwheelbuild versions` lists)")
    base = written or _nearest(release, known)
    values = base.key_values()
    differs: list[str] = []
    inferred: list[tuple[str, str]] = []
    for fact in inference.facts:
        if written is not None and not _same(fact.key, getattr(written, fact.key), fact.value, written):
            differs.append(f"{fact.key}: the recipe for {written.release} says "
                           f"{show_value(fact.key, getattr(written, fact.key))}, the checkout {fact.shown()} "
                           f"({fact.source}): using the checkout's")
        values[fact.key] = _merged_value(fact.key, base, fact.value, written=written is not None)
        inferred.append((fact.key, fact.source))
    if values.get("compiler") == "gcc" and (written is None or written.compiler != "gcc"):
        values["compiler_version"], values["linker"] = "10.2.1", "ld"  # devtoolset-10, as 2.10-2.14 shipped
    settled = {k for k, _ in inferred}
    if written is None:
        taken = [k for k in values if k not in settled and k not in ("uncertain",)]
        values["uncertain"] = tuple(sorted({*base.uncertain, *taken} - settled))
    else:
        values["uncertain"] = tuple(k for k in written.uncertain if k not in settled)
    recipe = recipe_from_values(release, values, base.recipe_version,
                                where=f"the recipe inferred for {release}")
    return dataclasses.replace(recipe, inferred=tuple(inferred), checkout_differs=tuple(differs),
                               inferred_from="" if written else base.release, bzlmod=inference.bzlmod)


def _nearest(release: str, known: Mapping[str, Recipe]) -> Recipe:
    """The newest written recipe not newer than `release` (else the oldest): the best stand-in for the
    facts a checkout does not state (configure answers, build-time pip packages, manylinux policy)."""
    ordered = sorted(known, key=release_sort_key)
    older = [r for r in ordered if release_sort_key(r) <= release_sort_key(release)]
    return known[older[-1] if older else ordered[0]]


def infer_recipe(checkout: Checkout, *, release: str, written: Recipe | None,
                 known: Mapping[str, Recipe]) -> Recipe:
    return apply_inference(infer_facts(checkout), release=release, written=written, known=known)


def recipe_from_source(source: str, ref: str, *, release: str, written: Recipe | None,
                       known: Mapping[str, Recipe]) -> Recipe:
    """Infer the recipe of `ref` in `source` (a tag name, or a full ref) from its files, read on the host.

    It runs before the plan because the plan (builder image, Bazel command, build key) follows from the
    recipe; the build's own source stage then checks out the same commit.
    """
    from tfwheelbuild.engine.preflight import resolve_ref

    if shutil.which("git") is None:
        raise InferenceError(f"TensorFlow {release}'s recipe must be read from its checkout, and that needs git "
                             "on this host", remedy="install git, or give the recipe in a --recipe FILE")
    full, _ = resolve_ref(source, ref)
    with git_checkout(source, full) as checkout:
        return infer_recipe(checkout, release=release, written=written, known=known)


INFER = "infer"  # --recipe infer


def wanted_recipe(tf_version: str, recipe_option: Path | None) -> tuple[Recipe | None, Callable[[str, str], Recipe]
                                                                        | None]:
    """(the written recipe, or None; how to infer one from (source, ref), or None when none is needed).

    Inference is wanted for `--recipe infer` (over the written recipe, the checkout winning) and for a
    release no recipe covers (over the nearest written one); an override file still applies to both.
    """
    from tfwheelbuild.core.validate import release_tag

    asked = recipe_option is not None and str(recipe_option) == INFER
    overrides = None if asked else recipe_option
    release = release_of(tf_version)
    known = load_recipes() if overrides is None else merge_overrides(load_recipes(), overrides)
    try:
        written: Recipe | None = recipe_for(tf_version, overrides_file=overrides)
    except UnknownReleaseError:
        # Older than every recipe: no written recipe is a fair stand-in for what the checkout leaves
        # unsaid (before 2.10 TensorFlow made no aarch64 wheels of its own), so that stays refused.
        if release_sort_key(release) < release_sort_key(min(known, key=release_sort_key)):
            raise
        written = None
    if written is not None and not asked:
        return written, None

    def infer(source: str, ref: str) -> Recipe:
        return recipe_from_source(source, ref or release_tag(tf_version), release=release, written=written,
                                  known=known)

    return written, infer
