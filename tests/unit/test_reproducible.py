"""SOURCE_DATE_EPOCH: where it comes from, what it does to the key, and the host-side rewrite that pins
every entry's time and mode (so two builds of one key give one wheel, byte for byte)."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.conftest import write_wheel
from tfwheelbuild.artifacts.wheeldiff import diff_wheels
from tfwheelbuild.artifacts.wheelinfo import STAMP_FILE, ZIP_TIME_MIN, add_dist_info_file, set_build_tag, zip_time
from tfwheelbuild.cli import main
from tfwheelbuild.core.key import build_key, key_material
from tfwheelbuild.errors import ConfigError
from tfwheelbuild.pipeline.stages.repair import stamp_bytes
from tfwheelbuild.pipeline.stages.source import source_date_epoch
from tfwheelbuild.plan import GIB, BuildOptions, make_plan, parse_source_date_epoch
from tfwheelbuild.recipes import recipe_for

COMMIT = "ce3050c3b904801dc26f8244af1face77dedb4ad"
BUILDER = "sha256:" + "ab" * 32
EPOCH = 1704067200  # 2024-01-01T00:00:00Z


def key(source_date_epoch: str = "") -> str:
    opts = BuildOptions(tf_version="2.16.1", python="3.11", source_date_epoch=source_date_epoch)
    plan = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=8, engine_mem=16 * GIB)
    return build_key(plan, COMMIT, BUILDER)


def test_parse_source_date_epoch() -> None:
    assert parse_source_date_epoch("") == "" and parse_source_date_epoch("  ") == ""
    assert parse_source_date_epoch("0017") == "17" and parse_source_date_epoch(" 1704067200\n") == "1704067200"
    for bad in ("-1", "1.5", "yesterday", "١٢٣"):
        with pytest.raises(ConfigError, match="invalid SOURCE_DATE_EPOCH"):
            parse_source_date_epoch(bad)


def test_the_commit_time_is_the_default_and_1980_the_floor() -> None:
    assert source_date_epoch("", EPOCH) == EPOCH
    assert source_date_epoch("1800000000", EPOCH) == 1800000000
    assert source_date_epoch("5", EPOCH) == ZIP_TIME_MIN
    assert zip_time(0) == (1980, 1, 1, 0, 0, 0) and zip_time(EPOCH) == (2024, 1, 1, 0, 0, 0)


def test_an_explicit_epoch_is_in_the_key_the_default_adds_nothing() -> None:
    # The default is the commit's own time: a function of the commit, which the key has already.
    assert key() == key() and key("1800000000") != key() and key("1800000000") != key("1800000001")
    opts = BuildOptions(tf_version="2.16.1", python="3.11")
    material = key_material(make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=8, engine_mem=16 * GIB),
                            COMMIT, BUILDER)
    assert material["source_date_epoch"] == "commit" and material["key_version"] == 3


def test_the_stamp_is_a_function_of_the_key() -> None:
    stamp = json.loads(stamp_bytes("k" * 64, COMMIT, EPOCH))
    assert stamp == {"build_key": "k" * 64, "key_version": 3, "commit": COMMIT, "source_date_epoch": EPOCH}
    assert stamp_bytes("k" * 64, COMMIT, EPOCH) == stamp_bytes("k" * 64, COMMIT, EPOCH)


def _variant(directory: Path, when: tuple[int, int, int, int, int, int], so_mode: int) -> Path:
    """The same wheel as another build might hand it over: other times, other group/other bits, dir entries."""
    (directory / "plain").mkdir(parents=True)
    plain = write_wheel(directory / "plain", extra={"demo_pkg/_lib.so": b"\x7fELF" + b"\0" * 100})
    out = directory / plain.name
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        dest.writestr(zipfile.ZipInfo("demo_pkg/", date_time=when), b"")
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            mode = so_mode if info.filename.endswith(".so") else 0o664
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            dest.writestr(entry, src.read(info))
    return out


def test_the_stamp_step_makes_two_builds_byte_identical(tmp_path: Path) -> None:
    a = _variant(tmp_path / "a", (2026, 11, 25, 16, 1, 14), 0o744)
    b = _variant(tmp_path / "b", (2026, 11, 25, 16, 3, 47), 0o755)
    assert {d.kind for d in diff_wheels(a, b)} == {"metadata"}
    data = stamp_bytes("k" * 64, COMMIT, EPOCH)
    for wheel in (a, b):
        add_dist_info_file(wheel, STAMP_FILE, data, source_date_epoch=EPOCH)
    assert diff_wheels(a, b) == [] and a.read_bytes() == b.read_bytes()
    from wheel.wheelfile import WheelFile

    with WheelFile(a) as archive:  # RECORD matches every entry (WheelFile checks each read)
        infos = archive.infolist()
        for info in infos:
            archive.read(info)
        record = archive.read("demo_pkg-1.0.dist-info/RECORD").decode()
    assert {i.date_time for i in infos} == {(2024, 1, 1, 0, 0, 0)}
    assert not any(i.is_dir() for i in infos)
    modes = {i.filename: i.external_attr >> 16 for i in infos}
    assert modes["demo_pkg/_lib.so"] == 0o100755 and modes["demo_pkg/__init__.py"] == 0o100644
    assert [i.filename for i in infos][-2:] == [f"demo_pkg-1.0.dist-info/{STAMP_FILE}", "demo_pkg-1.0.dist-info/RECORD"]
    assert f"demo_pkg-1.0.dist-info/{STAMP_FILE},sha256=" in record and record.endswith("RECORD,,\n")


def test_without_an_epoch_old_entries_keep_their_time(tmp_path: Path) -> None:
    a = _variant(tmp_path, (2026, 11, 25, 16, 1, 14), 0o755)
    add_dist_info_file(a, STAMP_FILE, b"{}\n")
    with zipfile.ZipFile(a) as archive:
        times = {i.filename: i.date_time for i in archive.infolist()}
    assert times["demo_pkg/__init__.py"] == (2026, 11, 25, 16, 1, 14)
    assert times[f"demo_pkg-1.0.dist-info/{STAMP_FILE}"][0] == time.gmtime().tm_year


@pytest.mark.allow_subprocess
def test_set_build_tag_honours_the_epoch(tmp_path: Path) -> None:
    original = write_wheel(tmp_path)
    tagged = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        copy = tmp_path / name / original.name
        copy.write_bytes(original.read_bytes())
        tagged.append(set_build_tag(copy, "7", source_date_epoch=EPOCH))
        if name == "a":
            time.sleep(2.1)  # the wall clock moves on (zip times have 2 s steps)
    assert tagged[0].name == tagged[1].name == "demo_pkg-1.0-7-cp311-cp311-linux_aarch64.whl"
    assert diff_wheels(tagged[0], tagged[1]) == []


def test_dry_run_shows_where_file_times_come_from(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/tfwb-test-docker.sock"}
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    result = CliRunner().invoke(main, ["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert "file times:    SOURCE_DATE_EPOCH=the source commit's committer time" in result.output
    result = CliRunner().invoke(main, ["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run"],
                                env={**env, "SOURCE_DATE_EPOCH": "1700000000"})
    assert "file times:    SOURCE_DATE_EPOCH=1700000000 (from the environment)" in result.output
    result = CliRunner().invoke(main, ["build", "--tf", "2.16.1", "--py", "3.11", "--dry-run"],
                                env={**env, "SOURCE_DATE_EPOCH": "last tuesday"})
    assert result.exit_code == ConfigError.exit_code and "invalid SOURCE_DATE_EPOCH" in result.output
    assert "Traceback" not in result.output
    assert os.environ.get("SOURCE_DATE_EPOCH") is None
