"""A shared Bazel remote cache, for real: nginx WebDAV on loopback, fresh cache volumes per test.

Build once with the cache; wipe every local volume of that build (a "fresh host"); build again:
the second build must take >= 90 % of its executed actions from the remote cache and give the
same wheel contents. A read-only consumer must not write to the cache.
"""

from __future__ import annotations

import json
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, CliResult, tfwheelbuild
from tests.integration.servers import WebDavCache

pytestmark = pytest.mark.engine


def build(repo: Path, work: Path, out: Path, *extra: str) -> CliResult:
    # Cross mode compiles natively: the cache behaviour under test is the same, the suite is minutes faster.
    return tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(repo), "--patches",
                        str(FIXTURE_PATCHES), "--output", str(out), "--work-dir", str(work), "--force", "--json",
                        "--mode", "cross", *extra)


def wipe_volumes(namespace: str, *, must_exist: bool = True) -> None:
    names = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=tfwb-{namespace}-"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert names or not must_exist, f"no volumes for namespace {namespace}"
    if names:
        subprocess.run(["docker", "volume", "rm", *names], capture_output=True, check=must_exist)


def contents(wheel: Path) -> dict[str, int]:
    """Member -> CRC, without the files that name the build itself (its id, RECORD of them)."""
    with zipfile.ZipFile(wheel) as archive:
        return {i.filename: i.CRC for i in archive.infolist()
                if not i.filename.endswith(("/tfwheelbuild.json", "/RECORD"))}


def test_fresh_host_builds_from_the_shared_cache(fixture_repo: Path, work_dir: Path, tmp_path: Path,
                                                 webdav_cache: WebDavCache) -> None:
    namespace = f"rc{uuid.uuid4().hex[:8]}"
    try:
        first = build(fixture_repo, work_dir, tmp_path / "a", "--remote-cache", webdav_cache.url,
                      "--cache-namespace", namespace)
        assert first.code == 0, first.stderr[-3000:]
        stored = webdav_cache.usage()
        assert stored[0] > 5, stored  # the build uploaded its action results

        wipe_volumes(namespace)  # a fresh host: no output base, no disk cache, no git mirror
        second = build(fixture_repo, work_dir, tmp_path / "b", "--remote-cache", webdav_cache.url,
                       "--cache-namespace", namespace)
        assert second.code == 0, second.stderr[-3000:]
        cache = second.json()["cache"]
        assert isinstance(cache, dict)
        executed = sum(n for kind, n in cache.items() if kind != "internal")
        hits = cache.get("remote cache hit", 0)
        assert executed and hits / executed >= 0.9, cache
        manifest = json.loads(Path(str(second.json()["manifest"])).read_text())
        assert manifest["bazel"]["cache"].get("remote cache hit") == hits
        assert contents(Path(str(first.json()["wheel"]))) == contents(Path(str(second.json()["wheel"])))
    finally:
        wipe_volumes(namespace, must_exist=False)  # every volume of the namespace, not just the git mirror


def test_read_only_consumer_uploads_nothing(fixture_repo: Path, work_dir: Path, tmp_path: Path,
                                           webdav_cache: WebDavCache) -> None:
    before = webdav_cache.usage()
    # A copt no earlier build used: every C++ action runs locally, and none may be written back.
    result = build(fixture_repo, work_dir, tmp_path / "ro", "--remote-cache", webdav_cache.url,
                   "--remote-cache-readonly", f"--bazel-arg=--copt=-DTFWB_RO_{uuid.uuid4().hex}")
    assert result.code == 0, result.stderr[-3000:]
    assert webdav_cache.usage() == before
    argv = json.loads(Path(str(result.json()["manifest"])).read_text())["bazel"]["argv"]
    assert "--remote_upload_local_results=false" in argv


def test_unreachable_cache_warns_and_builds_locally_unless_required(fixture_repo: Path, work_dir: Path,
                                                                    tmp_path: Path) -> None:
    from tests.integration.servers import _free_port

    dead = f"http://127.0.0.1:{_free_port()}/"
    required = build(fixture_repo, work_dir, tmp_path / "req", "--remote-cache", dead, "--remote-cache-required")
    assert required.code == 25 and "does not answer" in required.stderr, required.stderr[-2000:]
    assert "Traceback" not in required.stderr

    relaxed = build(fixture_repo, work_dir, tmp_path / "ok", "--remote-cache", dead)
    assert relaxed.code == 0, relaxed.stderr[-3000:]
    assert relaxed.stderr.count("does not answer") == 1


def test_malformed_cache_url_fails_before_any_container(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    result = build(fixture_repo, work_dir, tmp_path, "--remote-cache", "cache.internal:8080")
    assert result.code == 2 and "--remote-cache" in result.stderr and "Traceback" not in result.stderr
    assert "▶" not in result.stderr  # no stage started
