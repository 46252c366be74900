"""The build log file, the terminal output, and picking the first error out of a log."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from tfwheelbuild.pipeline.buildlog import BAZEL_PROGRESS, BuildLog, first_error_block

BAZEL_FAILURE = [
    "+ builder: bazel build //tensorflow/tools/pip_package:wheel",
    "INFO: Analyzed target //tensorflow/tools/pip_package:wheel (600 packages loaded).",
    "[1,234 / 20,000] Compiling tensorflow/core/kernels/matmul_op.cc",
    "ERROR: /tfwb/src/tensorflow/core/kernels/BUILD:12:1: C++ compilation of rule failed",
    "tensorflow/core/kernels/matmul_op.cc:10:3: note: in expansion",
    "INFO: Elapsed time: 12.3s",
    "FAILED: Build did NOT complete successfully",
]


def test_first_error_block_picks_bazel_error() -> None:
    block = first_error_block(BAZEL_FAILURE)
    assert block[0].startswith("ERROR: /tfwb/src/tensorflow/core/kernels/BUILD:12:1")
    assert block == BAZEL_FAILURE[3:]


def test_first_error_block_compiler_error_keeps_the_line_before() -> None:
    lines = [
        "[10 / 100] Compiling a.cc",
        "tensorflow/core/kernels/matmul_op.cc: In function 'void f()':",
        "tensorflow/core/kernels/matmul_op.cc:42:7: error: 'vld1q_f32' was not declared in this scope",
        "   42 |       vld1q_f32(p);",
        "ERROR: compilation failed",
    ]
    block = first_error_block(lines)
    assert block[0] == "tensorflow/core/kernels/matmul_op.cc: In function 'void f()':"
    assert block[1].endswith("error: 'vld1q_f32' was not declared in this scope")
    assert len(block) == 4


def test_first_error_block_skips_echoed_commands() -> None:
    lines = ["+ builder: grep -r 'ERROR:' .", "ok", "fatal: couldn't find remote ref refs/tags/v9.9.9"]
    assert first_error_block(lines) == ["fatal: couldn't find remote ref refs/tags/v9.9.9"]


def test_first_error_block_respects_limit() -> None:
    lines = ["ERROR: first", *[f"detail {i}" for i in range(30)]]
    block = first_error_block(lines, limit=5)
    assert block == ["ERROR: first", "detail 0", "detail 1", "detail 2", "detail 3"]


def test_first_error_block_without_markers_is_the_tail() -> None:
    lines = [f"line {i}" for i in range(40)]
    assert first_error_block(lines) == lines[-15:]
    assert first_error_block([]) == []


def test_bazel_progress_pattern() -> None:
    match = BAZEL_PROGRESS.match("[1,234 / 20,000] Compiling foo.cc")
    assert match is not None
    assert (match["done"], match["total"], match["what"]) == ("1,234", "20,000", "Compiling foo.cc")
    assert BAZEL_PROGRESS.match("INFO: [1 / 2]") is None


def test_log_writes_commands_and_lines_to_the_file(tmp_path: Path) -> None:
    out = io.StringIO()
    log = BuildLog(tmp_path / "deep" / "build.log", stream=out)
    log.command(["bazel", "build", "--copt=-O2 -g", "//x:y"], "builder")
    log.command(["git", "status"])
    log.line("plain output")
    log.say("stage started")
    log.close()
    text = (tmp_path / "deep" / "build.log").read_text()
    assert text.splitlines() == [
        "+ builder: bazel build '--copt=-O2 -g' //x:y",
        "+ git status",
        "plain output",
        "== stage started",
    ]
    assert out.getvalue() == "stage started\n"  # not verbose: lines stay in the file


def test_log_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "build.log"
    path.write_text("earlier\n")
    log = BuildLog(path, stream=io.StringIO())
    log.line("later")
    log.close()
    assert path.read_text() == "earlier\nlater\n"


def test_tail_keeps_what_was_logged(tmp_path: Path) -> None:
    log = BuildLog(tmp_path / "b.log", stream=io.StringIO())
    log.command(["echo", "hi"])
    log.line("hi")
    assert log.tail() == ["+ echo hi", "hi"]
    log.close()


def test_verbose_echoes_lines(tmp_path: Path) -> None:
    out = io.StringIO()
    log = BuildLog(tmp_path / "b.log", verbose=True, stream=out)
    log.line("compiler says hi")
    log.close()
    assert out.getvalue() == "compiler says hi\n"


def test_quiet_hides_stage_lines(tmp_path: Path) -> None:
    out = io.StringIO()
    log = BuildLog(tmp_path / "b.log", quiet=True, stream=out)
    log.say("stage")
    log.line("[1 / 10] Compiling a.cc")
    log.close()
    assert out.getvalue() == ""
    assert (tmp_path / "b.log").read_text() == "== stage\n[1 / 10] Compiling a.cc\n"


def test_non_tty_progress_prints_a_plain_line(tmp_path: Path) -> None:
    out = io.StringIO()  # isatty() is False: no tqdm bar
    log = BuildLog(tmp_path / "b.log", stream=out)
    log.line("[1,234 / 20,000] Compiling tensorflow/core/kernels/matmul_op.cc")
    log.line("[1,300 / 20,000] Compiling tensorflow/core/kernels/conv_ops.cc")
    log.line("not progress")
    log.end_progress()
    log.close()
    printed = out.getvalue().splitlines()
    assert len(printed) <= 1  # rate-limited to one line per 30 s
    if time.monotonic() > 31:  # _last_plain starts at 0.0 on the monotonic clock (see the report)
        assert printed[0] == "  compile: 1234/20000 actions  Compiling tensorflow/core/kernels/matmul_op.cc"
    assert all(line.startswith("  compile: ") for line in printed)


@pytest.mark.parametrize(("line", "expected"), [
    ("INFO: 21 processes: 7 internal, 14 processwrapper-sandbox.", {"internal": 7, "processwrapper-sandbox": 14}),
    ("INFO: 21 processes: 14 disk cache hit, 7 internal.", {"disk cache hit": 14, "internal": 7}),
    ("INFO: 1 process: 1 internal.", {"internal": 1}),
    ("INFO: Build completed successfully, 1 total action", {}),
])
def test_bazel_process_summary_is_parsed(line: str, expected: dict[str, int]) -> None:
    from tfwheelbuild.pipeline.stages.compile import _cache_summary

    assert _cache_summary(line) == expected


def test_bazel_4_disk_cache_hits_counted_as_remote_are_named_as_disk_without_a_remote_cache() -> None:
    from tfwheelbuild.pipeline.stages.compile import _cache_summary

    line = "INFO: 12 processes: 9 remote cache hit, 3 internal."
    assert _cache_summary(line, remote=False) == {"disk cache hit": 9, "internal": 3}
    assert _cache_summary(line, remote=True) == {"remote cache hit": 9, "internal": 3}


@pytest.mark.parametrize(("output", "expected"), [
    (["INFO: Elapsed time: 9.1s", "INFO: 1 process: 1 internal.", "INFO: Build completed"],
     "INFO: 1 process: 1 internal."),
    (["INFO: 3 processes: 1 internal, 2 linux-sandbox.", "INFO: 21 processes: 21 disk cache hit."],
     "INFO: 21 processes: 21 disk cache hit."),
    (["INFO: Build completed successfully, 1 total action"], ""),
])
def test_the_last_process_summary_line_is_found(output: list[str], expected: str) -> None:
    from tfwheelbuild.pipeline.stages.compile import process_summary

    assert process_summary(output) == expected


@pytest.mark.allow_subprocess
def test_bar_draws_in_a_terminal_that_reports_no_size(tmp_path: Path) -> None:
    """A bare pty says 0x0; tqdm would then hide the bar as off-screen (seen in the TTY e2e test)."""
    import os
    import pty
    import re
    import subprocess
    import sys

    leader, follower = pty.openpty()
    code = ("from pathlib import Path\nfrom tfwheelbuild.pipeline.buildlog import BuildLog\n"
            f"log = BuildLog(Path({str(tmp_path / 'b.log')!r}))\n"
            "for i in range(4):\n    log.line(f'[{i} / 12] Compiling unit_{i}.cc')\nlog.close()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=follower, stderr=follower, env=env)
    os.close(follower)
    out = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    proc.wait(timeout=30)
    os.close(leader)
    frames = re.findall(rb"(\d+)/12 \[", out)
    assert {int(n) for n in frames} >= {0, 1, 2, 3}, out
