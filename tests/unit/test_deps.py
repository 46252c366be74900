"""Deps bundles: manifest, identity, corruption and the offline build's missing-archive line; the
Bazel mirror's URL, downloader config and probe. Pure logic, a loopback server, no engine."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from tfwheelbuild.artifacts import deps
from tfwheelbuild.cli import main
from tfwheelbuild.errors import DepsCorruptError, DepsMismatchError, MirrorError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IDENTITY = deps.Identity(release="2.18.0", python="3.11", bazel="4.2.3")


def make_bundle(root: Path, blobs: dict[str, bytes], identity: deps.Identity = IDENTITY) -> Path:
    entries = []
    for repo, data in blobs.items():
        sha = hashlib.sha256(data).hexdigest()
        path = deps.cache_file(root, sha)
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        entries.append(deps.Entry(sha256=sha, size=len(data), repository=repo, url=f"https://example.invalid/{repo}"))
    deps.write_manifest(root, deps.Manifest(identity=identity, entries=tuple(entries)))
    return root


def test_bundle_manifest_round_trips_and_is_written_by_rename(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, {"eigen_archive": b"eigen", "com_google_absl": b"absl"})
    manifest = deps.read_manifest(bundle)
    assert manifest.identity == IDENTITY
    assert [e.repository for e in manifest.entries] == ["com_google_absl", "eigen_archive"]
    assert sorted(p.name for p in bundle.iterdir()) == ["manifest.json", "repository_cache"]
    assert deps.scan_cache(bundle) == {e.sha256: e.size for e in manifest.entries}
    deps.verify(bundle, manifest)


def test_directory_without_a_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(DepsMismatchError, match=r"no manifest\.json"):
        deps.read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DepsMismatchError, match="not a deps bundle manifest"):
        deps.read_manifest(tmp_path)


def test_identity_mismatch_names_every_differing_field_and_the_fetch_command(tmp_path: Path) -> None:
    found = deps.Identity(release="2.17.0", python="3.12", bazel="4.2.3")
    with pytest.raises(DepsMismatchError) as info:
        deps.check_identity(tmp_path, found, IDENTITY)
    assert "release 2.17.0 (this build: 2.18.0)" in info.value.message
    assert "python 3.12 (this build: 3.11)" in info.value.message and "bazel" not in info.value.message
    assert f"tfwheelbuild fetch --tf 2.18.0 --py 3.11 --out {tmp_path}" in info.value.remedy
    other_bazel = deps.Identity(release="2.18.0", python="3.11", bazel="6.5.0")
    deps.check_identity(tmp_path, other_bazel, IDENTITY, bazel_known=False)
    with pytest.raises(DepsMismatchError, match=r"bazel 6\.5\.0 \(this build: 4\.2\.3\)"):
        deps.check_identity(tmp_path, other_bazel, IDENTITY)


def test_corrupt_or_lacking_archive_is_refused_before_use(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, {"eigen_archive": b"eigen"})
    manifest = deps.read_manifest(bundle)
    path = deps.cache_file(bundle, manifest.entries[0].sha256)
    path.write_bytes(b"eigeN")
    with pytest.raises(DepsCorruptError, match="corrupt, refused"):
        deps.verify(bundle, manifest)
    path.unlink()
    with pytest.raises(DepsCorruptError, match="lacks eigen_archive"):
        deps.verify(bundle, manifest)


# Bazel 4.2.3's own words (from the offline e2e): the repository is named on a line above the URL.
BAZEL4_MISSING = """\
ERROR: An error occurred during the fetch of repository 'eigen_archive':
   Traceback (most recent call last):
  Error in download_and_extract: java.io.IOException: Error downloading \
