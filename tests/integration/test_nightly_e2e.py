"""The nightly job end to end: two fixture releases × one Python against a real pypiserver.

First run: builds, tests and publishes both, then installs each back from the index in the clean
runtime image. Second run (fresh output dir): builds nothing, skipping by build key against the
index. Reports and history are checked for what actually happened.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, tfwheelbuild
from tests.integration.servers import IndexServer

pytestmark = pytest.mark.engine


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.rects = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "entry" in (a.get("class") or "").split():
            self.rows[str(a.get("data-identifier"))] = str(a.get("data-status"))
        if tag == "rect" and "stage" in (a.get("class") or "").split():
            self.rects += 1


def test_nightly_builds_publishes_then_skips_by_key(fixture_repo: Path, work_dir: Path, tmp_path: Path,
                                                    index_server: IndexServer) -> None:
    (tmp_path / "tfwheelbuild.toml").write_text(f"""\
releases = ["2.16.1", "2.17.0"]
pythons = ["3.11"]
source = "{fixture_repo}"
patches = ["{FIXTURE_PATCHES}"]
output = "dist"
index = "{index_server.url}"
work-dir = "{work_dir}"

[[overrides]]
select = "2.17.*"
project-name = "tensorflow-aarch64-internal"
""")
    env = index_server.env(XDG_DATA_HOME=str(tmp_path / "data"))
    first = tfwheelbuild("nightly", "--report-dir", str(tmp_path / "r1"), "--json", env=env, cwd=tmp_path)
    assert first.code == 0, first.stderr[-4000:]
    report = json.loads(first.stdout)
    by_id = {e["identifier"]: e for e in report["entries"]}
    assert set(by_id) == {"2.16.1-py3.11", "2.17.0-py3.11"}
    assert all(e["status"] == "built" and e["published"] == "uploaded" for e in by_id.values()), by_id
    assert re.match(r"tensorflow_aarch64_internal-2\.17\.0-cp311-cp311-manylinux_2_\d+_aarch64\.whl$",
                    by_id["2.17.0-py3.11"]["wheel"])
    uploaded = sorted(p.name for p in index_server.packages.iterdir())
    assert uploaded == sorted(e["wheel"] for e in by_id.values())
    assert all(e["stages"] and e["seconds"] > 0 and e["wheel_size"] > 0 for e in by_id.values())
    # Verified after publishing: each wheel came back from the index into the clean runtime image.
    assert first.stderr.count("published; installs from the index") == 2, first.stderr[-3000:]

    html = (tmp_path / "r1" / "report.html").read_text()
    rows = _Rows()
    rows.feed(html)
    assert rows.rows == {"2.16.1-py3.11": "built", "2.17.0-py3.11": "built"}
    assert rows.rects >= 2 * 5  # a bar per stage, per entry

    # Second night: a fresh output dir (through the environment, which beats the file), same index.
    env2 = {**env, "TFWHEELBUILD_OUTPUT": str(tmp_path / "dist2")}
    second = tfwheelbuild("nightly", "--report-dir", str(tmp_path / "r2"), "--json", env=env2, cwd=tmp_path)
    assert second.code == 0, second.stderr[-4000:]
    report2 = json.loads(second.stdout)
    assert [(e["status"], e["where"]) for e in report2["entries"]] == [("skipped", "index")] * 2
    assert "up to date in the index" in second.stderr
    assert sorted(p.name for p in index_server.packages.iterdir()) == uploaded  # nothing uploaded again
    assert not (tmp_path / "dist2").exists() or not any((tmp_path / "dist2").iterdir())

    history = tfwheelbuild("history", "--json", env=env, cwd=tmp_path)
    runs = json.loads(history.stdout)
    assert [r["status"] for r in runs] == ["passed", "passed"] and all(r["kind"] == "nightly" for r in runs)
    assert os.path.samefile(runs[0]["report_path"], tmp_path / "r2" / "report.html")
