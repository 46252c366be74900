"""The build service's order and recording policy with a fake attempt and recorder, and `nightly` handing
its --recipe and --allow-unsupported-python to the service. No engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tfwheelbuild.cli import main
from tfwheelbuild.core.config import Settings
from tfwheelbuild.errors import CompileError, OutputError, SourceError, UnsupportedPythonError
from tfwheelbuild.index.target import IndexTarget
from tfwheelbuild.results import BuildResult, EntryResult, Published
from tfwheelbuild.runs.entry import EntryRecord
from tfwheelbuild.runs.history import History
from tfwheelbuild.service import BuildRequest, Prepared, entry_record, run_entry

REQUEST = BuildRequest(tf_version="2.17.0", python="3.11")
SETTINGS: Any = {"index": "", "base-image": "", "mirror": "", "work-dir": None}


def _built(tmp_path: Path) -> BuildResult:
    wheel = tmp_path / "tensorflow-2.17.0-cp311-cp311-manylinux_2_17_aarch64.whl"
    wheel.write_bytes(b"x" * 10)
    return BuildResult(status="built", wheel=str(wheel), build_key="k" * 64, seconds=12.5,
                       manifest=f"{wheel}.manifest.json", wheel_sha256="s", log=str(tmp_path / "b1" / "build.log"),
                       stages=(("fetch", 1.0), ("compile", 10.0)))


def _fake_attempt(result: BuildResult | Exception, published: Published | None = None) -> Any:
    def attempt(prepared: Prepared, request: BuildRequest, settings: Settings, *, target: IndexTarget | None,
                history: History | None, say: Any) -> tuple[BuildResult, Published | None]:
        if isinstance(result, Exception):
            raise result
        return result, published

    return attempt


class FakeRecorder:
    def __init__(self, fails: bool = False) -> None:
        self.calls: list[tuple[EntryRecord, Path]] = []
        self.fails = fails

    def __call__(self, entry: EntryRecord, *, started: str, report_dir: Path) -> Path:
        self.calls.append((entry, report_dir))
        if self.fails:
            raise OutputError("history is read-only")
        return report_dir / "report.html"


def _run(result: BuildResult | Exception, recorder: FakeRecorder | None, said: list[str],
         published: Published | None = None) -> EntryResult:
    prepared: Any = None  # the fake attempt never looks at it
    return run_entry(prepared, REQUEST, SETTINGS, say=said.append, record=recorder,
                     attempt=_fake_attempt(result, published))


def test_service_records_a_built_entry_beside_its_log(tmp_path: Path) -> None:
    recorder, said = FakeRecorder(), list[str]()
    published = Published(status="uploaded", index="local", simple_url="file:///s/", verified={"ok": True})
    result = _run(_built(tmp_path), recorder, said, published)
    [(entry, report_dir)] = recorder.calls
    assert report_dir == tmp_path / "b1"
    assert result.report == str(tmp_path / "b1" / "report.html")
    assert (entry.status, entry.published, entry.verified, entry.wheel_size) == ("built", "uploaded", True, 10)
    assert entry.stages == (("fetch", 1.0, "passed"), ("compile", 10.0, "passed"))
    assert entry.manifest_path.endswith(".whl.manifest.json")
    assert list(result.summary()) == ["status", "wheel", "wheel_sha256", "build_key", "manifest", "log", "cache",
                                      "toolchain", "seconds", "stages", "published", "report"]
    assert result.summary()["published"] == {"status": "uploaded", "index": "local", "simple_url": "file:///s/",
                                             "verified": {"ok": True}}


def test_service_does_not_record_a_skip(tmp_path: Path) -> None:
    recorder, said = FakeRecorder(), list[str]()
    skipped = BuildResult(status="skipped", where="index", wheel="t.whl", build_key="k", seconds=0.2)
    result = _run(skipped, recorder, said)
    assert recorder.calls == []
    assert result.summary() == {"status": "skipped", "where": "index", "wheel": "t.whl", "build_key": "k",
                                "manifest": "", "seconds": 0.2}
    assert entry_record(result, "2.17.0", "3.11").status == "skipped"


def test_service_records_a_failure_that_reached_a_build_dir(tmp_path: Path) -> None:
    recorder, said = FakeRecorder(), list[str]()
    error = CompileError("bazel failed")
    error.log_path = str(tmp_path / "b2" / "build.log")
    with pytest.raises(CompileError):
        _run(error, recorder, said)
    [(entry, report_dir)] = recorder.calls
    assert (entry.status, entry.error, entry.exit_code, report_dir) == ("failed", "bazel failed", error.exit_code,
                                                                        tmp_path / "b2")


def test_service_leaves_an_early_failure_unrecorded() -> None:
    recorder, said = FakeRecorder(), list[str]()
    with pytest.raises(SourceError):
        _run(SourceError("no such ref"), recorder, said)
    assert recorder.calls == []


def test_service_warns_when_the_history_cannot_be_written(tmp_path: Path) -> None:
    said: list[str] = []
    result = _run(_built(tmp_path), FakeRecorder(fails=True), said)
    assert result.report == ""
    assert said == ["warning: not recorded in the run history: history is read-only"]


def _nightly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[Any, list[BuildRequest]]:
    import tfwheelbuild.service as service

    requests: list[BuildRequest] = []

    def fake_prepare(request: BuildRequest, settings: Settings, **kw: Any) -> Any:
        requests.append(request)
        return None

    def fake_run_entry(prepared: Any, request: BuildRequest, settings: Settings, **kw: Any) -> EntryResult:
        return EntryResult(build=BuildResult(status="skipped", where="output", wheel=str(tmp_path / "t.whl"),
                                             build_key="k", seconds=0.1))

    monkeypatch.setattr(service, "prepare", fake_prepare)
    monkeypatch.setattr(service, "run_entry", fake_run_entry)
    monkeypatch.chdir(tmp_path)
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "DOCKER_HOST": "unix:///nonexistent/tfwb-test-docker.sock"}
    result = CliRunner().invoke(main, ["nightly", "--tf", "2.16.1", "--py", "3.13", "--no-publish",
                                       "--report-dir", str(tmp_path / "report"), *extra], env=env)
    return result, requests


def test_nightly_passes_recipe_and_allow_unsupported_python_to_the_service(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, requests = _nightly(tmp_path, monkeypatch, "--allow-unsupported-python", "--recipe", "infer")
    assert result.exit_code == 0, result.output
    [request] = requests
    assert (request.recipe_file, request.allow_unsupported_python) == (Path("infer"), True)
    assert (request.tf_version, request.python, request.publish) == ("2.16.1", "3.13", False)


def test_nightly_refuses_an_unsupported_python_without_the_flag(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    result, requests = _nightly(tmp_path, monkeypatch)
    assert result.exit_code == UnsupportedPythonError.exit_code, result.output
    assert requests == []
