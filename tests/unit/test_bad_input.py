"""The "bad input" rule, one test per input (the table in RELIABILITY.md, "## Bad input"), for what
a build is given: release, Python, source, patches, sizes, config and project name. Output and work dirs,
the engine, wheels and command lines: test_bad_input_commands.py.

Each bad input gives one `error:` line naming the problem (and a `fix:` line) on stderr, the exit
code of its error class, no traceback, and writes nothing: no output dir, no files in it, no work
dir. The real command line runs in a real process, as a user runs it, against a Docker socket that
does not exist: an input refused with its own code was refused before the engine was asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.helpers_refusal import assert_refused, build, free_port, git_repo, tfwheelbuild
from tfwheelbuild.errors import (
    ConfigError,
    PatchError,
    ProjectNameError,
    SourceError,
    UnknownReleaseError,
    UnsupportedPythonError,
    UsageError,
)

pytestmark = pytest.mark.allow_subprocess  # the real command line in a child process is this file's point


# ------------------------------------------------------------------------------- release and Python


def test_unknown_release(home: Path, dist: Path) -> None:
    run = tfwheelbuild(home, "build", "--tf", "2.9.0", "--py", "3.11", "--output", str(dist))
    assert_refused(run, UnknownReleaseError, "TensorFlow 2.9 has no recipe", out=dist, home=home)


def test_python_outside_the_release_range(home: Path, dist: Path) -> None:
    run = tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.13", "--output", str(dist))
    line = assert_refused(run, UnsupportedPythonError, "3.13", "3.9, 3.10, 3.11, 3.12", out=dist, home=home)
    assert "--allow-unsupported-python" in run.stderr, line


# ------------------------------------------------------------------------------------------- source


def test_missing_tag_in_the_source(home: Path, dist: Path, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "tf", "v0.0.1")
    run = build(home, dist, "--source", str(repo))
    assert_refused(run, SourceError, f"tag v2.16.1 does not exist in {repo}", out=dist, home=home)


def test_missing_ref_in_the_source(home: Path, dist: Path, tagged_repo: Path) -> None:
    run = build(home, dist, "--source", str(tagged_repo), "--ref", "no-such-branch")
    assert_refused(run, SourceError, "no-such-branch does not exist", out=dist, home=home)


def test_source_path_that_does_not_exist(home: Path, dist: Path, tmp_path: Path) -> None:
    run = build(home, dist, "--source", str(tmp_path / "nowhere"))
    assert_refused(run, SourceError, f"source {tmp_path / 'nowhere'} does not exist", out=dist, home=home)


def test_source_that_is_not_a_git_repository(home: Path, dist: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain-dir"
    plain.mkdir()
    run = build(home, dist, "--source", str(plain))
    # git's own cause, not its closing boilerplate ("...and the repository exists.")
    assert_refused(run, SourceError, f"cannot read source {plain}", "does not appear to be a git repository",
                   out=dist, home=home)


def test_unreachable_source(home: Path, dist: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/tensorflow.git"
    run = build(home, dist, "--source", url)
    assert_refused(run, SourceError, f"cannot read source {url}", "127.0.0.1", out=dist, home=home)


# ------------------------------------------------------------------------------------------ patches
# A patch that does not apply needs the source checked out in the builder: tests/integration/
# test_build_e2e.py::test_patch_that_does_not_apply_names_the_patch_and_writes_nothing (exit 13).


def test_patch_dir_missing(home: Path, dist: Path, tmp_path: Path) -> None:
    run = build(home, dist, "--patches", str(tmp_path / "no-patches"))
    assert_refused(run, PatchError, f"patch directory {tmp_path / 'no-patches'} does not exist", out=dist,
                   home=home)


def test_patch_series_naming_a_missing_patch(home: Path, dist: Path, tmp_path: Path) -> None:
    series_dir = tmp_path / "patches"
    series_dir.mkdir()
    (series_dir / "series").write_text("0001-gone.patch\n")
    run = build(home, dist, "--patches", str(series_dir))
    assert_refused(run, PatchError, "0001-gone.patch", "not there", out=dist, home=home)


# ------------------------------------------------------------------------------- jobs and memory


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--jobs", "0", ("'--jobs'", "0 is not in the range x>=1")),
    ("--jobs", "abc", ("'--jobs'", "'abc' is not a valid integer")),
    ("--jobs", "-3", ("'--jobs'", "-3 is not in the range x>=1")),
    ("--ram-mb", "100", ("'--ram-mb'", "100 is not in the range x>=512")),
    ("--ram-mb", "lots", ("'--ram-mb'", "'lots' is not a valid integer")),
], ids=["jobs-0", "jobs-abc", "jobs-negative", "ram-mb-100", "ram-mb-lots"])
def test_invalid_jobs_and_ram_on_the_command_line(home: Path, dist: Path, option: str, value: str,
                                                  words: tuple[str, ...]) -> None:
    # click's own parse errors come out like every other error: one line and a fix, not a usage block
    run = build(home, dist, option, value)
    line = assert_refused(run, UsageError, *words, out=dist, home=home)
    assert "build --help" in run.stderr, line


@pytest.mark.parametrize(("value", "words"), [
    ("lots", ("--memory 'lots'", "give a size such as 6g")),
    ("100m", ("--memory '100m'", "at least 512m")),
], ids=["memory-lots", "memory-100m"])
def test_invalid_memory_limit(home: Path, dist: Path, tagged_repo: Path, value: str, words: tuple[str, ...]) -> None:
    # not --dry-run: a bad size is refused before the (absent) engine is asked, not after it answers
    run = build(home, dist, "--memory", value, "--source", str(tagged_repo))
    assert_refused(run, UsageError, *words, out=dist, home=home)


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("TFWHEELBUILD_JOBS", "0", ("'jobs'", "TFWHEELBUILD_JOBS", "an integer ≥ 1")),
    ("TFWHEELBUILD_RAM_MB", "lots", ("'ram-mb'", "TFWHEELBUILD_RAM_MB", "an integer")),
])
def test_invalid_jobs_and_ram_from_the_environment(home: Path, dist: Path, variable: str, value: str,
                                                   words: tuple[str, ...]) -> None:
    run = build(home, dist, **{variable: value})
    assert_refused(run, ConfigError, *words, out=dist, home=home)
    assert f"fix: fix or unset {variable}" in run.stderr  # not "fix tfwheelbuild.toml": there is none


# ---------------------------------------------------------------------------------------- config


def test_malformed_config_file(home: Path, dist: Path) -> None:
    (home / "tfwheelbuild.toml").write_text('pythons = ["3.11"\njobs = 2\n')
    run = build(home, dist)
    assert_refused(run, ConfigError, "tfwheelbuild.toml is not valid TOML", "line 2", out=dist, home=home)


def test_malformed_pyproject_section(home: Path, dist: Path) -> None:
    (home / "pyproject.toml").write_text("[tool.tfwheelbuild]\njobs = \n")
    run = build(home, dist)
    assert_refused(run, ConfigError, "pyproject.toml is not valid TOML", out=dist, home=home)


def test_unknown_config_key(home: Path, dist: Path) -> None:
    (home / "tfwheelbuild.toml").write_text('pyton = ["3.11"]\n')
    run = build(home, dist)
    assert_refused(run, ConfigError, "unknown key 'pyton'", "did you mean 'pythons'", out=dist, home=home)


def test_unknown_key_in_an_override(home: Path, dist: Path) -> None:
    (home / "tfwheelbuild.toml").write_text('[[overrides]]\nselect = "2.16.*"\njbos = 3\n')
    run = build(home, dist)
    assert_refused(run, ConfigError, "unknown key 'jbos'", "[[overrides]]", "did you mean 'jobs'", out=dist,
                   home=home)


def test_config_value_of_the_wrong_type(home: Path, dist: Path) -> None:
    (home / "tfwheelbuild.toml").write_text("jobs = 0\n")
    run = build(home, dist)
    assert_refused(run, ConfigError, "invalid value for 'jobs'", "an integer ≥ 1", out=dist, home=home)


def test_config_file_given_that_does_not_exist(home: Path, dist: Path) -> None:
    run = build(home, dist, "--config", "missing.toml")
    assert_refused(run, ConfigError, "config file missing.toml does not exist", out=dist, home=home)


@pytest.mark.parametrize("via_env", [False, True], ids=["flag", "env"])
def test_invalid_max_wheel_size(home: Path, dist: Path, tagged_repo: Path, via_env: bool) -> None:
    # refused before the (absent) engine is asked, from the command line and the environment alike
    if via_env:
        run = build(home, dist, "--source", str(tagged_repo), TFWHEELBUILD_MAX_WHEEL_SIZE="240 megs")
    else:
        run = build(home, dist, "--source", str(tagged_repo), "--max-wheel-size", "240 megs")
    assert_refused(run, ConfigError if via_env else UsageError, "240 megs", "240M", out=dist, home=home)


# ------------------------------------------------------------------------- project name: Metal etc.


@pytest.mark.parametrize("name", ["tensorflow-metal", "tensorflow-macos", "TensorFlow_Metal", "tensorflow.macos"])
def test_macos_only_project_is_refused(home: Path, dist: Path, tagged_repo: Path, name: str) -> None:
    # refused on the host, before the source is fetched or the engine asked (which is not there)
    run = build(home, dist, "--project-name", name, "--source", str(tagged_repo))
    line = assert_refused(run, ProjectNameError, name, "Metal exists only on macOS",
                          "cannot reach a Linux container", out=dist, home=home)
    assert "pip install tensorflow tensorflow-metal" in run.stderr, line


def test_macos_only_project_from_the_environment_and_the_config_file(home: Path, dist: Path) -> None:
    run = build(home, dist, "--dry-run", TFWHEELBUILD_PROJECT_NAME="tensorflow-macos")
    assert_refused(run, ProjectNameError, "tensorflow-macos", "Metal exists only on macOS", out=dist, home=home)
    (home / "tfwheelbuild.toml").write_text('[[overrides]]\nselect = "2.16.*"\nproject-name = "tensorflow-metal"\n')
    run = build(home, dist, "--dry-run")
    assert_refused(run, ProjectNameError, "tensorflow-metal", "Metal exists only on macOS", out=dist, home=home)


def test_invalid_project_name(home: Path, dist: Path) -> None:
    run = build(home, dist, "--project-name", "my tensorflow!")
    assert_refused(run, ProjectNameError, "'my tensorflow!' is not a valid distribution name", out=dist, home=home)
