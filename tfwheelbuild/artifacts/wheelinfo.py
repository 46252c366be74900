"""Facts about a wheel file, read on the host without installing it."""

from __future__ import annotations

import base64
import csv
import email
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
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from tfwheelbuild.artifacts.pagecheck import LoadAlignment, NotElf, smallest_load_alignment
from tfwheelbuild.errors import UsageError, WheelInputError
from tfwheelbuild.util.digests import sha256_file, sha256_stream

# The file in every built wheel's .dist-info that names its build key (written by the repair stage,
# read by the local index): one name, here, because both sides must agree.
STAMP_FILE = "tfwheelbuild.json"
ZIP_TIME_MIN = 315532800  # 1980-01-01 UTC: the earliest time a zip entry can carry
ZipTime = tuple[int, int, int, int, int, int]
CHUNK = 1 << 20
LARGEST = 3  # members named when a wheel is over its size limit
AARCH64 = 183  # ELF e_machine EM_AARCH64
ELF_MACHINES = {AARCH64: "aarch64", 62: "x86_64", 40: "arm", 3: "x86"}


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
    # The smallest PT_LOAD alignment of every ELF member (64K-page kernels need 65536 or more).
    load_alignments: tuple[LoadAlignment, ...] = ()
    largest: tuple[tuple[str, int], ...] = ()  # the biggest members (name, compressed size), biggest first


def inspect_wheel(path: Path, *, require_aarch64: bool = True, python: str = "", sha256: str = "",
                  check_elf: bool | None = None) -> WheelInfo:
    """Everything that can be known about a wheel on the host, checked before any container sees it.

    A readable zip whose every member passes its CRC, a `.dist-info/WHEEL` whose tags are the file
    name's, with `require_aarch64` a linux aarch64 platform tag and (unless `check_elf` is False)
    only AArch64 code in its ELF members, and with `python` ("3.11") an interpreter tag that Python
    can install. `sha256`, when the caller already has it, is trusted instead of read again.
    """
    if not path.is_file():
        raise WheelInputError(f"{path} is not a file")
    try:
        name, version, build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelInputError(f"{path.name} is not a wheel file name ({exc})") from exc
    platforms = tuple(sorted({t.platform for t in tags}))
    if require_aarch64 and not all(p.endswith("aarch64") for p in platforms):
        raise WheelInputError(f"{path.name} is built for {', '.join(platforms)}, not linux aarch64")
    if python:
        check_python_tag(path.name, tags, python)
    scan = _scan(path)
    wheel_meta = scan.wheel_files.get(canonicalize_name(str(name)))
    if wheel_meta is None:
        found = ", ".join(sorted(scan.wheel_files)) or "none"
        raise WheelInputError(f"{path.name} has no {name}-{version}.dist-info/WHEEL (dist-info found: {found}): "
                              "not a wheel", remedy="rebuild it with a wheel builder (pip wheel, bdist_wheel, "
                              "Bazel's wheel rule), or give the .whl it made")
    declared = _wheel_tags(wheel_meta)
    if declared != tags:
        raise WheelInputError(
            f"{path.name}: the file name says {_tag_list(tags)}, its WHEEL file says {_tag_list(declared) or 'no Tag'}",
            remedy="give the wheel its real name (`python -m wheel tags` rewrites name and WHEEL together); "
                   "a renamed file installs code built for another platform or Python")
    if (require_aarch64 if check_elf is None else check_elf) and scan.foreign:
        member, machine = scan.foreign[0]
        more = f" and {len(scan.foreign) - 1} more" if len(scan.foreign) > 1 else ""
        raise WheelInputError(f"{path.name} holds {machine} code, not aarch64: {member}{more}",
                              remedy="rebuild it for linux aarch64 (a cross build needs the release's "
                                     "cross-compile config); its name says aarch64, its ELF headers do not")
    return WheelInfo(path=path, name=str(name), version=str(version),
                     build_tag="".join(str(part) for part in build) if build else "",
                     pythons=tuple(sorted({t.interpreter for t in tags})), platforms=platforms,
                     sha256=sha256 or sha256_file(path), size=path.stat().st_size, grafted=scan.grafted,
                     load_alignments=scan.load_alignments, largest=scan.largest)


def check_python_tag(filename: str, tags: frozenset[Tag], python: str) -> None:
    """Refuse a wheel that pip on Python `python` (e.g. "3.11") would refuse, before pip is asked."""
    try:
        major, minor = (int(part) for part in python.split("."))
    except ValueError as exc:
        raise UsageError(f"--py {python!r} is not a Python version such as 3.11") from exc
    version = (major, minor)
    # platforms=["any"]: only the interpreter and ABI parts are compared; the platform is checked apart.
    supported = {(t.interpreter, t.abi) for t in (*cpython_tags(version, platforms=["any"]),
                                                  *compatible_tags(version, f"cp{major}{minor}", platforms=["any"]))}
    if not any((t.interpreter, t.abi) in supported for t in tags):
        wheel_tags = ", ".join(sorted({f"{t.interpreter}-{t.abi}" for t in tags}))
        raise WheelInputError(f"{filename} is for {wheel_tags}, which Python {python} cannot install",
                              remedy=f"pass the --py the wheel was built for, or a wheel built for Python {python}")


@dataclass(frozen=True, kw_only=True)
class _Scan:
    wheel_files: dict[str, bytes]  # canonical project name of each <name>-<version>.dist-info -> its WHEEL
    grafted: tuple[str, ...]
    foreign: list[tuple[str, str]]  # (member, machine) of ELF members not AArch64
    load_alignments: tuple[LoadAlignment, ...]
    largest: tuple[tuple[str, int], ...]


