"""One build at a time per set of cache volumes: Bazel allows one command per output base.

A second build that would share the caches waits for the first (and says so), then looks for its
build key again, so two identical builds at once end as one build and one skip.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tfwheelbuild.pipeline.buildlog import work_dir_error


@contextmanager
def flock(fd: int | IO[str], *, shared: bool = False, wait: bool = True,
          on_busy: Callable[[], None] | None = None) -> Iterator[None]:
    """Held until the block ends; the kernel drops it when a killed process exits, unlike a lock file's existence.

    Held by another process: with `on_busy`, that is called once before waiting; without `wait`,
    BlockingIOError.
    """
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(fd, mode if wait and on_busy is None else mode | fcntl.LOCK_NB)
    except BlockingIOError:
        if on_busy is None:
            raise
        on_busy()
        fcntl.flock(fd, mode)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _open_lock(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a+")
    except OSError as exc:
        raise work_dir_error(path, exc) from exc


@contextmanager
def cache_lock(work_root: Path, namespace: str, say: Callable[[str], None]) -> Iterator[None]:
    name = namespace or "shared"
    path = work_root / "locks" / f"cache-{name}.lock"
    with _open_lock(path) as handle:

        def busy() -> None:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            say(f"waiting: {holder} is building with the '{name}' caches (one Bazel output base, one build; "
                "--cache-namespace NAME runs builds side by side with their own caches)")

        with flock(handle, on_busy=busy):
            handle.seek(0)
            handle.truncate()
            handle.write(f"tfwheelbuild pid {os.getpid()}")
            handle.flush()
            yield


# On every container of a run that holds a run lock: the lock file's absolute path, so `clean`
# (whatever --work-dir it is given) can ask whether that run is still going.
LOCK_LABEL = "org.tfwheelbuild.lock"
RUN_LOCK = "run.lock"


@contextmanager
def run_lock(directory: Path, labels: dict[str, str]) -> Iterator[None]:
    """Held for as long as a run (a build, a `test`, a `base import`) may have containers.

    The cache lock cannot tell this: it is per namespace, so it stays held from one build to the
    next, while a container kept after a failure belongs to a build that is over. `labels` (the
    engine's, put on every container the run starts) gets the lock's path.
    """
    path = (directory / RUN_LOCK).absolute()
    # A fresh run's own file: nobody else holds it.
    with _open_lock(path) as handle, flock(handle):
        labels[LOCK_LABEL] = str(path)
        yield


def run_is_live(labels: Mapping[str, str]) -> bool | None:
    """Whether the run that started a container (by its labels) still holds its run lock.

    None when this host cannot tell: no lock label (an older version, or a container not started
    by a run), or the lock file is not here (removed, or the run was on another client host).
    """
    path = labels.get(LOCK_LABEL, "")
    if not path:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        with flock(fd, shared=True, wait=False):
            return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def dir_is_live(directory: Path) -> bool:
    """A run's directory (a build dir, a session's log dir) whose run still holds its lock there."""
    return run_is_live({LOCK_LABEL: str((directory / RUN_LOCK).absolute())}) is True
