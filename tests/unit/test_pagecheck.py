"""The 64 KiB-page check on synthetic ELF files: headers only, streamed from the wheel."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tfwheelbuild.artifacts.pagecheck import LoadAlignment, NotElf, load_alignments, small_page_members
from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
from tfwheelbuild.errors import PageAlignmentError, WheelTooLargeError
from tfwheelbuild.pipeline.stages.repair import check_pages, check_size
from tfwheelbuild.plan import RepairPlan

WheelMaker = Callable[..., Path]
PT_NOTE, PT_LOAD, PT_GNU_STACK = 4, 1, 0x6474E551


def elf64(aligns: list[int], *, kind: int = PT_LOAD, little: bool = True, machine: int = 183,
          phoff: int = 64, body: int = 4096) -> bytes:
    """An ELF64 shared object: header, program headers at `phoff`, then `body` zero bytes."""
    e = "<" if little else ">"
    headers = [(kind, align) for align in aligns] + [(PT_NOTE, 4), (PT_GNU_STACK, 16)]
    ident = b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + bytes(9)
    header = ident + struct.pack(e + "HHIQQQIHHHHHH", 3, machine, 1, 0, phoff, 0, 0, 64, 56, len(headers), 64, 0, 0)
    table = b"".join(struct.pack(e + "IIQQQQQQ", k, 5, 0, 0, 0, 0x1000, 0x1000, a) for k, a in headers)
    return header + bytes(phoff - 64) + table + bytes(body)


def elf32(aligns: list[int]) -> bytes:
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIIIIIHHHHHH", 3, 40, 1, 0, 52, 0, 0, 52, 32, len(aligns), 40, 0, 0)
    return header + b"".join(struct.pack("<IIIIIIII", PT_LOAD, 0, 0, 0, 0x100, 0x100, 5, a) for a in aligns)


def _aligns(data: bytes) -> list[int]:
    stream = io.BytesIO(data)
    head = stream.read(64)
    return load_alignments(head, stream.read)


def test_load_alignments_of_64_and_32_bit_both_byte_orders() -> None:
    assert _aligns(elf64([65536, 65536])) == [65536, 65536]
    assert _aligns(elf64([4096, 65536], little=False)) == [4096, 65536]
    assert _aligns(elf32([4096])) == [4096]
    # Only PT_LOAD counts: a note aligned to 4 bytes is no LOAD segment.
    assert _aligns(elf64([], kind=PT_NOTE)) == []


def test_program_headers_further_in_are_read_once_and_nothing_else_is() -> None:
    data = elf64([4096], phoff=4096, body=1 << 20)
    reads: list[int] = []
    stream = io.BytesIO(data)

    def read(n: int) -> bytes:
        reads.append(n)
        return stream.read(n)

    assert load_alignments(stream.read(64), read) == [4096]
    assert len(reads) == 1 and reads[0] < 8192  # never the megabyte after the table


def test_a_truncated_or_absurd_elf_is_not_elf() -> None:
    with pytest.raises(NotElf):
        _aligns(elf64([65536])[:100])
    with pytest.raises(NotElf):
        _aligns(b"\x7fELF short")
    huge = bytearray(elf64([65536]))
    huge[32:40] = (1 << 40).to_bytes(8, "little")  # a table a terabyte in: not a linker's
    with pytest.raises(NotElf):
        _aligns(bytes(huge))


def test_small_page_members_ignores_files_without_segments() -> None:
    found = [LoadAlignment(member="a.so", align=65536), LoadAlignment(member="b.so", align=4096),
             LoadAlignment(member="c.o", align=0)]
    assert small_page_members(found) == [LoadAlignment(member="b.so", align=4096)]


def test_the_wheel_scan_records_each_elf_members_smallest_alignment(make_wheel: WheelMaker) -> None:
    path = make_wheel(tag="cp311-cp311-linux_aarch64",
                      extra={"demo/ok.so": elf64([65536, 65536]), "demo/small.so": elf64([65536, 4096]),
                             "demo/fake.so": b"\x7fELF not really", "demo/data.bin": b"\x00" * 100})
    info = inspect_wheel(path)
    assert {a.member: a.align for a in info.load_alignments} == {"demo/ok.so": 65536, "demo/small.so": 4096}


def test_a_4k_member_is_refused_by_name_unless_accepted(make_wheel: WheelMaker) -> None:
    path = make_wheel(tag="cp311-cp311-linux_aarch64",
                      extra={"demo/ok.so": elf64([65536]), "demo/_pywrap.so": elf64([4096])})
    info = inspect_wheel(path)
    plan = RepairPlan(plat="", exclude=(), build_tag="")
    with pytest.raises(PageAlignmentError, match=r"demo/_pywrap.so has LOAD segments aligned to 4 KiB") as err:
        check_pages(info, plan)
    assert err.value.exit_code == 55 and "max-page-size=65536" in err.value.remedy
    check_pages(info, RepairPlan(plat="", exclude=(), build_tag="", allow_4k_pages=True))


@pytest.mark.allow_subprocess
def test_a_host_binary_linked_for_its_own_pages_is_read_like_a_linker_wrote_it() -> None:
    # A real linker's output, not our own synthetic bytes: whatever the host linked, its LOADs are found.
    true = shutil.which("true")
    if true is None:
        pytest.skip("no `true` binary")
    aligns = _aligns(Path(true).read_bytes())
    assert aligns and all(a > 0 and a & (a - 1) == 0 for a in aligns)
    readelf = shutil.which("readelf")
    if readelf:
        out = subprocess.run([readelf, "-lW", true], capture_output=True, text=True, check=True).stdout
        expected = [int(line.split()[-1], 16) for line in out.splitlines() if line.strip().startswith("LOAD")]
        assert aligns == expected


def test_an_oversize_wheel_names_its_size_and_largest_members(make_wheel: WheelMaker) -> None:
    import os

    path = make_wheel(tag="cp311-cp311-linux_aarch64",
                      extra={"demo/big.so": os.urandom(300_000), "demo/mid.so": os.urandom(200_000),
                             "demo/small.py": b"x = 1\n"})
    info = inspect_wheel(path)
    check_size(info, RepairPlan(plat="", exclude=(), build_tag=""))  # 240 MiB default: far under
    check_size(info, RepairPlan(plat="", exclude=(), build_tag="", max_wheel_size=0))  # no limit
    with pytest.raises(WheelTooLargeError) as err:
        check_size(info, RepairPlan(plat="", exclude=(), build_tag="", max_wheel_size=100 * 1024))
    message = err.value.message
    assert message.startswith(f"{path.name} is 48") and "KiB, over the 100.0 KiB limit" in message
    assert "largest members: demo/big.so (29" in message and "demo/mid.so (19" in message
    assert err.value.exit_code == 56 and "\n" not in message
