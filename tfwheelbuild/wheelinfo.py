"""Facts about a wheel file, read on the host without installing it."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from tfwheelbuild.errors import WheelInputError

# The file in every built wheel's .dist-info that names its build key (written by the repair stage,
# read by the local index): one name, here, because both sides must agree.
STAMP_FILE = "tfwheelbuild.json"
ZIP_TIME_MIN = 315532800  # 1980-01-01 UTC: the earliest time a zip entry can carry
ZipTime = tuple[int, int, int, int, int, int]


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


def set_build_tag(path: Path, build_tag: str, *, source_date_epoch: int | None = None) -> Path:
    """Give the wheel a build tag (file name and WHEEL metadata) with the `wheel` tool itself (which
    stamps the rewritten RECORD with SOURCE_DATE_EPOCH, else the wall clock)."""
    cmd = [sys.executable, "-m", "wheel", "tags", "--remove", "--build", build_tag, str(path)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch)} if source_date_epoch is not None else None
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise WheelInputError(f"cannot set build tag {build_tag!r}: {result.stderr.strip()}")
    return path.parent / result.stdout.strip().splitlines()[-1]


def add_dist_info_file(path: Path, name: str, data: bytes, *, source_date_epoch: int | None = None) -> None:
    """Add (or replace) `<dist-info>/<name>` in a wheel, with RECORD rewritten to match.

    Streams entry by entry into a new archive (a TensorFlow wheel is hundreds of MB), then
    renames it over the original. The copy is made reproducible on the way: entries keep their
    order and bytes, directory entries are dropped (pip makes directories itself), modes become
    0644 or 0755 (whatever a cache or umask left in the group and other bits), and with
    `source_date_epoch` every entry carries that time (else the new ones carry the wall clock).
    """
    from wheel.wheelfile import WheelError, WheelFile

    stamp = zip_time(source_date_epoch if source_date_epoch is not None else int(time.time()))
    tmp_dir = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tfwb-"))
    tmp = tmp_dir / path.name
    try:
        with WheelFile(path) as src, zipfile.ZipFile(tmp, "w") as dest:
            record = f"{src.dist_info_path}/RECORD"
            target = f"{src.dist_info_path}/{name}"
            rows: list[tuple[str, str, str]] = []

            def add(arcname: str, payload: bytes, *, mode: int, date_time: ZipTime,
                    compress_type: int = zipfile.ZIP_DEFLATED) -> None:
                entry = zipfile.ZipInfo(arcname, date_time=date_time)
                entry.external_attr = (stat.S_IFREG | mode) << 16
                entry.compress_type = compress_type
                dest.writestr(entry, payload)
                digest = base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).rstrip(b"=").decode()
                rows.append((arcname, f"sha256={digest}", str(len(payload))))

            for info in src.infolist():
                if info.filename in (record, target) or info.is_dir():
                    continue
                with src.open(info) as handle:  # WheelFile checks each entry against the old RECORD
                    payload = handle.read()
                add(info.filename, payload, mode=0o755 if (info.external_attr >> 16) & 0o111 else 0o644,
                    date_time=stamp if source_date_epoch is not None else info.date_time,
                    compress_type=info.compress_type)
            add(target, data, mode=0o644, date_time=stamp)
            text = io.StringIO()
            csv.writer(text, delimiter=",", quotechar='"', lineterminator="\n").writerows([*rows, (record, "", "")])
            add(record, text.getvalue().encode(), mode=0o644, date_time=stamp)
        tmp.replace(path)
    except (OSError, zipfile.BadZipFile, ValueError, WheelError) as exc:
        raise WheelInputError(f"cannot add {name} to {path.name}: {exc}") from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def zip_time(epoch: int) -> ZipTime:
    """Seconds since 1970 as a zip entry's (UTC) date_time, as `wheel` and auditwheel write it."""
    t = time.gmtime(max(epoch, ZIP_TIME_MIN))
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


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
