"""Patch series discovery: series files, *.patch fallback, sha256 and order."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tfwheelbuild.core.patchset import find_patches, read_series, series_in
from tfwheelbuild.errors import PatchError
from tfwheelbuild.util import resources


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_read_series_skips_comments_and_blank_lines() -> None:
    text = ("# header comment\n"
            "\n"
            "0001-first.patch\n"
            "   \n"
            "0002-second.patch -p1   # quilt options are ignored\n"
            "  0003-third.patch\n"
            "#0004-disabled.patch\n")
    assert read_series(text) == ["0001-first.patch", "0002-second.patch", "0003-third.patch"]


def test_read_series_empty() -> None:
    assert read_series("# only a comment\n\n") == []


def test_series_in_prefers_minor_subdirectory(tmp_path: Path) -> None:
    _write(tmp_path / "2.16" / "b.patch", "b")
    _write(tmp_path / "2.16" / "a.patch", "a")
    _write(tmp_path / "2.16" / "series", "b.patch\na.patch\n")
    _write(tmp_path / "top.patch", "top")
    _write(tmp_path / "series", "top.patch\n")
    assert series_in(tmp_path, "2.16") == [tmp_path / "2.16" / "b.patch", tmp_path / "2.16" / "a.patch"]


def test_series_in_uses_top_level_series(tmp_path: Path) -> None:
    _write(tmp_path / "z.patch", "z")
    _write(tmp_path / "y.patch", "y")
    _write(tmp_path / "series", "z.patch\ny.patch\n")
    assert series_in(tmp_path, "2.16") == [tmp_path / "z.patch", tmp_path / "y.patch"]


def test_series_in_falls_back_to_sorted_patch_files(tmp_path: Path) -> None:
    _write(tmp_path / "0002-b.patch", "b")
    _write(tmp_path / "0001-a.patch", "a")
    _write(tmp_path / "notes.txt", "not a patch")
    assert series_in(tmp_path, "2.16") == [tmp_path / "0001-a.patch", tmp_path / "0002-b.patch"]


def test_series_in_falls_back_to_minor_patch_files(tmp_path: Path) -> None:
    _write(tmp_path / "2.16" / "0002-b.patch", "b")
    _write(tmp_path / "2.16" / "0001-a.patch", "a")
    _write(tmp_path / "0009-top.patch", "top")
    assert series_in(tmp_path, "2.16") == [tmp_path / "2.16" / "0001-a.patch", tmp_path / "2.16" / "0002-b.patch"]


def test_series_in_empty_directory(tmp_path: Path) -> None:
    assert series_in(tmp_path, "2.16") == []


def test_series_in_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="does not exist") as info:
        series_in(tmp_path / "nope", "2.16")
    assert "--patches" in info.value.remedy


def test_series_naming_a_missing_file(tmp_path: Path) -> None:
    _write(tmp_path / "0001-here.patch", "x")
    _write(tmp_path / "series", "0001-here.patch\n0002-gone.patch\n")
    with pytest.raises(PatchError, match=r"names 0002-gone\.patch, which is not there"):
        series_in(tmp_path, "2.16")


def test_find_patches_sha256_and_order(tmp_path: Path) -> None:
    one = _write(tmp_path / "a" / "2.16" / "0002-later.patch", "--- second\n")
    two = _write(tmp_path / "a" / "2.16" / "0001-earlier.patch", "--- first\n")
    _write(tmp_path / "a" / "2.16" / "series", "0002-later.patch\n0001-earlier.patch\n")
    three = _write(tmp_path / "b" / "0001-user.patch", "--- third\n")
    found = find_patches("2.16", (tmp_path / "a", tmp_path / "b"), include_default=False)
    assert [p.name for p in found] == ["0002-later.patch", "0001-earlier.patch", "0001-user.patch"]
    assert [p.path for p in found] == [one.resolve(), two.resolve(), three.resolve()]
    assert [p.sha256 for p in found] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in (one, two, three)]
    assert found[0].sha256 == hashlib.sha256(b"--- second\n").hexdigest()


def test_find_patches_default_series_comes_first(tmp_path: Path) -> None:
    user = _write(tmp_path / "0001-user.patch", "--- user\n")
    found = find_patches("2.16", (tmp_path,), include_default=True)
    packaged = Path(str(resources.default_patches())).resolve() / "2.16"
    assert found[-1].path == user.resolve()
    assert all(p.path.parent == packaged for p in found[:-1])


def test_find_patches_no_packaged_series_for_unknown_minor() -> None:
    assert find_patches("9.99", (), include_default=True) == ()


def test_find_patches_missing_user_dir(tmp_path: Path) -> None:
    with pytest.raises(PatchError):
        find_patches("2.16", (tmp_path / "missing",), include_default=False)


def test_find_patches_no_dirs() -> None:
    assert find_patches("2.16", (), include_default=False) == ()
