"""A shared Bazel remote cache over gRPC (REAPI), for real: BuildGrid from PyPI on loopback.

The same shape as the HTTP (nginx WebDAV) tests: build once with the cache, wipe every local
volume of that build's cache namespace (a "fresh host"), build again: >= 90 % of the executed
actions must come from the remote cache, with the same wheel contents. A read-only consumer must
not grow the server's storage. Every test has its own cache namespace and removes its volumes.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from tests.integration.servers import GrpcCache
from tests.integration.test_remote_cache_e2e import build, contents, wipe_volumes

pytestmark = pytest.mark.engine


@pytest.fixture()
def namespace() -> Iterator[str]:
    name = f"bg{uuid.uuid4().hex[:8]}"
    yield name
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=tfwb-{name}-"],
                             capture_output=True, text=True, check=False).stdout.split()
    if volumes:
        subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True, check=False)


def test_fresh_host_builds_from_the_grpc_cache(fixture_repo: Path, work_dir: Path, tmp_path: Path,
                                               grpc_cache: GrpcCache, namespace: str) -> None:
    first = build(fixture_repo, work_dir, tmp_path / "a", "--remote-cache", grpc_cache.url,
                  "--cache-namespace", namespace)
    assert first.code == 0, first.stderr[-3000:]
    stored = grpc_cache.usage()
    assert stored[0] > 5, (stored, grpc_cache.log.read_text()[-2000:])  # blobs and action results uploaded

    wipe_volumes(namespace)  # a fresh host: no output base, no disk cache, no git mirror
    second = build(fixture_repo, work_dir, tmp_path / "b", "--remote-cache", grpc_cache.url,
                   "--cache-namespace", namespace)
    assert second.code == 0, second.stderr[-3000:]
    cache = cast("dict[str, int]", second.json()["cache"])
    executed = sum(n for kind, n in cache.items() if kind != "internal")
    hits = cache.get("remote cache hit", 0)
    assert executed and hits / executed >= 0.9, cache
    manifest = json.loads(Path(str(second.json()["manifest"])).read_text())
    assert manifest["bazel"]["cache"].get("remote cache hit") == hits
    assert f"--remote_cache={grpc_cache.url}" in manifest["bazel"]["argv"]
    assert contents(Path(str(first.json()["wheel"]))) == contents(Path(str(second.json()["wheel"])))
    assert grpc_cache.requests().get("UpdateActionResult", 0) >= hits  # the first build wrote what the second read


def test_read_only_grpc_consumer_uploads_nothing(fixture_repo: Path, work_dir: Path, tmp_path: Path,
                                                 grpc_cache: GrpcCache, namespace: str) -> None:
    before = grpc_cache.usage()
    # An empty server and a fresh namespace: every action runs locally, and none may be written back.
    result = build(fixture_repo, work_dir, tmp_path / "ro", "--remote-cache", grpc_cache.url,
                   "--remote-cache-readonly", "--cache-namespace", namespace)
    assert result.code == 0, result.stderr[-3000:]
    assert grpc_cache.usage() == before == (0, 0)
    calls = grpc_cache.requests()
    assert calls.get("GetActionResult"), calls  # it did ask the cache
    assert not {"UpdateActionResult", "Write", "BatchUpdateBlobs", "FindMissingBlobs"} & calls.keys(), calls
    cache = cast("dict[str, int]", result.json()["cache"])
    assert "remote cache hit" not in cache and sum(n for k, n in cache.items() if k != "internal") > 0, cache
    argv = json.loads(Path(str(result.json()["manifest"])).read_text())["bazel"]["argv"]
    assert "--remote_upload_local_results=false" in argv
