"""Issue 14 end to end: the fixture built like upstream builds TensorFlow, with clang + lld at upstream's
paths against the /dt10 sysroot, emulated (the release's own --config=release_arm64_linux) and cross
(--mode auto on this x86_64 host), each wheel audited to the sysroot's policy, the manifest naming the
real compiler, linker and sysroot; a --plat above reach and a builder without the named clang refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import AARCH64_TAGS, FIXTURE_PATCHES, CliResult, tfwheelbuild

pytestmark = pytest.mark.engine


def build(repo: Path, out: Path, work: Path, *extra: str) -> CliResult:
    return tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(repo), "--patches",
                        str(FIXTURE_PATCHES), "--output", str(out), "--work-dir", str(work), "--json", *extra)


def auditwheel_show(wheel: Path) -> str:
    """auditwheel's own analysis of the wheel, on this host (it reads aarch64 ELF files anywhere)."""
    run = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    return " ".join(run.stdout.split())


def check_clang_manifest(manifest: dict[str, object], *, builder: str) -> dict[str, object]:
    toolchain = manifest["toolchain"]
    assert isinstance(toolchain, dict)
    tc: dict[str, object] = dict(toolchain)
    assert tc["compiler"] == "clang" and tc["compiler_path"] == "/usr/lib/llvm-17/bin/clang"
    # The real version, never silently the wanted one: Debian bookworm has 16, answering at llvm-17.
    assert re.fullmatch(r"16\.\d+\.\d+", str(tc["clang"])) and tc["answers_as"] == "/usr/lib/llvm-17"
    assert str(tc["linker"]).startswith("lld 16")
    sysroot = dict(dict(tc["sysroots"])["/dt10"])  # type: ignore[call-overload]
    assert sysroot["suite"] == "bullseye" and str(sysroot["glibc"]).startswith("2.31")
    assert tc["upstream"] == ("clang 17.0.6 + lld, sysroot /dt10, manylinux2014_aarch64, "
                              "--config=release_arm64_linux")
    differences = " ".join(str(d) for d in tc["differences"])  # type: ignore[attr-defined]
    assert "clang 16" in differences and "glibc 2.17" in differences
    images = dict(manifest["images"])  # type: ignore[call-overload]
    assert str(images["builder"]).startswith(f"tfwheelbuild/{builder}:")
    return tc


