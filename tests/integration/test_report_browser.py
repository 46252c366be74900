"""The HTML report in a real headless browser (Debian's chromium): rendered, screenshot, checked.

The DOM Chromium builds must hold the rows and the chart shapes, and the screenshot must actually
show the stage bars: pixels in the compile stage's colour, in proportion to its share of the time.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tfwheelbuild.runs.entry import EntryRecord as ReportEntry
from tfwheelbuild.runs.report import PALETTE, RunReport, write_report

STAGES = (("images", 5.0, "passed"), ("compile", 90.0, "passed"), ("repair", 5.0, "passed"))


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is missing: `make test` installs it (scripts/setup-host.sh --test)")
    return path


def run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--allow-file-access-from-files", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGBA/RGB bytes) of a non-interlaced 8-bit PNG, with the stdlib."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 4 if color == 6 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels + 1, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line) if channels == 3 else bytes(b for j, b in enumerate(line) if j % 4 != 3))
        prev = line
    return width, height, rows


def count_color(rows: list[bytes], hex_color: str) -> int:
    rgb = bytes.fromhex(hex_color.lstrip("#"))
    return sum(row[i:i + 3] == rgb for row in rows for i in range(0, len(row), 3))


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.rects: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "tr" and "entry" in classes:
            self.rows.append(str(a.get("data-status")))
        if tag == "rect" and "stage" in classes:
            self.rects.append(" ".join(classes))


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    wheel = "tensorflow-2.16.1-cp311-cp311-manylinux_2_34_aarch64.whl"
    entries = (
        ReportEntry(identifier="2.16.1-py3.11", tf_version="2.16.1", python="3.11", status="built",
                    published="uploaded", seconds=100.0, wheel=wheel, wheel_size=3_200_000, build_key="ab" * 32,
                    stages=STAGES),
        ReportEntry(identifier="2.17.0-py3.11", tf_version="2.17.0", python="3.11", status="failed",
                    seconds=40.0, error="bazel build failed (exit 1): unit_001.cc:12: error: boom",
                    stages=(("images", 5.0, "passed"), ("compile", 35.0, "failed"))),
    )
    run = RunReport(kind="nightly", started="2026-11-25T01:30:00Z", finished="2026-11-25T01:33:00Z",
                    status="failed", entries=entries)
    _, html = write_report(tmp_path, run, {"2.16.1-py3.11": [("2026-11-23", 130.0), ("2026-11-24", 110.0),
                                                             ("2026-11-25", 100.0)]})
    dump = run_chromium("--dump-dom", html.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = _Dom()
    dom.feed(dump.stdout)
    assert dom.rows == ["built", "failed"]
    assert sum("stage-compile" in r for r in dom.rects) == 2 and len(dom.rects) == 5
    assert 'class="trend"' in dump.stdout and "unit_001.cc:12: error: boom" in dump.stdout

    shot = tmp_path / "report.png"
    result = run_chromium(f"--screenshot={shot}", "--window-size=1200,1600", html.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    compile_color = PALETTE[1]  # stages are coloured in first-seen order: images, compile, repair
    images_color = PALETTE[0]
    compile_px, images_px = count_color(rows, compile_color), count_color(rows, images_color)
    # Both bars are drawn, and compile (90 s + 35 s) dwarfs images (5 s + 5 s) on the page.
    assert images_px > 0 and compile_px > 5 * images_px, (compile_px, images_px)
