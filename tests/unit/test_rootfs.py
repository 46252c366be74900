"""Rootfs import, the pure parts: names, SHA256SUMS lines, checksum values, where the sums are looked for."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest

from tfwheelbuild.engine.rootfs import check_sha256, expected_sha256, fetch, image_name, sums_for
from tfwheelbuild.errors import ChecksumError, ImageError, UsageError

HEX = "a" * 64


@pytest.mark.parametrize(("source", "name"), [
    ("https://cdimage.ubuntu.com/ubuntu-base/releases/22.04/release/ubuntu-base-22.04.5-base-arm64.tar.gz",
     "ubuntu-base-22.04.5-base"),
    ("/srv/rootfs/Bookworm_AARCH64.tar.xz", "bookworm"),
    ("file:///x/debian-12-rootfs.tgz", "debian-12-rootfs"),
    ("https://mirror/x/rootfs.tar?token=1", "rootfs"),
    ("https://mirror/x/amd64.tar.gz", "amd64"),
])
def test_image_name_from_the_file_name(source: str, name: str) -> None:
    assert image_name(source) == name


def test_sums_for_reads_both_layouts_and_only_the_named_file() -> None:
    text = f"{'b' * 64} *other.tar.gz\n{HEX}  ubuntu-base-22.04.5-base-arm64.tar.gz\nnot a line\n"
    assert sums_for(text, "ubuntu-base-22.04.5-base-arm64.tar.gz") == HEX
    assert sums_for(text, "other.tar.gz") == "b" * 64
    assert sums_for(text, "missing.tar.gz") is None
    assert sums_for(f"{HEX.upper()} *x.tgz", "x.tgz") == HEX


def test_check_sha256_refuses_what_is_not_one() -> None:
    assert check_sha256(f" {HEX.upper()} ") == HEX
    for bad in ("abc", "g" * 64, HEX + "0"):
        with pytest.raises(UsageError):
            check_sha256(bad)


def test_checksum_comes_from_the_sums_file_beside_the_url(static_server: tuple[str, Path]) -> None:
    url, root = static_server
    (root / "rel").mkdir()
    (root / "rel" / "SHA256SUMS").write_text(f"{HEX} *base-arm64.tar.gz\n")
    context = ssl.create_default_context()
    assert expected_sha256(f"{url}/rel/base-arm64.tar.gz", "", context) == HEX
    assert expected_sha256(f"{url}/rel/base-arm64.tar.gz", "c" * 64, context) == "c" * 64  # given wins
    with pytest.raises(ChecksumError, match=r"has no line for other\.tar\.gz"):
        expected_sha256(f"{url}/rel/other.tar.gz", "", context)
    with pytest.raises(ChecksumError, match=r"no checksum for .*pass --sha256"):
        expected_sha256(f"{url}/elsewhere/base-arm64.tar.gz", "", context)


def test_fetch_copies_and_hashes_urls_and_files(static_server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = static_server
    data = bytes(range(256)) * 5000
    (root / "r.tar.gz").write_bytes(data)
    context = ssl.create_default_context()
    assert fetch(f"{url}/r.tar.gz", tmp_path / "a", context) == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "a").read_bytes() == data
    assert fetch(str(root / "r.tar.gz"), tmp_path / "b", context) == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "b").read_bytes() == data
    with pytest.raises(ImageError, match="HTTP 404"):
        fetch(f"{url}/missing.tar.gz", tmp_path / "c", context)
    with pytest.raises(ImageError, match="is not a file"):
        fetch(str(root / "missing.tar.gz"), tmp_path / "d", context)
