"""Air-gapped builds for real: fetch a deps bundle through a mirror, stop the mirror, build with
--deps and no network at all, and get the connected build's wheel byte for byte.

The 2.18-style fixture downloads two http_archives and a hermetic interpreter archive from a host
that never resolves (deps.example.invalid), so every byte has to come through --bazel-mirror (a
loopback server this test starts) or the bundle. Cross mode: nothing here needs emulation.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.depserver import DepServer
from tests.integration.harness import FIXTURE_PATCHES, CliResult, tfwheelbuild

pytestmark = pytest.mark.engine

EPOCH = "1700000000"


def common(repo: Path, work: Path, namespace: str) -> list[str]:
    return ["--tf", "2.18.0", "--py", "3.11", "--source", str(repo), "--patches", str(FIXTURE_PATCHES),
            "--work-dir", str(work), "--mode", "cross", "--cache-namespace", namespace, "--json"]


def run(*args: str) -> CliResult:
    return tfwheelbuild(*args, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})


def remove_volumes(*namespaces: str) -> None:
    for namespace in namespaces:
        names = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=tfwb-{namespace}-"],
                               capture_output=True, text=True, check=True).stdout.split()
        if names:
            subprocess.run(["docker", "volume", "rm", *names], capture_output=True, check=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_offline_build_from_a_fetched_bundle_gives_the_connected_builds_wheel(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    connected_ns, offline_ns, short_ns = (f"dep{k}{uuid.uuid4().hex[:8]}" for k in "cos")
    bundle = tmp_path / "bundle"
    server = DepServer()
    try:
        connected = run("build", *common(fixture_repo, work_dir, connected_ns), "--output", str(tmp_path / "a"),
                        "--force", "--bazel-mirror", server.url)
        assert connected.code == 0, connected.stderr[-3000:]
        # Every download went through the mirror, as MIRROR/<original host>/<path>.
        assert server.downloads() and all(p.startswith("/deps.example.invalid/") for p in server.downloads())

        fetched = run("fetch", *common(fixture_repo, work_dir, connected_ns), "--out", str(bundle),
                      "--bazel-mirror", server.url)
        assert fetched.code == 0, fetched.stderr[-3000:]
        assert fetched.json()["archives"] == 3 and fetched.json()["added"] == 3
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["identity"] == {"release": "2.18.0", "python": "3.11", "bazel": "4.2.3"}
        assert {e["repository"] for e in manifest["entries"]} == {
            "com_google_absl", "eigen_archive", "python_aarch64-unknown-linux-gnu"}
        assert all(e["url"].startswith("https://deps.example.invalid/") and e["size"] > 0
                   for e in manifest["entries"])
        assert any("cpython-3.11-" in e["url"] for e in manifest["entries"])

        # A second fetch downloads nothing: the bundle seeds Bazel's cache.
        before = len(server.downloads())
        again = run("fetch", *common(fixture_repo, work_dir, connected_ns), "--out", str(bundle),
                    "--bazel-mirror", server.url)
        assert again.code == 0 and again.json()["added"] == 0, again.stderr[-3000:]
        assert len(server.downloads()) == before
    finally:
        server.stop()
    try:
        # The mirror is gone and the build container has no network: the bundle is all there is.
        offline = run("build", *common(fixture_repo, work_dir, offline_ns), "--output", str(tmp_path / "b"),
                      "--force", "--deps", str(bundle))
        assert offline.code == 0, offline.stderr[-3000:]
        assert "the build container has no network" in offline.stderr
        a, b = (Path(str(r.json()["wheel"])) for r in (connected, offline))
        assert a.name == b.name and sha256(a) == sha256(b)

        # One archive short (in caches of its own: the output base above has every repository extracted):
        # the offline build names the repository, its URL and the fetch command.
        short = tmp_path / "short"
        shutil.copytree(bundle, short)
        eigen = next(e for e in manifest["entries"] if e["repository"] == "eigen_archive")
        shutil.rmtree(short / "repository_cache" / "content_addressable" / "sha256" / eigen["sha256"])
        (short / "manifest.json").write_text(json.dumps(
            {**manifest, "entries": [e for e in manifest["entries"] if e is not eigen]}))
        missing = run("build", *common(fixture_repo, work_dir, short_ns), "--output", str(tmp_path / "c"),
                      "--force", "--deps", str(short))
        assert missing.code == 42, missing.stderr[-3000:]
        error = next(ln for ln in missing.stderr.splitlines() if ln.startswith("error:"))
        assert "@eigen_archive" in error and eigen["url"] in error
        assert f"tfwheelbuild fetch --tf 2.18.0 --py 3.11 --out {short}" in missing.stderr
        assert not (tmp_path / "c").exists() or not list((tmp_path / "c").glob("*.whl"))
    finally:
        remove_volumes(connected_ns, offline_ns, short_ns)


def test_bazel_mirror_that_refuses_or_is_gone_fails_before_any_work(fixture_repo: Path, work_dir: Path,
                                                                    tmp_path: Path) -> None:
    locked = DepServer(auth=("builder", "s3cret-mirror"))
    try:
        refused = run("build", *common(fixture_repo, work_dir, "depm"), "--output", str(tmp_path / "o"),
                      "--force", "--bazel-mirror", locked.url)
    finally:
        locked.stop()
    assert refused.code == 43, refused.stderr[-2000:]
    assert "refuses access (HTTP 401)" in refused.stderr
    assert not (tmp_path / "o").exists()
    gone = run("build", *common(fixture_repo, work_dir, "depm"), "--output", str(tmp_path / "o"),
               "--force", "--bazel-mirror", locked.url)
    assert gone.code == 43 and "does not answer" in gone.stderr, gone.stderr[-2000:]
    assert not (tmp_path / "o").exists()
