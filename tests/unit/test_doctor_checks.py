"""doctor's judgements on facts it is given (the real-engine runs are in tests/integration)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tfwheelbuild.engine import doctor
from tfwheelbuild.engine.doctor import GIB, Check, binfmt_check, disk_check, format_table, ram_check, url_check


def test_ram_per_job() -> None:
    assert ram_check(2, 24 * GIB).status == "ok"
    low = ram_check(16, 16 * GIB)
    assert low.status == "warn" and "--jobs=6" in low.detail


def test_disk_thresholds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for free, status in ((5, "fail"), (30, "warn"), (100, "ok")):
        usage = doctor.shutil._ntuple_diskusage(0, 0, free * GIB)  # type: ignore[attr-defined]
        monkeypatch.setattr("tfwheelbuild.engine.doctor.shutil.disk_usage", lambda _p, u=usage: u)
        assert disk_check("work disk", tmp_path / "not" / "yet").status == status


@pytest.mark.parametrize(("content", "status"), [
    ("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n", "ok"),
    ("disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n", "fail"),
])
def test_binfmt_states(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str, status: str) -> None:
    entry = tmp_path / "qemu-aarch64"
    entry.write_text(content)
    monkeypatch.setattr(doctor, "BINFMT", entry)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    check = binfmt_check("x86_64")
    assert check.status == status
    assert (status == "fail") == ("update-binfmts" in check.remedy or "echo 1" in check.remedy)


def test_binfmt_missing_and_native(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(doctor, "BINFMT", tmp_path / "absent")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert binfmt_check("x86_64").status == "fail"
    assert binfmt_check("aarch64").status == "ok"


def test_unreachable_url_is_a_warning_with_the_fix() -> None:
    check = url_check("bazel mirror", "http://127.0.0.1:9/", "set BAZELISK_BASE_URL", ssl.create_default_context())
    assert check.status == "warn" and check.remedy == "set BAZELISK_BASE_URL"


def test_table_shows_fixes_only_for_problems() -> None:
    text = format_table([Check("engine", "ok", "Docker 27", "never shown"), Check("disk", "fail", "1 GiB", "free")])
    assert "never shown" not in text and "✕ disk" in text and "fix: free" in text
