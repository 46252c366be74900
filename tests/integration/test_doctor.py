"""doctor against the real engine: passes on this host, and names the fix when emulation is off."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import tfwheelbuild

pytestmark = pytest.mark.engine
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


def test_doctor_passes_on_a_good_host(engine_ready: None) -> None:
    result = tfwheelbuild("doctor", "--json")
    assert result.code == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["engine"]["status"] == "ok" and "Docker" in checks["engine"]["detail"]
    assert checks["arm64 execution"]["status"] == "ok" and "aarch64" in checks["arm64 execution"]["detail"]
    assert checks["package index"]["status"] == "ok"  # PyPI is reachable from these machines


@pytest.fixture()
def emulation_off(engine_ready: None) -> Iterator[None]:
    if os.uname().machine == "aarch64" or not BINFMT.exists() or not os.access(BINFMT, os.W_OK):
        pytest.skip("needs an x86_64 host with a writable qemu-aarch64 binfmt entry (root)")
    BINFMT.write_text("0")
    try:
        yield
    finally:
        BINFMT.write_text("1")


def test_doctor_names_the_fix_without_emulation(emulation_off: None) -> None:
    result = tfwheelbuild("doctor")
    assert result.code == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(ln.startswith("✕ arm64 emulation") for ln in lines), result.stdout
    assert any(ln.startswith("✕ arm64 execution") for ln in lines), result.stdout
    assert "update-binfmts --enable qemu-aarch64" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
