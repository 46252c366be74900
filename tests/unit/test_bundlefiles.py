"""A deps bundle's wheels and Bazel binaries: the host's pip against a loopback index, Bazel from a
loopback mirror in Bazelisk's layout, and the flags and environment that hand them to Bazel. No engine."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.integration.depserver import DepServer
from tfwheelbuild.artifacts import bundlefiles, deps
from tfwheelbuild.errors import DepsCorruptError, DepsMissingError
from tfwheelbuild.pipeline.stages.bazelcmd import bazel_env, pip_flags
from tfwheelbuild.plan import BuildOptions, make_plan
from tfwheelbuild.recipes import recipe_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOCK = FIXTURES / "styles" / "2.18" / "requirements_lock_3_11.txt"
IDENTITY = deps.Identity(release="2.18.0", python="3.11", bazel="4.2.3")


@pytest.fixture()
def depserver() -> Iterator[DepServer]:
    server = DepServer()
    yield server
    server.stop()


@pytest.mark.allow_subprocess  # the host's own pip, as `fetch` runs it
def test_the_locks_wheels_land_in_the_bundle_for_both_builder_machines(depserver: DepServer, tmp_path: Path) -> None:
    entries = bundlefiles.download_wheels(tmp_path, LOCK, "3.11", depserver.index_url)
    # A pure-Python wheel: the same file serves aarch64 and x86_64, so one entry.
    assert [(e.kind, e.path) for e in entries] == [("wheel", "wheels/tfwb_fixture_dep-1.0-py3-none-any.whl")]
    wheel = tmp_path / entries[0].path
    assert entries[0].sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entries[0].sha256 in LOCK.read_text()
    # Once: the pure-Python file pip chose for aarch64 serves x86_64 too, so the second machine is skipped.
    assert len(depserver.wheel_downloads()) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".incoming")]  # staging gone
    # A second fetch adds only what is missing: every pin has its file for both machines, so pip is not run.
    assert bundlefiles.download_wheels(tmp_path, LOCK, "3.11", depserver.index_url) == entries
    assert len(depserver.wheel_downloads()) == 1


def test_a_pin_counts_as_bundled_only_with_an_allowed_file_for_that_machine() -> None:
    lock = ("numpy==2.1.0 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n    # via -r requirements.in\n"
            "absl-py==2.1.0 \\\n    --hash=sha256:ccc\n")
    pins = bundlefiles.lock_pins(lock)
    assert pins == {"numpy==2.1.0": {"aaa", "bbb"}, "absl-py==2.1.0": {"ccc"}}
    have = {"aaa": "numpy-2.1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            "ccc": "absl_py-2.1.0-py3-none-any.whl"}
    assert bundlefiles.covered(pins, have, "aarch64")
    assert not bundlefiles.covered(pins, have, "x86_64")  # numpy's x86_64 wheel is not there
    assert not bundlefiles.covered(pins, {"zzz": "numpy-2.1.0-cp311-none-any.whl"}, "aarch64")  # not in the lock


@pytest.mark.allow_subprocess
def test_a_lock_the_index_cannot_satisfy_is_one_line_and_leaves_nothing(depserver: DepServer,
                                                                         tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(LOCK.read_text().replace("tfwb-fixture-dep==1.0", "tfwb-fixture-dep==9.9"))
    with pytest.raises(DepsMissingError, match=r"pip cannot download the requirements lock's wheels for Python 3\.11"):
        bundlefiles.download_wheels(tmp_path / "b", lock, "3.11", depserver.index_url)
    assert not list((tmp_path / "b" / "wheels").iterdir())


def test_pip_gets_the_lock_per_machine_and_never_the_index_in_argv() -> None:
    command = bundlefiles.pip_download_command(LOCK, Path("/d"), "3.12", "aarch64")
    assert command[1:4] == ["-m", "pip", "download"] and "--require-hashes" in command and "--no-deps" in command
    assert command[command.index("--python-version"):][:2] == ["--python-version", "3.12"]
    tags = [command[i + 1] for i, a in enumerate(command) if a == "--platform"]
    assert "manylinux2014_aarch64" in tags and "manylinux_2_17_aarch64" in tags and "manylinux_2_36_aarch64" in tags
    assert not any("x86_64" in t for t in tags) and "--index-url" not in command


class _BazelMirror:
    """Bazelisk's layout: <base>/<version>/bazel-<version>-linux-<arch> and its .sha256."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(inner) -> None:
                data = files.get(inner.path)
                inner.send_response(200 if data is not None else 404)
                inner.end_headers()
                if data is not None:
                    inner.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _bazel_files(version: str, *, lie: bool = False) -> dict[str, bytes]:
    files = {}
    for arch in ("arm64", "x86_64"):
        blob = f"#!/bin/sh\necho bazel {version} {arch}\n".encode()
        digest = hashlib.sha256(b"other" if lie else blob).hexdigest()
        files[f"/{version}/bazel-{version}-linux-{arch}"] = blob
        files[f"/{version}/bazel-{version}-linux-{arch}.sha256"] = f"{digest}  bazel-{version}-linux-{arch}\n".encode()
    return files


