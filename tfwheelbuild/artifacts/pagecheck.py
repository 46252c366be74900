"""Is every ELF file in a wheel loadable on a 64 KiB-page kernel?

A kernel maps each PT_LOAD segment at a page boundary, so a segment whose p_align is below the
kernel's page size cannot be mapped where the file asks: on 64K-page aarch64 kernels (Grace, some
Ampere and Graviton images) such a library fails to load ("ELF load command address/offset not
page-aligned"). Only the ELF header and the program header table are read (both are at the start of
every file a linker writes), so a member of hundreds of MB costs a few hundred bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PAGE_64K = 65536
PT_LOAD = 1
# The program header table is right after the ELF header in what GNU ld, gold and lld write; a table
# further in than this is read no further (we never seek through hundreds of MB to find it).
MAX_PHDR_END = 1 << 20


@dataclass(frozen=True, kw_only=True)
class LoadAlignment:
    """The smallest PT_LOAD alignment of one ELF file (0: no PT_LOAD at all, e.g. an object file)."""

    member: str
    align: int


class NotElf(ValueError):
    pass


def load_alignments(head: bytes, read_more: Callable[[int], bytes]) -> list[int]:
    """p_align of every PT_LOAD segment of the ELF file whose first bytes are `head` (at least 64).

    `read_more(n)` returns the next n bytes of the file (a zip member's stream); it is called at most
    once, for the bytes up to the end of the program header table.
    """
    if len(head) < 52 or head[:4] != b"\x7fELF":
        raise NotElf("not an ELF file")
    is64 = head[4] == 2
    order: str = "little" if head[5] == 1 else "big"

    def num(data: bytes, at: int, size: int) -> int:
        return int.from_bytes(data[at:at + size], order)  # type: ignore[arg-type]

    if is64:
        phoff, phentsize, phnum = num(head, 32, 8), num(head, 54, 2), num(head, 56, 2)
    else:
        phoff, phentsize, phnum = num(head, 28, 4), num(head, 42, 2), num(head, 44, 2)
    if phnum == 0 or phoff == 0:
        return []
    end = phoff + phentsize * phnum
    if end > MAX_PHDR_END or phentsize < (56 if is64 else 32):
        raise NotElf(f"program header table at {phoff}+{phentsize}x{phnum} is not where a linker puts it")
    data = head + (read_more(end - len(head)) if end > len(head) else b"")
    if len(data) < end:
        raise NotElf("truncated program header table")
    aligns = []
    for i in range(phnum):
        at = phoff + i * phentsize
        if num(data, at, 4) != PT_LOAD:
            continue
        aligns.append(num(data, at + 48, 8) if is64 else num(data, at + 28, 4))
    return aligns


def smallest_load_alignment(head: bytes, read_more: Callable[[int], bytes]) -> int:
    """The smallest PT_LOAD p_align (0 when the file has no PT_LOAD segment)."""
    aligns = load_alignments(head, read_more)
    return min(aligns) if aligns else 0


def small_page_members(found: list[LoadAlignment], page: int = PAGE_64K) -> list[LoadAlignment]:
    """Members with a PT_LOAD segment aligned below `page` (files without segments load nothing)."""
    return [f for f in found if 0 < f.align < page]


def describe(bad: list[LoadAlignment], page: int = PAGE_64K) -> str:
    first = bad[0]
    more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
    return (f"{first.member} has LOAD segments aligned to {first.align // 1024 or first.align}"
            f"{' KiB' if first.align >= 1024 else ' bytes'}, below {page // 1024} KiB pages{more}")
