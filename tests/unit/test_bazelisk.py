"""bazelisk-py: version resolution, URLs, checksums, and where the binary comes from."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from tfwheelbuild.buildenv import bazelisk
from tfwheelbuild.buildenv.bazelisk import (
    DEFAULT_BASE_URL,
    BazelResolveError,
    download_url,
    machine_arch,
    parse_sha256_file,
    resolve,
    wanted_version,
)

FAKE_BAZEL = b"#!/bin/sh\necho fake bazel\n"
VERSION = "7.4.1"


# ---------------------------------------------------------------------------------- wanted_version


def test_use_bazel_version_wins(tmp_path: Path) -> None:
    (tmp_path / ".bazelversion").write_text("6.5.0\n")
    assert wanted_version(tmp_path, {"USE_BAZEL_VERSION": " 7.4.1 "}) == "7.4.1"


def test_bazelversion_in_workspace(tmp_path: Path) -> None:
    (tmp_path / "WORKSPACE").write_text("")
    (tmp_path / ".bazelversion").write_text("6.5.0\n# trailing comment line\n")
    assert wanted_version(tmp_path, {"USE_BAZEL_VERSION": "  "}) == "6.5.0"


def test_bazelversion_found_in_parent_up_to_workspace(tmp_path: Path) -> None:
    (tmp_path / "WORKSPACE").write_text("")
    (tmp_path / ".bazelversion").write_text("6.1.0\n")
    sub = tmp_path / "tensorflow" / "core"
    sub.mkdir(parents=True)
    assert wanted_version(sub, {}) == "6.1.0"


def test_search_stops_at_the_workspace_root(tmp_path: Path) -> None:
    (tmp_path / ".bazelversion").write_text("5.3.0\n")  # above the workspace: must not be used
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "MODULE.bazel").write_text("")
    with pytest.raises(BazelResolveError, match=r"no USE_BAZEL_VERSION and no \.bazelversion"):
        wanted_version(ws / "pkg", {})


def test_no_version_anywhere(tmp_path: Path) -> None:
    (tmp_path / "WORKSPACE").write_text("")
    (tmp_path / ".bazelversion").write_text("\n")  # empty: not a version
    with pytest.raises(BazelResolveError):
        wanted_version(tmp_path, {})


# ---------------------------------------------------------------------------------- URLs and checksums


def test_download_url_default() -> None:
    assert download_url(DEFAULT_BASE_URL, "7.4.1", "arm64") == (
        "https://releases.bazel.build/7.4.1/release/bazel-7.4.1-linux-arm64")


@pytest.mark.parametrize("base", ["https://mirror.example/bazel", "https://mirror.example/bazel/"])
def test_download_url_custom(base: str) -> None:
    assert download_url(base, "6.5.0", "arm64") == "https://mirror.example/bazel/6.5.0/bazel-6.5.0-linux-arm64"


def test_parse_sha256_file() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert parse_sha256_file(digest + "\n") == digest
    assert parse_sha256_file(f"{digest.upper()}  bazel-7.4.1-linux-arm64\n") == digest


@pytest.mark.parametrize("text", ["", "   \n", "abc123  bazel\n", "z" * 64, "<html>404 Not Found</html>"])
def test_parse_sha256_file_malformed(text: str) -> None:
    with pytest.raises(BazelResolveError, match="malformed"):
        parse_sha256_file(text)


# ---------------------------------------------------------------------------------- resolve


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"TFWB_BAZEL_DIR": str(tmp_path / "registered"), "TFWB_BAZEL_CACHE": str(tmp_path / "cache"),
            "BAZELISK_BASE_URL": "http://127.0.0.1:9/unused", **extra}


def test_resolve_prefers_a_registered_binary_with_its_rc(tmp_path: Path) -> None:
    reg = tmp_path / "registered"
    reg.mkdir()
    (reg / f"bazel-{VERSION}").write_bytes(FAKE_BAZEL)
    (reg / f"bazel-{VERSION}.bazelrc").write_text("build --override_repository=x=/y\n")
    cached = tmp_path / "cache" / VERSION / "bazel"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(FAKE_BAZEL)
    assert resolve(VERSION, _env(tmp_path)) == (reg / f"bazel-{VERSION}", reg / f"bazel-{VERSION}.bazelrc")


def test_resolve_registered_without_rc(tmp_path: Path) -> None:
    reg = tmp_path / "registered"
    reg.mkdir()
    (reg / f"bazel-{VERSION}").write_bytes(FAKE_BAZEL)
    assert resolve(VERSION, _env(tmp_path)) == (reg / f"bazel-{VERSION}", None)


def test_resolve_uses_the_cache(tmp_path: Path) -> None:
    (tmp_path / "registered").mkdir()
    (tmp_path / "registered" / "bazel-4.2.3").write_bytes(FAKE_BAZEL)  # another version: ignored
    cached = tmp_path / "cache" / VERSION / "bazel"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(FAKE_BAZEL)
    assert resolve(VERSION, _env(tmp_path)) == (cached, None)


# ---------------------------------------------------------------------------------- download (loopback HTTP)


@pytest.fixture
def mirror(static_server: tuple[str, Path]) -> tuple[str, Path]:
    """(base URL, served directory) of an HTTP server on 127.0.0.1 laid out as Bazelisk expects."""
    url, root = static_server
    return f"{url}/bazel", root


def _publish(root: Path, version: str, blob: bytes, digest: str) -> None:
    name = f"bazel-{version}-linux-{machine_arch()}"
    folder = root / "bazel" / version
    folder.mkdir(parents=True)
    (folder / name).write_bytes(blob)
    (folder / f"{name}.sha256").write_text(f"{digest}  {name}\n")


def test_resolve_downloads_verifies_and_caches(tmp_path: Path, mirror: tuple[str, Path]) -> None:
    base, root = mirror
    _publish(root, VERSION, FAKE_BAZEL, hashlib.sha256(FAKE_BAZEL).hexdigest())
    binary, rc = resolve(VERSION, _env(tmp_path, BAZELISK_BASE_URL=base))
    assert binary == tmp_path / "cache" / VERSION / "bazel"
    assert rc is None
    assert binary.read_bytes() == FAKE_BAZEL
    assert binary.stat().st_mode & 0o111
    assert sorted(p.name for p in binary.parent.iterdir()) == ["bazel"]  # no temp file left behind


def test_resolve_download_sha256_mismatch(tmp_path: Path, mirror: tuple[str, Path]) -> None:
    base, root = mirror
    wrong = hashlib.sha256(b"something else").hexdigest()
    _publish(root, VERSION, FAKE_BAZEL, wrong)
    with pytest.raises(BazelResolveError) as info:
        resolve(VERSION, _env(tmp_path, BAZELISK_BASE_URL=base))
    message = str(info.value)
    assert "sha256 mismatch" in message
    assert wrong in message
    assert hashlib.sha256(FAKE_BAZEL).hexdigest() in message
    assert not (tmp_path / "cache" / VERSION / "bazel").exists()


def test_resolve_download_missing_version(tmp_path: Path, mirror: tuple[str, Path]) -> None:
    base, _ = mirror
    with pytest.raises(BazelResolveError, match=f"needs Bazel {VERSION}.*404"):
        resolve(VERSION, _env(tmp_path, BAZELISK_BASE_URL=base))


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_resolve_unreachable_base_url_names_version_and_what_the_image_has(tmp_path: Path) -> None:
    reg = tmp_path / "registered"
    reg.mkdir()
    (reg / "bazel-4.2.3").write_bytes(FAKE_BAZEL)
    (reg / "bazel-4.2.3.bazelrc").write_text("")
    env = _env(tmp_path, BAZELISK_BASE_URL=f"http://127.0.0.1:{_closed_port()}/bazel")
    with pytest.raises(BazelResolveError) as info:
        resolve(VERSION, env)
    message = str(info.value)
    assert f"needs Bazel {VERSION}" in message
    assert "the builder image has 4.2.3 and" in message
    assert "cannot download" in message


def test_resolve_unreachable_with_nothing_registered(tmp_path: Path) -> None:
    env = _env(tmp_path, BAZELISK_BASE_URL=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(BazelResolveError, match="the builder image has none"):
        resolve(VERSION, env)


# ---------------------------------------------------------------------------------- main


def _main_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    reg = tmp_path / "registered"
    reg.mkdir()
    monkeypatch.setenv("TFWB_BAZEL_DIR", str(reg))
    monkeypatch.setenv("TFWB_BAZEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("USE_BAZEL_VERSION", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "WORKSPACE").write_text("")
    (ws / ".bazelversion").write_text(f"{VERSION}\n")
    monkeypatch.chdir(ws)
    return reg


def test_main_resolve_prints_version_path_and_rc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    reg = _main_env(tmp_path, monkeypatch)
    (reg / f"bazel-{VERSION}").write_bytes(FAKE_BAZEL)
    (reg / f"bazel-{VERSION}.bazelrc").write_text("")
    assert bazelisk.main(["--tfwb-resolve"]) == 0
    assert capsys.readouterr().out == f"{VERSION} {reg / f'bazel-{VERSION}'} {reg / f'bazel-{VERSION}.bazelrc'}\n"


def test_main_resolve_without_rc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    reg = _main_env(tmp_path, monkeypatch)
    monkeypatch.setenv("USE_BAZEL_VERSION", "6.5.0")
    (reg / "bazel-6.5.0").write_bytes(FAKE_BAZEL)
    assert bazelisk.main(["--tfwb-resolve"]) == 0
    assert capsys.readouterr().out == f"6.5.0 {reg / 'bazel-6.5.0'}\n"


def test_main_reports_failure_with_the_version_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _main_env(tmp_path, monkeypatch)
    (tmp_path / "ws" / ".bazelversion").unlink()
    assert bazelisk.main(["--tfwb-resolve"]) == bazelisk.EXIT_VERSION == 15
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("bazelisk-py: no USE_BAZEL_VERSION")
