"""Recipes: an overrides file over the packaged recipes, and the `versions` table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.helpers_recipes import ALL_RELEASES
from tfwheelbuild.errors import UnknownReleaseError, UsageError
from tfwheelbuild.recipes import (
    REQUIRED_KEYS,
    Recipe,
    check_python,
    format_versions_table,
    load_recipes,
    merge_overrides,
    recipe_for,
    versions_rows,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- overrides


def test_override_merges_over_packaged(tmp_path: Path) -> None:
    path = _write(tmp_path, """
["2.16"]
bazel = "6.5.1"
pythons = ["3.10", "3.11", "3.12", "3.13"]
target = "wheel"

["2.16".configure_env]
TF_NEED_CLANG = "1"
CLANG_COMPILER_PATH = "/usr/lib/llvm-17/bin/clang"
""")
    r = recipe_for("2.16.1", overrides_file=path)
    packaged = load_recipes()["2.16"]
    assert r.bazel == "6.5.1"
    assert r.pythons == ("3.10", "3.11", "3.12", "3.13")
    assert r.target == "wheel"
    env = r.configure_env_dict()
    assert env["TF_NEED_CLANG"] == "1"
    assert env["CLANG_COMPILER_PATH"] == "/usr/lib/llvm-17/bin/clang"
    assert env["TF_NEED_CUDA"] == "0"  # tables merge key by key
    assert r.configure_env == tuple(sorted(env.items()))
    assert r.manylinux == packaged.manylinux  # untouched keys keep the packaged value
    assert r.recipe_version == packaged.recipe_version
    assert "target" not in r.uncertain  # the user chose it
    assert "cross_config" in r.uncertain
    check_python(r, "3.13", allow_unsupported=False)
    # Other releases are untouched.
    assert recipe_for("2.17", overrides_file=path) == load_recipes()["2.17"]


def test_override_default_applies_to_every_release(tmp_path: Path) -> None:
    path = _write(tmp_path, """
[default]
copts = ["-flax-vector-conversions", "-O2"]

["2.20"]
copts = ["-O3"]
""")
    assert recipe_for("2.12", overrides_file=path).copts == ("-flax-vector-conversions", "-O2")
    assert recipe_for("2.19.0", overrides_file=path).copts == ("-flax-vector-conversions", "-O2")
    assert recipe_for("2.20", overrides_file=path).copts == ("-O3",)


def test_override_accepts_unquoted_table_name(tmp_path: Path) -> None:
    path = _write(tmp_path, '[2.10]\nbazel = "5.1.0"\n')
    assert recipe_for("2.10", overrides_file=path).bazel == "5.1.0"
    assert recipe_for("2.11", overrides_file=path).bazel == "5.3.0"


def test_unknown_override_key_suggests_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, '["2.16"]\npythn = ["3.12"]\n')
    with pytest.raises(UsageError) as info:
        recipe_for("2.16", overrides_file=path)
    assert str(info.value) == "unknown recipe key 'pythn' in 2.16; did you mean 'pythons'?"
    assert str(path) in info.value.remedy


def test_unknown_override_key_without_close_match_lists_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, '[default]\nzzzzzz = 1\n')
    with pytest.raises(UsageError, match="unknown recipe key 'zzzzzz' in default; valid keys: bazel, "):
        recipe_for("2.16", overrides_file=path)


@pytest.mark.parametrize(("body", "key"), [
    ('pythons = "3.12"', "pythons"),
    ("bazel = 7", "bazel"),
    ('wheel_type_env = "yes"', "wheel_type_env"),
    ('repo_env = ["A=1"]', "repo_env"),
    ("configure_env = { TF_NEED_CLANG = true }", "configure_env"),
    ('target = "whl"', "target"),
    ('pythons = ["3.12", "three"]', "pythons"),
    ('build_pip = ["numpy<<2"]', "build_pip"),
    ('uncertain = ["bazle"]', "uncertain"),
])
def test_override_wrong_types_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    path = _write(tmp_path, f'["2.16"]\n{body}\n')
    with pytest.raises(UsageError, match=f"'{key}' in 2.16"):
        recipe_for("2.16", overrides_file=path)


def test_override_integer_env_values_become_strings(tmp_path: Path) -> None:
    path = _write(tmp_path, '["2.18".configure_env]\nTF_NEED_CLANG = 1\n')
    assert recipe_for("2.18", overrides_file=path).configure_env_dict()["TF_NEED_CLANG"] == "1"


def test_override_bad_table_name_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a TensorFlow minor release"):
        recipe_for("2.16", overrides_file=_write(tmp_path, '["latest"]\nbazel = "7"\n'))
    with pytest.raises(UsageError, match="not valid TOML"):
        recipe_for("2.16", overrides_file=_write(tmp_path, '["2.16"\nbazel = \n'))
    with pytest.raises(UsageError, match="cannot read"):
        recipe_for("2.16", overrides_file=tmp_path / "missing.toml")


NEW_RELEASE = """
["2.30"]
bazel = "7.6.0"
pythons = ["3.10", "3.11", "3.12", "3.13", "3.14"]
target = "wheel"
python_env = "HERMETIC_PYTHON_VERSION"
repo_env = { USE_PYWRAP_RULES = "1" }
wheel_type_env = true
bazel_configs = ["mkl_aarch64_threadpool", "linux_arm64"]
copts = ["-flax-vector-conversions"]
build_pip = ["setuptools", "wheel", "numpy", "packaging"]
manylinux = "manylinux_2_27_aarch64"

