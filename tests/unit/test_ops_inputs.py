"""The host-care commands (clean, images, cache, shell, doctor, base): every argument checked before
anything is removed or written, and `clean` touching only what no live run owns. Fake engines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from tfwheelbuild.cli import main
from tfwheelbuild.engine.client import Engine, Resource, ToolContainer
from tfwheelbuild.engine.locks import LOCK_LABEL, RUN_LOCK, run_lock
from tfwheelbuild.errors import ImageError


class FakeEngine:
    def __init__(self, containers: Sequence[ToolContainer] = (), images: dict[str, str] | None = None) -> None:
        self.containers = list(containers)
        self.removed: list[str] = []
        self.images = dict(images or {})  # ref -> arch
        self.pulled: list[str] = []
        self.labelled: list[tuple[str, str, str]] = []  # (tag, arch, role) of the tool's images

    def tool_containers(self) -> list[ToolContainer]:
        return list(self.containers)

    def remove_container(self, container_id: str) -> bool:
        self.removed.append(container_id)
        return True

    def build_containers(self) -> list[Any]:
        return []

    def tool_volumes(self) -> list[Resource]:
        return [Resource(name=name, size=1, created="2020-01-01T00:00:00Z", kind="volume", id=name)
                for name in ("tfwb-busy", "tfwb-idle")]

    def remove_volume(self, name: str) -> bool:
        self.removed.append(name)
        return name != "tfwb-busy"

    def images_labelled(self, label: str) -> list[tuple[str, str]]:
        return [(tag, arch) for tag, arch, role in self.labelled if label in ("org.tfwheelbuild.role",
                                                                            f"org.tfwheelbuild.role={role}")]

    def image_id(self, ref: str) -> str | None:
        return f"sha256:{ref}" if ref in self.images else None

    def image_arch(self, ref: str) -> str:
        return self.images[ref]

    def pull(self, ref: str, platform: str = "linux/arm64") -> str:
        self.pulled.append(ref)
        raise ImageError(f"cannot pull {ref} for {platform}: no registry answers")


@pytest.fixture()
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeEngine]]:
    """Engine.connect made to hand out the fake engines in this list (none: connecting is a failure)."""
    given: list[FakeEngine] = []
    connected: list[FakeEngine] = []

    def connect(base_url: str | None = None) -> Any:
        assert given, "the engine was asked before the arguments were known good"
        connected.append(given[0])
        return given[0]

    monkeypatch.setattr(Engine, "connect", staticmethod(connect))
    yield given


def _run(args: Sequence[str], tmp_path: Path) -> Result:
    return CliRunner().invoke(main, list(args), env={"XDG_CACHE_HOME": str(tmp_path / "cache")})


def _assert_refused(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), result.stderr
    assert any(ln.startswith("  fix: ") for ln in result.stderr.splitlines())
    assert "Traceback" not in result.output


def _build_dir(root: Path, build_id: str) -> Path:
    path = root / "builds" / build_id
    (path / "staging").mkdir(parents=True)
    return path


def test_clean_with_a_bad_age_removes_nothing(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    work = tmp_path / "work"
    _build_dir(work, "b1")
    result = _run(["clean", "--work-dir", str(work), "--logs-older-than", "30x"], tmp_path)
    _assert_refused(result, 2, "--logs-older-than", "30x")
    assert (work / "builds" / "b1" / "staging").is_dir()


@pytest.mark.parametrize("command", ["images", "cache"])
def test_prune_with_a_bad_age_asks_nothing_of_the_engine(command: str, tmp_path: Path,
                                                          engine_calls: list[FakeEngine]) -> None:
    _assert_refused(_run([command, "--prune", "--older-than", "3w"], tmp_path), 2, "--older-than", "3w")


def test_clean_on_a_work_dir_that_is_a_file(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    (tmp_path / "a-file").write_text("x")
    _assert_refused(_run(["clean", "--work-dir", str(tmp_path / "a-file")], tmp_path), 2, "is not a directory")


def test_clean_leaves_live_runs_and_says_so(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    work = tmp_path / "work"
    live_dir, over_dir = _build_dir(work, "live"), _build_dir(work, "over")
    with run_lock(over_dir, {}):
        pass  # a build that ran and ended (kept its container, say)

    def container(name: str, status: str, lock_dir: Path | None) -> ToolContainer:
        labels = {"org.tfwheelbuild": "1"}
        if lock_dir is not None:
            labels[LOCK_LABEL] = str(lock_dir / RUN_LOCK)
        return ToolContainer(id=name, name=name, status=status, labels=labels)

    fake = FakeEngine([container("tfwb-live", "running", live_dir), container("tfwb-kept", "running", over_dir),
                       container("tfwb-exited", "exited", None), container("tfwb-unknown", "running", None)])
    engine_calls.append(fake)
    labels: dict[str, str] = {}
    with run_lock(live_dir, labels):
        result = _run(["clean", "--work-dir", str(work)], tmp_path)
    assert result.exit_code == 0, result.output
    assert fake.removed == ["tfwb-kept", "tfwb-exited"]
    lines = result.stdout.splitlines()
    assert lines[0] == "removed 2 containers, 1 staging dirs, 0 old build dirs"
    assert "left 1 running container (its run is still going): tfwb-live" in lines
    assert any(ln.startswith("left 1 running container (running, and nothing") for ln in lines)
    assert (live_dir / "staging").is_dir() and not (over_dir / "staging").exists()


def test_clean_keeps_the_old_build_dir_of_a_run_still_going(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    work = tmp_path / "work"
    live_dir, over_dir = _build_dir(work, "live"), _build_dir(work, "over")
    engine_calls.append(FakeEngine())
    with run_lock(live_dir, {}):
        result = _run(["clean", "--work-dir", str(work), "--logs-older-than", "0m"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 old build dirs" in result.stdout
    assert live_dir.is_dir() and not over_dir.exists()


def test_shell_list_says_when_there_is_nothing(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    engine_calls.append(FakeEngine())
    result = _run(["shell", "--list"], tmp_path)
    assert result.exit_code == 0 and result.stdout.startswith("no build containers"), result.output


def test_shell_list_with_a_command_is_refused(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    _assert_refused(_run(["shell", "--list", "3f2a", "ls"], tmp_path), 2, "--list runs no command")


@pytest.mark.parametrize("command", ["clean", "images", "cache", "shell", "doctor"])
def test_docker_host_that_is_no_address_is_named_as_given(command: str, tmp_path: Path,
                                                         engine_calls: list[FakeEngine]) -> None:
    result = _run([command, "--docker-host", "bogus://"], tmp_path)
    _assert_refused(result, 2, "--docker-host", "bogus://")
    assert "DOCKER_HOST" not in result.stderr.splitlines()[0]


def test_doctor_bad_mirror_is_refused_before_any_check(tmp_path: Path, engine_calls: list[FakeEngine]) -> None:
    _assert_refused(_run(["doctor", "--mirror", "ftp//mirror"], tmp_path), 2, "--mirror", "not an apt mirror URL")


@pytest.mark.allow_subprocess
def test_doctor_uses_a_local_arm64_image_and_never_pulls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tfwheelbuild.engine.doctor as doctor

    seen: list[str] = []

    def run_checks(**kw: Any) -> list[Any]:
        here = FakeEngine(images={"ubuntu:22.04": "arm64"})
        seen.append(kw["arm64_image"](here))
        assert not here.pulled
        nothing = FakeEngine()
        with pytest.raises(ImageError, match="cannot be pulled"):
            kw["arm64_image"](nothing)
        assert nothing.pulled == ["ubuntu:22.04"]
        return [doctor.Check(name="arm64", status="ok", detail=seen[0])]

    monkeypatch.setattr(doctor, "run_checks", run_checks)
    result = _run(["doctor"], tmp_path)
    assert result.exit_code == 0, result.output
    assert seen == ["ubuntu:22.04"]


@pytest.mark.allow_subprocess
def test_doctor_never_tests_arm64_in_the_one_file_uv_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The uv image (FROM scratch, no `uname`) is an arm64 image of the tool's too: doctor's arm64 check
    ran `uname -m` in it and failed (found by CI on the first run after it existed)."""
    import tfwheelbuild.engine.doctor as doctor

    seen: list[str] = []

    def run_checks(**kw: Any) -> list[Any]:
        here = FakeEngine()
        here.labelled = [("tfwheelbuild/uv:0.13.9-5435c5ce14a5", "arm64", "tools"),
                         ("tfwheelbuild/runtime:py3.11-abc", "arm64", "runtime"),
                         ("tfwheelbuild/base:bookworm-amd64", "amd64", "base"),
                         ("tfwheelbuild/base:bookworm-arm64", "arm64", "base")]
        seen.append(kw["arm64_image"](here))
        return [doctor.Check(name="arm64", status="ok", detail=seen[0])]

    monkeypatch.setattr(doctor, "run_checks", run_checks)
    assert _run(["doctor"], tmp_path).exit_code == 0
    assert seen == ["tfwheelbuild/base:bookworm-arm64"]


