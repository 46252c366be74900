"""Installable wheels and the links of a PEP 503 page: what the LocalIndex tests share."""

from __future__ import annotations

import json
import zipfile
from html.parser import HTMLParser
from pathlib import Path


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
