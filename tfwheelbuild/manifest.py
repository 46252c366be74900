"""The provenance record written beside every wheel: enough to say exactly how it was made."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tfwheelbuild.errors import OutputError


def _umask_mode() -> int:
    """The mode a plainly created file gets; mkstemp's 0600 would hide wheels from the index server."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy under a temporary name, then rename: readers never see half a wheel."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        os.close(fd)
        shutil.copyfile(src, tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, dest)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode())


def check_writable(directory: Path) -> None:
    """Fail before hours of compiling, not after, when the output dir cannot be written."""
    probe = directory
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"output directory {directory} is not writable")