@pytest.mark.parametrize(("args", "words"), [
    (["--suite", "foo"], ("debootstrap knows no suite 'foo'",)),
    (["--suite", "Book Worm"], ("not a Debian suite name",)),
    (["--mirror", "deb.example.invalid/debian"], ("--mirror", "not an apt mirror URL")),
])
def test_base_bootstrap_bad_arguments(args: list[str], words: tuple[str, ...], tmp_path: Path,
                                      engine_calls: list[FakeEngine]) -> None:
    if "foo" in args and not Path("/usr/share/debootstrap/scripts").is_dir():
        pytest.skip("no debootstrap here to know suites")
    result = _run(["base", "bootstrap", *args], tmp_path)
    _assert_refused(result, 2, *words)
    # The fix names suites to choose from (or the URL form), not debootstrap's install.
    assert "bookworm" in result.stderr or "http://" in result.stderr
    assert "install debootstrap" not in result.stderr
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("source", "extra", "words"), [
    ("missing.tar.gz", [], ("does not exist",)),
    (".", [], ("is not a file",)),
    ("htps://mirror.example.invalid/ubuntu-base.tar.gz", [], ("htps://", "not a way to fetch")),
    ("ftp://mirror.example.invalid/ubuntu-base.tar.gz", [], ("ftp://",)),
    ("rootfs.tar.gz", ["--sha256", "abc"], ("--sha256 'abc'",)),
    ("rootfs.tar.gz", ["--name", "Bad Name"], ("--name 'Bad Name'",)),
])
def test_base_import_bad_arguments_write_nothing(source: str, extra: list[str], words: tuple[str, ...],
                                                 tmp_path: Path, engine_calls: list[FakeEngine],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootfs.tar.gz").write_bytes(b"not really")
    result = _run(["base", "import", source, *extra], tmp_path)
    _assert_refused(result, 2, *words)
    assert "checksum" not in result.stderr and "mirror" not in result.stderr.split("fix:")[1]
    assert not (tmp_path / "cache").exists()  # no log dir either


def test_base_help_has_an_example(tmp_path: Path) -> None:
    result = _run(["base", "--help"], tmp_path)
    assert "Example" in result.stdout and "tfwheelbuild base bootstrap --suite" in result.stdout


def test_cache_prune_goes_on_past_a_volume_in_use_and_names_it(tmp_path: Path,
                                                               engine_calls: list[FakeEngine]) -> None:
    fake = FakeEngine()
    engine_calls.append(fake)
    result = _run(["cache", "--prune", "--older-than", "1d"], tmp_path)
    assert result.exit_code == 0, result.output
    assert fake.removed == ["tfwb-busy", "tfwb-idle"]
    assert "left 1 in use by a container (a running build?): tfwb-busy" in result.stdout
    assert "removed tfwb-idle" in result.stdout and "removed tfwb-busy" not in result.stdout


# Commands that never talk to an engine; every other one takes --docker-host (Podman's socket, a remote
# engine): `test`, `repair`, `publish` and `base` did not, so under Podman only build, image and the
# housekeeping commands could reach it.
NO_ENGINE = {"diff", "history", "matrix", "schema", "versions"}


def _leaf_commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in main.commands.items():
        if isinstance(command, click.Group):
            found.update({f"{name} {sub}": c for sub, c in command.commands.items()})
        else:
            found[name] = command
    return found


def test_every_command_that_uses_an_engine_takes_docker_host() -> None:
    commands = _leaf_commands()
    assert set(commands) >= NO_ENGINE
    missing = [name for name, command in commands.items() if name not in NO_ENGINE
               and not any("--docker-host" in p.opts for p in command.params)]
    assert not missing
