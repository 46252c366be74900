"""How the end-to-end tests run the tool: the real command line in a real process, and where they keep what
outlives a session (the fixture repo, work dirs, BuildGrid's venv)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_PATCHES = ROOT / "tests" / "fixtures" / "patches"
# A repaired arm64 wheel's platform tags: auditwheel names every policy met up to the one demanded
# (manylinux_2_24_aarch64.manylinux_2_31_aarch64), so one tag or several, dot-separated.
AARCH64_TAGS = r"manylinux_2_\d+_aarch64(?:\.manylinux_2_\d+_aarch64)*"


def cache_root() -> Path:
    """Outside the checkout, so CI's fresh clones on the same machine reuse it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tfwheelbuild-tests"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, object]:
        return dict(json.loads(self.stdout.strip().splitlines()[-1]))


def tfwheelbuild(*args: str, timeout: int = 3600, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> CliResult:
    """The real command line, in a real process, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "tfwheelbuild", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False, env=env, cwd=cwd)
    sys.stderr.write(proc.stderr[-4000:])
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
