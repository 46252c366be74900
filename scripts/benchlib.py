"""What the benchmark scripts share: the official wheel they measure, and BENCHMARKS.md's sections.

Each script owns one part of BENCHMARKS.md: benchmark.py the head (everything before the first `## `
heading), the others one `## ` section each, so running one never erases what another measured.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OFFICIAL = "tensorflow==2.16.1"


def official_wheel(cache: Path) -> Path | str:
    """The official 2.16.1 cp311 aarch64 wheel under `cache`/real-wheels (downloaded once), or why not."""
    dest = cache / "real-wheels"
    wheels = sorted(dest.glob("tensorflow-2.16.1-cp311-*aarch64.whl"))
    if not wheels:
        got = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                              "--platform", "manylinux2014_aarch64", "--python-version", "3.11", "-d", str(dest),
                              OFFICIAL], capture_output=True, text=True, check=False)
        wheels = sorted(dest.glob("tensorflow-2.16.1-cp311-*aarch64.whl"))
        if not wheels:
            return (got.stderr.strip().splitlines() or ["pip download failed"])[-1]
    return wheels[0]


def write_head(path: Path, lines: list[str]) -> None:
    """Replace the part before the first `## ` section, keeping every section."""
    old = path.read_text() if path.is_file() else ""
    at = old.find("\n## ")
    tail = old[at + 1:] if at >= 0 else ""
    path.write_text("\n".join(lines).rstrip() + "\n\n" + tail)


def write_section(path: Path, heading: str, lines: list[str]) -> None:
    """Replace the `## heading` section (up to the next `## `), or add it at the end."""
    old = path.read_text() if path.is_file() else ""
    block = "\n".join([f"## {heading}", "", *lines]).rstrip() + "\n"
    start = old.find(f"\n## {heading}\n")
    if start < 0:
        path.write_text(old.rstrip() + "\n\n" + block)
        return
    end = old.find("\n## ", start + 1)
    path.write_text(old[:start + 1] + block + ("\n" + old[end + 1:] if end >= 0 else ""))
