"""Reproducible wheels: two forced builds of one build key with SOURCE_DATE_EPOCH set give the same bytes.

Cross mode (Bazel runs natively; only the runtime test is emulated) in a namespace of its own, warm
across both builds: the first build compiles into the fresh cache, the second takes Bazel's results
from it, so "built" and "taken from the cache" are compared too. The volumes go at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, CliResult, tfwheelbuild

pytestmark = pytest.mark.engine

EPOCH = "1700000000"  # 2023-11-14T22:13:20Z: not the fixture commit's time, so the variable is what shows


def build(repo: Path, work: Path, out: Path, namespace: str) -> CliResult:
    return tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(repo), "--patches",
                        str(FIXTURE_PATCHES), "--output", str(out), "--work-dir", str(work), "--mode", "cross",
                        "--cache-namespace", namespace, "--force", "--json",
                        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})


def remove_volumes(namespace: str) -> None:
    names = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=tfwb-{namespace}-"],
                           capture_output=True, text=True, check=True).stdout.split()
    if names:
        subprocess.run(["docker", "volume", "rm", *names], capture_output=True, check=True)


def test_two_builds_of_one_key_give_byte_identical_wheels(fixture_repo: Path, work_dir: Path,
                                                           tmp_path: Path) -> None:
    namespace = f"repro{uuid.uuid4().hex[:8]}"
    try:
        first = build(fixture_repo, work_dir, tmp_path / "a", namespace)
        assert first.code == 0, first.stderr[-3000:]
        second = build(fixture_repo, work_dir, tmp_path / "b", namespace)
        assert second.code == 0, second.stderr[-3000:]
    finally:
        remove_volumes(namespace)
    a, b = (Path(str(r.json()["wheel"])) for r in (first, second))
    assert first.json()["build_key"] == second.json()["build_key"]
    assert a.name == b.name and a.parent != b.parent
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()

    same = tfwheelbuild("diff", str(a), str(b))
    assert same.code == 0 and same.stdout.startswith("identical: "), same.stdout

    manifests = [json.loads(Path(str(r.json()["manifest"])).read_text()) for r in (first, second)]
    assert manifests[0]["build_id"] != manifests[1]["build_id"]  # the build id lives in the manifest only
    assert [m["source_date_epoch"] for m in manifests] == [{"value": int(EPOCH), "from": "environment"}] * 2
    with zipfile.ZipFile(a) as archive:
        infos = archive.infolist()
        stamp = json.loads(archive.read(next(i for i in infos if i.filename.endswith("/tfwheelbuild.json"))))
    assert stamp == {"build_key": first.json()["build_key"], "key_version": 3,
                     "commit": manifests[0]["source"]["commit"], "source_date_epoch": int(EPOCH)}
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}

    # A copy with other times: `diff` names every member, as zip metadata only.
    other = b.with_name("other.whl")
    with zipfile.ZipFile(b) as src, zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in src.infolist():
            info.date_time = (2024, 1, 1, 0, 0, 0)
            dest.writestr(info, src.read(info))
    differs = tfwheelbuild("diff", str(a), str(other))
    assert differs.code == 1 and len(differs.stdout.splitlines()) == len(infos), differs.stdout
    assert all(line.startswith("metadata ") and "time 2023-11-14T22:13:20 != 2024-01-01T00:00:00" in line
               for line in differs.stdout.splitlines())
