"""Choosing what housekeeping removes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tfwheelbuild.engine import Resource
from tfwheelbuild.errors import UsageError
from tfwheelbuild.housekeeping import (
    created_epoch,
    old_build_dirs,
    older_than,
    parse_age,
    staging_dirs,
)
from tfwheelbuild.report import human_size


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
