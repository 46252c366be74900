"""The cross toolchain check: which paths a toolchain BUILD names, and which of them a builder lacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tfwheelbuild.core.crosscheck import missing_paths_script, parse_missing, toolchain_paths

FIXTURE_BUILD = (Path(__file__).parents[1] / "fixtures" / "tfshaped" / "tensorflow" / "tools" / "toolchains"
                 / "cross_compile" / "cc" / "BUILD")

# Shaped like TensorFlow 2.16's file: clang under /usr/lib/llvm-17, a sysroot per target, and a
# macOS toolchain (cpu "darwin") that a Linux aarch64 build never uses.
TF_STYLE = '''
cc_toolchain_config(
    name = "linux_x86_toolchain_config",
    builtin_sysroot = "/dt9",
    compile_flags = ["--target=x86_64-unknown-linux-gnu", "-mavx"],
    cpu = "k8",
    cxx_builtin_include_directories = ["/dt9/", "/usr/lib/llvm-17/include/"],
    link_flags = ["-fuse-ld=lld", "--ld-path=/usr/lib/llvm-17/bin/ld.lld"],
    tool_paths = {"gcc": "/usr/lib/llvm-17/bin/clang", "ar": "/usr/lib/llvm-17/bin/llvm-ar"},
)
cc_toolchain_config(
    name = "linux_aarch64_toolchain_config",
    builtin_sysroot = "/dt10/",
    cpu = "aarch64",
    cxx_builtin_include_directories = ["/dt10/", "/usr/lib/llvm-17/lib/clang/17/include"],
    tool_paths = {"gcc": "/usr/lib/llvm-17/bin/clang"},
)
cc_toolchain_config(
    name = "macos_x86_toolchain_config",
    builtin_sysroot = "tensorflow/tools/toolchains/cross_compile/cc/MacOSX.sdk",
    cpu = "darwin",
    tool_paths = {"ld": "/usr/lib/llvm-17/bin/ld64.lld", "gcc": "cc_wrapper.sh"},
)
'''


def test_tensorflow_style_toolchain_names_clang_and_its_sysroots() -> None:
    paths = toolchain_paths(TF_STYLE)
    assert paths == ["/dt9", "/usr/lib/llvm-17/include", "/usr/lib/llvm-17/bin/ld.lld", "/usr/lib/llvm-17/bin/clang",
                     "/usr/lib/llvm-17/bin/llvm-ar", "/dt10", "/usr/lib/llvm-17/lib/clang/17/include"]
    # the macOS toolchain's paths are not a Linux build's business; relative paths never count
    assert "/usr/lib/llvm-17/bin/ld64.lld" not in paths
    assert not any(p.startswith("tensorflow/") for p in paths)


def test_fixture_toolchain_names_what_tensorflows_does() -> None:
    # The fixture's cross toolchain has TF's shape, so the check sees the same paths as on real TF.
    paths = toolchain_paths(FIXTURE_BUILD.read_text())
    assert set(paths) == {"/dt9", "/dt10", "/usr/lib/llvm-17/include", "/usr/lib/llvm-17/lib/clang/17/include",
                          "/dt10/usr/lib/gcc/aarch64-linux-gnu/10/include",
                          *(f"/usr/lib/llvm-17/bin/{tool}" for tool in ("clang", "clang++", "ld.lld", "llvm-ar",
                                                                         "llvm-cov", "llvm-nm", "llvm-objdump",
                                                                         "llvm-strip"))}


@pytest.mark.allow_subprocess
def test_script_reports_only_what_neither_exists_nor_prefixes_something(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "aarch64-linux-gnu-gcc").write_text("")
    (tmp_path / "sysroot").mkdir()
    paths = [str(tmp_path / "bin" / "aarch64-linux-gnu-"), str(tmp_path / "sysroot"),
             str(tmp_path / "llvm-17" / "bin" / "clang"), str(tmp_path / "dt10")]
    out = subprocess.run(["sh", "-c", missing_paths_script(paths)], capture_output=True, text=True, check=True)
    assert parse_missing(out.stdout.splitlines()) == [str(tmp_path / "llvm-17" / "bin" / "clang"),
                                                      str(tmp_path / "dt10")]


@pytest.mark.allow_subprocess
def test_paths_with_spaces_or_quotes_stay_one_word(tmp_path: Path) -> None:
    odd = str(tmp_path / "it's here")
    out = subprocess.run(["sh", "-c", missing_paths_script([odd])], capture_output=True, text=True, check=True)
    assert parse_missing(out.stdout.splitlines()) == [odd]
