"""LocalIndex: adding wheels, conflicts and locking, its default root, withdrawing a file (the pages it
writes and pip installing from them: test_simple_index_pages.py)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from tests.unit.helpers_index import build_wheel, links
from tfwheelbuild.errors import VersionConflictError, WheelInputError
from tfwheelbuild.index.simple import LocalIndex, default_index_root


def test_identical_file_is_a_noop(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "in")
    index = LocalIndex(tmp_path / "idx")
    first = index.add(wheel, None)
    page = tmp_path / "idx" / "simple" / "demo-pkg" / "index.html"
    before = page.read_text()
    again = index.add(wheel, None)
    assert again.status == "exists"
    assert again.file == first.file
    assert page.read_text() == before
    assert len(index.files("demo-pkg")) == 1


def test_same_name_different_content_conflicts(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    original = index.add(build_wheel(tmp_path / "a", body="VALUE = 1\n"), None)
    with pytest.raises(VersionConflictError, match="different content"):
        index.add(build_wheel(tmp_path / "b", body="VALUE = 2\n"), None)
    [kept] = index.files("demo-pkg")
    assert kept.sha256 == original.file.sha256
    assert hashlib.sha256(kept.path.read_bytes()).hexdigest() == original.file.sha256


def test_manifest_copied_and_build_key_found(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    wheel = build_wheel(tmp_path / "in", version="1.0", stamp_key="key-in-wheel-1")
    manifest = tmp_path / "in" / f"{wheel.name}.manifest.json"
    manifest.write_text(json.dumps({"build_key": "key-from-manifest"}))
    added = index.add(wheel, manifest)
    assert added.manifest == added.file.path.with_name(f"{wheel.name}.manifest.json")
    assert added.manifest.read_text() == manifest.read_text()
    # No manifest: the stamp inside the wheel's .dist-info answers instead.
    stamped = index.add(build_wheel(tmp_path / "in2", version="2.0", stamp_key="key-in-wheel-2"), None)
    assert stamped.manifest is None

    found = index.find_build_key("key-from-manifest")
    assert found is not None and found.filename == wheel.name
    found = index.find_build_key("key-in-wheel-2")
    assert found is not None and found.path == stamped.file.path
    assert index.find_build_key("key-in-wheel-1") is None  # the manifest wins over the stamp
    assert index.find_build_key("nope") is None


def test_identical_wheel_gains_a_missing_manifest(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    wheel = build_wheel(tmp_path / "in")
    index.add(wheel, None)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"build_key": "late"}))
    again = index.add(wheel, manifest)
    assert again.status == "exists"
    assert again.manifest is not None and again.manifest.exists()
    assert index.find_build_key("late") is not None


def test_files_lists_project_by_any_spelling(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    index.add(build_wheel(tmp_path / "a", version="1.0", requires_python=">=3.9"), None)
    index.add(build_wheel(tmp_path / "b", version="1.1"), None)
    files = index.files("Demo_PKG")
    assert [f.filename for f in files] == ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.1-py3-none-any.whl"]
    assert files[0].requires_python == ">=3.9" and files[1].requires_python is None
    assert index.files("absent") == []


def test_not_a_wheel_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(WheelInputError):
        LocalIndex(tmp_path / "idx").add(bogus, None)
    assert not (tmp_path / "idx" / "packages" / "demo-pkg").exists()


def _add_many(root: str, wheels: list[str]) -> None:
    index = LocalIndex(Path(root))
    for wheel in wheels:
        index.add(Path(wheel), None)


def test_concurrent_adds_all_land(tmp_path: Path) -> None:
    batches = [[str(build_wheel(tmp_path / f"w{p}-{i}", name=f"proj{p}", version=f"1.{i}")) for i in range(8)]
               for p in range(3)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_add_many, args=(str(tmp_path / "idx"), batch)) for batch in batches]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    index = LocalIndex(tmp_path / "idx")
    assert [text for _, text in links(tmp_path / "idx" / "simple" / "index.html")] == ["proj0", "proj1", "proj2"]
    for p in range(3):
        page_names = [text for _, text in links(tmp_path / "idx" / "simple" / f"proj{p}" / "index.html")]
        assert page_names == sorted(Path(w).name for w in batches[p])
        assert len(index.files(f"proj{p}")) == 8


def _add_one(root: str, wheel: str, start: Barrier, results: multiprocessing.Queue[str]) -> None:
    start.wait(30)
    try:
        results.put(LocalIndex(Path(root)).add(Path(wheel), None).status)
    except VersionConflictError:
        results.put("conflict")


def test_concurrent_same_name_exactly_one_wins(tmp_path: Path) -> None:
    # Incompressible and big enough that the copy takes a while: an unlocked check-then-copy lets two "win".
    wheels = [build_wheel(tmp_path / f"c{i}", body=f"VALUE = {i}\n", payload=os.urandom(8 << 20)) for i in range(4)]
    ctx = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[str] = ctx.Queue()
    start = ctx.Barrier(len(wheels))
    procs = [ctx.Process(target=_add_one, args=(str(tmp_path / "idx"), str(w), start, results)) for w in wheels]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    statuses = sorted(results.get(timeout=5) for _ in wheels)
    assert statuses == ["added", "conflict", "conflict", "conflict"]
    [kept] = LocalIndex(tmp_path / "idx").files("demo-pkg")
    assert kept.sha256 in {hashlib.sha256(w.read_bytes()).hexdigest() for w in wheels}
    assert hashlib.sha256(kept.path.read_bytes()).hexdigest() == kept.sha256


def test_default_root_and_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert default_index_root() == tmp_path / "home" / ".local" / "share" / "tfwheelbuild" / "index"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert default_index_root() == tmp_path / "home" / ".local" / "share" / "tfwheelbuild" / "index"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_index_root() == tmp_path / "xdg" / "tfwheelbuild" / "index"
    assert LocalIndex(tmp_path / "my idx").url == (tmp_path / "my idx" / "simple").as_uri() + "/"


def test_withdraw_takes_out_the_file_its_checksum_manifest_and_links(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "index")
    keep = build_wheel(tmp_path / "w", version="1.0")
    bad = build_wheel(tmp_path / "w", version="2.0")
    manifest = tmp_path / "m.json"
    manifest.write_text("{}")
    index.add(keep)
    added = index.add(bad, manifest)
    assert index.withdraw(bad.name, added.file.sha256)
    folder = index.packages / "demo-pkg"
    assert sorted(p.name for p in folder.iterdir()) == [keep.name, keep.name + ".sha256"]
    page = (index.simple / "demo-pkg" / "index.html").read_text()
    assert keep.name in page and bad.name not in page
    assert not index.withdraw(bad.name, added.file.sha256)  # already gone: nothing to do


def test_withdraw_leaves_other_bytes_under_the_same_name(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "index")
    wheel = build_wheel(tmp_path / "w")
    index.add(wheel)
    assert not index.withdraw(wheel.name, "0" * 64)  # not the bytes we published: someone else's
    assert [f.filename for f in index.files("demo-pkg")] == [wheel.name]
