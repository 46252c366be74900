"""SIGINT and SIGTERM as an exception, so every `finally` runs: containers removed, temp files gone.

Without this, SIGTERM (systemd stopping a unit, CI cancelling a job) would end the process on the
spot and leave the build container running with its Bazel server.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from tfwheelbuild.errors import Interrupted

Handler = Callable[[int, FrameType | None], object] | int | None


@contextmanager
def signals_raise_interrupted() -> Iterator[None]:
    """Inside: SIGINT/SIGTERM raise Interrupted with exit code 128 + the signal (130, 143)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        error = Interrupted(f"interrupted by {signal.Signals(signum).name}")
        error.exit_code = 128 + signum
        raise error

    previous: dict[signal.Signals, Handler] = {}
    for sig in (signal.Signals.SIGINT, signal.Signals.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM for a few renames that must happen together; delivered on leaving."""
    held = {signal.Signals.SIGINT, signal.Signals.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
