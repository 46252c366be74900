"""One build at a time per set of cache volumes: Bazel allows one command per output base.

A second build that would share the caches waits for the first (and says so), then looks for its
build key again, so two identical builds at once end as one build and one skip.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tfwheelbuild.buildlog import work_dir_error


@contextmanager
def cache_lock(work_root: Path, namespace: str, say: Callable[[str], None]) -> Iterator[None]:
    name = namespace or "shared"
    path = work_root / "locks" / f"cache-{name}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
    except OSError as exc:
        raise work_dir_error(path, exc) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            say(f"waiting: {holder} is building with the '{name}' caches (one Bazel output base, one build; "
                "--cache-namespace NAME runs builds side by side with their own caches)")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"tfwheelbuild pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
