"""Config files, their overrides and the nightly matrix: pure logic, tmp_path only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.helpers_config import _file
from tfwheelbuild.core.config import find_config, resolve
from tfwheelbuild.core.matrix import format_github_matrix, format_matrix_table, resolve_matrix
from tfwheelbuild.errors import ConfigError


def _matrix(tmp_path: Path, text: str, env: dict[str, str] | None = None,
            cli: dict[str, Any] | None = None) -> dict[str, Any]:
    config = _file(tmp_path, text)
    return {e.identifier: e for e in resolve_matrix(resolve(cli or {}, env or {}, config), config)}


# -------------------------------------------------------------------------------- config files


def test_file_values_are_typed_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    sub = tmp_path / "ci"
    sub.mkdir()
    config = _file(sub, 'output = "wheels"\npatches = ["mine", "/abs/p"]\nbuild_tag = 2\nram-mb = 4096\n'
                        "default-patches = false\n[configure]\nTF_NEED_CLANG = true\nTF_CUDA = 0\n")
    assert config.settings["output"] == sub / "wheels"
    assert config.settings["patches"] == (sub / "mine", Path("/abs/p"))
    assert config.settings["build-tag"] == "2"
    assert config.settings["ram-mb"] == 4096 and config.settings["default-patches"] is False
    assert config.settings["configure"] == (("TF_NEED_CLANG", "1"), ("TF_CUDA", "0"))


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'pyton' in .*tfwheelbuild\.toml; did you mean 'pythons'\?"):
        _file(tmp_path, 'pyton = ["3.11"]\n')
    with pytest.raises(ConfigError, match=r"did you mean 'overrides'\?"):
        _file(tmp_path, '[[override]]\nselect = "2.17.*"\n')
    with pytest.raises(ConfigError) as info:
        _file(tmp_path, 'zzzzzz = 1\n')
    assert "unknown key 'zzzzzz'" in info.value.message and "did you mean" not in info.value.message


def test_unknown_key_in_overrides_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'jbos' in .*\[\[overrides\]\] #2.*did you mean 'jobs'\?"):
        _file(tmp_path, '[[overrides]]\nselect = "2.16.*"\njobs = 1\n[[overrides]]\nselect = "2.17.*"\njbos = 2\n')


@pytest.mark.parametrize("key", ["releases", "pythons", "retries"])
def test_matrix_keys_cannot_be_overridden(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}' cannot be set in .*overrides"):
        _file(tmp_path, f'[[overrides]]\nselect = "2.17.*"\n{key} = ["1"]\n')


def test_override_needs_a_select(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs select"):
        _file(tmp_path, '[[overrides]]\njobs = 2\n')


def test_both_spellings_of_a_key(tmp_path: Path) -> None:
    assert _file(tmp_path, 'index_url = "https://x/simple"\n').settings["index-url"] == "https://x/simple"
    with pytest.raises(ConfigError, match="'index-url' is set twice"):
        _file(tmp_path, 'index_url = "a"\nindex-url = "b"\n')


def test_malformed_toml_names_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _file(tmp_path, 'jobs = 2\npythons = "3.11" "3.12"\n')
    assert str(tmp_path / "tfwheelbuild.toml") in info.value.message
    assert "line 2" in info.value.message and "column" in info.value.message
    assert info.value.exit_code == 21


def test_tool_table_inside_tfwheelbuild_toml(tmp_path: Path) -> None:
    config = _file(tmp_path, 'jobs = 2\n[tool.tfwheelbuild]\nplat = "linux_aarch64"\n[[tool.tfwheelbuild.overrides]]\n'
                             'select = "2.17.*"\njobs = 8\n')
    assert dict(config.settings) == {"jobs": 2, "plat": "linux_aarch64"}
    assert [o.settings["jobs"] for o in config.overrides] == [8]
    both = _file(tmp_path, '[[overrides]]\nselect = "a"\njobs = 1\n'
                           '[[tool.tfwheelbuild.overrides]]\nselect = "b"\njobs = 2\n')
    assert [o.select for o in both.overrides] == [("a",), ("b",)]  # top-level first, then the tool table's
    with pytest.raises(ConfigError, match="'jobs' is set both"):
        _file(tmp_path, 'jobs = 2\n[tool.tfwheelbuild]\njobs = 3\n')
    with pytest.raises(ConfigError, match="unknown key 'tool'"):
        _file(tmp_path, '[tool.black]\nline-length = 1\n')


def test_pyproject_settings_live_under_tool(tmp_path: Path) -> None:
    config = _file(tmp_path, '[project]\nname = "x"\n[tool.tfwheelbuild]\npythons = ["3.11"]\n'
                             '[[tool.tfwheelbuild.overrides]]\nselect = "2.17.*"\njobs = 8\n', "pyproject.toml")
    assert config.settings["pythons"] == ("3.11",) and len(config.overrides) == 1
    with pytest.raises(ConfigError, match=r"unknown key 'pyton' in .*pyproject\.toml \[tool\.tfwheelbuild\]"):
        _file(tmp_path, '[tool.tfwheelbuild]\npyton = ["3.11"]\n', "pyproject.toml")


def test_discovery_order(tmp_path: Path) -> None:
    assert find_config(tmp_path, None) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.black]\nx = 1\n')
    assert find_config(tmp_path, None) is None  # a pyproject without our table is not a config
    (tmp_path / "pyproject.toml").write_text('[tool.tfwheelbuild]\njobs = 2\n')
    assert find_config(tmp_path, None) == tmp_path / "pyproject.toml"
    (tmp_path / "tfwheelbuild.toml").write_text("jobs = 3\n")
    assert find_config(tmp_path, None) == tmp_path / "tfwheelbuild.toml"
    (tmp_path / "other.toml").write_text("jobs = 4\n")
    assert find_config(tmp_path, Path("other.toml")) == tmp_path / "other.toml"


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml does not exist"):
        find_config(tmp_path, Path("missing.toml"))


# ------------------------------------------------------------------------------------ overrides


OVERRIDES = '''
releases = ["2.16.1", "2.17.0"]
pythons = ["3.11", "3.12"]
jobs = 2
[[overrides]]
select = "2.17.*"
jobs = 4
bazel-args = ["--copt=-O2"]
[[overrides]]
select = "*-py3.12 2.16.1-py3.11"
jobs = 8
'''


def test_overrides_select_entries_and_later_ones_win(tmp_path: Path) -> None:
    m = _matrix(tmp_path, OVERRIDES)
    jobs = {ident: e.settings["jobs"] for ident, e in m.items()}
    assert jobs == {"2.16.1-py3.11": 8, "2.16.1-py3.12": 8, "2.17.0-py3.11": 4, "2.17.0-py3.12": 8}
    assert m["2.17.0-py3.11"].settings["bazel-args"] == ("--copt=-O2",)
    assert m["2.16.1-py3.12"].settings["bazel-args"] == ()
    assert m["2.17.0-py3.12"].settings.origin("jobs").endswith("[[overrides]] #2 (select '*-py3.12 2.16.1-py3.11')")
    assert m["2.17.0-py3.12"].overridden == ("bazel-args", "jobs")


def test_pattern_without_py_matches_the_release_only(tmp_path: Path) -> None:
    text = ('releases = ["2.17.0", "2.17.1"]\npythons = ["3.11"]\n[[overrides]]\nselect = "2.17.0"\n'
            'plat = "linux_aarch64"\n')
    m = _matrix(tmp_path, text)
    assert m["2.17.0-py3.11"].settings["plat"] == "linux_aarch64"
    assert m["2.17.1-py3.11"].settings["plat"] == ""


def test_an_override_that_changes_nothing_is_not_reported(tmp_path: Path) -> None:
    m = _matrix(tmp_path, OVERRIDES + '[[overrides]]\nselect = "2.16.1-py3.11"\njobs = 2\nplat = ""\n')
    entry = m["2.16.1-py3.11"]
    assert entry.settings["jobs"] == 2 and entry.settings.origin("jobs").endswith("#3 (select '2.16.1-py3.11')")
    assert entry.overridden == ()


def test_environment_and_command_line_beat_overrides(tmp_path: Path) -> None:
    m = _matrix(tmp_path, OVERRIDES, env={"TFWHEELBUILD_JOBS": "1"}, cli={"bazel-args": ("--x",)})
    assert {e.settings["jobs"] for e in m.values()} == {1}
    assert {e.settings["bazel-args"] for e in m.values()} == {("--x",)}
    assert all(e.overridden == () for e in m.values())


# --------------------------------------------------------------------------------------- matrix


def test_matrix_is_releases_by_pythons_in_declared_order_without_duplicates(tmp_path: Path) -> None:
    text = 'releases = ["2.17.0", "2.16.1", "2.17.0"]\npythons = ["3.12", "3.10"]\n'
    assert list(_matrix(tmp_path, text)) == ["2.17.0-py3.12", "2.17.0-py3.10", "2.16.1-py3.12", "2.16.1-py3.10"]
    entry = _matrix(tmp_path, text)["2.16.1-py3.10"]
    assert (entry.tf_version, entry.python) == ("2.16.1", "3.10")


def test_matrix_from_the_command_line_without_a_file() -> None:
    entries = resolve_matrix(resolve({"releases": "2.16.1", "pythons": ("3.11",)}, {}, None), None)
    assert [e.identifier for e in entries] == ["2.16.1-py3.11"]


@pytest.mark.parametrize(("text", "missing"), [('pythons = ["3.11"]\n', "releases"),
                                               ('releases = ["2.17.0"]\n', "pythons")])
def test_empty_matrix_is_a_config_error_with_a_remedy(tmp_path: Path, text: str, missing: str) -> None:
    with pytest.raises(ConfigError, match=f"no {missing}") as info:
        _matrix(tmp_path, text)
    assert f"TFWHEELBUILD_{missing.upper()}" in info.value.remedy


def test_github_matrix_json(tmp_path: Path) -> None:
    config = _file(tmp_path, OVERRIDES + '[[overrides]]\nselect = "2.16.1"\nconfigure = {TF_NEED_CLANG = "1"}\n'
                                         'output = "w"\n')
    entries = resolve_matrix(resolve({}, {}, config), config)
    data = json.loads(format_github_matrix(entries))
    assert [i["id"] for i in data["include"]] == [e.identifier for e in entries]
    assert data["include"][0] == {"id": "2.16.1-py3.11", "tf": "2.16.1", "py": "3.11", "jobs": 8,
                                  "configure": {"TF_NEED_CLANG": "1"}, "output": str(tmp_path / "w")}
    assert data["include"][2] == {"id": "2.17.0-py3.11", "tf": "2.17.0", "py": "3.11", "jobs": 4,
                                  "bazel-args": ["--copt=-O2"]}


def test_matrix_table(tmp_path: Path) -> None:
    config = _file(tmp_path, OVERRIDES)
    lines = format_matrix_table(resolve_matrix(resolve({}, {}, config), config)).splitlines()
    assert lines[0].split() == ["ID", "TF", "PYTHON", "OVERRIDES"]
    assert lines[3].split() == ["2.17.0-py3.11", "2.17.0", "3.11", 'bazel-args=["--copt=-O2"],', "jobs=4"]
    assert len(lines) == 5 and lines[1].index("2.16.1 ") == lines[0].index("TF")  # columns line up
