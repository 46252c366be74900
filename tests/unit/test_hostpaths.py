from pathlib import Path

import pytest

from tfwheelbuild.util.hostpaths import data_dir, default_work_root


@pytest.mark.parametrize(("env", "wanted"), [
    ({}, ".cache/tfwheelbuild"),
    ({"XDG_CACHE_HOME": "/x/cache"}, "/x/cache/tfwheelbuild"),
    ({"XDG_CACHE_HOME": "rel"}, "rel/tfwheelbuild"),
])
def test_work_root_paths_users_have_today(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          env: dict[str, str], wanted: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    expected = Path(wanted) if wanted.startswith(("/", "rel")) else tmp_path / wanted
    assert default_work_root() == expected


@pytest.mark.parametrize(("value", "wanted"), [("", ".local/share/tfwheelbuild"), ("rel", ".local/share/tfwheelbuild"),
                                               ("/x/data", "/x/data/tfwheelbuild")])
def test_data_dir_paths_users_have_today(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str,
                                         wanted: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", value)
    assert data_dir() == (Path(wanted) if wanted.startswith("/") else tmp_path / wanted)
