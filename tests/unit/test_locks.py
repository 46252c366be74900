"""The cache lock really excludes a second process, and says who it waits for."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from tfwheelbuild.locks import cache_lock


def _hold(root: str, seconds: float, ready: multiprocessing.synchronize.Event) -> None:
    with cache_lock(Path(root), "", lambda _: None):
        ready.set()
        time.sleep(seconds)


def test_second_holder_waits_and_is_told_why(tmp_path: Path) -> None:
    ready = multiprocessing.Event()
    other = multiprocessing.Process(target=_hold, args=(str(tmp_path), 1.5, ready))
    other.start()
    assert ready.wait(10)
    said: list[str] = []
    started = time.monotonic()
    with cache_lock(tmp_path, "", said.append):
        waited = time.monotonic() - started
    other.join()
    assert waited > 0.5 and said and "'shared' caches" in said[0] and "pid" in said[0]


def test_namespaces_do_not_wait_for_each_other(tmp_path: Path) -> None:
    said: list[str] = []
    with cache_lock(tmp_path, "a", said.append), cache_lock(tmp_path, "b", said.append):
        pass
    assert said == []
