"""An index in a plain directory, laid out per PEP 503, for users without an index server.

    <root>/simple/index.html                    one link per project
    <root>/simple/<project>/index.html          one link per file, with #sha256= and data-requires-python
    <root>/packages/<project>/<file>.whl        the wheels (plus <file>.sha256 and <file>.manifest.json)

`pip install --index-url file://<root>/simple/ NAME` installs from it as is, and any static file
server can serve <root>. Every page is regenerated from the files on disk, so the directory itself
is the only state.
"""

from __future__ import annotations

import email
import html
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from packaging.utils import canonicalize_name, parse_wheel_filename

from tfwheelbuild.artifacts.manifest import atomic_copy, atomic_write_bytes
from tfwheelbuild.artifacts.wheelinfo import STAMP_FILE, WheelInfo, inspect_wheel, read_dist_info_file
from tfwheelbuild.engine.locks import flock
from tfwheelbuild.errors import OutputError, VersionConflictError
from tfwheelbuild.util.digests import sha256_file
from tfwheelbuild.util.hostpaths import data_dir

MANIFEST_SUFFIX = ".manifest.json"
SHA256_SUFFIX = ".sha256"
LOCK_NAME = ".tfwheelbuild-index.lock"


def default_index_root() -> Path:
    return data_dir() / "index"


@dataclass(frozen=True, kw_only=True)
class IndexedFile:
    filename: str
    sha256: str
    path: Path
    requires_python: str | None = None

    @property
    def manifest(self) -> Path:
        return self.path.with_name(self.path.name + MANIFEST_SUFFIX)


@dataclass(frozen=True, kw_only=True)
class AddResult:
    status: Literal["added", "exists"]
    project: str
    file: IndexedFile
    manifest: Path | None  # the copy beside the wheel, when there is one


