"""What an operator sees: the progress bar in a real terminal, and failure screens that point at the line.

The TTY test runs the build under a pseudo-terminal (as a person at a shell would) and reads the
bar tqdm draws from Bazel's own `[done / total]` counter. A fresh, unique --copt makes every C++
action really run, so the bar has something to advance through.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, tfwheelbuild

pytestmark = pytest.mark.engine


def failure_screen(stderr: str) -> list[str]:
    """From the `error:` line on: what the operator reads after a failure."""
    lines = stderr.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("error: "))
    return lines[start:]


def test_broken_patch_screen_names_the_file_and_hunk(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    patches = tmp_path / "patches" / "2.16"
    patches.mkdir(parents=True)
    (patches / "series").write_text("0001-bad-hunk.patch\n")
    (patches / "0001-bad-hunk.patch").write_text(
        "--- a/tensorflow/core/kernels/matmul_op.cc\n+++ b/tensorflow/core/kernels/matmul_op.cc\n"
        "@@ -3,2 +3,2 @@\n-this line is not in the file\n+replacement\n")
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo),
                          "--patches", str(tmp_path / "patches"), "--output", str(tmp_path / "out"),
                          "--work-dir", str(work_dir))
    assert result.code == 13, result.stderr[-3000:]
    screen = "\n".join(failure_screen(result.stderr)[:20])
    assert "0001-bad-hunk.patch" in screen and "tensorflow/core/kernels/matmul_op.cc" in screen, screen
    assert re.search(r"hunk|line \d+|:\d+", screen), screen


def test_broken_cpp_screen_names_the_file_and_line(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    patches = tmp_path / "patches" / "2.16"
    patches.mkdir(parents=True)
    # The fixture's own aarch64 patch first (2.16 needs it), then one that breaks a kernel unit.
    (patches / "series").write_text("0001-cpu-feature-guard-aarch64.patch\n0002-typo.patch\n")
    (patches / "0001-cpu-feature-guard-aarch64.patch").write_bytes(
        (FIXTURE_PATCHES / "2.16" / "0001-cpu-feature-guard-aarch64.patch").read_bytes())
    unit = fixture_repo / "tensorflow/core/kernels/generated/unit_001.cc"
    first = subprocess.run(["git", "-C", str(fixture_repo), "show", "v2.16.1:" + str(unit.relative_to(fixture_repo))],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    line_no = first.index("long Run() { return Reduce<long>(); }") + 1
    (patches / "0002-typo.patch").write_text(
        f"--- a/tensorflow/core/kernels/generated/unit_001.cc\n+++ b/tensorflow/core/kernels/generated/unit_001.cc\n"
        f"@@ -{line_no},1 +{line_no},1 @@\n-long Run() {{ return Reduce<long>(); }}\n"
        f"+long Run() {{ return Reduce<long>() }}\n")
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo),
                          "--patches", str(tmp_path / "patches"), "--no-default-patches",
                          "--output", str(tmp_path / "out"), "--work-dir", str(work_dir))
    assert result.code == 16, result.stderr[-3000:]
    screen = "\n".join(failure_screen(result.stderr)[:20])
    assert f"unit_001.cc:{line_no}:" in screen, screen
    assert "expected ';'" in screen, screen


def run_in_pty(argv: list[str], timeout: float) -> str:
    """Run argv with a pseudo-terminal as stdout/stderr; return everything it drew."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # a 160x40 terminal
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, close_fds=True,
                            env={**os.environ, "COLUMNS": "160", "TERM": "xterm"})
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, b"".join(chunks).decode("utf-8", "replace")[-3000:]
    return b"".join(chunks).decode("utf-8", "replace")


def test_tty_shows_a_bar_advancing_with_bazels_total(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    out = run_in_pty([sys.executable, "-m", "tfwheelbuild", "build", "--tf", "2.16.1", "--py", "3.11",
                      "--source", str(fixture_repo), "--patches", str(FIXTURE_PATCHES), "--output", str(tmp_path),
                      "--work-dir", str(work_dir), "--force", f"--bazel-arg=--copt=-DTFWB_TTY_{uuid.uuid4().hex}",
                      # emulated: a cross compile of the fixture is over before the bar has moved
                      "--mode", "emulated"],
                     timeout=1800)
    # tqdm redraws in place with \r: each frame shows "done/total" and the action Bazel is running.
    frames = re.findall(r"\b(\d+)/(\d+) \[", out)
    assert frames, out[-3000:]
    totals = {int(t) for _, t in frames}
    done = [int(d) for d, _ in frames]
    assert max(totals) > 5, frames  # Bazel's real action count, not a placeholder
    assert len(set(done)) >= 3 and done[-1] >= done[0], frames  # it advanced
    assert "\r" in out and "Compiling" in out
