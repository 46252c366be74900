"""The repair stage's failure reasons (auditwheel's real output, captured from auditwheel 6.8.2 in the
arm64 builder) and the digest it hands to the test stage."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tfwheelbuild.pipeline.stages.repair import repair_failure
from tfwheelbuild.pipeline.stages.runtime_test import wheel_digest

WHEEL = "demo-1.0-cp311-cp311-linux_aarch64.whl"
SHOW_RECENT = f"""+ builder: auditwheel show /tfwb/out/raw/{WHEEL}
INFO:auditwheel.wheel_abi:setting libc to glibc

{WHEEL} is consistent with the
following platform tag: "manylinux_2_34_aarch64".

The wheel references external versioned symbols in these
system-provided shared libraries: libc.so.6 with versions
{{'GLIBC_2.17', 'GLIBC_2.32', 'GLIBC_2.34'}}

This constrains the platform tag to "manylinux_2_34_aarch64". In order
to achieve a more compatible tag, you would need to recompile a new
wheel from source on a system with earlier versions of these
libraries, such as a recent manylinux image.""".splitlines()
USAGE = """usage: auditwheel repair [-h] [-z ZIP_COMPRESSION_LEVEL] [--plat PLATFORM]
                         [-L LIB_SDIR] [-w WHEEL_DIR] [--no-update-tags]
                         WHEEL_FILE [WHEEL_FILE ...]""".splitlines()


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_too_recent_symbols_name_the_symbols_and_the_tag_the_wheel_reaches() -> None:
    out = lines(f"""+ builder: auditwheel repair -w /tfwb/out/repaired --plat manylinux2014_aarch64 \
/tfwb/out/raw/{WHEEL}
INFO:auditwheel.main_repair:Repairing {WHEEL}
usage: auditwheel [-h] [-V] [-v] command ...
auditwheel: error: cannot repair "/tfwb/out/raw/{WHEEL}" to "manylinux2014_aarch64" ABI because of the presence \
of too-recent versioned symbols. You'll need to compile the wheel on an older toolchain.""")
    error = repair_failure(out, SHOW_RECENT, "manylinux2014_aarch64", 2)
    assert error.message == ("auditwheel cannot repair to manylinux2014_aarch64: the wheel uses too-recent versioned "
                             "symbols (libc.so.6 with versions {'GLIBC_2.17', 'GLIBC_2.32', 'GLIBC_2.34'}); "
                             "they allow manylinux_2_34_aarch64")
    # Both ways out (issue 14): accept the tag the wheel reaches, or a lower sysroot.
    assert error.remedy.startswith("accept the higher tag with --plat manylinux_2_34_aarch64")
    assert "lower sysroot" in error.remedy and "glibc 2.17" in error.remedy
    assert error.exit_code == 17


def test_a_plat_auditwheel_does_not_know_lists_the_ones_it_does() -> None:
    out = [*USAGE, "auditwheel repair: error: argument --plat: invalid choice: 'manylinux_2_17_x86_64' (choose "
                   "from 'manylinux_2_41_aarch64', 'manylinux_2_17_aarch64', 'manylinux2014_aarch64', 'auto')"]
    error = repair_failure(out, SHOW_RECENT, "manylinux_2_17_x86_64", 2)
    assert error.message == "auditwheel has no policy 'manylinux_2_17_x86_64' for this wheel's architecture"
    assert "manylinux_2_41_aarch64, manylinux_2_17_aarch64, manylinux2014_aarch64 (" in error.remedy


def test_a_wheel_without_elf_files_is_not_a_platform_wheel() -> None:
    said = ("INFO:auditwheel.main_repair:This does not look like a platform wheel, no ELF executable or shared "
            "library file (including compiled Python C extension) found in the wheel archive")
    error = repair_failure([f"INFO:auditwheel.main_repair:Repairing {WHEEL}", said], [said], "", 1)
    assert "does not look like a platform wheel" in error.message
    assert error.remedy.startswith("a pure-Python wheel needs no repair")


def test_a_library_auditwheel_cannot_find_is_named_not_the_traceback_tail() -> None:
    out = lines("""Traceback (most recent call last):
  File "/opt/tfwb/tools/bin/auditwheel", line 8, in <module>
    sys.exit(main())
  File "/opt/tfwb/tools/lib/python3.11/site-packages/auditwheel/repair.py", line 94, in repair_wheel
    raise ValueError(msg)
ValueError: Cannot repair wheel, because required library "libtfcustom.so.2" could not be located""")
    error = repair_failure(out, SHOW_RECENT, "", 1)
    assert error.message.startswith("auditwheel cannot graft libtfcustom.so.2")
    assert "--exclude libtfcustom.so.2" in error.remedy


