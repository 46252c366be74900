"""Streamed sha256 of files and readers: wheels, rootfs tarballs and archives run to hundreds of MB."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1 << 20


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def sha256_stream(reader: _Reader, sink: IO[bytes] | None = None) -> hashlib._Hash:
    """The sha256 of everything `reader` yields, chunk by chunk, each chunk also written to `sink`."""
    digest = hashlib.sha256()
    while chunk := reader.read(CHUNK):
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest


def sha256_file(path: Path) -> str:
    """The file's sha256 as hex, read in chunks."""
    with path.open("rb") as handle:
        return sha256_stream(handle).hexdigest()
