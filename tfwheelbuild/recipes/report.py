"""What is said about an inferred recipe: the lines a person reads (the dry-run and the build log say
the same) and the manifest's record of it."""

from __future__ import annotations

from tfwheelbuild.recipes.facts import show_value
from tfwheelbuild.recipes.model import Recipe

__all__ = ["inference_lines", "inference_record"]


def inference_record(recipe: Recipe) -> dict[str, object]:
    """The manifest's account of an inferred recipe: each fact with where it was read, what stood in for
    the rest, and where a written recipe disagreed."""
    return {"release": recipe.release, "over_recipe": recipe.inferred_from or recipe.release,
            "inferred": {key: {"value": recipe.to_dict()[key], "from": source} for key, source in recipe.inferred},
            "uncertain": list(recipe.uncertain), "bzlmod": recipe.bzlmod,
            "checkout_differs": list(recipe.checkout_differs)}


def inference_lines(recipe: Recipe) -> list[str]:
    if not recipe.inferred:
        return []
    lines = ["recipe:        inferred from the checkout" + (f" over the recipe for {recipe.inferred_from} "
                                                             "(facts the checkout does not state, marked uncertain)"
                                                             if recipe.inferred_from else "")]
    lines += [f"  inferred:    {key} = {show_value(key, getattr(recipe, key))}  ({source})"
              for key, source in recipe.inferred]
    if recipe.inferred_from:
        lines.append(f"  uncertain:   {', '.join(recipe.uncertain)}  (the recipe for {recipe.inferred_from}'s; "
                     "override them with --recipe FILE)")
    lines.append(f"  inferred:    bzlmod = {'true (MODULE.bazel)' if recipe.bzlmod else 'false (no MODULE.bazel)'}")
    lines += [f"  differs:     {d}" for d in recipe.checkout_differs]
    return lines
