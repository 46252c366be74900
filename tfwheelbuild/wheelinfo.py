"""Facts about a wheel file, read on the host without installing it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from tfwheelbuild.errors import WheelInputError

# The file in every built wheel's .dist-info that names its build key (written by the repair stage,
# read by the local index): one name, here, because both sides must agree.
STAMP_FILE = "tfwheelbuild.json"


@dataclass(frozen=True, kw_only=True)
class WheelInfo:
    path: Path
    name: str
    version: str
    build_tag: str
    pythons: tuple[str, ...]
    platforms: tuple[str, ...]
    sha256: str
    size: int
    grafted: tuple[str, ...]  # libraries auditwheel copied into <pkg>.libs/


def inspect_wheel(path: Path, *, require_aarch64: bool = True) -> WheelInfo:
    if not path.is_file():
        raise WheelInputError(f"{path} is not a file")
    try:
        name, version, build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelInputError(f"{path.name} is not a wheel file name ({exc})") from exc
    platforms = tuple(sorted({t.platform for t in tags}))
    if require_aarch64 and not all(p.endswith("aarch64") for p in platforms):
        raise WheelInputError(f"{path.name} is built for {', '.join(platforms)}, not linux aarch64")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:
        raise WheelInputError(f"{path.name} is not a readable zip archive ({exc})") from exc
    if bad is not None:
        raise WheelInputError(f"{path.name} is corrupt (CRC error in {bad})")
    grafted = tuple(sorted(n.split("/", 1)[1] for n in names
                           if n.split("/", 1)[0].endswith(".libs") and "/" in n and not n.endswith("/")))
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return WheelInfo(path=path, name=str(name), version=str(version),
                     build_tag="".join(str(part) for part in build) if build else "",
                     pythons=tuple(sorted({t.interpreter for t in tags})), platforms=platforms,
                     sha256=digest.hexdigest(), size=path.stat().st_size, grafted=grafted)


def set_build_tag(path: Path, build_tag: str) -> Path:
    """Give the wheel a build tag (file name and WHEEL metadata) with the `wheel` tool itself."""
    cmd = [sys.executable, "-m", "wheel", "tags", "--remove", "--build", build_tag, str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise WheelInputError(f"cannot set build tag {build_tag!r}: {result.stderr.strip()}")
    return path.parent / result.stdout.strip().splitlines()[-1]


def add_dist_info_file(path: Path, name: str, data: bytes) -> None:
    """Add (or replace) `<dist-info>/<name>` in a wheel, with RECORD rewritten to match.

    Streams entry by entry into a new archive (a TensorFlow wheel is hundreds of MB), then
    renames it over the original.
    """
    from wheel.wheelfile import WheelError, WheelFile

    # WheelFile insists on a wheel file name, so the temporary copy sits in a temporary dir.
    tmp_dir = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tfwb-"))
    tmp = tmp_dir / path.name
    try:
        with WheelFile(path) as src, WheelFile(tmp, "w") as dest:
            record = f"{src.dist_info_path}/RECORD"
            target = f"{src.dist_info_path}/{name}"
            for info in src.infolist():
                if info.filename in (record, target) or info.is_dir():
                    continue
                with src.open(info) as handle:
                    dest.writestr(info, handle.read(), compress_type=info.compress_type)
            dest.writestr(target, data)
        tmp.replace(path)
    except (OSError, zipfile.BadZipFile, ValueError, WheelError) as exc:
        raise WheelInputError(f"cannot add {name} to {path.name}: {exc}") from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def read_dist_info_file(path: Path, name: str) -> bytes | None:
    with zipfile.ZipFile(path) as archive:
        for entry in archive.namelist():
            parts = entry.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == name:
                return archive.read(entry)
    return None


ELF_MACHINES = {183: "aarch64", 62: "x86_64", 40: "arm", 3: "x86"}


def foreign_libraries(path: Path, machine: int = 183) -> list[tuple[str, str]]:
    """Shared libraries in the wheel whose ELF header names another machine than `machine` (aarch64).

    The wheel's tag comes from a file name; the libraries' own headers say what they really are (a
    cross build that missed its config makes a well-formed wheel of x86_64 code).
    """
    found = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            base = name.rsplit("/", 1)[-1]
            if not (base.endswith(".so") or ".so." in base):
                continue
            with archive.open(name) as member:
                header = member.read(20)
            if header[:4] != b"\x7fELF" or len(header) < 20:
                continue
            got = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
            if got != machine:
                found.append((name, ELF_MACHINES.get(got, f"machine {got}")))
    return found
