"""The command line, through click's CliRunner: dry runs, error mapping, early failures. No engine."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tfwheelbuild.cli import main
from tfwheelbuild.errors import (
    EngineUnavailableError,
    PatchError,
    SourceError,
    UnknownReleaseError,
    UnsupportedPythonError,
    UsageError,
    WheelInputError,
)

# If anything below reached for the engine, it would fail fast against this socket instead.
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/tfwb-test-docker.sock"}


def _run(args: Sequence[str]) -> Result:
    return CliRunner().invoke(main, list(args), env=NO_ENGINE)


def _error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def _assert_clean_failure(result: Result, code: int) -> str:
    """One `error:` line, a `fix:` line, the right exit code, no traceback; returns the error line."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = _error_lines(result)
    assert len(errors) == 1, result.stderr
    assert "  fix: " in result.stderr
    return errors[0]


# ---------------------------------------------------------------------------------- build --dry-run


def test_dry_run_216_uses_build_pip_package() -> None:
    result = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("TensorFlow 2.16.1 for Python 3.11 (recipe 2.16")
    compile_line = next(line for line in out.splitlines() if line.startswith("compile:"))
    assert compile_line.endswith(" //tensorflow/tools/pip_package:build_pip_package")
    assert "--repo_env=TF_PYTHON_VERSION=3.11" in compile_line
    assert "HERMETIC_PYTHON_VERSION" not in out
    assert "WHEEL_NAME" not in out
    assert "--project_name tensorflow" in out
    assert "PYTHON_BIN_PATH=/opt/tfwb/py/bin/python3" in out
    assert result.stderr == ""


def test_dry_run_217_uses_the_wheel_target() -> None:
    result = _run(["build", "--tf", "2.17.0", "--py", "3.11", "--dry-run", "--project-name", "tf-arm",
                   "--bazel-arg=--verbose_failures"])
    assert result.exit_code == 0, result.output
    compile_line = next(line for line in result.stdout.splitlines() if line.startswith("compile:"))
    assert compile_line.endswith(" --verbose_failures //tensorflow/tools/pip_package:wheel")
    assert "--repo_env=HERMETIC_PYTHON_VERSION=3.11" in compile_line
    assert "--repo_env=WHEEL_NAME=tf_arm" in compile_line
    assert "build_pip_package" not in result.stdout


def test_dry_run_configure_override_is_shown() -> None:
    result = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--configure", "TF_NEED_CLANG=1"])
    assert result.exit_code == 0, result.output
    assert " TF_NEED_CLANG=1 " in result.stdout
    assert "TF_NEED_CLANG=0" not in result.stdout


def test_unknown_release() -> None:
    result = _run(["build", "--tf", "2.9.0", "--py", "3.11", "--dry-run"])
    line = _assert_clean_failure(result, UnknownReleaseError.exit_code)
    assert line.startswith("error: TensorFlow 2.9 has no recipe")
    assert result.stdout == ""


def test_unsupported_python_lists_the_supported_ones() -> None:
    result = _run(["build", "--tf", "2.16.1", "--py", "3.13", "--dry-run"])
    line = _assert_clean_failure(result, UnsupportedPythonError.exit_code)
    assert "3.9, 3.10, 3.11, 3.12" in line
    assert "3.13" in line
    assert "--allow-unsupported-python" in result.stderr


def test_allow_unsupported_python_passes_the_dry_run() -> None:
    result = _run(["build", "--tf", "2.16.1", "--py", "3.13", "--dry-run", "--allow-unsupported-python"])
    assert result.exit_code == 0, result.output
    assert "TensorFlow 2.16.1 for Python 3.13" in result.stdout
    assert "--repo_env=TF_PYTHON_VERSION=3.13" in result.stdout


def test_configure_without_equals_is_a_usage_error() -> None:
    result = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--configure", "BAD"])
    line = _assert_clean_failure(result, UsageError.exit_code)
    # the entry itself, not the tuple click collected (was: "got ('BAD',)")
    assert line == "error: --configure 'BAD': not KEY=VALUE, e.g. TF_NEED_CLANG=1", line


