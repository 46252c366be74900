"""LocalIndex: the PEP 503 pages it writes, pip installing from them for real, conflicts and locking."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from multiprocessing.synchronize import Barrier
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tfwheelbuild.errors import VersionConflictError, WheelInputError
from tfwheelbuild.index.simple import LocalIndex, default_index_root


def build_wheel(directory: Path, *, name: str = "demo_pkg", version: str = "1.0", tag: str = "py3-none-any",
                requires_python: str | None = None, stamp_key: str | None = None, body: str = "VALUE = 1\n",
                payload: bytes = b"") -> Path:
    """A minimal installable wheel: a module, METADATA, WHEEL and RECORD (pip checks RECORD's paths)."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python is not None:
        metadata += f"Requires-Python: {requires_python}\n"
    files = {f"{name.lower()}/__init__.py": body.encode(), f"{dist_info}/METADATA": metadata.encode(),
             f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()}
    if payload:
        files[f"{name.lower()}/payload.bin"] = payload
    if stamp_key is not None:
        files[f"{dist_info}/tfwheelbuild.json"] = json.dumps({"build_key": stamp_key}).encode()
    record = "".join(f"{path},,\n" for path in files) + f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = dict(attrs)
            self.anchors.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            attrs, text = self.anchors[-1]
            self.anchors[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None


def links(page: Path) -> list[tuple[dict[str, str | None], str]]:
    parser = Links()
    parser.feed(page.read_text())
    return parser.anchors


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir", "--isolated", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def test_pages_follow_pep503(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "in", name="Demo_Pkg", requires_python=">=3.8,<4")
    index = LocalIndex(tmp_path / "idx")
    result = index.add(wheel, None)
    assert result.status == "added"
    assert result.project == "demo-pkg"
    assert result.manifest is None
    assert result.file.path == tmp_path / "idx" / "packages" / "demo-pkg" / wheel.name
    assert result.file.path.read_bytes() == wheel.read_bytes()

    root_links = links(tmp_path / "idx" / "simple" / "index.html")
    assert [(a["href"], text) for a, text in root_links] == [("demo-pkg/", "demo-pkg")]

    page = tmp_path / "idx" / "simple" / "demo-pkg" / "index.html"
    assert "&gt;=3.8,&lt;4" in page.read_text()  # escaped in the raw HTML, not just tolerated by a parser
    [(attrs, text)] = links(page)
    assert text == wheel.name
    assert attrs["data-requires-python"] == ">=3.8,<4"
    href = attrs["href"]
    assert href is not None and not urlsplit(href).scheme  # relative, so any static server can host it
    target, fragment = urljoin(page.as_uri(), href).split("#")
    assert Path(unquote(urlsplit(target).path)) == result.file.path
    assert fragment == f"sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}"
    assert result.file.sha256 == fragment.split("=")[1]


def test_no_requires_python_no_attribute(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    index.add(build_wheel(tmp_path / "in"), None)
    [(attrs, _)] = links(tmp_path / "idx" / "simple" / "demo-pkg" / "index.html")
    assert "data-requires-python" not in attrs


@pytest.mark.allow_subprocess
def test_pip_installs_from_file_url(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    index.add(build_wheel(tmp_path / "in1", version="1.0", requires_python=">=3.8", body="VALUE = 1\n"), None)
    # Newer, but for a Python pip is not running: pip must skip it through data-requires-python.
    index.add(build_wheel(tmp_path / "in2", version="2.0", requires_python="<3", body="VALUE = 2\n"), None)
    target = tmp_path / "site"
    result = pip("install", "--no-deps", "--index-url", index.url, "--target", str(target), "Demo.PKG")
    assert result.returncode == 0, result.stderr
    assert (target / "demo_pkg" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (target / "demo_pkg-1.0.dist-info").is_dir()
    check = subprocess.run([sys.executable, "-c", "import demo_pkg; print(demo_pkg.VALUE)"], cwd=target,
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "1"


@pytest.mark.allow_subprocess
def test_pip_downloads_aarch64_wheel(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "in", name="tensorflow", version="2.17.0",
                        tag="cp311-cp311-manylinux_2_17_aarch64", requires_python=">=3.9")
    index = LocalIndex(tmp_path / "idx")
    index.add(wheel, None)
    dest = tmp_path / "dl"
    result = pip("download", "--no-deps", "--only-binary=:all:", "--platform", "manylinux_2_17_aarch64",
                 "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                 "--index-url", index.url, "-d", str(dest), "tensorflow==2.17.0")
    assert result.returncode == 0, result.stderr
    assert (dest / wheel.name).read_bytes() == wheel.read_bytes()


@pytest.mark.allow_subprocess
def test_pip_rejects_a_tampered_file(tmp_path: Path) -> None:
    """The #sha256 fragment is really checked: proves the links carry the right hash."""
    index = LocalIndex(tmp_path / "idx")
    added = index.add(build_wheel(tmp_path / "in"), None)
    added.file.path.write_bytes(build_wheel(tmp_path / "other", body="VALUE = 666\n").read_bytes())
    result = pip("install", "--no-deps", "--index-url", index.url, "--target", str(tmp_path / "site"), "demo-pkg")
    assert result.returncode != 0
    assert "hash" in result.stderr.lower()


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
