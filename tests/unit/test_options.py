"""The option declaration is the one source of flags, BuildOptions fields and the config schema."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import tomllib
from click.testing import CliRunner

from tfwheelbuild.cli import main
from tfwheelbuild.cli.edge import declared_option, resolve_settings, settings_options
from tfwheelbuild.core.config import load_config
from tfwheelbuild.core.option_docs import json_schema, schema_json
from tfwheelbuild.core.options import BY_FIELD, BY_NAME, OPTIONS
from tfwheelbuild.errors import ConfigError
from tfwheelbuild.plan import BuildOptions

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "tfwheelbuild.schema.json"
# BuildOptions fields no option declares: the matrix entry, what the host tells, and build-internal knobs.
HOST_FACTS = frozenset({"tf_version", "python", "ca_bundle", "proxy_env", "bazel_env", "nightly_date",
                        "source_date_epoch", "distro_bazel"})

# Pinned from main before the options were generated from the declaration: --help must keep every flag.
BUILD_FLAGS = frozenset({
    "--allow-4k-pages", "--allow-unsupported-python", "--base-image", "--bazel-arg", "--bazel-mirror",
    "--bazel-pip-index", "--build-tag", "--builder-image", "--cache-namespace", "--config", "--configure", "--deps",
    "--docker-host",
    "--dry-run", "--exclude", "--force", "--image", "--index", "--index-url", "--installer", "--jobs", "--json",
    "--keep-container", "--max-wheel-size", "--memory", "--mirror", "--mode", "--nightly", "--nightly-date",
    "--no-default-patches", "--no-verify", "--output", "--patches", "--plat", "--project-name", "--publish",
    "--push-image", "--py", "--quiet", "--ram-mb", "--recipe", "--ref", "--registry-auth", "--remote-cache",
    "--remote-cache-readonly", "--remote-cache-required", "--remote-executor", "--remote-header-file",
    "--remote-instance-name", "--retest", "--source", "--test-command", "--tf", "--verbose", "--verify",
    "--work-dir", "-o", "-q", "-v",
})
# nightly gained --recipe and --allow-unsupported-python when it began calling the same build service as build.
NIGHTLY_FLAGS = frozenset({
    "--allow-4k-pages", "--allow-unsupported-python", "--recipe",
    "--base-image", "--bazel-arg", "--bazel-mirror", "--bazel-pip-index", "--build-tag", "--builder-image",
    "--cache-namespace", "--config", "--configure", "--deps", "--docker-host", "--exclude", "--force", "--index",
    "--index-url", "--installer", "--jobs", "--json", "--max-wheel-size", "--memory", "--mirror", "--mode",
    "--no-default-patches", "--no-publish", "--no-verify", "--output", "--patches", "--plat", "--project-name",
    "--publish", "--py", "--ram-mb", "--ref", "--remote-cache", "--remote-cache-readonly",
    "--remote-cache-required", "--remote-executor", "--remote-header-file", "--remote-instance-name",
    "--report-dir", "--retries", "--source", "--test-command", "--tf", "--verbose", "--verify", "--work-dir", "-o",
    "-v",
})


def _flags(command: str) -> set[str]:
    params = main.commands[command].params
    return {name for p in params for name in (*p.opts, *p.secondary_opts)}


def test_build_and_nightly_keep_every_flag_they_had() -> None:
    assert _flags("build") == BUILD_FLAGS
    assert _flags("nightly") == NIGHTLY_FLAGS


def test_every_declared_build_option_is_a_build_options_field() -> None:
    fields = {f.name for f in dataclasses.fields(BuildOptions)}
    assert set(BY_FIELD) <= fields, set(BY_FIELD) - fields
    assert fields - set(BY_FIELD) == HOST_FACTS


def test_build_options_defaults_are_the_declared_ones() -> None:
    opts = BuildOptions(tf_version="2.16.1", python="3.11")
    for field, opt in BY_FIELD.items():
        if field != "work_root":  # unset work-dir means the user's cache dir, filled in by build_options
            assert getattr(opts, field) == opt.default, field


def test_settings_flags_reach_the_cascade_under_their_option_names(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for opt in OPTIONS:
        monkeypatch.delenv(opt.env, raising=False)
    seen: dict[str, Any] = {}

    @click.command()
    @settings_options
    def probe(**kw: Any) -> None:
        settings, _ = resolve_settings(kw)
        seen.update({name: (settings[name], settings.origin(name)) for name in
                     ("default-patches", "bazel-args", "output", "jobs", "remote-cache-readonly", "mode")})

    result = CliRunner().invoke(probe, ["--no-default-patches", "--bazel-arg", "--config=opt", "-o", "out",
                                        "--jobs", "3", "--remote-cache-readonly"])
    assert result.exit_code == 0, result.output
    assert seen == {"default-patches": (False, "command line"), "bazel-args": (("--config=opt",), "command line"),
                    "output": (Path("out"), "command line"), "jobs": (3, "command line"),
                    "remote-cache-readonly": (True, "command line"), "mode": ("auto", "default")}


def test_declared_option_carries_the_declarations_flag_help_and_check() -> None:
    @click.command()
    @declared_option("build-tag")
    @declared_option("max-wheel-size", show_default=True)
    @declared_option("allow-4k-pages")
    @declared_option("exclude", help="Library auditwheel must not graft (repeatable).")
    def repair(**kw: Any) -> None:
        click.echo(json.dumps(kw, sort_keys=True))

    runner = CliRunner()
    assert json.loads(runner.invoke(repair, []).output) == {
        "build_tag": "", "max_wheel_size": "240M", "allow_4k_pages": False, "exclude": []}
    assert json.loads(runner.invoke(repair, ["--build-tag", "1", "--exclude", "libA.so", "--allow-4k-pages"]).output
                      )["build_tag"] == "1"
    refused = runner.invoke(repair, ["--build-tag", "x1"])
    assert refused.exit_code == 2 and "--build-tag" in refused.output
    shown = runner.invoke(repair, ["--help"]).output
    assert "[default: 240M]" in shown and "Library auditwheel must not graft" in shown
    help_text = " ".join(shown.split())
    assert " ".join(BY_NAME["build-tag"].flag_text.split()) in help_text


def test_checked_in_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text() == schema_json(), (
        "docs/tfwheelbuild.schema.json is stale: run `tfwheelbuild schema > docs/tfwheelbuild.schema.json`")
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_schema_command_prints_the_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema()


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


def test_readme_example_config_fits_the_schema() -> None:
    blocks = re.findall(r"```toml\n(# tfwheelbuild\.toml.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert blocks, "README lost its example tfwheelbuild.toml"
    for block in blocks:
        _validator().validate(tomllib.loads(block))


def _test_tomls() -> list[str]:
    """The TOML strings tests/unit/test_config.py and test_config_files.py write as config files."""
    found = []
    for name in ("test_config.py", "test_config_files.py"):
        tree = ast.parse((ROOT / "tests" / "unit" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "=" in node.value:
                try:
                    tomllib.loads(node.value)
                except tomllib.TOMLDecodeError:
                    continue
                found.append(node.value)
    return found


def test_config_files_the_tool_accepts_fit_the_schema(tmp_path: Path) -> None:
    accepted = 0
    for number, text in enumerate(_test_tomls()):
        path = tmp_path / str(number) / "tfwheelbuild.toml"
        path.parent.mkdir()
        path.write_text(text)
        try:
            load_config(path)
        except ConfigError:
            continue
        _validator().validate(tomllib.loads(text))
        accepted += 1
    assert accepted >= 10


@pytest.mark.parametrize("text", ["jbos = 2\n", "pythons = [3.10]\n", "jobs = 0\n", 'mode = "native"\n',
                                  '[[overrides]]\nproject-name = "x"\n',
                                  '[[overrides]]\nselect = "2.*"\nretries = 2\n'])
def test_schema_refuses_what_the_tool_refuses(text: str, tmp_path: Path) -> None:
    path = tmp_path / "tfwheelbuild.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_config(path)
    assert not _validator().is_valid(tomllib.loads(text))
