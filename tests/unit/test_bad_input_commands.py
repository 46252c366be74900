"""The "bad input" rule beyond a build's own options (the table in RELIABILITY.md, "## Bad input"): output
and work dirs, an engine that does not answer, wheels given to test/repair/publish, and command lines
click cannot parse. Same checks as test_bad_input.py: tests/unit/helpers_refusal.py."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.conftest import WheelMaker
from tests.unit.helpers_refusal import assert_refused, build, tfwheelbuild
from tfwheelbuild.errors import EngineUnavailableError, OutputError, UsageError, WheelInputError

X86_TAG = "cp311-cp311-manylinux_2_17_x86_64"
pytestmark = pytest.mark.allow_subprocess  # the real command line in a child process is this file's point


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
