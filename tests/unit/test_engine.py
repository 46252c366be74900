"""The engine adapter's pure helpers: splitting streamed output, mapping container errors."""

from __future__ import annotations

from tfwheelbuild.engine import EngineInfo, _container_error, _first_line, _lines
from tfwheelbuild.errors import EmulationMissingError, EngineError


def test_lines_whole_lines_in_one_chunk() -> None:
    assert list(_lines(iter([b"one\ntwo\n"]))) == ["one", "two"]


def test_lines_chunks_split_mid_line() -> None:
    chunks = [b"hel", b"lo wo", b"rld\nsec", b"ond line\n", b"third\n"]
    assert list(_lines(iter(chunks))) == ["hello world", "second line", "third"]


def test_lines_trailing_partial_line_is_yielded() -> None:
    assert list(_lines(iter([b"done\nno newline at e", b"nd"]))) == ["done", "no newline at end"]


def test_lines_empty_lines_and_crlf() -> None:
    assert list(_lines(iter([b"a\r\n\r", b"\nb\n\n"]))) == ["a", "", "b", ""]


def test_lines_multibyte_character_split_across_chunks() -> None:
    data = "compile ✓ done\n".encode()
    cut = data.index("✓".encode()) + 1  # inside the 3-byte sequence
    assert list(_lines(iter([data[:cut], data[cut:]]))) == ["compile ✓ done"]


def test_lines_no_output() -> None:
    assert list(_lines(iter([]))) == []
    assert list(_lines(iter([b"", b""]))) == []


def test_lines_is_lazy() -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"first\n"
        raise AssertionError("read past the first line")

    assert next(_lines(chunks())) == "first"


def test_container_error_exec_format() -> None:
    exc = Exception('500 Server Error: failed to create task: exec /bin/sleep: exec format error\nmore')
    error = _container_error(exc, "tfwheelbuild/builder:py3.11-abc")
    assert isinstance(error, EmulationMissingError)
    assert "exec format error" in error.message
    assert "more" not in error.message


def test_container_error_other() -> None:
    error = _container_error(Exception("404 Client Error: No such image"), "img:tag")
    assert isinstance(error, EngineError)
    assert not isinstance(error, EmulationMissingError)
    assert error.message == "cannot start a container from img:tag: 404 Client Error: No such image"


def test_first_line_of_an_empty_exception() -> None:
    assert _first_line(RuntimeError()) == "RuntimeError"
    assert _first_line(RuntimeError("  top\nbottom ")) == "top"


def test_engine_info_native_arm64() -> None:
    def info(arch: str) -> EngineInfo:
        return EngineInfo(version="27", api_version="1.47", arch=arch, cpus=4, mem_bytes=1)

    assert info("aarch64").native_arm64
    assert info("arm64").native_arm64
    assert not info("x86_64").native_arm64
