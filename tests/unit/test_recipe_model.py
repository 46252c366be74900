"""The recipe record is the one declaration of the recipe keys: the key set and kinds follow from it."""

from __future__ import annotations

import dataclasses

from tfwheelbuild.recipes import OPTIONAL_KEYS, REQUIRED_KEYS, load_recipes
from tfwheelbuild.recipes.model import KINDS, PROVENANCE_FIELDS, RECIPE_KEYS, TABLE_KEYS, Recipe


def test_recipe_keys_are_the_record_fields_a_file_may_set() -> None:
    names = [f.name for f in dataclasses.fields(Recipe)]
    assert names == ["release", *RECIPE_KEYS, "recipe_version", *PROVENANCE_FIELDS]
    assert set(REQUIRED_KEYS) | set(OPTIONAL_KEYS) == set(RECIPE_KEYS)
    assert not set(REQUIRED_KEYS) & set(OPTIONAL_KEYS)


def test_each_key_kind_follows_its_field_type() -> None:
    assert KINDS["bazel"] == "str" and KINDS["wheel_type_env"] == "bool"
    assert KINDS["pythons"] == "list" and KINDS["uncertain"] == "list"
    assert TABLE_KEYS == ("repo_env", "configure_env")


def test_to_dict_gives_every_recipe_key_and_no_provenance() -> None:
    recipe = load_recipes()["2.16"]
    assert list(recipe.to_dict()) == ["release", *RECIPE_KEYS, "recipe_version"]
    assert recipe.to_dict()["repo_env"] == dict(recipe.repo_env)
    assert recipe.key_values()["pythons"] == recipe.pythons
