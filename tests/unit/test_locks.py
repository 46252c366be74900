"""The cache lock really excludes a second process, and says who it waits for; a run's lock is seen
held from another process (what `clean` asks before removing a container)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from tfwheelbuild.engine.locks import LOCK_LABEL, RUN_LOCK, cache_lock, dir_is_live, flock, run_is_live, run_lock


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


def _hold_run(directory: str, ready: multiprocessing.synchronize.Event,
              release: multiprocessing.synchronize.Event) -> None:
    labels: dict[str, str] = {}
    with run_lock(Path(directory), labels):
        ready.set()
        release.wait(10)


def test_run_lock_is_seen_held_by_another_process_then_free(tmp_path: Path) -> None:
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    other = multiprocessing.Process(target=_hold_run, args=(str(tmp_path / "builds" / "b1"), ready, release))
    other.start()
    try:
        assert ready.wait(10)
        labels = {LOCK_LABEL: str(tmp_path / "builds" / "b1" / RUN_LOCK)}
        assert run_is_live(labels) is True
        assert dir_is_live(tmp_path / "builds" / "b1")
    finally:
        release.set()
        other.join()
    assert run_is_live(labels) is False
    assert not dir_is_live(tmp_path / "builds" / "b1")


def test_run_lock_labels_the_run_with_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    labels: dict[str, str] = {"org.tfwheelbuild.build": "b1"}
    with run_lock(Path("work") / "b1", labels):
        assert labels[LOCK_LABEL] == str(tmp_path / "work" / "b1" / RUN_LOCK)
        assert run_is_live(labels) is True  # another open file description of this process: still held
    assert run_is_live(labels) is False


def test_run_without_a_lock_here_cannot_be_told(tmp_path: Path) -> None:
    assert run_is_live({}) is None  # an older version's container, or not a run's
    assert run_is_live({LOCK_LABEL: str(tmp_path / "gone" / RUN_LOCK)}) is None  # another host, or removed
    assert not dir_is_live(tmp_path / "never-built")


def test_flock_without_wait_refuses_a_held_lock(tmp_path: Path) -> None:
    path = tmp_path / "held.lock"
    path.touch()
    with (path.open("a+") as first, path.open("a+") as second, flock(first),
          pytest.raises(BlockingIOError), flock(second, wait=False)):
        pass
    with path.open("a+") as again, flock(again, wait=False):
        pass
