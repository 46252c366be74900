"""The provenance record written beside every wheel: enough to say exactly how it was made."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tfwheelbuild.errors import DiskFullError, OutputError
from tfwheelbuild.util.redact import redact_all


def _umask_mode() -> int:
    """The mode a plainly created file gets; mkstemp's 0600 would hide wheels from the index server."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with _staged(path) as tmp:
        tmp.write_bytes(data)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy under a temporary name, then rename: readers never see half a wheel."""
    with _staged(dest) as tmp:
        shutil.copyfile(src, tmp)


@contextmanager
def _staged(dest: Path) -> Iterator[Path]:
    """A temporary file beside `dest`, renamed onto it when the block succeeds and removed when it
    does not (disk full, Ctrl-C): the directory never keeps half a file."""
    tmp: Path | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, dest)
        tmp = None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(f"cannot write {dest}: no space left on its file system") from exc
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(redact_all(manifest), indent=2, sort_keys=True, default=str) + "\n").encode())


def check_writable(directory: Path) -> None:
    """Fail before hours of compiling, not after, when the output dir cannot be written.

    Proven by making (and removing) an empty directory in the nearest existing one, since permission
    bits say nothing to root: it still cannot write under a regular file, in /proc or on a read-only
    mount. Nothing is left behind, and a missing output dir is not created yet.
    """
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"output directory {directory} is not writable: {probe} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".tfwb-probe-"))
    except OSError as exc:
        raise OutputError(f"output directory {directory} is not writable: cannot create anything in {probe} "
                          f"({exc.strerror or exc})") from exc
