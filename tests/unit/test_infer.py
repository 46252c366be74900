"""Recipe inference (tfwheelbuild/recipes/infer.py): facts read from a checkout, laid over a written recipe."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from tfwheelbuild.errors import InferenceError, UnknownReleaseError
from tfwheelbuild.recipes import RECIPE_KEYS, load_recipes
from tfwheelbuild.recipes.infer import (
    INFERRED_KEYS,
    DirCheckout,
    Inference,
    apply_inference,
    git_checkout,
    infer_facts,
    inference_lines,
    inference_record,
    wanted_recipe,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from make_repo import RELEASES, make_repo  # noqa: E402

# The fixture pins Bazel 4.2.3 for every tag (the real releases' Bazels take far longer to fetch and
# start under qemu): the one fact where it knowingly differs from the release it stands for.
FIXTURE_BAZEL = "4.2.3"


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("infer") / "tf", units=1)


def _release(tag: str) -> str:
    return ".".join(tag.removeprefix("v").split(".")[:2])


@pytest.mark.parametrize("tag", [r.tag for r in RELEASES if _release(r.tag) in load_recipes()])
@pytest.mark.allow_subprocess
def test_inferred_recipe_equals_the_written_one_for_every_fixture_tag(fixture_repo: Path, tag: str) -> None:
    written = load_recipes()[_release(tag)]
    with git_checkout(str(fixture_repo), f"refs/tags/{tag}") as checkout:
        inference = infer_facts(checkout)
    assert inference.facts, tag
    for fact in inference.facts:
        expected = getattr(written, fact.key)
        if fact.key == "bazel":
            assert fact.value == FIXTURE_BAZEL
        elif fact.key == "compiler_version":
            assert fact.value == written.compiler_major, (tag, fact)
        else:
            assert fact.value == expected, (tag, fact)
    # Only 2.13 (no hermetic Python, so no locks) leaves a fact to its written recipe.
    assert [k for k, _ in inference.undecided] == (["pythons"] if tag == "v2.13.0" else [])
    recipe = apply_inference(inference, release=written.release, written=written, known=load_recipes())
    assert [d.split(":")[0] for d in recipe.checkout_differs] == ["bazel"]
    assert recipe.to_dict() == {**written.to_dict(), "bazel": FIXTURE_BAZEL,
                                "uncertain": [k for k in written.uncertain
                                              if k not in {key for key, _ in recipe.inferred}]}


@pytest.mark.allow_subprocess
@pytest.mark.parametrize("tag", ["v2.17.0", "v2.23.0", "v2.24.0"])
def test_inferred_recipe_has_the_written_recipes_fields(fixture_repo: Path, tag: str) -> None:
    known = load_recipes()
    release = _release(tag)
    with git_checkout(str(fixture_repo), f"refs/tags/{tag}") as checkout:
        inference = infer_facts(checkout)
    assert {f.key for f in inference.facts} <= set(INFERRED_KEYS) <= set(RECIPE_KEYS)
    recipe = apply_inference(inference, release=release, written=known.get(release), known=known)
    assert list(recipe.to_dict()) == list(known["2.22"].to_dict())
    assert [f.name for f in dataclasses.fields(recipe)] == [f.name for f in dataclasses.fields(known["2.22"])]


@pytest.mark.allow_subprocess
def test_a_release_with_no_recipe_is_inferred_over_the_nearest_written_one(fixture_repo: Path) -> None:
    known = load_recipes()
    with git_checkout(f"file://{fixture_repo}", "refs/tags/v2.23.0") as checkout:
        recipe = apply_inference(infer_facts(checkout), release="2.23", written=None, known=known)
    assert recipe.release == "2.23" and recipe.inferred_from == "2.22"
    assert recipe.pythons == ("3.10", "3.11", "3.12", "3.13", "3.14")
    assert (recipe.target, recipe.python_env, recipe.wheel_type_env) == ("wheel", "HERMETIC_PYTHON_VERSION", True)
    assert recipe.repo_env == (("USE_PYWRAP_RULES", "1"),)
    assert (recipe.compiler, recipe.compiler_version, recipe.release_config) == ("clang", "18", "release_arm64_linux")
    assert recipe.bzlmod
    # What the checkout does not state is the stand-in's, and says so.
    assert {"configure_env", "build_pip", "manylinux", "sysroot"} <= set(recipe.uncertain)
    assert not {k for k, _ in recipe.inferred} & set(recipe.uncertain)
    lines = inference_lines(recipe)
    assert lines[0].startswith("recipe:        inferred from the checkout over the recipe for 2.22")
    assert any(line.startswith("  inferred:    pythons = 3.10, 3.11, 3.12, 3.13, 3.14") for line in lines)
    record = inference_record(recipe)
    inferred = record["inferred"]
    assert isinstance(inferred, dict)
    assert inferred["target"] == {"value": "wheel",
                              "from": "tensorflow/tools/pip_package/BUILD defines :wheel"}


@pytest.mark.allow_subprocess
def test_a_release_that_dropped_pythons_lists_only_its_locks(fixture_repo: Path) -> None:
    with git_checkout(f"file://{fixture_repo}", "refs/tags/v2.24.0") as checkout:
        recipe = apply_inference(infer_facts(checkout), release="2.24", written=None, known=load_recipes())
    assert recipe.pythons == ("3.12",) and recipe.python_env == "HERMETIC_PYTHON_VERSION"


def _value(inference: Inference, key: str) -> object:
    fact = inference.fact(key)
    assert fact is not None, key
    return fact.value


def _tree(root: Path, files: dict[str, str]) -> DirCheckout:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return DirCheckout(root)


_MINIMAL = {
    ".bazelversion": "7.4.1\n",
    "tensorflow/tools/pip_package/BUILD": 'tf_wheel(\n    name = "wheel",\n)\n',
    "requirements_lock_3_12.txt": "", "requirements_lock_3_13.txt": "", "requirements_lock_3_14.txt": "",
    ".bazelrc": "build:linux_arm64 --copt=-mtune=generic\n",
}


@pytest.mark.parametrize(("missing", "key"), [(".bazelversion", "bazel"),
                                              ("tensorflow/tools/pip_package/BUILD", "target")])
def test_an_undecidable_fact_names_the_key_that_settles_it(tmp_path: Path, missing: str, key: str) -> None:
    checkout = _tree(tmp_path, {k: v for k, v in _MINIMAL.items() if k != missing})
    with pytest.raises(InferenceError) as info:
        apply_inference(infer_facts(checkout), release="2.30", written=None, known=load_recipes())
    assert info.value.exit_code == 45
    assert info.value.message.startswith(f"cannot infer '{key}' for TensorFlow 2.30")
    assert f"recipe key '{key}'" in info.value.remedy and '["2.30"]' in info.value.remedy


def test_pythons_from_setup_classifiers_when_there_are_no_locks(tmp_path: Path) -> None:
    files = {k: v for k, v in _MINIMAL.items() if not k.startswith("requirements_lock")}
    checkout = _tree(tmp_path, files)
    with pytest.raises(InferenceError, match="cannot infer 'pythons'"):
        apply_inference(infer_facts(checkout), release="2.30", written=None, known=load_recipes())
    (tmp_path / "tensorflow/tools/pip_package/setup.py").write_text(
        "classifiers=[\n  'Programming Language :: Python :: 3.11',\n"
        "  'Programming Language :: Python :: 3.10',\n]\n")
    assert _value(infer_facts(checkout), "pythons") == ("3.10", "3.11")


def test_variables_named_only_in_prose_are_not_read(tmp_path: Path) -> None:
    checkout = _tree(tmp_path, {**_MINIMAL, "third_party/py/python_repo.bzl":
                                '"""Reads HERMETIC_PYTHON_VERSION? No: "USE_PYWRAP_RULES" is for later."""\n'
                                '# "ML_WHEEL_TYPE" one day\n'
                                '_VAR = "TF_PYTHON_VERSION"\n'})
    inference = infer_facts(checkout)
    assert _value(inference, "python_env") == "TF_PYTHON_VERSION"
    assert _value(inference, "repo_env") == ()
    assert _value(inference, "wheel_type_env") is False


def test_clang_major_from_the_cross_toolchain_when_the_release_config_names_none(tmp_path: Path) -> None:
    checkout = _tree(tmp_path, {**_MINIMAL, "tensorflow/tools/toolchains/cross_compile/cc/BUILD":
                                'tool_paths = {"gcc": "/usr/lib/llvm-19/bin/clang"}\n', "MODULE.bazel": ""})
    inference = infer_facts(checkout)
    assert _value(inference, "compiler_version") == "19"
    assert _value(inference, "cross_config") == ""
    assert inference.bzlmod


def test_recipe_option_infer_and_unknown_releases(tmp_path: Path) -> None:
    written, infer = wanted_recipe("2.16.1", None)
    assert written is not None and infer is None
    written, infer = wanted_recipe("2.16.1", Path("infer"))
    assert written is not None and infer is not None
    written, infer = wanted_recipe("2.23.0", None)
    assert written is None and infer is not None
    with pytest.raises(UnknownReleaseError):  # older than every recipe: no fair stand-in
        wanted_recipe("2.9.0", None)


@pytest.mark.allow_subprocess
def test_build_dry_run_of_a_release_with_no_recipe_marks_each_inferred_fact(fixture_repo: Path,
                                                                           tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tfwheelbuild.cli import main

    result = CliRunner().invoke(main, ["build", "--tf", "2.23.0", "--py", "3.12", "--source", str(fixture_repo),
                                       "--mode", "cross", "--dry-run", "--work-dir", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0].startswith("TensorFlow 2.23.0 for Python 3.12 (recipe 2.23")
    assert out[1].startswith("recipe:        inferred from the checkout over the recipe for 2.22")
    assert any(line.startswith("  inferred:    target = wheel") for line in out)
    assert any("--repo_env=HERMETIC_PYTHON_VERSION=3.12" in line for line in out)
    bad = CliRunner().invoke(main, ["build", "--tf", "2.23.0", "--py", "3.9", "--source", str(fixture_repo),
                                    "--dry-run", "--work-dir", str(tmp_path / "w")])
    assert bad.exit_code == 11, bad.output  # the checkout's locks say 3.10-3.14


@pytest.mark.allow_subprocess
def test_build_refuses_a_checkout_that_does_not_settle_a_fact(tmp_path: Path) -> None:
    import subprocess

    from click.testing import CliRunner

    from tfwheelbuild.cli import main

    repo = tmp_path / "tf"
    _tree(repo, {k: v for k, v in _MINIMAL.items() if k != ".bazelversion"})
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "HOME": str(tmp_path)}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"], ["tag", "v2.30.0"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env)
    result = CliRunner().invoke(main, ["build", "--tf", "2.30.0", "--py", "3.12", "--source", str(repo),
                                       "--dry-run", "--work-dir", str(tmp_path / "w")])
    assert result.exit_code == 45, result.output
    assert "error: cannot infer 'bazel' for TensorFlow 2.30: the checkout has no .bazelversion" in result.output
    assert "recipe key 'bazel'" in result.output


@pytest.mark.parametrize(("python", "route"), [("3.10", "ubuntu:22.04"), ("3.12", "ubuntu:24.04"),
                                               ("3.14", "base bootstrap --suite sid"),
                                               ("3.15", "base bootstrap --suite sid"), ("3.16", "base import")])
def test_the_no_debian_suite_message_names_a_route_for_each_python(python: str, route: str) -> None:
    from click.testing import CliRunner

    from tfwheelbuild.cli import main

    # The dry-run's base line is where the route shows before any work.
    result = CliRunner().invoke(main, ["build", "--tf", "2.16.1", "--py", python, "--dry-run",
                                       "--allow-unsupported-python"])
    assert result.exit_code == 0, result.output
    base = next(line for line in result.stdout.splitlines() if line.startswith("base image:"))
    assert f"no Debian suite ships Python {python}" in base and route in base, base


@pytest.mark.allow_subprocess
def test_recipe_infer_over_a_written_recipe_says_where_the_checkout_differs(fixture_repo: Path,
                                                                           tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tfwheelbuild.cli import main

    result = CliRunner().invoke(main, ["build", "--tf", "2.20.0", "--py", "3.11", "--source", str(fixture_repo),
                                       "--recipe", "infer", "--dry-run", "--json", "--work-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    plan = __import__("json").loads(result.stdout)
    describe = plan["describe"]
    assert describe[1] == "recipe:        inferred from the checkout"
    assert [line for line in describe if line.startswith("  differs:")] == [
        "  differs:     bazel: the recipe for 2.20 says 7.4.1, the checkout 4.2.3 (.bazelversion): using the "
        "checkout's"]
    assert plan["recipe"]["bazel"] == "4.2.3" and plan["recipe"]["compiler_version"] == "18.1.8"
