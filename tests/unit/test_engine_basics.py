"""The engine adapter's pure parts: splitting streamed output, mapping container errors, what EngineInfo
says about the engine, and engine addresses accepted, refused or unreachable."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tfwheelbuild.engine.client import Engine, EngineInfo, _lines, check_engine_address
from tfwheelbuild.engine.failures import container_error as _container_error
from tfwheelbuild.engine.failures import first_line as _first_line
from tfwheelbuild.errors import EmulationMissingError, EngineError, EngineSetupError, EngineUnavailableError, UsageError


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
    def chunks() -> Iterator[bytes]:
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


# Podman 4.3.1's own refusals (Debian bookworm), as its compatible service answers them.
PODMAN_RLIMIT = ('500 Server Error for http+docker://localhost/v1.41/containers/abc/start: Internal Server Error '
                 '("runc: runc create failed: unable to start container process: error during container init: '
                 'error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: '
                 'OCI permission denied")')
PODMAN_NO_INIT = ('500 Server Error for http+docker://localhost/v1.41/containers/create?name=tfwb-1: Internal '
                  'Server Error ("container create: container-init binary not found on the host: stat '
                  '/usr/libexec/podman/catatonit: no such file or directory")')


def test_engine_setup_refusals_are_their_own_error_with_the_setting_that_cures_them() -> None:
    rlimit = _container_error(Exception(PODMAN_RLIMIT), "img:tag")
    assert isinstance(rlimit, EngineSetupError) and rlimit.exit_code == 37
    assert "resource limits" in rlimit.message and "type 7" in rlimit.message
    assert "default_ulimits" in rlimit.remedy and "containers.conf" in rlimit.remedy
    no_init = _container_error(Exception(PODMAN_NO_INIT), "img:tag")
    assert isinstance(no_init, EngineSetupError) and "catatonit" in no_init.remedy
    # Not an EngineError: nightly retries those as infrastructure; a misconfigured engine fails alike again.
    assert not isinstance(rlimit, EngineError) and not isinstance(no_init, EngineError)


def test_first_line_of_an_empty_exception() -> None:
    assert _first_line(RuntimeError()) == "RuntimeError"
    assert _first_line(RuntimeError("  top\nbottom ")) == "top"


def test_engine_info_native_arm64() -> None:
    def info(arch: str) -> EngineInfo:
        return EngineInfo(version="27", api_version="1.47", arch=arch, cpus=4, mem_bytes=1)

    assert info("aarch64").native_arm64
    assert info("arm64").native_arm64
    assert not info("x86_64").native_arm64


@pytest.mark.parametrize("value", ["unix:///var/run/docker.sock", "tcp://10.0.0.2:2375", "ssh://me@arm64-box",
                                   "https://engine.example.invalid:2376"])
def test_engine_addresses_accepted(value: str) -> None:
    assert check_engine_address(value) == value


@pytest.mark.parametrize("value", ["bogus://", "bogus://host", "arm64-box", "unix://", "tcp:/host"])
def test_engine_addresses_refused(value: str) -> None:
    with pytest.raises(UsageError, match="not a Docker engine address"):
        check_engine_address(value)


def test_unreachable_engine_is_named_by_the_address_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # --docker-host sets DOCKER_HOST: the error names the address, not a variable the user never set.
    monkeypatch.setenv("DOCKER_HOST", "bogus://")
    with pytest.raises(EngineUnavailableError) as caught:
        Engine.connect()
    assert caught.value.message.startswith("cannot reach a Docker engine at bogus://")
    assert "DOCKER_HOST /" not in caught.value.message
    assert "--docker-host" in caught.value.remedy
    assert os.environ["DOCKER_HOST"] == "bogus://"
