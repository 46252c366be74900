"""`tfwheelbuild test` on a real TensorFlow wheel: the official tensorflow 2.16.1 aarch64 wheel from PyPI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import cache_root, tfwheelbuild

pytestmark = pytest.mark.engine
REAL = "tensorflow==2.16.1"


@pytest.fixture(scope="module")
def real_wheel() -> Path:
    """Downloaded once (219 MB) into the test cache, reused by later runs on the same machine."""
    dest = cache_root() / "real-wheels"
    found = sorted(dest.glob("tensorflow-2.16.1-cp311-cp311-manylinux*_aarch64*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "--platform", "manylinux2014_aarch64", "--python-version", "3.11",
                        "--implementation", "cp", "-d", str(dest), REAL], check=True)
        found = sorted(dest.glob("tensorflow-2.16.1-cp311-cp311-manylinux*_aarch64*.whl"))
    assert found, f"pip did not download {REAL} for aarch64"
    return found[0]


def test_official_wheel_passes_the_clean_runtime_test(real_wheel: Path, work_dir: Path) -> None:
    result = tfwheelbuild("test", str(real_wheel), "--work-dir", str(work_dir), "--json")
    assert result.code == 0, result.stderr[-3000:]
    smoke = result.json()["smoke"]
    assert isinstance(smoke, dict)
    assert smoke["version"] == "2.16.1"
    assert smoke["matmul_sum"] == 262144.0
    assert smoke["build_info"]["is_cuda_build"] is False
    assert str(result.json()["installer"]).startswith("uv ")  # its dependencies resolved from the index by uv


def test_x86_64_wheel_is_refused_in_one_line(tmp_path: Path, work_dir: Path) -> None:
    fake = tmp_path / "tensorflow-2.16.1-cp311-cp311-manylinux_2_17_x86_64.whl"
    fake.write_bytes(b"not even a zip")
    result = tfwheelbuild("test", str(fake), "--work-dir", str(work_dir))
    assert result.code == 19
    assert "not linux aarch64" in result.stderr and "Traceback" not in result.stderr


def test_official_wheel_passes_the_deep_check_and_a_wrong_py_is_refused_before_any_container(
        real_wheel: Path, tmp_path: Path) -> None:
    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel

    info = inspect_wheel(real_wheel, python="3.11")  # WHEEL tags = both name tags, every ELF member AArch64
    assert info.platforms == ("manylinux2014_aarch64", "manylinux_2_17_aarch64")
    result = tfwheelbuild("test", str(real_wheel), "--py", "3.12", "--work-dir", str(tmp_path / "work"))
    assert result.code == 19, result.stderr[-2000:]
    assert "which Python 3.12 cannot install" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "work").exists()  # refused before a log, an engine or a container


def test_official_wheel_is_64k_page_ready_and_under_upstreams_size_limit(real_wheel: Path) -> None:
    # What upstream ships, measured by the checks our repair applies: every ELF file aligned for 64 KiB
    # pages (69 of them in 2.16.1), and the wheel (208.8 MiB) under the 240M default limit.
    from tfwheelbuild.artifacts.pagecheck import small_page_members
    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
    from tfwheelbuild.pipeline.stages.repair import check_pages, check_size
    from tfwheelbuild.plan import DEFAULT_MAX_WHEEL_SIZE, RepairPlan

    info = inspect_wheel(real_wheel, check_elf=False)
    assert len(info.load_alignments) >= 60 and not small_page_members(list(info.load_alignments))
    assert {a.align for a in info.load_alignments} == {65536}
    plan = RepairPlan(plat="", exclude=(), build_tag="")
    check_pages(info, plan)
    check_size(info, plan)
    assert info.size < DEFAULT_MAX_WHEEL_SIZE
    assert info.largest[0][0] == "tensorflow/libtensorflow_cc.so.2"
