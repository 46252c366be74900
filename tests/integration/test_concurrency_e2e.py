"""Two identical builds at once: one builds, the other waits for the shared caches and then skips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES

pytestmark = pytest.mark.engine


def test_same_key_at_once_builds_once(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "tfwheelbuild", "build", "--tf", "2.16.1", "--py", "3.11", "--source",
            str(fixture_repo), "--patches", str(FIXTURE_PATCHES), "--output", str(tmp_path / "dist"),
            "--work-dir", str(work_dir), "--json"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=3600), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    summaries = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]
    assert sorted(s["status"] for s in summaries) == ["built", "skipped"], summaries
    waited = next(err for (_, _, err), s in zip(results, summaries, strict=True) if s["status"] == "skipped")
    assert "waiting:" in waited and "'shared' caches" in waited
    assert summaries[0]["build_key"] == summaries[1]["build_key"]
    assert len(list((tmp_path / "dist").glob("*.whl"))) == 1
