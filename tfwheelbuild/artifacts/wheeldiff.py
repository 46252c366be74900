"""Two wheels compared member by member: which members differ, and whether in their bytes or only
in the zip's own metadata (timestamps, order, modes, compression).

Pure: reads the two files, returns data; `tfwheelbuild diff` prints it. An empty result means the
two files are byte-identical (a difference outside every member, e.g. in the central directory or
the archive comment, is reported as the pseudo-member "(archive)").
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tfwheelbuild.errors import WheelInputError
from tfwheelbuild.util.digests import sha256_file

ARCHIVE = "(archive)"
# Per-member zip metadata worth naming; what the member's bytes are is compared separately.
_FIELDS = ("date_time", "external_attr", "compress_type", "compress_size", "create_system", "create_version",
           "extract_version", "flag_bits", "internal_attr", "comment", "extra")


@dataclass(frozen=True, kw_only=True)
class MemberDiff:
    name: str
    kind: str  # "contents", "metadata", "only in A", "only in B"
    detail: str

    def line(self) -> str:
        return f"{self.kind:<9}  {self.name}" + (f"  ({self.detail})" if self.detail else "")


def diff_wheels(a: Path, b: Path) -> list[MemberDiff]:
    """The members of `a` and `b` that differ, in `a`'s order (then `b`'s extra members)."""
    if _sha256(a) == _sha256(b):
        return []
    try:
        with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
            diffs = _diff_archives(za, zb)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise WheelInputError(f"cannot compare {a.name} and {b.name}: {exc}") from exc
    if not diffs:
        diffs.append(MemberDiff(name=ARCHIVE, kind="metadata",
                                detail="every member is the same; the files differ in the zip's headers or "
                                       "central directory"))
    return diffs


def _diff_archives(za: zipfile.ZipFile, zb: zipfile.ZipFile) -> list[MemberDiff]:
    infos_a = {i.filename: i for i in za.infolist()}
    infos_b = {i.filename: i for i in zb.infolist()}
    common_a = [n for n in infos_a if n in infos_b]
    common_b = [n for n in infos_b if n in infos_a]
    position_a = {n: i for i, n in enumerate(common_a)}
    position_b = {n: i for i, n in enumerate(common_b)}
    diffs: list[MemberDiff] = []
    if za.comment != zb.comment:
        diffs.append(MemberDiff(name=ARCHIVE, kind="metadata", detail=f"comment {za.comment!r} != {zb.comment!r}"))
    for name, ia in infos_a.items():
        ib = infos_b.get(name)
        if ib is None:
            diffs.append(MemberDiff(name=name, kind="only in A", detail=f"{ia.file_size} bytes"))
            continue
        if not _same_bytes(za, ia, zb, ib):
            detail = f"{ia.file_size} != {ib.file_size} bytes" if ia.file_size != ib.file_size else (
                f"same size {ia.file_size}, crc {ia.CRC:08x} != {ib.CRC:08x}")
            diffs.append(MemberDiff(name=name, kind="contents", detail=detail))
            continue
        fields = [_field_diff(f, getattr(ia, f), getattr(ib, f)) for f in _FIELDS if getattr(ia, f) != getattr(ib, f)]
        if position_a[name] != position_b[name]:  # among the members both have
            fields.append(f"position {position_a[name]} != {position_b[name]}")
        if fields:
            diffs.append(MemberDiff(name=name, kind="metadata", detail="; ".join(fields)))
    diffs += [MemberDiff(name=n, kind="only in B", detail=f"{i.file_size} bytes")
              for n, i in infos_b.items() if n not in infos_a]
    return diffs


def _field_diff(field: str, va: object, vb: object) -> str:
    if field == "external_attr" and isinstance(va, int) and isinstance(vb, int):
        return f"mode {va >> 16:o} != {vb >> 16:o}" if va >> 16 != vb >> 16 else f"external_attr {va:#x} != {vb:#x}"
    if field == "date_time" and isinstance(va, tuple) and isinstance(vb, tuple):
        return f"time {_stamp(va)} != {_stamp(vb)}"
    if field == "compress_size":
        return f"compressed {va} != {vb} bytes"
    return f"{field} {va!r} != {vb!r}"


def _stamp(date_time: tuple[int, ...]) -> str:
    y, mo, d, h, mi, s = date_time
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def _same_bytes(za: zipfile.ZipFile, ia: zipfile.ZipInfo, zb: zipfile.ZipFile, ib: zipfile.ZipInfo) -> bool:
    if ia.file_size != ib.file_size or ia.CRC != ib.CRC:
        return False
    with za.open(ia) as fa, zb.open(ib) as fb:
        while True:
            block_a, block_b = fa.read(1 << 20), fb.read(1 << 20)
            if block_a != block_b:
                return False
            if not block_a:
                return True


def _sha256(path: Path) -> str:
    if not path.is_file():
        raise WheelInputError(f"{path} is not a file")
    return sha256_file(path)
