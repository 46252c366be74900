"""Find the patch series for a release: the tool's own (patches/<minor>/series) then the user's.

A series directory is either <dir>/<minor>/series, <dir>/series, or plain *.patch files in name
order. A `series` file lists one patch file a line; `#` starts a comment (quilt's format).
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable
from pathlib import Path

from tfwheelbuild.errors import PatchError
from tfwheelbuild.plan import PatchFile
from tfwheelbuild.util import resources
from tfwheelbuild.util.digests import sha256_file


def read_series(text: str) -> list[str]:
    names = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            names.append(line.split()[0])
    return names


def series_in(directory: Path, minor: str) -> list[Path]:
    if not directory.is_dir():
        what = "is a file, not a directory" if directory.exists() else "does not exist"
        raise PatchError(f"patch directory {directory} {what}",
                         remedy="pass --patches a directory holding a series file or *.patch files")
    for candidate in (directory / minor, directory):
        series = candidate / "series"
        if series.is_file():
            paths = [candidate / name for name in read_series(series.read_text())]
            missing = [p for p in paths if not p.is_file()]
            if missing:
                raise PatchError(f"{series} names {missing[0].name}, which is not there")
            return paths
    if (directory / minor).is_dir():
        return sorted((directory / minor).glob("*.patch"))
    return sorted(directory.glob("*.patch"))


def _default_dir(minor: str) -> Path | None:
    root: Traversable = resources.default_patches()
    path = Path(str(root)) / minor
    return path if (path / "series").is_file() else None


def find_patches(minor: str, user_dirs: tuple[Path, ...], *, include_default: bool) -> tuple[PatchFile, ...]:
    paths: list[Path] = []
    default = _default_dir(minor) if include_default else None
    if default is not None:
        paths += series_in(default, minor)
    for directory in user_dirs:
        paths += series_in(directory, minor)
    return tuple(PatchFile(name=p.name, path=p.resolve(), sha256=sha256_file(p)) for p in paths)