def test_bazel_binaries_come_from_bazelisks_mirror_checked_and_laid_out_as_its_cache(tmp_path: Path) -> None:
    mirror = _BazelMirror(_bazel_files("7.4.1"))
    try:
        entries = bundlefiles.download_bazel(tmp_path, "7.4.1", mirror.url)
        assert [e.path for e in entries] == ["bazel/linux-arm64/7.4.1/bazel", "bazel/linux-x86_64/7.4.1/bazel"]
        for entry in entries:
            path = deps.entry_file(tmp_path, entry)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256 and path.stat().st_mode & 0o111
            assert entry.kind == "bazel" and entry.url.startswith(mirror.url)
        with pytest.raises(DepsMissingError, match=r"cannot download Bazel 9\.9\.9 for linux-arm64"):
            bundlefiles.download_bazel(tmp_path, "9.9.9", mirror.url)
    finally:
        mirror.stop()
    liar = _BazelMirror(_bazel_files("7.4.1", lie=True))
    try:
        with pytest.raises(DepsMissingError, match=r"does not match its \.sha256"):
            bundlefiles.download_bazel(tmp_path / "other", "7.4.1", liar.url)
        assert not [p for p in (tmp_path / "other").rglob("*") if p.is_file()]  # nothing that failed its check is kept
    finally:
        liar.stop()


def test_a_corrupt_wheel_or_a_path_outside_the_bundle_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "wheels" / "x-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"wheel")
    good = deps.Entry(kind="wheel", path="wheels/x-1.0-py3-none-any.whl", sha256=hashlib.sha256(b"wheel").hexdigest(),
                      size=5, repository="pip")
    deps.verify(tmp_path, deps.Manifest(identity=IDENTITY, entries=(good,)))
    wheel.write_bytes(b"WHEEL")
    with pytest.raises(DepsCorruptError, match="corrupt, refused"):
        deps.verify(tmp_path, deps.Manifest(identity=IDENTITY, entries=(good,)))
    escaping = deps.Entry(kind="wheel", path="../etc/passwd", sha256=good.sha256, size=5)
    with pytest.raises(DepsCorruptError, match="outside itself"):
        deps.verify(tmp_path, deps.Manifest(identity=IDENTITY, entries=(escaping,)))


def _ctx(tmp_path: Path, bazel: str = "6.5.0", **kw: Any) -> Any:
    opts = BuildOptions(tf_version="2.18.0", python="3.11", mode="cross", **kw)
    plan = make_plan(opts, recipe_for("2.18.0"), patches=(), engine_cpus=2, engine_mem=8 << 30, engine_arch="x86_64")
    return SimpleNamespace(plan=plan, bazel_version=bazel)


def test_bazels_pip_gets_the_index_in_its_environment_or_the_bundles_wheels_offline(tmp_path: Path) -> None:
    secret = "https://user:s3cret@pypi.example.invalid/simple"
    connected = _ctx(tmp_path, index_url=secret)
    assert pip_flags(connected) == ["--repo_env=RULES_PYTHON_PIP_ISOLATED=0", "--repo_env=PIP_INDEX_URL"]
    assert bazel_env(connected)["PIP_INDEX_URL"] == secret  # the credentials stay out of argv and the manifest
    # Bazel before 5.3 crashes on --repo_env=NAME (bazel#15430); its repository rules see the whole environment.
    assert pip_flags(_ctx(tmp_path, bazel="4.2.3", index_url=secret)) == ["--repo_env=RULES_PYTHON_PIP_ISOLATED=0"]
    assert _ctx(tmp_path, index_url=secret, bazel_pip_index="http://127.0.0.1:9/simple").plan.compile.mirror_loopback
    assert pip_flags(_ctx(tmp_path)) == []  # upstream's isolated pip and its PyPI

    bundle = tmp_path / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    (bundle / "bazel" / "linux-x86_64").mkdir(parents=True)
    offline = _ctx(tmp_path, deps=bundle, index_url=secret)
    assert pip_flags(offline) == ["--repo_env=RULES_PYTHON_PIP_ISOLATED=0", "--repo_env=PIP_NO_INDEX=1",
                                  "--repo_env=PIP_FIND_LINKS=/tfwb/deps/wheels"]
    env = bazel_env(offline)
    assert "PIP_INDEX_URL" not in env
    # The cross builder is x86_64: bazelisk-py looks for a Bazel the image lacks in the bundle's x86_64 binaries.
    assert env["TFWB_BAZEL_CACHE"] == "/tfwb/deps/bazel/linux-x86_64"
    assert pip_flags(_ctx(tmp_path, deps=tmp_path)) == []  # a bundle without wheels: a release without a lock


def test_the_mirrors_netrc_line_alone_goes_to_the_build_user_and_never_to_argv(tmp_path: Path,
                                                                                 monkeypatch: Any) -> None:
    from tests.unit.fakes import FakeEngine, make_context
    from tfwheelbuild.pipeline.stages.bazelcmd import build_arguments

    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine mirror.example.invalid login ci password s3cret\n"
                                 "machine other.example.invalid login x password unrelated\n")
    monkeypatch.setenv("HOME", str(home))
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine, bazel_mirror="https://mirror.example.invalid/deps")
    ctx.container, ctx.bazel_version = "c1", "6.5.0"
    argv = build_arguments(ctx)
    assert engine.put["/home/tfwb"] == {".netrc": b"machine mirror.example.invalid login ci password s3cret\n"}
    put = next(c for c in engine.calls if c.method == "put_files" and c.extra["dest"] == "/home/tfwb")
    assert put.extra["private_to"] == 10001  # mode 0600, the build user's own
    assert "--experimental_downloader_config=/tmp/tfwb-downloader.cfg" in argv
    assert "s3cret" not in " ".join(argv) and "s3cret" not in ctx.log.path.read_text()
