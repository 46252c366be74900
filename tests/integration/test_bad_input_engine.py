"""The "bad input" rule where only a real engine can tell the input is bad (RELIABILITY.md, "## Bad input").

A base image of the wrong architecture and an unwritable work dir: each must fail with its class's exit
code and one `error:` line, before any container starts or anything is built, and write no output.
Fast: nothing here builds an image or starts a container. The rest of the table needs no engine:
tests/unit/test_bad_input.py.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import CliResult, tfwheelbuild
from tfwheelbuild.errors import ImageError, OutputError, TfwbError

pytestmark = pytest.mark.engine

AMD64_BASE = "tfwheelbuild/base:bookworm-amd64"  # the cross builder's base, on any host that ran --mode cross
SCRATCH_AMD64 = "tfwheelbuild-tests/amd64-scratch:empty"


@pytest.fixture(scope="module")
def amd64_image(engine_ready: None) -> str:
    """A linux/amd64 image: the Debian base if this engine has it, else an empty one imported (no pull, no build)."""
    have = subprocess.run(["docker", "image", "inspect", AMD64_BASE], capture_output=True, check=False)
    if have.returncode == 0:
        return AMD64_BASE
    empty_tar = subprocess.run(["tar", "-cf", "-", "-T", "/dev/null"], capture_output=True, check=True).stdout
    subprocess.run(["docker", "import", "--platform", "linux/amd64", "-", SCRATCH_AMD64], input=empty_tar,
                   capture_output=True, check=True)
    return SCRATCH_AMD64


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The run history and local index in tmp_path: a refused build leaves the user's own alone."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TFWHEELBUILD_")}
    return {**base, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A source with tag v2.16.1: enough for the host-side checks; the build fails before it is fetched."""
    repo = tmp_path / "tensorflow"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    repo.mkdir()
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    subprocess.run([*git, "tag", "v2.16.1"], check=True)
    return repo


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    from tests.unit.conftest import write_wheel

    directory = tmp_path / "in"
    directory.mkdir()
    return write_wheel(directory, name="tensorflow", version="2.16.1")


def assert_refused_early(result: CliResult, error: type[TfwbError], *words: str, out: Path) -> str:
    """Its exit code, one `error:` line naming the problem, no traceback, no stage past images, no output."""
    assert result.code == error.exit_code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], f"{word!r} not in {errors[0]!r}"
    assert "▶ container" not in result.stderr and "building" not in result.stderr, result.stderr
    assert not out.exists() or not any(out.iterdir())
    return errors[0]


def test_build_on_an_amd64_base_image(amd64_image: str, source: Path, tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(source), "--base-image",
                          amd64_image, "--output", str(out), "--work-dir", str(tmp_path / "work"), timeout=300,
                          env=env)
    assert_refused_early(result, ImageError, f"base image {amd64_image} is built for amd64, not arm64", out=out)
    assert "fix: pass --base-image with a linux/arm64 image" in result.stderr


@pytest.mark.parametrize("command", ["test", "repair"])
def test_test_and_repair_on_an_amd64_base_image(amd64_image: str, wheel: Path, tmp_path: Path, env: dict[str, str],
                                                command: str) -> None:
    out = tmp_path / "dist"
    args = ["--output", str(out)] if command == "repair" else []
    result = tfwheelbuild(command, str(wheel), "--base-image", amd64_image, "--work-dir", str(tmp_path / "work"),
                          *args, timeout=300, env=env)
    assert_refused_early(result, ImageError, f"base image {amd64_image} is built for amd64, not arm64", out=out)


def test_build_with_a_work_dir_under_a_regular_file(source: Path, tmp_path: Path, env: dict[str, str],
                                                    engine_ready: None) -> None:
    # The work dir (logs, locks, staging) is first written once the engine answers: that must be one line too.
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = tmp_path / "dist"
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(source), "--output", str(out),
                          "--work-dir", str(blocker / "work"), timeout=300, env=env)
    assert_refused_early(result, OutputError, f"cannot write {blocker / 'work'}", "Not a directory", out=out)
    assert "--work-dir" in result.stderr


def test_test_with_a_work_dir_under_a_regular_file(wheel: Path, tmp_path: Path, env: dict[str, str],
                                                   engine_ready: None) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = tfwheelbuild("test", str(wheel), "--work-dir", str(blocker / "work"), timeout=300, env=env)
    assert_refused_early(result, OutputError, f"cannot write {blocker / 'work'}", out=tmp_path / "dist")
