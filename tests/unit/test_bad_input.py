"""The "bad input" rule, one test per input (the table in RELIABILITY.md, "## Bad input").

Each bad input gives one `error:` line naming the problem (and a `fix:` line) on stderr, the exit
code of its error class, no traceback, and writes nothing: no output dir, no files in it, no work
dir. The real command line runs in a real process, as a user runs it, against a Docker socket that
does not exist: an input refused with its own code was refused before the engine was asked.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.conftest import WheelMaker
from tfwheelbuild.errors import (
    ConfigError,
    EngineUnavailableError,
    OutputError,
    PatchError,
    ProjectNameError,
    SourceError,
    TfwbError,
    UnknownReleaseError,
    UnsupportedPythonError,
    UsageError,
    WheelInputError,
)

ROOT = Path(__file__).resolve().parents[2]
NO_ENGINE = "unix:///nonexistent/tfwb-bad-input-docker.sock"
X86_TAG = "cp311-cp311-manylinux_2_17_x86_64"
pytestmark = pytest.mark.allow_subprocess  # the real command line in a child process is this file's point


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str




def tfwheelbuild(home: Path, *args: str, **env: str) -> Run:
    """`python -m tfwheelbuild ARGS` in `home`, with caches, data and the engine pointed at nothing real."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TFWHEELBUILD_", "TWINE_"))}
    base.update(DOCKER_HOST=NO_ENGINE, XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".data"),
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])))
    base.update(env)
    proc = subprocess.run([sys.executable, "-m", "tfwheelbuild", *args], cwd=home, env=base, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_refused(run: Run, error: type[TfwbError], *words: str, out: Path | None = None,
                   home: Path | None = None) -> str:
    """Exit code of `error`; stderr is exactly one `error:` line naming the problem and one `fix:` line;
    no traceback; nothing on stdout; `out` absent or empty; no work dir made under `home`. The error line."""
    assert run.code == error.exit_code, f"exit {run.code}, wanted {error.exit_code}:\n{run.stderr}"
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.splitlines()
    assert len(lines) == 2, run.stderr
    line, fix = lines
    assert line.startswith("error: ") and fix.startswith("  fix: "), run.stderr
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    assert run.stdout == ""
    if out is not None:
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    if home is not None:
        assert not (home / ".cache" / "tfwheelbuild").exists()  # no log, lock or staging dir either
    return line


def git_repo(path: Path, tag: str) -> Path:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
           "-C", str(path)]
    path.mkdir(parents=True)
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    subprocess.run([*git, "tag", tag], check=True)
    return path


@pytest.fixture
def tagged_repo(tmp_path: Path) -> Path:
    """A source with tag v2.16.1: a build from it passes every host-side check and goes for the engine."""
    return git_repo(tmp_path / "tensorflow", "v2.16.1")


def build(home: Path, dist: Path, *args: str, **env: str) -> Run:
    return tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.11", "--output", str(dist), *args, **env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


# ------------------------------------------------------------------------------------------- output