def _scan(path: Path) -> _Scan:
    """One streaming pass over every member: CRCs, ELF headers, the WHEEL files.

    Each member is read in chunks and dropped (zipfile checks its CRC at the end), so memory stays
    flat whatever the wheel's size; only the few bytes of each ELF header are kept.
    """
    wheel_files: dict[str, bytes] = {}
    foreign: list[tuple[str, str]] = []
    aligns: list[LoadAlignment] = []
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [e for e in archive.infolist() if not e.is_dir()]
            for entry in entries:
                try:
                    with archive.open(entry) as member:
                        head = member.read(64)
                        parts = entry.filename.split("/")
                        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "WHEEL":
                            wheel_files[_dist_info_project(parts[0])] = head + member.read(1 << 16)
                        if head[:4] == b"\x7fELF":
                            # Only the program headers (near the start) are read; the rest streams past.
                            with suppress(NotElf):
                                aligns.append(LoadAlignment(member=entry.filename,
                                                            align=smallest_load_alignment(head, member.read)))
                        while member.read(CHUNK):
                            pass
                except zipfile.BadZipFile as exc:
                    if "CRC" in str(exc):
                        raise WheelInputError(f"{path.name} is corrupt (CRC error in {entry.filename})") from exc
                    raise WheelInputError(f"{path.name} is corrupt ({entry.filename}: {exc})") from exc
                except (zlib.error, EOFError, NotImplementedError) as exc:
                    raise WheelInputError(f"{path.name} is corrupt ({entry.filename}: {exc})") from exc
                machine = elf_machine(head)
                if machine is not None and machine != AARCH64:
                    foreign.append((entry.filename, ELF_MACHINES.get(machine, f"machine {machine}")))
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:
        raise WheelInputError(f"{path.name} is not a readable zip archive ({exc})") from exc
    names = [e.filename for e in entries]
    grafted = tuple(sorted(n.split("/", 1)[1] for n in names if n.split("/", 1)[0].endswith(".libs") and "/" in n))
    largest = tuple((e.filename, e.compress_size)
                    for e in sorted(entries, key=lambda e: (-e.compress_size, e.filename))[:LARGEST])
    return _Scan(wheel_files=wheel_files, grafted=grafted, foreign=foreign, load_alignments=tuple(aligns),
                 largest=largest)


def _dist_info_project(folder: str) -> str:
    return str(canonicalize_name(folder.removesuffix(".dist-info").rsplit("-", 1)[0]))


def _wheel_tags(data: bytes) -> frozenset[Tag]:
    message = email.message_from_bytes(data)
    found: set[Tag] = set()
    for value in message.get_all("Tag") or []:
        with suppress(ValueError):
            found |= parse_tag(str(value).strip())
    return frozenset(found)


def _tag_list(tags: frozenset[Tag]) -> str:
    return ", ".join(sorted(str(t) for t in tags))


def elf_machine(head: bytes) -> int | None:
    """e_machine of an ELF header (`head`: the member's first bytes), or None for anything else."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


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
    add_dist_info_files(path, {name: data}, source_date_epoch=source_date_epoch)


def add_dist_info_files(path: Path, files: dict[str, bytes], *, source_date_epoch: int | None = None) -> None:
    """Add (or replace) `<dist-info>/<name>` for each of `files` in a wheel, with RECORD rewritten to match.

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
            targets = {f"{src.dist_info_path}/{name}": data for name, data in files.items()}
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
                if info.filename == record or info.filename in targets or info.is_dir():
                    continue
                entry = zipfile.ZipInfo(info.filename,
                                        date_time=stamp if source_date_epoch is not None else info.date_time)
                entry.external_attr = (stat.S_IFREG | (0o755 if (info.external_attr >> 16) & 0o111 else 0o644)) << 16
                entry.compress_type = info.compress_type
                entry.file_size = info.file_size  # as writestr sets it: the same zip64 choice, the same bytes
                # Chunk by chunk: TensorFlow's largest library alone is hundreds of MB uncompressed.
                # WheelFile checks each entry against the old RECORD as it is read.
                with src.open(info) as handle, dest.open(entry, "w") as out:
                    digest = sha256_stream(handle, out)
                hashed = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
                rows.append((info.filename, f"sha256={hashed}", str(info.file_size)))
            for target, data in targets.items():
                add(target, data, mode=0o644, date_time=stamp)
            text = io.StringIO()
            csv.writer(text, delimiter=",", quotechar='"', lineterminator="\n").writerows([*rows, (record, "", "")])
            add(record, text.getvalue().encode(), mode=0o644, date_time=stamp)
        tmp.replace(path)
    except (OSError, zipfile.BadZipFile, ValueError, WheelError) as exc:
        raise WheelInputError(f"cannot add {', '.join(files)} to {path.name}: {exc}") from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def zip_time(epoch: int) -> ZipTime:
    """Seconds since 1970 as a zip entry's (UTC) date_time, as `wheel` and auditwheel write it."""
    t = time.gmtime(max(epoch, ZIP_TIME_MIN))
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def read_dist_info_file(path: Path, name: str) -> bytes | None:
    with zipfile.ZipFile(path) as archive:
        for entry in archive.namelist():
            top, _, rest = entry.partition("/")
            if top.endswith(".dist-info") and rest == name:  # name may be nested: sboms/….cdx.json
                return archive.read(entry)
    return None


def foreign_libraries(path: Path, machine: int = AARCH64) -> list[tuple[str, str]]:
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
                got = elf_machine(member.read(20))
            if got is not None and got != machine:
                found.append((name, ELF_MACHINES.get(got, f"machine {got}")))
    return found