def test_emulated_clang_build_uses_the_release_config_and_reaches_the_sysroot_policy(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    result = build(fixture_repo, tmp_path / "out", work_dir, "--mode", "emulated")
    assert result.code == 0, result.stderr[-3000:]
    wheel = Path(str(result.json()["wheel"]))
    assert re.fullmatch(rf"tensorflow-2\.16\.1-cp311-cp311-{AARCH64_TAGS}\.whl", wheel.name), wheel.name
    assert "manylinux_2_31_aarch64" in wheel.name  # the default: the sysroot's floor, demanded
    manifest = json.loads(Path(str(result.json()["manifest"])).read_text())
    check_clang_manifest(manifest, builder="builder")
    argv = manifest["bazel"]["argv"]
    assert "--config=release_arm64_linux" in argv and "--config=cross_compile_linux_arm64" not in argv
    assert manifest["configure"]["TF_NEED_CLANG"] == "1"
    assert manifest["repair"]["plat_requested"] == "manylinux_2_31_aarch64"
    shown = auditwheel_show(wheel)
    assert re.search(r'consistent with the following platform tag: "manylinux_2_(2[4-9]|3[01])_aarch64"', shown), shown
    assert "libgomp" in " ".join(manifest["repair"]["grafted"])


def test_auto_mode_cross_compiles_with_clang_on_this_host(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    result = build(fixture_repo, tmp_path / "out", work_dir)
    assert result.code == 0, result.stderr[-3000:]
    wheel = Path(str(result.json()["wheel"]))
    assert re.fullmatch(rf"tensorflow-2\.16\.1-cp311-cp311-{AARCH64_TAGS}\.whl", wheel.name), wheel.name
    manifest = json.loads(Path(str(result.json()["manifest"])).read_text())
    check_clang_manifest(manifest, builder="builder-cross")
    assert "--config=cross_compile_linux_arm64" in manifest["bazel"]["argv"]
    assert manifest["test"]["passed"] is True
    shown = auditwheel_show(wheel)
    assert re.search(r'consistent with the following platform tag: "manylinux_2_(2[4-9]|3[01])_aarch64"', shown), shown
    assert "differs from upstream:" not in result.stderr  # --json prints the summary only
    plain = build(fixture_repo, tmp_path / "out", work_dir)  # same key: skipped, no container
    assert plain.code == 0 and plain.json()["status"] == "skipped"


def test_a_policy_the_sysroot_cannot_reach_names_the_symbols_and_both_ways_out(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    result = build(fixture_repo, tmp_path / "out", work_dir, "--mode", "emulated", "--plat", "manylinux2014_aarch64")
    assert result.code == 17, result.stderr[-3000:]
    error = [ln.strip() for ln in result.stderr.splitlines() if ln.strip().startswith("error:")]
    fix = [ln.strip() for ln in result.stderr.splitlines() if ln.strip().startswith("fix:")]
    assert error and "manylinux2014_aarch64" in error[0] and "too-recent versioned symbols" in error[0]
    assert "GLIBCXX_3.4.21" in error[0]  # what lifts the wheel, from auditwheel's own analysis
    assert fix and "--plat manylinux_2_" in fix[0] and "lower sysroot" in fix[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert "Traceback" not in result.stderr


def test_a_builder_without_the_named_clang_is_refused_before_configure(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    result = build(fixture_repo, tmp_path / "out", work_dir, "--mode", "emulated",
                   "--configure", "CLANG_COMPILER_PATH=/usr/lib/llvm-15/bin/clang")
    assert result.code == 35, result.stderr[-3000:]
    assert "the builder image has no clang at /usr/lib/llvm-15/bin/clang" in result.stderr
    assert "Traceback" not in result.stderr


def test_builder_image_layers_only_helpers_and_targets_the_releases_own_policy(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    # Stand-in for upstream's ml-build-arm64 (no registry answers here): the tool's own emulated clang
    # builder, which has clang at /usr/lib/llvm-17 and a /dt10 sysroot, given by its (pinned) image id.
    first = build(fixture_repo, tmp_path / "own", work_dir, "--mode", "emulated")
    assert first.code == 0, first.stderr[-3000:]
    tag = json.loads(Path(str(first.json()["manifest"])).read_text())["images"]["builder"]
    image_id = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True,
                              text=True, check=True).stdout.strip()
    # Default: the release's own policy (upstream's image has a glibc-2.17 sysroot). This stand-in's is 2.31,
    # so repair fails naming the policy and the ways out, after a compile with the image's own clang.
    refused = build(fixture_repo, tmp_path / "given", work_dir, "--builder-image", image_id)
    assert refused.code == 17, refused.stderr[-3000:]
    assert "manylinux2014_aarch64" in refused.stderr and "--plat" in refused.stderr, refused.stderr[-2000:]
    assert "compiler: clang 16" in refused.stderr and "/usr/lib/llvm-17/bin/clang" in refused.stderr
    assert not (tmp_path / "given").exists() or not any((tmp_path / "given").glob("*.whl"))
    # Accepting auditwheel's choice, the same layered builder's wheel lands; the manifest says what the image had.
    result = build(fixture_repo, tmp_path / "auto", work_dir, "--builder-image", image_id, "--plat", "auto")
    assert result.code == 0, result.stderr[-3000:]
    manifest = json.loads(Path(str(result.json()["manifest"])).read_text())
    tc = manifest["toolchain"]
    assert tc["builder_image"] == "given (--builder-image)" and tc["answers_as"] == "/usr/lib/llvm-17"
    assert re.fullmatch(r"16\.\d+\.\d+", tc["clang"]) and tc["sysroots"]["/dt10"]["glibc"] == "2.31"
    assert any(d.startswith(f"builder: {image_id} with tfwheelbuild's helpers") for d in tc["differences"])
    assert manifest["images"]["builder"] != tag
    assert "--config=cross_compile_linux_arm64" not in manifest["bazel"]["argv"]
