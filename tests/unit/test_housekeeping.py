"""Choosing what housekeeping removes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from tfwheelbuild.engine.client import Resource, ToolContainer
from tfwheelbuild.engine.housekeeping import (
    LIVE,
    UNKNOWN,
    containers_to_clean,
    created_epoch,
    left_summary,
    old_build_dirs,
    older_than,
    parse_age,
    staging_dirs,
)
from tfwheelbuild.engine.locks import LOCK_LABEL
from tfwheelbuild.errors import UsageError
from tfwheelbuild.runs.report import human_size


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2", 172800)])
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1d", "3w"])
def test_bad_age(text: str) -> None:
    with pytest.raises(UsageError):
        parse_age(text)


def test_docker_timestamps() -> None:
    assert created_epoch("2026-11-25T12:00:00.123456789Z") == created_epoch("2026-11-25T12:00:00.123456Z")
    assert created_epoch("2026-11-25T12:00:00Z") - created_epoch("2026-11-24T12:00:00+00:00") == 86400
    assert created_epoch("garbage") == 0.0


def test_older_than() -> None:
    now = created_epoch("2026-11-25T00:00:00Z")
    new = Resource(name="a", size=1, created="2026-11-24T12:00:00Z", kind="volume", id="a")
    old = Resource(name="b", size=1, created="2026-10-01T00:00:00Z", kind="volume", id="b")
    assert older_than([new, old], 7 * 86400, now=now) == [old]


def test_staging_and_old_build_dirs(tmp_path: Path) -> None:
    for name, age in (("b1", 10 * 86400), ("b2", 0)):
        staging = tmp_path / "builds" / name / "staging"
        staging.mkdir(parents=True)
        stamp = 1_800_000_000 - age
        os.utime(tmp_path / "builds" / name, (stamp, stamp))
    assert [p.parent.name for p in staging_dirs(tmp_path)] == ["b1", "b2"]
    assert [p.name for p in old_build_dirs(tmp_path, 7 * 86400, now=1_800_000_000)] == ["b1"]


def test_human_size() -> None:
    assert human_size(512) == "512 B" and human_size(3 * 1024**3) == "3.0 GiB" and human_size(1536) == "1.5 KiB"


def _container(name: str, status: str, lock: str = "") -> ToolContainer:
    labels = {"org.tfwheelbuild": "1", "org.tfwheelbuild.build": name}
    if lock:
        labels[LOCK_LABEL] = lock
    return ToolContainer(id=f"id-{name}", name=name, status=status, labels=labels)


def test_clean_chooses_stopped_and_finished_runs_containers_only() -> None:
    live_run = {"live-running": True, "live-exited": True, "kept": False, "over-exited": False}

    def is_live(labels: Mapping[str, str]) -> bool | None:
        return live_run.get(labels.get(LOCK_LABEL, ""))

    found = [_container("live-running", "running", "live-running"),
             _container("live-exited", "exited", "live-exited"),  # a run reads its output before removing it
             _container("kept", "running", "kept"),  # --keep-container: the build is over
             _container("over-exited", "exited", "over-exited"),
             _container("old-running", "running"),  # no lock to ask: could be a live build of an older version
             _container("old-exited", "exited"),
             _container("old-created", "created"),
             _container("old-paused", "paused")]
    choice = containers_to_clean(found, is_live)
    assert [c.name for c in choice.remove] == ["kept", "over-exited", "old-exited", "old-created"]
    assert [(c.name, why) for c, why in choice.left] == [
        ("live-running", LIVE), ("live-exited", LIVE), ("old-running", UNKNOWN), ("old-paused", UNKNOWN)]


def test_clean_says_what_it_left_and_why() -> None:
    left = [(_container("a", "running", "x"), LIVE), (_container("b", "running"), UNKNOWN),
            (_container("c", "running"), UNKNOWN)]
    lines = left_summary(left)
    assert lines[0] == "left 1 running container (its run is still going): a"
    assert lines[1] == "left 2 running containers (running, and nothing here says its run is over): b, c"
    assert "docker rm -f" in lines[2]
    assert left_summary([]) == []
    assert left_summary([(_container("d", "exited", "x"), LIVE)]) == ["left 1 container (its run is still going): d"]


def test_bad_age_names_the_option() -> None:
    with pytest.raises(UsageError, match="--logs-older-than '30x'") as caught:
        parse_age("30x", "--logs-older-than")
    assert "--logs-older-than" in caught.value.remedy