class LocalIndex:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().absolute()
        self.simple = self.root / "simple"
        self.packages = self.root / "packages"

    @property
    def url(self) -> str:
        """What to give pip as --index-url; the trailing slash makes relative links resolve under it."""
        return self.simple.as_uri() + "/"

    def add(self, wheel: Path, manifest: Path | None = None, *, info: WheelInfo | None = None) -> AddResult:
        """Add a wheel (checked here unless the caller passes what its own check found)."""
        info = info or inspect_wheel(wheel, require_aarch64=False)
        project = canonicalize_name(info.name)
        dest = self.packages / project / wheel.name
        with self._locked():
            existing = self._indexed(dest) if dest.is_file() else None
            if existing is not None and existing.sha256 != info.sha256:
                raise VersionConflictError(
                    f"{self.root} already has {wheel.name} with different content "
                    f"(sha256 {existing.sha256[:16]}…, this one {info.sha256[:16]}…)")
            status: Literal["added", "exists"] = "exists" if existing is not None else "added"
            if existing is None:
                # Wheel before its checksum and manifest, pages last: a link never points at half a file.
                atomic_copy(wheel, dest)
            if existing is None or not _sha_path(dest).exists():
                atomic_write_bytes(_sha_path(dest), f"{info.sha256}  {dest.name}\n".encode())
            manifest_copy = dest.with_name(dest.name + MANIFEST_SUFFIX)
            if manifest is not None and (existing is None or not manifest_copy.exists()):
                # An identical wheel is a no-op, but one pushed earlier without its manifest gains it.
                atomic_copy(manifest, manifest_copy)
            self._write_project_page(project)
            self._write_root_page()
        return AddResult(status=status, project=project, file=self._indexed(dest),
                         manifest=manifest_copy if manifest_copy.exists() else None)

    def withdraw(self, filename: str, sha256: str) -> bool:
        """Take a file out of the index (wheel, checksum, manifest; pages regenerated): True if it was there.

        Only the file with these exact bytes: one that another publisher replaced it with is theirs.
        """
        project = canonicalize_name(parse_wheel_filename(filename)[0])
        dest = self.packages / project / filename
        with self._locked():
            if not dest.is_file() or self._indexed(dest).sha256 != sha256:
                return False
            # Wheel first, so no page ever links a file whose checksum is already gone.
            for path in (dest, _sha_path(dest), dest.with_name(dest.name + MANIFEST_SUFFIX)):
                with suppress(FileNotFoundError):
                    path.unlink()
            self._write_project_page(project)
            self._write_root_page()
        return True

    def projects(self) -> list[str]:
        if not self.packages.is_dir():
            return []
        return sorted(p.name for p in self.packages.iterdir() if p.is_dir() and any(p.glob("*.whl")))

    def files(self, project: str) -> list[IndexedFile]:
        folder = self.packages / canonicalize_name(project)
        if not folder.is_dir():
            return []
        return [self._indexed(path) for path in sorted(folder.glob("*.whl")) if path.is_file()]

    def find_build_key(self, key: str) -> IndexedFile | None:
        for project in self.projects():
            for indexed in self.files(project):
                if _build_key_of(indexed) == key:
                    return indexed
        return None

    def rebuild(self) -> None:
        """Regenerate every page, e.g. after wheels were copied into packages/ by hand."""
        with self._locked():
            for project in self.projects():
                self._write_project_page(project)
            self._write_root_page()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot use {self.root} as an index: {exc.strerror or exc}",
                              remedy="choose an index directory you can write to") from exc
        try:
            with flock(fd):
                yield
        finally:
            os.close(fd)

    def _indexed(self, path: Path) -> IndexedFile:
        return IndexedFile(filename=path.name, sha256=_sha256_of(path), path=path,
                           requires_python=_requires_python(path))

    def _write_project_page(self, project: str) -> None:
        links = []
        for indexed in self.files(project):
            href = f"../../packages/{quote(project)}/{quote(indexed.filename)}#sha256={indexed.sha256}"
            requires = ""
            if indexed.requires_python:
                requires = f' data-requires-python="{html.escape(indexed.requires_python, quote=True)}"'
            links.append(f'    <a href="{html.escape(href)}"{requires}>{html.escape(indexed.filename)}</a><br>')
        atomic_write_bytes(self.simple / project / "index.html", _page(f"Links for {project}", links))

    def _write_root_page(self) -> None:
        links = [f'    <a href="{html.escape(quote(p))}/">{html.escape(p)}</a><br>' for p in self.projects()]
        atomic_write_bytes(self.simple / "index.html", _page("Simple index", links))


def _page(title: str, links: list[str]) -> bytes:
    body = "\n".join(links)
    return ("<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.0">\n'
            f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
            f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n").encode()


def _sha_path(wheel: Path) -> Path:
    return wheel.with_name(wheel.name + SHA256_SUFFIX)


def _sha256_of(path: Path) -> str:
    """From the sha256sum-style file beside the wheel, so pages never rehash gigabytes of wheels."""
    try:
        recorded = _sha_path(path).read_text().split()
        if recorded and len(recorded[0]) == 64:
            return recorded[0]
    except OSError:
        pass
    return sha256_file(path)


def _requires_python(path: Path) -> str | None:
    try:
        metadata = read_dist_info_file(path, "METADATA")
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    if metadata is None:
        return None
    value = str(email.message_from_bytes(metadata).get("Requires-Python") or "").strip()
    return value or None


def _build_key_of(indexed: IndexedFile) -> str | None:
    """The manifest beside the wheel first (cheap), then the stamp inside the wheel's .dist-info."""
    with suppress(OSError):
        key = _key_in(indexed.manifest.read_bytes())
        if key is not None:
            return key
    with suppress(OSError, zipfile.BadZipFile):
        return _key_in(read_dist_info_file(indexed.path, STAMP_FILE))
    return None


def _key_in(data: bytes | None) -> str | None:
    try:
        parsed = json.loads(data) if data is not None else None
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("build_key"), str):
        return str(parsed["build_key"])
    return None
