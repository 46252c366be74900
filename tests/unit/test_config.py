"""The option cascade: definitions, precedence, environment values, invalid values and the reference
table; pure logic, tmp_path only (config files, overrides and the nightly matrix: test_config_files.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.helpers_config import _file
from tfwheelbuild.core.config import resolve
from tfwheelbuild.core.option_docs import reference_markdown
from tfwheelbuild.core.options import BY_NAME, OPTIONS
from tfwheelbuild.errors import ConfigError, UsageError

# -------------------------------------------------------------------------------- definitions


def test_env_names_derive_from_keys() -> None:
    assert BY_NAME["index-url"].env == "TFWHEELBUILD_INDEX_URL"
    assert BY_NAME["ram-mb"].env == "TFWHEELBUILD_RAM_MB"
    assert all(o.env == "TFWHEELBUILD_" + o.name.upper().replace("-", "_") for o in OPTIONS)


def test_defaults_when_nothing_is_given() -> None:
    s = resolve({}, {}, None)
    assert s["output"] == Path("dist") and s.origin("output") == "default"
    assert (s["retries"], s["publish"], s["default-patches"]) == (1, True, True)
    assert s["jobs"] is None and s["releases"] == () and s["configure"] == ()
    assert s["index_url"] == "" and s.origin("index_url") == "default"  # underscore spelling works too


# ---------------------------------------------------------------------------------- precedence


def test_each_layer_wins_over_the_ones_below(tmp_path: Path) -> None:
    config = _file(tmp_path, 'jobs = 2\nplat = "manylinux_2_17_aarch64"\nmirror = "http://file.example.invalid/debian"\n'
                             'build-tag = "7"\n')
    env = {"TFWHEELBUILD_JOBS": "3", "TFWHEELBUILD_PLAT": "manylinux_2_28_aarch64"}
    s = resolve({"jobs": 4, "ram_mb": None, "exclude": ()}, env, config)
    assert (s["jobs"], s.origin("jobs")) == (4, "command line")
    assert (s["plat"], s.origin("plat")) == ("manylinux_2_28_aarch64", "environment TFWHEELBUILD_PLAT")
    assert (s["mirror"], s.origin("mirror")) == ("http://file.example.invalid/debian", str(config.path))
    assert (s["ram-mb"], s.origin("ram-mb")) == (None, "default")  # None on the command line: not given
    assert s.origin("exclude") == "default"  # an empty tuple from a multi-option: not given
    assert any(line.startswith("jobs = 4  (command line)") for line in s.describe())


def test_command_line_lists_replace_lower_layers(tmp_path: Path) -> None:
    config = _file(tmp_path, 'exclude = ["libA.so", "libB.so"]\n')
    s = resolve({"exclude": ("libC.so",)}, {"TFWHEELBUILD_EXCLUDE": "libD.so"}, config)
    assert s["exclude"] == ("libC.so",)
    assert resolve({}, {"TFWHEELBUILD_EXCLUDE": "libD.so"}, config)["exclude"] == ("libD.so",)


def test_empty_environment_variable_counts_as_unset(tmp_path: Path) -> None:
    config = _file(tmp_path, 'index = "internal"\n')
    s = resolve({}, {"TFWHEELBUILD_INDEX": "  "}, config)
    assert (s["index"], s.origin("index")) == ("internal", str(config.path))


def test_unknown_command_line_key_is_a_wiring_bug() -> None:
    with pytest.raises(ValueError, match="dry-run"):
        resolve({"dry_run": True}, {}, None)


# --------------------------------------------------------------------------------- env parsing


@pytest.mark.parametrize(("var", "raw", "key", "expected"), [
    ("TFWHEELBUILD_SOURCE", "/src/tf", "source", "/src/tf"),
    ("TFWHEELBUILD_OUTPUT", "out/wheels", "output", Path("out/wheels")),
    ("TFWHEELBUILD_WORK_DIR", "/tmp/w", "work-dir", Path("/tmp/w")),
    ("TFWHEELBUILD_RELEASES", "2.16.1,2.17.0", "releases", ("2.16.1", "2.17.0")),
    ("TFWHEELBUILD_PYTHONS", "3.10 3.11\n3.12", "pythons", ("3.10", "3.11", "3.12")),
    ("TFWHEELBUILD_BAZEL_ARGS", "--copt=-O2, --verbose_failures", "bazel-args", ("--copt=-O2", "--verbose_failures")),
    ("TFWHEELBUILD_PATCHES", "p1,p2", "patches", (Path("p1"), Path("p2"))),
    ("TFWHEELBUILD_JOBS", "6", "jobs", 6),
    ("TFWHEELBUILD_RETRIES", "0", "retries", 0),
    ("TFWHEELBUILD_CONFIGURE", "TF_NEED_CLANG=1,CC_OPT_FLAGS=-march=armv8-a -O3", "configure",
     (("TF_NEED_CLANG", "1"), ("CC_OPT_FLAGS", "-march=armv8-a -O3"))),
    ("TFWHEELBUILD_PROJECT_NAME", " tf-internal ", "project-name", "tf-internal"),
])
def test_environment_values_of_every_kind(var: str, raw: str, key: str, expected: Any) -> None:
    s = resolve({}, {var: raw}, None)
    assert s[key] == expected
    assert s.origin(key) == f"environment {var}"


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("YES", True), ("0", False), ("false", False), ("No", False),
])
def test_environment_booleans(raw: str, expected: bool) -> None:
    s = resolve({}, {"TFWHEELBUILD_PUBLISH": raw, "TFWHEELBUILD_DEFAULT_PATCHES": raw}, None)
    assert s["publish"] is expected and s["default-patches"] is expected


# ------------------------------------------------------------------------------ invalid values


@pytest.mark.parametrize(("var", "raw", "wanted"), [
    ("TFWHEELBUILD_JOBS", "many", "an integer"),
    ("TFWHEELBUILD_JOBS", "0", "≥ 1"),
    ("TFWHEELBUILD_RAM_MB", "256", "≥ 512"),
    ("TFWHEELBUILD_RETRIES", "-1", "≥ 0"),
    ("TFWHEELBUILD_PUBLISH", "maybe", "a boolean"),
    ("TFWHEELBUILD_CONFIGURE", "TF_NEED_CLANG", "KEY=VALUE"),
])
def test_invalid_environment_values_name_key_and_variable(var: str, raw: str, wanted: str) -> None:
    key = next(o.name for o in OPTIONS if o.env == var)
    with pytest.raises(ConfigError) as info:
        resolve({}, {var: raw}, None)
    assert f"'{key}' from environment {var}" in info.value.message
    assert wanted in info.value.message


@pytest.mark.parametrize(("line", "wanted"), [
    ('jobs = "x"', "'jobs'"),
    ("jobs = true", "'jobs'"),  # a TOML bool is not an integer, although Python thinks so
    ("retries = -1", "'retries'"),
    ('publish = "perhaps"', "'publish'"),
    ("pythons = [3.10]", "quote versions"),  # would silently be 3.1
    ('configure = ["TF_NEED_CLANG"]', "'configure'"),
    ("source = 3.5", "'source'"),
])
def test_invalid_file_values_name_key_and_file(tmp_path: Path, line: str, wanted: str) -> None:
    with pytest.raises(ConfigError) as info:
        _file(tmp_path, line + "\n")
    assert wanted in info.value.message
    assert str(tmp_path / "tfwheelbuild.toml") in info.value.message


@pytest.mark.parametrize(("key", "value"), [("jobs", 0), ("retries", -1), ("publish", "perhaps")])
def test_invalid_command_line_values_are_usage_errors(key: str, value: Any) -> None:
    with pytest.raises(UsageError, match=f"'{key}' from command line"):
        resolve({key: value}, {}, None)


# ------------------------------------------------------------------------------------ reference


def test_reference_table_covers_every_option() -> None:
    rows = [line for line in reference_markdown().splitlines() if line.startswith("| `")]
    assert len(rows) == len(OPTIONS)
    for opt, row in zip(OPTIONS, rows, strict=True):
        assert row.startswith(f"| `{opt.name}` | `{opt.env}` |")
    assert "| `jobs` | `TFWHEELBUILD_JOBS` | integer ≥ 1 | unset |" in reference_markdown()
    assert "| `default-patches` | `TFWHEELBUILD_DEFAULT_PATCHES` | bool | `true` |" in reference_markdown()
    assert "| `exclude` | `TFWHEELBUILD_EXCLUDE` | list of strings | `[]` |" in reference_markdown()
    assert "| `patches` | `TFWHEELBUILD_PATCHES` | list of paths | `[]` |" in reference_markdown()
