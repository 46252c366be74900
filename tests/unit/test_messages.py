"""Messages a new user reads: fix lines name the real command, errors say what a path is rather than
that it does not exist, nothing is called quarantined that was not, --json means JSON, a passing test
reads as one, every option says what it is for, and the dry run never leaves a blank where a fact goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest

from tests.unit.helpers_refusal import assert_refused, build, tfwheelbuild
from tfwheelbuild.cli import main
from tfwheelbuild.cli.base import runtime_test_summary as summary_of
from tfwheelbuild.errors import ConfigError, PatchError, RuntimeTestError, UsageError

# ------------------------------------------------------------------------------ fix lines and wording


@pytest.mark.parametrize("args", [
    ["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--remote-cache-readonly"],
    ["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--remote-cache", "ftp://cache.example.invalid"],
], ids=["remote-flags-without-cache", "remote-cache-scheme"])
@pytest.mark.allow_subprocess
def test_usage_errors_raised_inside_a_command_name_that_command(home: Path, args: list[str]) -> None:
    run = tfwheelbuild(home, *args)
    assert_refused(run, UsageError)
    assert "COMMAND" not in run.stderr
    assert "tfwheelbuild build --help`" in run.stderr or "e.g. --remote-cache" in run.stderr, run.stderr


@pytest.mark.allow_subprocess
def test_memory_from_the_environment_is_a_config_error_naming_the_variable(home: Path, dist: Path) -> None:
    run = build(home, dist, TFWHEELBUILD_MEMORY="1k")
    line = assert_refused(run, ConfigError, "'memory'", "TFWHEELBUILD_MEMORY", "at least 512m", out=dist, home=home)
    assert "--memory" not in line and "fix: fix or unset TFWHEELBUILD_MEMORY" in run.stderr


@pytest.mark.allow_subprocess
def test_configure_from_the_environment_names_the_bad_entry_not_a_tuple(home: Path, dist: Path) -> None:
    run = build(home, dist, TFWHEELBUILD_CONFIGURE="TF_NEED_CLANG=1,BAD")
    line = assert_refused(run, ConfigError, "'configure'", "TFWHEELBUILD_CONFIGURE", "'BAD'", out=dist, home=home)
    assert "(" not in line.split("TFWHEELBUILD_CONFIGURE")[1], line


@pytest.mark.allow_subprocess
def test_config_that_is_a_directory_is_called_one(home: Path, dist: Path) -> None:
    (home / "conf.toml").mkdir()
    run = build(home, dist, "--config", "conf.toml")
    assert_refused(run, ConfigError, "config file conf.toml is a directory, not a file", out=dist, home=home)


@pytest.mark.allow_subprocess
def test_patches_that_are_a_file_are_called_one(home: Path, dist: Path, tmp_path: Path) -> None:
    single = tmp_path / "0001-fix.patch"
    single.write_text("--- a/x\n+++ b/x\n")
    run = build(home, dist, "--patches", str(single))
    assert_refused(run, PatchError, f"patch directory {single} is a file, not a directory", out=dist, home=home)


@pytest.mark.allow_subprocess
def test_remote_header_file_that_is_a_directory_is_called_one(home: Path, dist: Path) -> None:
    (home / "headers").mkdir()
    run = build(home, dist, "--dry-run", "--remote-cache", "http://cache.example.invalid:8080",
                "--remote-header-file", str(home / "headers"))
    assert_refused(run, UsageError, f"--remote-header-file {home / 'headers'} is a directory, not a file",
                   out=dist, home=home)


def test_a_failed_runtime_test_outside_a_build_says_nothing_of_quarantine() -> None:
    # `tfwheelbuild test` and publish's check raise this with the default remedy; they set nothing aside
    assert "quarantine" not in RuntimeTestError("x").remedy


def test_a_failed_runtime_test_in_a_build_names_the_quarantine_dir(tmp_path: Path, monkeypatch: Any,
                                                                   make_wheel: Any) -> None:
    from tfwheelbuild.pipeline.buildlog import BuildLog
    from tfwheelbuild.pipeline.context import BuildContext
    from tfwheelbuild.pipeline.stages import runtime_test
    from tfwheelbuild.plan import BuildOptions, make_plan
    from tfwheelbuild.recipes import recipe_for

    def fail(*_args: object, **_kw: object) -> dict[str, object]:
        raise RuntimeTestError("runtime test step `python smoke_test.py` failed (exit 1): boom")

    monkeypatch.setattr(runtime_test, "run_runtime_test", fail)
    opts = BuildOptions(tf_version="2.16.1", python="3.11", work_root=tmp_path / "work")
    plan = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=2, engine_mem=8 * 2**30)
    log = BuildLog(tmp_path / "build.log", quiet=True)
    ctx = BuildContext(plan=plan, engine=None, info=None, log=log, build_dir=tmp_path / "b",  # type: ignore[arg-type]
                       build_id="b", retest=True, wheel=make_wheel(name="tensorflow", version="2.16.1"))
    with pytest.raises(RuntimeTestError) as info:
        runtime_test.run(ctx)
    log.close()
    assert f"quarantined in {tmp_path / 'b' / 'quarantine'}" in info.value.remedy


# --------------------------------------------------------------------------------------- output forms


@pytest.mark.allow_subprocess
def test_dry_run_json_prints_json(home: Path) -> None:
    run = tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--json")
    assert run.code == 0, run.stderr
    plan = json.loads(run.stdout)
    assert plan["status"] == "dry-run" and plan["tf_version"] == "2.16.1"
    assert plan["source"]["ref"] == "v2.16.1" and plan["compile"]["target"].endswith(":build_pip_package")
    assert any(line.startswith("compile:") for line in plan["describe"])


def test_a_passing_runtime_test_reads_as_a_summary_not_a_dict() -> None:
    result = {"passed": True, "test_command": "python -c 'import tensorflow'",
              "smoke": {"version": "2.16.1", "import_seconds": 3.2, "matmul_sum": 262144.0,
                        "build_info": {"is_cuda_build": False, "cpu_compiler": "/usr/bin/gcc"}}}
    text = summary_of("tensorflow-2.16.1-cp311-cp311-manylinux_2_17_aarch64.whl", result)
    assert text.splitlines() == [
        "passed: tensorflow-2.16.1-cp311-cp311-manylinux_2_17_aarch64.whl",
        "  tensorflow 2.16.1",
        "  imports in 3.2 s",
        "  64x64 matmul correct",
        "  built for CPU (/usr/bin/gcc)",
        "  test command passed: python -c 'import tensorflow'",
    ]
    assert "{" not in text


def _commands(group: click.Group, path: str = "tfwheelbuild") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{path} {name}")
    return found


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [f"{path} {param.opts[-1]}" for path, command in _commands(main) for param in command.params
               if isinstance(param, click.Option) and not param.help]
    assert missing == []


@pytest.mark.parametrize("python", ["3.10", "3.12"])
@pytest.mark.allow_subprocess
def test_dry_run_says_what_to_do_when_no_debian_suite_ships_the_python(home: Path, python: str) -> None:
    run = tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", python, "--dry-run")
    assert run.code == 0, run.stderr
    base = next(line for line in run.stdout.splitlines() if line.startswith("base image:"))
    assert "debootstrap  arm64" not in base
    assert f"no Debian suite ships Python {python}" in base and "--base-image" in base, base