def test_missing_patch_directory() -> None:
    result = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--patches", "/nonexistent"])
    line = _assert_clean_failure(result, PatchError.exit_code)
    assert line == "error: patch directory /nonexistent does not exist"


def test_dry_run_lists_user_patches(tmp_path: Path) -> None:
    (tmp_path / "0001-fix.patch").write_text("--- a\n+++ b\n")
    result = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--patches", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert any(line.startswith("patch:         0001-fix.patch sha256=") for line in result.stdout.splitlines())


# ---------------------------------------------------------------------------------- versions


def test_versions_table() -> None:
    result = _run(["versions"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["release", "Bazel"]
    releases = [line.split()[0] for line in lines[2:] if line[:1].isdigit()]
    assert releases == [f"2.{m}" for m in range(10, 23)]


def test_versions_json() -> None:
    result = _run(["versions", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["release"] for row in rows] == [f"2.{m}" for m in range(10, 23)]
    by_release = {row["release"]: row for row in rows}
    assert by_release["2.16"]["target"] == "build_pip_package"
    assert by_release["2.17"]["target"] == "wheel"
    assert by_release["2.20"]["pythons"] == ["3.9", "3.10", "3.11", "3.12", "3.13"]


# ---------------------------------------------------------------------------------- test


def test_test_command_refuses_a_non_wheel(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a wheel")
    result = _run(["test", str(path)])
    assert result.exit_code == WheelInputError.exit_code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: notes.txt is not a wheel file name (")
    assert lines[1] == f"  fix: {WheelInputError.remedy}"


# ---------------------------------------------------------------------------------- build (no dry run)


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[[str], Path]:
    def make(tag: str) -> Path:
        repo = tmp_path / "tensorflow"
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
               "-C", str(repo)]
        repo.mkdir()
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
        subprocess.run([*git, "tag", tag], check=True)
        return repo

    return make


def _build(tmp_path: Path, source: str) -> Result:
    return _run(["build", "--tf", "2.16.1", "--py", "3.11", "--source", source,
                 "-o", str(tmp_path / "dist"), "--work-dir", str(tmp_path / "work")])


def test_build_missing_source_fails_before_the_engine(tmp_path: Path) -> None:
    result = _build(tmp_path, "/nonexistent/path")
    line = _assert_clean_failure(result, SourceError.exit_code)
    assert line == "error: source /nonexistent/path does not exist"
    assert not (tmp_path / "work").exists()


@pytest.mark.allow_subprocess
def test_build_local_repo_without_the_tag(tmp_path: Path, git_repo: Callable[[str], Path]) -> None:
    repo = git_repo("v0.0.1")
    result = _build(tmp_path, str(repo))
    line = _assert_clean_failure(result, SourceError.exit_code)
    assert line == f"error: tag v2.16.1 does not exist in {repo}"


@pytest.mark.allow_subprocess
def test_build_local_repo_with_the_tag_reaches_the_engine(tmp_path: Path, git_repo: Callable[[str], Path]) -> None:
    repo = git_repo("v2.16.1")
    result = _build(tmp_path, f"file://{repo}")
    line = _assert_clean_failure(result, EngineUnavailableError.exit_code)
    assert line.startswith("error: cannot reach a Docker engine")


def test_build_takes_options_from_the_config_file_and_its_overrides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tfwheelbuild.toml").write_text(
        'releases = ["2.16.1"]\npythons = ["3.11"]\njobs = 3\n'
        '[[overrides]]\nselect = "2.17.*"\nproject-name = "tf-internal"\n')
    monkeypatch.chdir(tmp_path)
    plan_216 = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run"]).output
    plan_217 = _run(["build", "--tf", "2.17.0", "--py", "3.11", "--dry-run"]).output
    assert "--jobs=3" in plan_216 and "--project_name tensorflow" in plan_216
    assert "--repo_env=WHEEL_NAME=tf_internal" in plan_217
    assert "--jobs=2" in _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--jobs", "2"]).output


def test_unknown_config_key_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tfwheelbuild.toml").write_text('pyton = ["3.11"]\n')
    monkeypatch.chdir(tmp_path)
    result = _run(["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run"])
    line = _assert_clean_failure(result, 21)
    assert "unknown key 'pyton'" in line and "did you mean 'pythons'" in line
