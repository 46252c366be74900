"""The build's log file and what the terminal shows.

Everything any container prints goes to the log file, with every command echoed before it runs
(`+ cmd`), so a failure can be read in full afterwards; the terminal gets stage lines and progress.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from tfwheelbuild.errors import OutputError
from tfwheelbuild.util.redact import redact


def work_dir_error(path: Path, exc: OSError) -> OutputError:
    """The work dir (logs, locks, staging) cannot be written: one line naming the path, not a traceback."""
    return OutputError(f"cannot write {path}: {exc.strerror or exc}",
                       remedy="choose a --work-dir (or XDG_CACHE_HOME) you can write to: logs and staging go there")


BAZEL_PROGRESS = re.compile(r"^\[(?P<done>[\d,]+) / (?P<total>[\d,]+)\]\s*(?P<what>.*)")


class BuildLog:
    def __init__(self, path: Path, *, verbose: bool = False, quiet: bool = False,
                 stream: IO[str] | None = None) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise work_dir_error(path, exc) from exc
        self.path = path
        self._verbose = verbose
        self._quiet = quiet
        self._out = stream or sys.stderr
        self._tail: deque[str] = deque(maxlen=4000)
        self._stage: deque[str] = deque(maxlen=20000)  # the running stage's output, for failure screens
        self._bar: Any = None
        self._last_plain = float("-inf")
        self._count = 0

    # ---- the file ---------------------------------------------------------------------------
    def line(self, text: str) -> None:
        text = redact(text)  # git, pip and Bazel may repeat a URL with its token
        self._file.write(text + "\n")
        self._file.flush()
        self._tail.append(text)
        self._stage.append(text)
        self._count += 1
        if self._verbose:
            self._emit(text)
        else:
            self._progress(text)

    def command(self, cmd: Sequence[str], where: str = "") -> None:
        self.line(f"+ {where + ': ' if where else ''}{shlex.join(cmd)}")

    def tail(self) -> list[str]:
        return list(self._tail)

    def mark(self) -> int:
        """A position in the log; `since(mark)` gives the lines written after it."""
        return self._count

    def since(self, mark: int) -> list[str]:
        wanted = self._count - mark
        return list(self._stage)[-wanted:] if wanted > 0 else []

    def begin_stage(self) -> None:
        self._stage.clear()

    def stage_lines(self) -> list[str]:
        """What the current (or failed) stage's commands printed, commands included."""
        return list(self._stage)

    # ---- the terminal ------------------------------------------------------------------------
    def say(self, text: str) -> None:
        text = redact(text)
        self._file.write(f"== {text}\n")
        self._file.flush()
        if not self._quiet:
            self._emit(text)

    def terminal(self, text: str) -> None:
        """For the terminal only (CI workflow commands such as ::group::), never the log file."""
        if not self._quiet:
            self._emit(text)

    def _emit(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self._out)
        else:
            print(text, file=self._out, flush=True)

    def _progress(self, text: str) -> None:
        """Drive a bar from Bazel's own action counter ("[1,234 / 20,000] Compiling ...")."""
        match = BAZEL_PROGRESS.match(text)
        if not match or self._quiet:
            return
        done = int(match["done"].replace(",", ""))
        total = int(match["total"].replace(",", ""))
        if self._out.isatty():
            if self._bar is None:
                # A terminal that reports a 0x0 size (a bare pty, some CI runners) makes tqdm hide the
                # bar as "below the screen": take COLUMNS/LINES or a sane size instead.
                size = shutil.get_terminal_size((100, 24))
                self._bar = tqdm(total=total, unit="action", file=self._out, ncols=size.columns or 100,
                                 nrows=size.lines or 24)
            self._bar.total = max(total, done)
            self._bar.n = done
            self._bar.set_postfix_str(match["what"][:60], refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last_plain > 30:
            self._last_plain = time.monotonic()
            print(f"  compile: {done}/{total} actions  {match['what'][:80]}", file=self._out, flush=True)

    def end_progress(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self.end_progress()
        self._file.close()


def first_error_block(lines: Sequence[str], limit: int = 15) -> list[str]:
    """The first real error in a tool's output: Bazel's ERROR: block, a compiler error, a patch hunk."""
    markers = ("ERROR:", "error:", "Error:", "fatal:", "FAILED", "Traceback")
    for i, text in enumerate(lines):
        if any(m in text for m in markers) and not text.startswith("+ "):
            start = max(0, i - 1) if "error:" in text else i
            return list(lines[start:start + limit])
    return list(lines[-limit:])