[https://deps.example.invalid/eigen/archive/eigen-3.4.90.tar] to /tfwb/cache/bazel/root/9e4a/external/eigen_archive/\
temp1/eigen-3.4.90.tar: Unknown host: deps.example.invalid
""".splitlines()


def test_missing_archive_names_the_repository_from_bazels_lines_above_the_url() -> None:
    assert deps.missing_archive(BAZEL4_MISSING) == (
        "eigen_archive", "https://deps.example.invalid/eigen/archive/eigen-3.4.90.tar")
    assert deps.missing_archive(["no such package '@com_google_absl//': java.io.IOException: Error downloading "
                                 "[https://example.invalid/a.tar, https://mirror.invalid/a.tar] to /x: refused"]) == (
        "com_google_absl", "https://example.invalid/a.tar")
    assert deps.missing_archive(["ERROR: compile failed"]) is None
    error = deps.missing_error(BAZEL4_MISSING, IDENTITY, Path("/b"))
    assert error is not None and error.exit_code == 42
    assert "@eigen_archive (https://deps.example.invalid/eigen/archive/eigen-3.4.90.tar)" in error.message
    assert "tfwheelbuild fetch --tf 2.18.0 --py 3.11 --out /b" in error.remedy


def test_resolved_file_names_repositories_and_fills_url_templates_with_the_python() -> None:
    sha_a, sha_py, sha_other = "a" * 64, "b" * 64, "c" * 64
    resolved = f"""resolved = [
    {{"original_rule_class": "@bazel_tools//tools/build_defs/repo:http.bzl%http_archive",
      "original_attributes": {{"name": "eigen_archive", "urls": ["https://example.invalid/e.tar"],
                              "sha256": "{sha_a}"}}}},
    {{"original_rule_class": "//third_party/py:python_archive.bzl%python_interpreter_archive",
      "original_attributes": {{"name": "python_x", "url_template": "https://example.invalid/cpython-{{version}}.tar",
                              "sha256s": {{"3.11": "{sha_py}"}}}}}},
    {{"original_rule_class": "local_repository", "original_attributes": {{"name": "local", "path": "/x",
      "flag": True, "nothing": None}}}},
]"""
    parsed = deps.parse_resolved(resolved)
    entries = deps.entries_for({sha_a: 5, sha_py: 7, sha_other: 9}, parsed, "3.11")
    assert [(e.repository, e.url, e.size) for e in entries] == [
        ("eigen_archive", "https://example.invalid/e.tar", 5),
        ("python_x", "https://example.invalid/cpython-3.11.tar", 7),
        ("", "", 9)]
    assert deps.parse_resolved("not starlark at all [") == {}


def test_fixture_workspace_pins_the_archives_deps_archives_makes() -> None:
    sys.path.insert(0, str(FIXTURES))
    from deps_archives import HOST, sha256s

    workspace = (FIXTURES / "styles" / "2.18" / "WORKSPACE").read_text()
    pinned = set(re.findall(r'"([0-9a-f]{64})"', workspace))
    assert pinned == set(sha256s().values())
    assert f"https://{HOST}/" in workspace


def test_fixture_locks_pin_the_wheel_deps_archives_makes() -> None:
    sys.path.insert(0, str(FIXTURES))
    from deps_archives import PYTHONS, lock, wheel

    for python in PYTHONS:
        text = (FIXTURES / "styles" / "2.18" / f"requirements_lock_{python.replace('.', '_')}.txt").read_text()
        assert text == lock(python)
    assert wheel() == wheel()  # byte-for-byte: the lock's hash holds on every host


def test_mirror_url_without_credentials_and_the_downloader_config() -> None:
    assert deps.check_mirror_url("http://127.0.0.1:8081/artifactory/deps/") == "http://127.0.0.1:8081/artifactory/deps"
    for bad in ("ftp://mirror.invalid", "mirror.invalid/deps", "https://user:pw@mirror.invalid"):
        with pytest.raises(MirrorError):
            deps.check_mirror_url(bad)
    assert deps.downloader_config("http://m.invalid/r") == "rewrite (.*) http://m.invalid/r/$1\n"


class _Server:
    def __init__(self, status: int) -> None:
        self.auth: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.auth.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture()
def refusing_mirror() -> Iterator[_Server]:
    server = _Server(401)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_mirror_probe_refused_gone_and_credentials_from_netrc_only(refusing_mirror: _Server, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login builder password s3cret\n")
    with pytest.raises(MirrorError, match=r"refuses access \(HTTP 401\) with the ~/.netrc credentials") as info:
        deps.probe_mirror(refusing_mirror.url, netrc_path=netrc)
    assert "s3cret" not in info.value.message
    assert refusing_mirror.auth[-1] is not None and refusing_mirror.auth[-1].startswith("Basic ")
    with pytest.raises(MirrorError, match="has no credentials"):
        deps.probe_mirror(refusing_mirror.url, netrc_path=tmp_path / "none")
    refusing_mirror.httpd.shutdown()
    refusing_mirror.httpd.server_close()
    with pytest.raises(MirrorError, match="does not answer"):
        deps.probe_mirror(refusing_mirror.url, timeout=2)


def build_with_deps(tmp_path: Path, bundle: Path) -> tuple[int, str]:
    work = tmp_path / "work"
    result = CliRunner().invoke(main, ["build", "--tf", "2.18.0", "--py", "3.11", "--deps", str(bundle),
                                       "--work-dir", str(work), "--output", str(tmp_path / "out")],
                                env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert not work.exists() and not (tmp_path / "out").exists()  # nothing started, nothing written
    return result.exit_code, result.output


def test_build_refuses_another_builds_or_a_corrupt_bundle_before_any_work(tmp_path: Path) -> None:
    other = make_bundle(tmp_path / "other", {"eigen_archive": b"eigen"},
                        deps.Identity(release="2.18.0", python="3.12", bazel="4.2.3"))
    code, output = build_with_deps(tmp_path, other)
    assert code == 40 and "python 3.12 (this build: 3.11)" in output and "Traceback" not in output
    corrupt = make_bundle(tmp_path / "corrupt", {"eigen_archive": b"eigen"})
    deps.cache_file(corrupt, hashlib.sha256(b"eigen").hexdigest()).write_bytes(b"EIGEN")
    code, output = build_with_deps(tmp_path, corrupt)
    assert code == 41 and "corrupt, refused" in output
    code, output = build_with_deps(tmp_path, tmp_path / "nowhere")
    assert code == 40 and "is not a directory" in output



def test_plan_with_a_bundle_uses_it_as_the_repository_cache_and_keeps_the_build_key() -> None:
    from tfwheelbuild.core.key import build_key
    from tfwheelbuild.plan import CACHE, DEPS_CACHE, BuildOptions, BuildPlan, make_plan
    from tfwheelbuild.recipes import recipe_for

    def plan(**kw: object) -> BuildPlan:
        opts = BuildOptions(tf_version="2.18.0", python="3.11", **kw)  # type: ignore[arg-type]
        return make_plan(opts, recipe_for("2.18.0"), patches=(), engine_cpus=2, engine_mem=8 << 30)

    offline, connected = plan(deps=Path("/bundles/b")), plan(bazel_mirror="http://127.0.0.1:8081/deps")
    assert f"--repository_cache={DEPS_CACHE}" in offline.compile.bazel_build and offline.compile.deps
    assert f"--repository_cache={CACHE}/bazel/repo" in connected.compile.bazel_build
    assert connected.compile.mirror_loopback
    assert not plan(bazel_mirror="https://m.invalid/deps").compile.mirror_loopback
    # Where the archives come from is not what the wheel is made of: one build key, one wheel.
    assert build_key(offline, "c0ffee", "sha256:b") == build_key(connected, "c0ffee", "sha256:b") == build_key(
        plan(), "c0ffee", "sha256:b")
