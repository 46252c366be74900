"""buildenv/bazel_server_classpath.py: the builder's mend for Debian trixie's Bazel server jar, whose
commons-compress loads commons-io's Charsets without commons-io on its class path."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tfwheelbuild.util import resources

LINE = "startup --host_jvm_args=-Xbootclasspath/a:{}\n"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bazel_server_classpath",
                                                  str(resources.buildenv("bazel_server_classpath.py")))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jar(path: Path, classes: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for name, body in classes.items():
            jar.writestr(name, body)
    return path


BROKEN = {"org/apache/commons/compress/archivers/tar/TarFile.class": b"\xca\xfe..org/apache/commons/io/Charsets..",
          "org/apache/commons/compress/utils/IOUtils.class": b"\xca\xfe.."}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    bazel_dir = tmp_path / "bazel"
    bazel_dir.mkdir()
    (bazel_dir / "bazel-4.2.3.bazelrc").write_text("build --override_repository=rules_cc=/x\n")
    commons_io = tmp_path / "commons-io.jar"
    commons_io.write_bytes(b"PK")
    return bazel_dir, commons_io


def test_a_jar_whose_compress_needs_commons_io_and_lacks_it_gets_the_startup_line(
        tmp_path: Path, layout: tuple[Path, Path]) -> None:
    bazel_dir, commons_io = layout
    jar = _jar(tmp_path / "A-server.jar", BROKEN)
    script = _script()
    assert script.lacks_commons_io(jar)
    assert script.mend(bazel_dir, jar, commons_io) == [bazel_dir / "bazel-4.2.3.bazelrc"]
    rc = (bazel_dir / "bazel-4.2.3.bazelrc").read_text()
    assert rc.endswith(LINE.format(commons_io)) and rc.startswith("build --override_repository")
    # A second run (a rebuilt layer) adds nothing.
    assert script.mend(bazel_dir, jar, commons_io) == []
    assert (bazel_dir / "bazel-4.2.3.bazelrc").read_text() == rc


@pytest.mark.parametrize("classes", [
    # bookworm's jar: its commons-compress never names commons-io
    {"org/apache/commons/compress/archivers/tar/TarFile.class": b"\xca\xfe plain"},
    # a jar that carries commons-io itself
    {**BROKEN, "org/apache/commons/io/Charsets.class": b"\xca\xfe"},
    # no commons-compress at all
    {"com/google/devtools/build/lib/bazel/Bazel.class": b"org/apache/commons/io/Charsets"},
])
def test_a_whole_jar_is_left_alone(tmp_path: Path, layout: tuple[Path, Path], classes: dict[str, bytes]) -> None:
    bazel_dir, commons_io = layout
    before = (bazel_dir / "bazel-4.2.3.bazelrc").read_text()
    assert _script().mend(bazel_dir, _jar(tmp_path / "A-server.jar", classes), commons_io) == []
    assert (bazel_dir / "bazel-4.2.3.bazelrc").read_text() == before


def test_no_debian_bazel_or_no_commons_io_changes_nothing(tmp_path: Path, layout: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bazel_dir, commons_io = layout
    script = _script()
    assert script.main([str(bazel_dir), str(tmp_path / "absent.jar"), str(commons_io)]) == 0
    jar = _jar(tmp_path / "A-server.jar", BROKEN)
    assert script.mend(bazel_dir, jar, tmp_path / "no-commons-io.jar") == []
    assert "repository rules that extract a tar will fail" in capsys.readouterr().err
    assert "startup" not in (bazel_dir / "bazel-4.2.3.bazelrc").read_text()


def test_main_reports_each_file_it_mends(tmp_path: Path, layout: tuple[Path, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bazel_dir, commons_io = layout
    jar = _jar(tmp_path / "A-server.jar", BROKEN)
    assert _script().main([str(bazel_dir), str(jar), str(commons_io)]) == 0
    assert "bazel-4.2.3.bazelrc: the server's class path gains" in capsys.readouterr().out