def test_output_dir_under_a_regular_file(home: Path, tmp_path: Path, tagged_repo: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = blocker / "dist"
    run = build(home, out, "--source", str(tagged_repo))
    assert_refused(run, OutputError, f"output directory {out} is not writable", "is not a directory", home=home)
    assert blocker.read_text() == "not a directory"


def test_output_dir_in_proc(home: Path, tagged_repo: Path) -> None:
    # permission bits do not stop root (the tests run as root): /proc refuses new entries to everyone
    out = Path("/proc/tfwb-bad-input-dist")
    run = build(home, out, "--source", str(tagged_repo))
    assert_refused(run, OutputError, f"output directory {out} is not writable", "cannot create anything in /proc",
                   out=out, home=home)


def test_repair_output_dir_under_a_regular_file(home: Path, tmp_path: Path, make_wheel: WheelMaker) -> None:
    wheel = make_wheel(name="tensorflow", version="2.16.1")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    run = tfwheelbuild(home, "repair", str(wheel), "--output", str(blocker / "out"))
    assert_refused(run, OutputError, "is not writable", "is not a directory", home=home)


def test_writable_output_check_leaves_nothing_behind(home: Path, dist: Path, tagged_repo: Path) -> None:
    # the probe makes and removes a directory: a good output dir is not created before a wheel exists
    dist.mkdir()
    run = build(home, dist / "sub", "--source", str(tagged_repo))
    assert_refused(run, EngineUnavailableError, "cannot reach a Docker engine")
    assert list(dist.iterdir()) == []


# ------------------------------------------------------------------------------------- engine


def test_docker_not_reachable_build(home: Path, dist: Path, tagged_repo: Path) -> None:
    run = build(home, dist, "--source", str(tagged_repo))
    assert_refused(run, EngineUnavailableError, "cannot reach a Docker engine", out=dist, home=home)


@pytest.mark.parametrize("command", ["test", "repair"])
def test_docker_not_reachable_test_and_repair(home: Path, dist: Path, make_wheel: WheelMaker, command: str) -> None:
    wheel = make_wheel(name="tensorflow", version="2.16.1")
    args = ["--output", str(dist)] if command == "repair" else []
    run = tfwheelbuild(home, command, str(wheel), *args)
    assert_refused(run, EngineUnavailableError, "cannot reach a Docker engine", out=dist, home=home)


def test_docker_host_option_that_is_not_reachable(home: Path, dist: Path, tagged_repo: Path) -> None:
    run = build(home, dist, "--source", str(tagged_repo), "--docker-host", "unix:///nonexistent/other.sock")
    assert_refused(run, EngineUnavailableError, "cannot reach a Docker engine", out=dist, home=home)


# ------------------------------------------------------------------------- wheels given to commands
# publish to a remote index has the same cases against a real pypiserver, plus the unreachable index
# and wrong credentials: tests/integration/test_publish.py (test_bad_wheels_upload_nothing,
# test_unreachable_index, test_wrong_password_is_refused_without_leaking_it, test_missing_credentials).


def _corrupt_crc(path: Path) -> Path:
    """A zip whose member's bytes no longer match its CRC (a download cut and patched up, a bad disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("tensorflow/__init__.py", "VALUE = 1\n" * 50)
    data = bytearray(path.read_bytes())
    at = data.find(b"VALUE = 1")
    data[at + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


BAD_WHEELS: dict[str, tuple[Callable[[Path, WheelMaker], Path], tuple[str, ...]]] = {
    "not-a-wheel-name": (lambda d, mk: _write(d / "notes.txt", b"hello"), ("notes.txt is not a wheel file name",)),
    "missing-file": (lambda d, mk: d / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl", ("is not a file",)),
    "not-a-zip": (lambda d, mk: _write(d / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl", b"<html>404</html>"),
                  ("is not a readable zip archive",)),
    "crc-error": (lambda d, mk: _corrupt_crc(d / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl"),
                  ("is corrupt", "CRC error in tensorflow/__init__.py")),
    "x86_64": (lambda d, mk: mk(name="tensorflow", version="2.16.1", tag=X86_TAG),
               ("built for manylinux_2_17_x86_64, not linux aarch64",)),
    "macos-metal": (lambda d, mk: mk(name="tensorflow_metal", version="1.1.0", tag="cp311-cp311-macosx_12_0_arm64"),
                    ("built for macosx_12_0_arm64, not linux aarch64",)),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(BAD_WHEELS))
@pytest.mark.parametrize("command", ["test", "repair", "publish"])
def test_bad_wheel_is_refused_before_any_container(home: Path, dist: Path, tmp_path: Path,
                                                   make_wheel: WheelMaker, command: str, kind: str) -> None:
    make, words = BAD_WHEELS[kind]
    wheel = make(tmp_path, make_wheel)
    before = wheel.read_bytes() if wheel.exists() else None
    args = {"test": [], "repair": ["--output", str(dist)],
            "publish": ["--index", str(dist), "--no-verify"]}[command]  # a directory index: nothing may land in it
    run = tfwheelbuild(home, command, str(wheel), *args)
    # 19, not 30: refused on the host, before the (absent) engine was asked for a container
    line = assert_refused(run, WheelInputError, *words, out=dist, home=home)
    assert "give a .whl file built for linux aarch64" in run.stderr, line
    assert (wheel.read_bytes() if wheel.exists() else None) == before  # the input is left as it was


def test_publish_refuses_the_whole_batch_for_one_bad_wheel(home: Path, dist: Path, make_wheel: WheelMaker) -> None:
    good = make_wheel(name="tensorflow", version="2.16.1")
    bad = make_wheel(name="tensorflow", version="2.16.1", tag=X86_TAG)
    run = tfwheelbuild(home, "publish", str(good), str(bad), "--index", str(dist), "--no-verify")
    assert_refused(run, WheelInputError, "x86_64", out=dist, home=home)


# ----------------------------------------------------------------------------------- command line


@pytest.mark.parametrize(("args", "words", "help_of"), [
    (["bogus"], ("No such command 'bogus'",), "tfwheelbuild --help"),
    (["build", "--py", "3.11"], ("Missing option '--tf'",), "build --help"),
    (["build", "--tf", "2.16.1", "--py", "3.11", "--mode", "fast"], ("'--mode'", "'fast' is not one of"),
     "build --help"),
    (["build", "--tf", "2.16.1", "--py", "3.11", "--no-such-flag"], ("No such option", "--no-such-flag"),
     "build --help"),
    (["base", "bootstrap", "--suite"], ("'--suite' requires an argument",), "--help"),
], ids=["unknown-command", "missing-tf", "bad-mode", "unknown-option", "option-without-value"])
def test_command_lines_click_cannot_parse(home: Path, args: list[str], words: tuple[str, ...], help_of: str) -> None:
    run = tfwheelbuild(home, *args)
    line = assert_refused(run, UsageError, *words, home=home)
    assert help_of in run.stderr, line
    assert "Usage:" not in run.stderr


# ---------------------------------------------------------------------------------- work dir
# A work dir is first written once the engine answers (tests/integration/test_bad_input_engine.py runs the
# commands); here, the two places that write it first turn the OSError into OutputError, not a traceback.


def test_unwritable_work_dir_log_and_lock(tmp_path: Path) -> None:
    from tfwheelbuild.engine.locks import cache_lock
    from tfwheelbuild.pipeline.buildlog import BuildLog

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=r"cannot write .*a-file/work/b/build\.log: Not a directory") as info:
        BuildLog(blocker / "work" / "b" / "build.log")
    assert "--work-dir" in info.value.remedy
    with pytest.raises(OutputError, match=r"cannot write .*a-file/work/locks/cache-shared\.lock"), \
            cache_lock(blocker / "work", "", print):
        pass
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("via_env", [False, True], ids=["flag", "env"])
def test_invalid_max_wheel_size(home: Path, dist: Path, tagged_repo: Path, via_env: bool) -> None:
    # refused before the (absent) engine is asked, from the command line and the environment alike
    if via_env:
        run = build(home, dist, "--source", str(tagged_repo), TFWHEELBUILD_MAX_WHEEL_SIZE="240 megs")
    else:
        run = build(home, dist, "--source", str(tagged_repo), "--max-wheel-size", "240 megs")
    assert_refused(run, ConfigError if via_env else UsageError, "240 megs", "240M", out=dist, home=home)