["2.30".configure_env]
USE_DEFAULT_PYTHON_LIB_PATH = "1"
TF_NEED_CUDA = "0"
TF_NEED_ROCM = "0"
TF_NEED_CLANG = "1"
"""


def test_override_adds_a_new_release(tmp_path: Path) -> None:
    path = _write(tmp_path, NEW_RELEASE)
    r = recipe_for("2.30.0rc0", overrides_file=path)
    assert isinstance(r, Recipe)
    assert r.release == "2.30"
    assert r.bazel == "7.6.0"
    assert r.pythons[-1] == "3.14"
    assert r.wheel_name == "tensorflow"  # optional keys take their defaults
    assert r.cross_config == ""
    assert r.uncertain == ()
    assert r.recipe_version == load_recipes()["2.21"].recipe_version
    check_python(r, "3.14", allow_unsupported=False)
    merged = merge_overrides(load_recipes(), path)
    assert list(merged) == [*ALL_RELEASES, "2.30"]
    # Without the override the release stays unknown.
    with pytest.raises(UnknownReleaseError):
        recipe_for("2.30")


def test_override_new_release_may_take_keys_from_default(tmp_path: Path) -> None:
    text = NEW_RELEASE.replace('manylinux = "manylinux_2_27_aarch64"\n', "")
    path = _write(tmp_path, '[default]\nmanylinux = "manylinux_2_28_aarch64"\n' + text)
    assert recipe_for("2.30", overrides_file=path).manylinux == "manylinux_2_28_aarch64"
    assert recipe_for("2.16", overrides_file=path).manylinux == "manylinux_2_28_aarch64"


def test_override_incomplete_new_release_names_missing_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, '["2.30"]\nbazel = "7.6.0"\ntarget = "wheel"\n')
    with pytest.raises(UsageError) as info:
        recipe_for("2.30", overrides_file=path)
    message = str(info.value)
    assert "2.30 is missing required key(s)" in message
    for key in REQUIRED_KEYS:
        if key not in ("bazel", "target"):
            assert key in message


def test_load_recipes_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "recipes.toml"
    path.write_text("recipe_version = 7\n" + NEW_RELEASE, encoding="utf-8")
    recipes = load_recipes(path)
    assert list(recipes) == ["2.30"]
    assert recipes["2.30"].recipe_version == 7
    path.write_text(NEW_RELEASE, encoding="utf-8")
    with pytest.raises(UsageError, match="recipe_version"):
        load_recipes(path)


# --------------------------------------------------------------------------- `versions`


def test_versions_rows_and_table() -> None:
    rows = versions_rows(load_recipes())
    assert [row["release"] for row in rows] == ALL_RELEASES
    json.dumps(rows)
    by_release = {row["release"]: row for row in rows}
    assert by_release["2.16"]["python_selection"] == "TF_PYTHON_VERSION"
    assert by_release["2.12"]["pythons"] == ["3.8", "3.9", "3.10", "3.11"]

    table = format_versions_table(rows)
    lines = table.splitlines()
    header = lines[0].split()
    assert header[:2] == ["release", "Bazel"]
    for title in ("Pythons", "target style", "Python selection", "manylinux"):
        assert title in lines[0]
    row_2_21 = next(line for line in lines if line.startswith("2.21 "))
    assert "7.4.1" in row_2_21
    assert "3.10-3.13" in row_2_21
    assert "manylinux_2_27_aarch64" in row_2_21
    row_2_16 = next(line for line in lines if line.startswith("2.16 "))
    assert "build_pip_package*" in row_2_16  # uncertain values are marked
    assert "uncertain" in lines[-1]


def test_versions_table_with_non_contiguous_pythons(tmp_path: Path) -> None:
    path = _write(tmp_path, '["2.16"]\npythons = ["3.9", "3.12"]\n')
    rows = versions_rows(merge_overrides(load_recipes(), path))
    table = format_versions_table(rows)
    assert "3.9, 3.12" in next(line for line in table.splitlines() if line.startswith("2.16 "))
