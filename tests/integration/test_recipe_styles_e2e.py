"""Recipe styles end to end: each fixture tag builds only with its own release's recipe.

2.16 and 2.17 are in test_build_e2e.py; here 2.13 (host Python with build-time packages,
build_pip_package --dst) and 2.20 (USE_PYWRAP_RULES, ML_WHEEL_TYPE), and a wrong recipe failing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, CliResult, tfwheelbuild

pytestmark = pytest.mark.engine


def build(repo: Path, work: Path, out: Path, tf: str, *extra: str, env: dict[str, str] | None = None) -> CliResult:
    return tfwheelbuild("build", "--tf", tf, "--py", "3.11", "--source", str(repo), "--patches", str(FIXTURE_PATCHES),
                        "--output", str(out), "--work-dir", str(work), "--json", *extra, env=env)


def manifest_of(result: CliResult) -> dict[str, object]:
    return dict(json.loads(Path(str(result.json()["manifest"])).read_text()))


def test_2_13_style_uses_the_host_python_and_its_build_time_packages(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    # Run as GitHub Actions would: stages folded in the log, a summary table for the run's page.
    summary = tmp_path / "step-summary.md"
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = build(fixture_repo, work_dir, tmp_path / "out", "2.13.0", env=env)
    assert result.code == 0, result.stderr[-3000:]
    assert "::group::compile" in result.stderr and "::endgroup::" in result.stderr
    assert "| compile |" in summary.read_text() and "✅" in summary.read_text()
    wheel = Path(str(result.json()["wheel"]))
    assert re.match(r"^tensorflow-2\.13\.0-cp311-cp311-manylinux_2_\d+_aarch64\.whl$", wheel.name), wheel.name
    manifest = manifest_of(result)
    argv = manifest["bazel"]["argv"]  # type: ignore[index]
    assert argv[-1] == "//tensorflow/tools/pip_package:build_pip_package"
    # No hermetic Python before 2.14: the extension's Python is configure's PYTHON_BIN_PATH, whose
    # numpy the fixture's python_configure.bzl asks for, as TF 2.13's does.
    assert not any("PYTHON_VERSION" in a for a in argv)
    assert manifest["images"]["builder"].startswith("tfwheelbuild/builder:py3.11-")  # type: ignore[index]
    assert manifest["test"]["smoke"]["version"] == "2.13.0"  # type: ignore[index]


def test_2_20_style_release_and_nightly_versions(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    release = build(fixture_repo, work_dir, tmp_path / "release", "2.20.0")
    assert release.code == 0, release.stderr[-3000:]
    assert re.match(r"^tensorflow-2\.20\.0-cp311-cp311-manylinux_2_\d+_aarch64\.whl$",
                    Path(str(release.json()["wheel"])).name)
    argv = manifest_of(release)["bazel"]["argv"]  # type: ignore[index]
    assert "--repo_env=USE_PYWRAP_RULES=1" in argv and "--repo_env=ML_WHEEL_TYPE=release" in argv
    # auto mode cross-compiles here; like upstream's 2.19-2.21, the style's release config names llvm-18 and its
    # cross toolchain llvm-17: the cross builder answers at both, and says which clang really answers.
    toolchain = manifest_of(release)["toolchain"]
    assert "--config=cross_compile_linux_arm64" in argv, argv
    assert toolchain["answers_as"] == "/usr/lib/llvm-18" and set(toolchain["also"]) == {"17"}, toolchain  # type: ignore[index]
    assert any(d.startswith("cross toolchain: clang ") and "/usr/lib/llvm-17" in d
               for d in toolchain["differences"]), toolchain  # type: ignore[index]

    nightly = build(fixture_repo, work_dir, tmp_path / "nightly", "2.20.0", "--nightly-date", "20261125")
    assert nightly.code == 0, nightly.stderr[-3000:]
    wheel = Path(str(nightly.json()["wheel"]))
    assert re.match(r"^tensorflow-2\.20\.0\.dev20261125-cp311-cp311-manylinux_2_\d+_aarch64\.whl$", wheel.name)
    manifest = manifest_of(nightly)
    assert manifest["version"] == "2.20.0.dev20261125"
    # The release's own mechanism stamped it: the compiled extension says so too, as tf-nightly does.
    assert manifest["test"]["smoke"]["version"] == "2.20.0-dev20261125"  # type: ignore[index]
    assert manifest["build_key"] != manifest_of(release)["build_key"]


def test_2_20_without_pywrap_rules_fails_by_name(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    """A wrong recipe must fail to build: here a user override that turns USE_PYWRAP_RULES off."""
    override = tmp_path / "recipe.toml"
    override.write_text('["2.20"]\nrepo_env = { USE_PYWRAP_RULES = "0" }\n')
    result = build(fixture_repo, work_dir, tmp_path / "out", "2.20.0", "--recipe", str(override))
    assert result.code == 16, result.stderr[-3000:]
    assert "USE_PYWRAP_RULES is not set" in result.stderr
    # Bazel's own Starlark traceback is quoted (indented) in the error block; ours would start a line.
    assert not re.search(r"^Traceback", result.stderr, re.MULTILINE)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_2_23_style_with_no_recipe_builds_tests_and_publishes_by_inference(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    """A release nobody wrote a recipe for: its checkout says how it builds (cross mode: the compile is
    native on x86, only the smoke test is emulated)."""
    index = tmp_path / "index"
    result = build(fixture_repo, work_dir, tmp_path / "out", "2.23.0", "--mode", "cross", "--publish",
                   "--index", str(index), "--no-verify")
    assert result.code == 0, result.stderr[-3000:]
    assert "recipe:        inferred from the checkout over the recipe for 2.22" in result.stderr
    wheel = Path(str(result.json()["wheel"]))
    assert re.match(r"^tensorflow-2\.23\.0-cp311-cp311-manylinux_2_\d+_aarch64\.whl$", wheel.name), wheel.name
    manifest = manifest_of(result)
    inference = manifest["recipe_inference"]
    assert isinstance(inference, dict)
    assert inference["over_recipe"] == "2.22"
    assert inference["inferred"]["pythons"]["value"] == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    assert inference["inferred"]["target"]["from"].endswith("defines :wheel")
    argv = manifest["bazel"]["argv"]  # type: ignore[index]
    assert "--repo_env=USE_PYWRAP_RULES=1" in argv and "--repo_env=HERMETIC_PYTHON_VERSION=3.11" in argv
    assert manifest["test"]["smoke"]["version"] == "2.23.0"  # type: ignore[index]
    assert any(p.name == wheel.name for p in index.rglob("*.whl"))
