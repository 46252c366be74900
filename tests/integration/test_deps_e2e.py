"""Air-gapped builds for real: fetch a deps bundle through a mirror, stop the mirror, build with
--deps and no network at all, and get the connected build's wheel byte for byte.

The 2.18-style fixture downloads two http_archives and a hermetic interpreter archive from a host
that never resolves (deps.example.invalid), so every byte has to come through --bazel-mirror (a
loopback server this test starts) or the bundle; and its requirements lock is installed by pip inside
a repository rule (TF's pip_parse), from the index --bazel-pip-index names (the same loopback server)
or, offline, from the bundle's wheels. Cross mode: nothing here needs emulation.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
import zipfile
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
                        "--force", "--bazel-mirror", server.url, "--bazel-pip-index", server.index_url)
        assert connected.code == 0, connected.stderr[-3000:]
        # Every download went through the mirror, as MIRROR/<original host>/<path>; Bazel's pip took the lock's
        # wheel from the index, which reached it in the environment, not on the command line.
        assert server.downloads() and all(p.startswith("/deps.example.invalid/") for p in server.downloads())
        assert server.wheel_downloads()
        argv = json.loads(Path(f"{connected.json()['wheel']}.manifest.json").read_text())["bazel"]["argv"]
        assert "--repo_env=RULES_PYTHON_PIP_ISOLATED=0" in argv and server.index_url not in " ".join(argv)

        fetched = run("fetch", *common(fixture_repo, work_dir, connected_ns), "--out", str(bundle),
                      "--bazel-mirror", server.url, "--bazel-pip-index", server.index_url)
        assert fetched.code == 0, fetched.stderr[-3000:]
        assert fetched.json()["archives"] == 3 and fetched.json()["added"] == 3
        # The lock's one wheel (pure Python: the same file for both builder machines); Debian's Bazel 4.2.3
        # is the builder image's own, so no binary is carried.
        assert fetched.json()["wheels"] == 1 and fetched.json()["bazel_binaries"] == 0
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["identity"] == {"release": "2.18.0", "python": "3.11", "bazel": "4.2.3"}
        archives = [e for e in manifest["entries"] if e["kind"] == "archive"]
        assert {e["repository"] for e in archives} == {
            "com_google_absl", "eigen_archive", "python_aarch64-unknown-linux-gnu"}
        assert all(e["url"].startswith("https://deps.example.invalid/") and e["size"] > 0 for e in archives)
        assert any("cpython-3.11-" in e["url"] for e in archives)
        wheel = next(e for e in manifest["entries"] if e["kind"] == "wheel")
        assert wheel["path"] == "wheels/tfwb_fixture_dep-1.0-py3-none-any.whl"
        assert wheel["sha256"] == sha256(bundle / wheel["path"])

        # A second fetch downloads nothing: the bundle seeds Bazel's cache.
        before = len(server.downloads())
        again = run("fetch", *common(fixture_repo, work_dir, connected_ns), "--out", str(bundle),
                    "--bazel-mirror", server.url, "--bazel-pip-index", server.index_url)
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
        with zipfile.ZipFile(b) as built:  # the lock's package reached the wheel, installed from the bundle
            notices = next(n for n in built.namelist() if n.endswith("THIRD_PARTY_NOTICES.txt"))
            assert "tfwb-fixture-dep 1.0: installed by Bazel's pip" in built.read(notices).decode()
        offline_argv = json.loads(Path(f"{b}.manifest.json").read_text())["bazel"]["argv"]
        assert "--repo_env=PIP_FIND_LINKS=/tfwb/deps/wheels" in offline_argv

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


def test_credentials_come_from_netrc_and_the_environment_only(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    """Bazel's pip gets an index whose URL carries credentials in the environment only; a mirror that wants
    credentials gets ~/.netrc's entry for its host (Bazel 5.1+), and with the fixture's Debian Bazel 4.2.3,
    which never sends them to a rewritten URL (bazel#13111), it is one line before Bazel runs. No secret
    reaches the command line, the log or the manifest."""
    secret = "s3cret-mirror"
    mirror, index_server = DepServer(), DepServer(auth=("builder", secret))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine 127.0.0.1 login builder password {secret}\n"
                                 "machine other.example.invalid login x password not-for-the-container\n")
    (home / ".netrc").chmod(0o600)
    index = index_server.index_url.replace("http://", f"http://builder:{secret}@")
    namespace = f"depn{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "HOME": str(home),
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")}
    try:
        built = tfwheelbuild("build", *common(fixture_repo, work_dir, namespace), "--output", str(tmp_path / "o"),
                             "--force", "--bazel-mirror", mirror.url, "--bazel-pip-index", index, env=env)
        assert built.code == 0, built.stderr[-3000:]
        assert mirror.downloads() and index_server.wheel_downloads()  # the wheel came through the locked index
        wheel = Path(str(built.json()["wheel"]))
        log = Path(str(built.json()["log"])).read_text()
        for text in (built.stdout, built.stderr, log, Path(f"{wheel}.manifest.json").read_text()):
            assert secret not in text

        locked = tfwheelbuild("build", *common(fixture_repo, work_dir, namespace), "--output", str(tmp_path / "p"),
                              "--force", "--bazel-mirror", index_server.url, env=env)
        assert locked.code == 43, locked.stderr[-3000:]
        error = next(ln for ln in locked.stderr.splitlines() if ln.startswith("error:"))
        assert "wants credentials, and Bazel 4.2.3 does not send ~/.netrc credentials to rewritten URLs" in error
        assert "bazel#13111" in error and secret not in locked.stderr and "Traceback" not in locked.stderr
        assert not (tmp_path / "p").exists() or not list((tmp_path / "p").glob("*.whl"))
    finally:
        mirror.stop()
        index_server.stop()
        remove_volumes(namespace)


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


def test_a_bazel_the_builder_lacks_runs_from_the_bundle_with_the_network_off(tmp_path: Path) -> None:
    """bazelisk-py in the real cross builder, network none: a Bazel version the image does not have resolves to
    the bundle's binary (bazel/linux-x86_64/<version>/bazel, where `fetch` puts it), never to a download."""
    builders = subprocess.run(["docker", "images", "-q", "--filter", "label=org.tfwheelbuild.role=builder-cross"],
                              capture_output=True, text=True, check=True).stdout.split()
    if not builders:
        pytest.skip("no cross builder image yet (the deps build above makes one)")
    binary = tmp_path / "bundle" / "bazel" / "linux-x86_64" / "7.4.1" / "bazel"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho bundled-bazel-7.4.1 \"$@\"\n")
    binary.chmod(0o755)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "WORKSPACE").write_text("")
    (tmp_path / "ws" / ".bazelversion").write_text("7.4.1\n")
    run_in = ["docker", "run", "--rm", "--network", "none", "-v", f"{tmp_path / 'bundle'}:/tfwb/deps:ro",
              "-v", f"{tmp_path / 'ws'}:/ws:ro", "-w", "/ws", "-e", "TFWB_BAZEL_CACHE=/tfwb/deps/bazel/linux-x86_64",
              builders[0]]
    resolved = subprocess.run([*run_in, "bazel", "--tfwb-resolve"], capture_output=True, text=True, check=False)
    assert resolved.returncode == 0, resolved.stderr
    assert resolved.stdout.split() == ["7.4.1", "/tfwb/deps/bazel/linux-x86_64/7.4.1/bazel"]
    ran = subprocess.run([*run_in, "bazel", "version"], capture_output=True, text=True, check=False)
    assert ran.stdout.strip() == "bundled-bazel-7.4.1 version", ran.stderr
