"""The runtime test's installer: uv's pinned binary from the cache or its wheel, pip where it cannot be had."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tfwheelbuild.engine import installer
from tfwheelbuild.engine.installer import (
    UV_IN_CONTAINER,
    UV_VERSION,
    Installer,
    UvUnavailable,
    choose,
    extract_uv,
    uv_env,
    venv_and_install,
)


def _uv_wheel(tmp_path: Path, member: str = f"uv-{UV_VERSION}.data/scripts/uv") -> tuple[Path, str]:
    wheel = tmp_path / f"uv-{UV_VERSION}-py3-none-manylinux_2_17_aarch64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, b"\x7fELF not really")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_extract_uv_takes_the_binary_out_of_a_wheel_with_the_pinned_digest(tmp_path: Path) -> None:
    wheel, digest = _uv_wheel(tmp_path)
    binary = extract_uv(wheel, tmp_path / "uv", sha256=digest)
    assert binary.read_bytes() == b"\x7fELF not really"
    assert binary.stat().st_mode & 0o777 == 0o755


def test_extract_uv_refuses_a_wheel_with_another_digest(tmp_path: Path) -> None:
    wheel, _ = _uv_wheel(tmp_path)
    with pytest.raises(UvUnavailable, match="not the pinned"):
        extract_uv(wheel, tmp_path / "uv")
    assert not (tmp_path / "uv").exists()


def test_extract_uv_names_a_wheel_without_the_binary(tmp_path: Path) -> None:
    wheel, digest = _uv_wheel(tmp_path, member="uv/__init__.py")
    with pytest.raises(UvUnavailable, match="holds no"):
        extract_uv(wheel, tmp_path / "uv", sha256=digest)


def test_a_cached_uv_binary_is_used_without_fetching(tmp_path: Path) -> None:
    cached = tmp_path / "tools" / f"uv-{UV_VERSION}-aarch64" / "uv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"uv")
    chosen = choose("auto", cache_root=tmp_path)  # the unit guard would fail any pip download here
    assert chosen == Installer(uv=cached) and chosen.name == f"uv {UV_VERSION}"


def test_auto_falls_back_to_pip_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(into: Path) -> Path:
        raise UvUnavailable("the host's pip could not download it: no matching distribution")

    monkeypatch.setattr(installer, "_download_wheel", offline)
    chosen = choose("auto", cache_root=tmp_path)
    assert chosen.uv is None and chosen.name == "pip"
    assert chosen.note == (f"uv {UV_VERSION} unavailable (the host's pip could not download it: no matching "
                           "distribution): installing with pip")
    assert not list((tmp_path / "tools").rglob("uv"))  # nothing half-written in the cache


def test_a_failed_fetch_is_remembered_for_a_day_and_a_success_forgets_it(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    tries: list[Path] = []

    def offline(into: Path) -> Path:
        tries.append(into)
        raise UvUnavailable("the host's pip could not download it: connection refused")

    monkeypatch.setattr(installer, "_download_wheel", offline)
    first = choose("auto", cache_root=tmp_path, now=1000.0)
    later = choose("auto", cache_root=tmp_path, now=1000.0 + 3600)  # an air-gapped host's next test: no wait
    assert len(tries) == 1 and first.uv is None and later.uv is None
    assert "connection refused, 60 min ago" in later.note and "unavailable.json is deleted" in later.note
    choose("auto", cache_root=tmp_path, now=1000.0 + installer.RETRY_AFTER_SECONDS)  # a day on: tried again
    assert len(tries) == 2

    def online(into: Path) -> Path:
        raise AssertionError("not reached: the binary is cached below")

    binary = tmp_path / "tools" / f"uv-{UV_VERSION}-aarch64" / "uv"
    binary.write_bytes(b"uv")
    monkeypatch.setattr(installer, "_download_wheel", online)
    # A binary put into the cache (copied from a connected host) wins at once over a remembered failure.
    assert choose("auto", cache_root=tmp_path, now=1000.0 + 3600).uv == binary


def test_pip_is_pip_without_looking_for_uv(tmp_path: Path) -> None:
    assert choose("pip", cache_root=tmp_path) == Installer(uv=None)
    assert not (tmp_path / "tools").exists()


def test_pip_steps_are_todays_venv_and_pip_install() -> None:
    assert venv_and_install(Installer(uv=None), "3.11", "/tfwb/w.whl", seed_pip=False) == [
        ["python3.11", "-m", "venv", "/tfwb/venv"],
        ["/tfwb/venv/bin/pip", "install", "--no-compile", "--progress-bar", "off", "/tfwb/w.whl"]]


def test_uv_steps_use_the_images_python_and_seed_pip_only_for_a_test_command() -> None:
    uv = Installer(uv=Path("/cache/uv"))
    plain = venv_and_install(uv, "3.11", "/tfwb/w.whl", seed_pip=False)
    assert plain == [[UV_IN_CONTAINER, "venv", "--python", "python3.11", "/tfwb/venv"],
                     [UV_IN_CONTAINER, "pip", "install", "--python", "/tfwb/venv/bin/python", "/tfwb/w.whl"]]
    seeded = venv_and_install(uv, "3.11", "/tfwb/w.whl", seed_pip=True)
    assert "--seed" in seeded[0]


def test_uv_never_downloads_an_interpreter_and_takes_the_given_index() -> None:
    assert uv_env("")["UV_PYTHON_DOWNLOADS"] == "never"
    assert "UV_DEFAULT_INDEX" not in uv_env("")
    assert uv_env("https://pypi.example.invalid/simple")["UV_DEFAULT_INDEX"] == "https://pypi.example.invalid/simple"
