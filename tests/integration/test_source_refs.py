"""Resolving a release tag or a tracked branch on the host, with real git (no engine needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tfwheelbuild.engine.preflight import resolve_ref
from tfwheelbuild.errors import SourceError
from tfwheelbuild.plan import BuildOptions
from tfwheelbuild.recipes import recipe_for
from tfwheelbuild.service import pin_source


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "tf"
    path.mkdir()
    git(path, "init", "-q", "-b", "master")
    git(path, "commit", "-q", "--allow-empty", "-m", "one")
    git(path, "tag", "-a", "v2.20.0", "-m", "TensorFlow 2.20.0")
    git(path, "checkout", "-q", "-b", "r2.20")
    git(path, "commit", "-q", "--allow-empty", "-m", "two")
    return path


def test_annotated_tag_resolves_to_its_commit(repo: Path) -> None:
    full, commit = resolve_ref(str(repo), "v2.20.0")
    assert full == "refs/tags/v2.20.0"
    assert commit == git(repo, "rev-parse", "v2.20.0^{commit}")


def test_branch_resolves_to_its_newest_commit(repo: Path) -> None:
    assert resolve_ref(str(repo), "r2.20") == ("refs/heads/r2.20", git(repo, "rev-parse", "r2.20"))
    assert resolve_ref(f"file://{repo}", "master")[0] == "refs/heads/master"


def test_missing_ref_and_missing_source(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"tag v9\.9\.9 does not exist"):
        resolve_ref(str(repo), "v9.9.9")
    with pytest.raises(SourceError, match="does not exist"):
        resolve_ref(str(tmp_path / "nowhere"), "v2.20.0")


def test_tracking_a_branch_stamps_a_nightly_version(repo: Path) -> None:
    said: list[str] = []
    opts = BuildOptions(tf_version="2.20.0", python="3.11", source=str(repo), ref="r2.20")
    pinned, commit = pin_source(opts, recipe_for("2.20.0"), said.append)
    assert pinned.ref == "refs/heads/r2.20" and commit == git(repo, "rev-parse", "r2.20")
    assert len(pinned.nightly_date) == 8 and pinned.nightly_date.isdigit()
    assert "stamping 2.20.0.dev" in said[0]

    tagged, _ = pin_source(BuildOptions(tf_version="2.20.0", python="3.11", source=str(repo)),
                           recipe_for("2.20.0"), said.append)
    assert tagged.ref == "refs/tags/v2.20.0" and tagged.nightly_date == ""


def test_branch_of_a_release_without_ml_wheel_type_keeps_its_version(repo: Path) -> None:
    said: list[str] = []
    opts = BuildOptions(tf_version="2.17.0", python="3.11", source=str(repo), ref="r2.20")
    pinned, _ = pin_source(opts, recipe_for("2.17.0"), said.append)
    assert pinned.nightly_date == "" and "no ML_WHEEL_TYPE" in said[0]
