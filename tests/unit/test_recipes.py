"""Recipes: the packaged facts against tf-releases.md, lookup, Python checks (overrides and the `versions`
table: test_recipe_overrides.py)."""

from __future__ import annotations

import json

import pytest

from tests.unit.helpers_recipes import ALL_RELEASES
from tfwheelbuild.errors import UnknownReleaseError, UnsupportedPythonError, UsageError
from tfwheelbuild.recipes import (
    RECIPE_KEYS,
    check_python,
    load_recipes,
    recipe_for,
    release_of,
)


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
