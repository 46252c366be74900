"""Reading Bazel's own report of what it built (wheel_house keeps stale wheels of earlier builds)."""

from __future__ import annotations

from tfwheelbuild.pipeline.stages.compile import built_outputs

LOG = """\
INFO: Found 1 target...
[13 / 15] [Prepa] Linking tensorflow/python/_pywrap_tensorflow_internal.so
Target //tensorflow/tools/pip_package:wheel up-to-date:
  bazel-bin/tensorflow/tools/pip_package/wheel_house/tensorflow-2.20.0.dev20261125-cp311-cp311-linux_aarch64.whl
INFO: Elapsed time: 38.618s, Critical Path: 10.50s
""".splitlines()


def test_the_wheel_bazel_reports() -> None:
    assert built_outputs(LOG) == [
        "bazel-bin/tensorflow/tools/pip_package/wheel_house/tensorflow-2.20.0.dev20261125-cp311-cp311-linux_aarch64.whl"]


def test_several_outputs_and_none() -> None:
    log = ["Target //a:b up-to-date:", "  bazel-bin/a/x.whl", "  bazel-bin/a/y.txt", "INFO: done"]
    assert built_outputs(log) == ["bazel-bin/a/x.whl", "bazel-bin/a/y.txt"]
    assert built_outputs(["INFO: Build completed successfully"]) == []


def test_oom_kill_counter_from_cgroup_v1_and_v2() -> None:
    from tfwheelbuild.pipeline.stages.compile import parse_oom_kills

    v1 = ["oom_kill_disable 0", "under_oom 0", "oom_kill 2"]
    v2 = ["low 0", "high 0", "max 7", "oom 3", "oom_kill 3", "oom_group_kill 0"]
    assert parse_oom_kills(v1) == 2
    assert parse_oom_kills(v2) == 3
    assert parse_oom_kills([]) == 0


def test_an_oom_kill_is_reported_with_settings_that_would_fit() -> None:
    from tfwheelbuild.errors import CompileError, OutOfMemoryError
    from tfwheelbuild.pipeline.stages.compile import _classify
    from tfwheelbuild.plan import CompilePlan

    plan = CompilePlan(bazel_startup=(), bazel_build=(), target="//t", package_cmd=(), env=(), jobs=4,
                       ram_mb=8000, memory_bytes=10 * 2**30)
    output = ["ERROR: /src/BUILD:3:11: Compiling unit_001.cc failed: (Exit 1): gcc failed",
              "gcc: fatal error: Killed signal terminated program cc1plus"]
    error = _classify(1, output, 1, plan, 24 * 2**30)
    assert isinstance(error, OutOfMemoryError) and error.exit_code == 27
    assert "4 jobs in 10240 MB" in error.message and "cc1plus" in error.message
    assert "--jobs 2 --ram-mb 4000" in error.remedy
    one_job = CompilePlan(bazel_startup=(), bazel_build=(), target="//t", package_cmd=(), env=(), jobs=1, ram_mb=800)
    small = _classify(1, ["Killed"], 2, one_job, 2**30)
    assert isinstance(small, OutOfMemoryError) and "--memory 2048m" in small.remedy
    # A plain compile error is not an OOM, even when a word like "Killed" is in a file name.
    plain = _classify(1, ["ERROR: Killed_test.cc:3: expected ';'"], 0, plan, 2**30)
    assert type(plain) is CompileError


def test_parse_memory_uses_dockers_units() -> None:
    import pytest

    from tfwheelbuild.errors import UsageError
    from tfwheelbuild.plan import parse_memory

    assert parse_memory("") == 0
    assert parse_memory("6g") == 6 * 2**30
    assert parse_memory("3500m") == 3500 * 2**20
    assert parse_memory("2GiB") == 2 * 2**30
    for bad in ("lots", "100m", "-1g"):
        with pytest.raises(UsageError):
            parse_memory(bad)
