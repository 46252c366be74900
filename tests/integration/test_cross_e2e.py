"""--mode cross end to end: Bazel runs natively in the amd64 cross builder, only the test is emulated.

The wheel must be the same kind of artifact as an emulated build's: aarch64 libraries (ELF headers
checked by the repair stage), a manylinux aarch64 tag, and the same runtime test passed.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, tfwheelbuild

pytestmark = pytest.mark.engine


@pytest.mark.parametrize(("tf", "target"), [("2.16.1", ":build_pip_package"), ("2.17.0", ":wheel")])
def test_cross_build_gives_a_tested_aarch64_wheel(fixture_repo: Path, work_dir: Path, tmp_path: Path, tf: str,
                                                  target: str) -> None:
    result = tfwheelbuild("build", "--tf", tf, "--py", "3.11", "--source", str(fixture_repo), "--patches",
                          str(FIXTURE_PATCHES), "--output", str(tmp_path), "--work-dir", str(work_dir),
                          "--mode", "cross", "--json")
    assert result.code == 0, result.stderr[-3000:]
    wheel = Path(str(result.json()["wheel"]))
    assert re.match(rf"^tensorflow-{re.escape(tf)}-cp311-cp311-manylinux_2_\d+_aarch64\.whl$", wheel.name), wheel.name
    manifest = json.loads(Path(str(result.json()["manifest"])).read_text())
    assert "--config=cross_compile_linux_arm64" in manifest["bazel"]["argv"]
    assert manifest["bazel"]["argv"][-1].endswith(target)
    assert manifest["images"]["builder"].startswith("tfwheelbuild/builder-cross:")
    assert not any("TieredStopAtLevel" in a for a in manifest["bazel"]["argv"])
    assert any("libgomp" in lib for lib in manifest["repair"]["grafted"])
    assert manifest["test"]["passed"] is True and manifest["test"]["smoke"]["version"] == tf


def test_cross_mode_for_a_release_without_a_cross_config(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    result = tfwheelbuild("build", "--tf", "2.13.0", "--py", "3.11", "--source", str(fixture_repo),
                          "--output", str(tmp_path), "--work-dir", str(work_dir), "--mode", "cross")
    assert result.code == 2 and "no cross-compile config" in result.stderr and "Traceback" not in result.stderr


def test_cross_toolchain_the_builder_lacks_is_named_before_bazel_runs(fixture_repo: Path, work_dir: Path,
                                                                       tmp_path: Path) -> None:
    # A patch makes the fixture's aarch64 toolchain (TensorFlow's shape: clang under /usr/lib/llvm-17,
    # sysroot /dt10) ask for an older devtoolset sysroot, /dt7, which no cross builder has.
    rel = "tensorflow/tools/toolchains/cross_compile/cc/BUILD"
    original = (Path(__file__).parents[1] / "fixtures" / "tfshaped" / rel).read_text()
    changed = original.replace('builtin_sysroot = "/dt10/"', 'builtin_sysroot = "/dt7/"')
    assert changed != original
    series = tmp_path / "extra" / "2.16"
    series.mkdir(parents=True)
    diff = difflib.unified_diff(original.splitlines(keepends=True), changed.splitlines(keepends=True),
                                f"a/{rel}", f"b/{rel}")
    (series / "0001-clang-toolchain.patch").write_text("".join(diff))
    (series / "series").write_text("0001-clang-toolchain.patch\n")
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--patches",
                          str(FIXTURE_PATCHES), "--patches", str(tmp_path / "extra"), "--output",
                          str(tmp_path / "out"), "--work-dir", str(work_dir), "--mode", "cross")
    assert result.code == 28, result.stderr[-3000:]
    error = next(ln for ln in result.stderr.splitlines() if ln.startswith("error:"))
    assert "/dt7" in error and "cross builder lacks" in error, error
    assert "--mode emulated" in result.stderr and "Traceback" not in result.stderr
    assert "compiling //tensorflow" not in result.stderr  # refused before the Bazel build
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