def test_an_unknown_crash_shows_the_exception_line() -> None:
    out = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>', "KeyError: 'soname'"]
    assert repair_failure(out, [], "", 1).message == "auditwheel repair crashed: KeyError: 'soname'"


def _ctx(wheel: Path, facts: dict[str, Any]) -> Any:
    return SimpleNamespace(wheel=wheel, facts=facts)


def test_the_test_stage_takes_the_digest_the_repair_stage_computed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = tmp_path / WHEEL
    wheel.write_bytes(b"wheel bytes")
    read: list[Path] = []

    def fake_sha256(path: Path) -> str:
        read.append(path)
        return "streamed"

    monkeypatch.setattr("tfwheelbuild.pipeline.stages.runtime_test.sha256_file", fake_sha256)
    assert wheel_digest(_ctx(wheel, {"repair": {"wheel": WHEEL, "sha256": "ab" * 32}})) == "ab" * 32
    assert read == []
    # Another file than the one repair hashed: streamed, not trusted.
    assert wheel_digest(_ctx(wheel, {"repair": {"wheel": "other.whl", "sha256": "ab" * 32}})) == "streamed"


# `auditwheel show` of a raw clang-built wheel (/dt10 sysroot) before grafting: "consistent with" says only
# linux_aarch64 (libgomp is not grafted yet); the symbols themselves allow manylinux_2_24.
SHOW_RAW = """tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl is consistent with the
following platform tag: "linux_aarch64".

The wheel references external versioned symbols in these
system-provided shared libraries: libstdc++.so.6 with versions
{'GLIBCXX_3.4.21', 'GLIBCXX_3.4', 'CXXABI_1.3', 'GLIBCXX_3.4.14'},
libgomp.so.1 with versions {'OMP_1.0'}, libc.so.6 with versions {'GLIBC_2.17'}

This constrains the platform tag to "manylinux_2_24_aarch64". In order
to achieve a more compatible tag, you would need to recompile a new
wheel from source on a system with earlier versions of these
libraries, such as a recent manylinux image.""".splitlines()


def test_too_recent_symbols_of_a_raw_wheel_name_the_tag_its_symbols_allow() -> None:
    out = ['auditwheel: error: cannot repair "/tfwb/out/raw/t.whl" to "manylinux2014_aarch64" ABI because of the '
           "presence of too-recent versioned symbols. You'll need to compile the wheel on an older toolchain."]
    error = repair_failure(out, SHOW_RAW, "manylinux2014_aarch64", 2)
    assert "GLIBCXX_3.4.21" in error.message and error.message.endswith("they allow manylinux_2_24_aarch64")
    assert error.remedy.startswith("accept the higher tag with --plat manylinux_2_24_aarch64")


def test_the_sbom_queries_reuse_the_builds_bazel_server_and_then_stop_it(tmp_path: Path) -> None:
    """cquery and query run before the server is shut down, in the build's own environment: a server started
    anew under emulation re-analysed the whole target (~45 s of a forced warm rebuild, issue 17)."""
    from tests.unit.fakes import FakeEngine, make_context
    from tfwheelbuild.pipeline.stages import bazelcmd
    from tfwheelbuild.pipeline.stages.repair import bazel_repositories

    engine = FakeEngine()
    ctx = make_context(tmp_path, engine)
    ctx.container = "c1"
    target = ctx.plan.compile.target
    ctx.facts["compile"] = {"argv": ["bazel", *ctx.plan.compile.bazel_startup, "build", "--config=x", target]}
    engine.answer(" cquery ", lines=["@com_google_absl//absl/base:base (abc123)", f"{target} (abc123)"])
    repos, note = bazel_repositories(ctx)
    commands = [line for line in engine.execs() if line.startswith("bazel ")]
    verbs = [c.split()[len(ctx.plan.compile.bazel_startup) + 1] for c in commands]
    assert verbs == ["cquery", "query", "shutdown"], commands
    assert all(c.env == bazelcmd.bazel_env(ctx) for c in engine.calls if c.method == "exec")
    assert [r.name for r in repos] == ["com_google_absl"] and note == ""
