"""Recipes: the packaged facts against tf-releases.md, lookup, Python checks, overrides, the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfwheelbuild.errors import UnknownReleaseError, UnsupportedPythonError, UsageError
from tfwheelbuild.recipes import (
    RECIPE_KEYS,
    REQUIRED_KEYS,
    Recipe,
    check_python,
    format_versions_table,
    load_recipes,
    merge_overrides,
    recipe_for,
    release_of,
    versions_rows,
)

ALL_RELEASES = [f"2.{m}" for m in range(10, 23)]


def _py_range(lo: int, hi: int) -> tuple[str, ...]:
    return tuple(f"3.{m}" for m in range(lo, hi + 1))


# release: (bazel, pythons, target, python_env, manylinux) from tf-releases.md §1 and §7.
FACTS: dict[str, tuple[str, tuple[str, ...], str, str, str]] = {
    "2.10": ("5.1.1", _py_range(7, 10), "build_pip_package", "", "manylinux2014_aarch64"),
    "2.11": ("5.3.0", _py_range(7, 10), "build_pip_package", "", "manylinux2014_aarch64"),
    "2.12": ("5.3.0", _py_range(8, 11), "build_pip_package", "", "manylinux2014_aarch64"),
    "2.13": ("5.3.0", _py_range(8, 11), "build_pip_package", "", "manylinux2014_aarch64"),
    "2.14": ("6.1.0", _py_range(9, 11), "build_pip_package", "TF_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.15": ("6.1.0", _py_range(9, 11), "build_pip_package", "TF_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.16": ("6.5.0", _py_range(9, 12), "build_pip_package", "TF_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.17": ("6.5.0", _py_range(9, 12), "wheel", "HERMETIC_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.18": ("6.5.0", _py_range(9, 12), "wheel", "HERMETIC_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.19": ("6.5.0", _py_range(9, 12), "wheel", "HERMETIC_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.20": ("7.4.1", _py_range(9, 13), "wheel", "HERMETIC_PYTHON_VERSION", "manylinux2014_aarch64"),
    "2.21": ("7.4.1", _py_range(10, 13), "wheel", "HERMETIC_PYTHON_VERSION", "manylinux_2_27_aarch64"),
    "2.22": ("7.4.1", _py_range(10, 13), "wheel", "HERMETIC_PYTHON_VERSION", "manylinux_2_27_aarch64"),
}


def _minor(release: str) -> int:
    return int(release.split(".")[1])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the packaged facts


def test_packaged_file_has_exactly_the_known_releases_in_order() -> None:
    assert list(load_recipes()) == ALL_RELEASES


def test_recipe_version_is_shared_and_positive() -> None:
    versions = {r.recipe_version for r in load_recipes().values()}
    assert len(versions) == 1
    assert versions.pop() >= 1


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_release_matches_reference(release: str) -> None:
    bazel, pythons, target, python_env, manylinux = FACTS[release]
    r = load_recipes()[release]
    assert r.release == release
    assert r.bazel == bazel
    assert r.pythons == pythons
    assert r.target == target
    assert r.python_env == python_env
    assert r.hermetic_python == bool(python_env)
    assert r.manylinux == manylinux
    assert r.wheel_name == "tensorflow"
    assert r.copts == ("-flax-vector-conversions",)


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_pywrap_rules_and_wheel_type_only_from_2_20(release: str) -> None:
    r = load_recipes()[release]
    from_2_20 = _minor(release) >= 20
    assert (r.repo_env_dict().get("USE_PYWRAP_RULES") == "1") is from_2_20
    assert r.wheel_type_env is from_2_20
    if not from_2_20:
        assert r.repo_env == ()


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_configure_answers(release: str) -> None:
    env = load_recipes()[release].configure_env_dict()
    assert "PYTHON_BIN_PATH" not in env  # the tool fills it in
    for key in ("TF_NEED_CUDA", "TF_NEED_ROCM", "TF_SET_ANDROID_WORKSPACE", "TF_CONFIGURE_IOS",
                "TF_DOWNLOAD_CLANG", "TF_NEED_TENSORRT"):
        assert env[key] == "0"
    assert env["USE_DEFAULT_PYTHON_LIB_PATH"] == "1"
    assert env["CC_OPT_FLAGS"] == "-Wno-sign-compare"
    # GCC releases answer no to clang in the recipe; from 2.15 the toolchain answers it (test_toolchain.py).
    assert ("TF_NEED_CLANG" in env) is (13 <= _minor(release) <= 14)
    if "TF_NEED_CLANG" in env:
        assert env["TF_NEED_CLANG"] == "0"


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_bazel_configs_cross_config_and_build_pip(release: str) -> None:
    r = load_recipes()[release]
    if _minor(release) >= 16:
        assert r.bazel_configs == ("mkl_aarch64_threadpool", "linux_arm64")
        assert r.cross_config == "cross_compile_linux_arm64"
    else:
        assert r.bazel_configs == ("mkl_aarch64_threadpool",)
        assert r.cross_config == ""
    names = {p.split("<")[0].split(">")[0].split("=")[0] for p in r.build_pip}
    assert {"numpy", "wheel", "setuptools", "packaging"} <= names
    if _minor(release) <= 13:  # no hermetic Python: the host Python imports TF while building
        assert {"protobuf", "opt_einsum", "keras_preprocessing", "requests"} <= names
        assert any(p.startswith("protobuf>=3.20.3") for p in r.build_pip)  # issue #60175
        numpy = next(p for p in r.build_pip if p.startswith("numpy"))
        assert "<" in numpy  # TF <= 2.13 predates numpy 2 (and 1.24's removals)
    else:
        assert "protobuf" not in names


def test_uncertain_flags_follow_the_reference() -> None:
    recipes = load_recipes()
    for r in recipes.values():
        assert set(r.uncertain) <= set(RECIPE_KEYS)
    assert "python_env" in recipes["2.14"].uncertain
    assert "python_env" in recipes["2.17"].uncertain
    assert "target" in recipes["2.16"].uncertain
    assert "cross_config" in recipes["2.16"].uncertain
    assert "configure_env" in recipes["2.13"].uncertain
    assert "bazel_configs" in recipes["2.10"].uncertain
    assert "wheel_type_env" in recipes["2.20"].uncertain
    assert recipes["2.19"].uncertain == ()


def test_recipe_helpers() -> None:
    recipes = load_recipes()
    assert recipes["2.16"].bazel_target == "//tensorflow/tools/pip_package:build_pip_package"
    assert recipes["2.17"].bazel_target == "//tensorflow/tools/pip_package:wheel"
    assert recipes["2.13"].python_repo_env("3.11") == ()
    assert recipes["2.15"].python_repo_env("3.11") == (("TF_PYTHON_VERSION", "3.11"),)
    assert recipes["2.17"].python_repo_env("3.12") == (
        ("HERMETIC_PYTHON_VERSION", "3.12"), ("TF_PYTHON_VERSION", "3.12"))
    d = recipes["2.20"].to_dict()
    assert d["repo_env"] == {"USE_PYWRAP_RULES": "1"}
    json.dumps(d)  # JSON-ready
    hash(recipes["2.20"])  # frozen and hashable: usable in build keys


def test_load_recipes_default_is_cached_but_not_shared() -> None:
    first = load_recipes()
    first.pop("2.10")
    assert "2.10" in load_recipes()
    assert load_recipes()["2.16"] is recipe_for("2.16")


# --------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(("version", "release"), [
    ("2.16.1", "2.16"), ("2.16", "2.16"), ("2.16.0rc1", "2.16"), ("2.10.0", "2.10"),
    ("2.21.0", "2.21"), ("v2.18.1", "2.18"), ("2.20.0.dev20250101", "2.20"),
])
def test_patch_and_pre_releases_inherit_their_minor(version: str, release: str) -> None:
    assert release_of(version) == release
    assert recipe_for(version) == load_recipes()[release]


@pytest.mark.parametrize("version", ["2.9", "2.9.3", "3.0", "1.15.5", "2.30.0"])
def test_unknown_release(version: str) -> None:
    with pytest.raises(UnknownReleaseError) as info:
        recipe_for(version)
    minor = release_of(version)
    assert str(info.value) == (
        # "2.16.x", not "2.16": a minor alone is not something --tf accepts
        f"TensorFlow {minor} has no recipe; recipes cover " + ", ".join(f"{r}.x" for r in ALL_RELEASES)
    )
    assert info.value.exit_code == 10


@pytest.mark.parametrize("version", ["banana", "", "2.x", "2", "2.16.1-foo-bar"])
def test_invalid_version_string(version: str) -> None:
    with pytest.raises(UsageError):
        recipe_for(version)


# --------------------------------------------------------------------------- Python checks


def test_check_python_in_range_passes() -> None:
    check_python(recipe_for("2.16"), "3.12", allow_unsupported=False)
    check_python(recipe_for("2.10"), "3.7", allow_unsupported=False)


def test_check_python_out_of_range() -> None:
    with pytest.raises(UnsupportedPythonError) as info:
        check_python(recipe_for("2.16.1"), "3.13", allow_unsupported=False)
    assert str(info.value) == "TensorFlow 2.16 supports Python 3.9, 3.10, 3.11, 3.12; you asked for 3.13"
    assert info.value.exit_code == 11
    with pytest.raises(UnsupportedPythonError):
        check_python(recipe_for("2.21"), "3.9", allow_unsupported=False)


def test_check_python_force_flag() -> None:
    check_python(recipe_for("2.16"), "3.13", allow_unsupported=True)


@pytest.mark.parametrize("py", ["3", "3.11.4", "python3.11", "311", "", "3.x"])
def test_check_python_rejects_malformed(py: str) -> None:
    for allow in (False, True):
        with pytest.raises(UsageError):
            check_python(recipe_for("2.16"), py, allow_unsupported=allow)


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
