"""Reading Bazel's own report of what it built (wheel_house keeps stale wheels of earlier builds)."""

from __future__ import annotations

from tfwheelbuild.stages.compile import built_outputs

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
