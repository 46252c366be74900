"""History: schema and pragmas, round trips checked against the raw SQLite rows, trends, two writers."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from tfwheelbuild.errors import OutputError
from tfwheelbuild.runs.entry import EntryRecord
from tfwheelbuild.runs.history import SCHEMA_VERSION, History, default_history_path


def entry(identifier: str = "2.17.0-py3.11", status: str = "built", seconds: float = 100.0,
          **kw: object) -> EntryRecord:
    tf_version, python = identifier.split("-py")
    return EntryRecord(identifier=identifier, tf_version=tf_version, python=python, status=status,  # type: ignore[arg-type]
                       seconds=seconds, **kw)  # type: ignore[arg-type]


def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def test_schema_created_with_version_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "history.sqlite3"
    with History(db) as history:
        assert history.schema_version == SCHEMA_VERSION == 1
    assert raw(db, "PRAGMA user_version") == [(1,)]
    assert raw(db, "PRAGMA journal_mode") == [("wal",)]  # persistent: stored in the file itself
    tables = {name for (name,) in raw(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "entries"} <= tables
    assert [row[1] for row in raw(db, "PRAGMA table_info(runs)")] == [
        "id", "started", "finished", "kind", "status", "report_path"]
    assert [row[1] for row in raw(db, "PRAGMA table_info(entries)")] == [
        "id", "run_id", "identifier", "tf_version", "python", "status", "seconds", "wheel", "wheel_size",
        "build_key", "error", "log_path", "stages"]


def test_run_and_entries_land_in_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    record = entry(seconds=3060.5, wheel="tensorflow-2.17.0-cp311-cp311-manylinux_2_17_aarch64.whl",
                   wheel_size=250_000_000, build_key="abc123", log_path="/logs/build.log",
                   stages=(("compile", 3000.5, "ok"), ("repair", 60.0, "ok")))
    failed = entry("2.16.1-py3.12", status="failed", seconds=12.0, error="ERROR: missing header",
                   stages=(("compile", 12.0, "failed"),))
    with History(db) as history:
        run_id = history.start_run("nightly", started="2024-07-01T02:00:00+00:00")
        history.add_entry(run_id, record)
        history.add_entry(run_id, failed)
        history.finish_run(run_id, "failed", tmp_path / "report.html", finished="2024-07-01T03:00:00+00:00")

    assert raw(db, "SELECT id, started, finished, kind, status, report_path FROM runs") == [
        (run_id, "2024-07-01T02:00:00+00:00", "2024-07-01T03:00:00+00:00", "nightly", "failed",
         str(tmp_path / "report.html"))]
    rows = raw(db, "SELECT run_id, identifier, tf_version, python, status, seconds, wheel, wheel_size, build_key,"
                   " error, log_path, stages FROM entries ORDER BY id")
    assert rows[0][:11] == (run_id, "2.17.0-py3.11", "2.17.0", "3.11", "built", 3060.5,
                            "tensorflow-2.17.0-cp311-cp311-manylinux_2_17_aarch64.whl", 250_000_000, "abc123", "",
                            "/logs/build.log")
    assert json.loads(str(rows[0][11])) == [["compile", 3000.5, "ok"], ["repair", 60.0, "ok"]]
    assert rows[1][4] == "failed" and rows[1][9] == "ERROR: missing header"

    with History(db) as history:  # reopening neither migrates again nor loses anything
        [run] = history.runs(10)
        assert history.schema_version == 1
    assert run.id == run_id and run.kind == "nightly" and run.status == "failed"
    assert run.entries == (record, failed)


def test_runs_newest_first_with_limit(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        ids = [history.start_run("build", started=f"2024-07-0{day}T00:00:00+00:00") for day in (1, 3, 2)]
        runs = history.runs(2)
        assert [r.id for r in runs] == [ids[1], ids[2]]
        assert runs[0].finished is None and runs[0].status == "running" and runs[0].report_path is None
        assert runs[0].entries == ()


def test_start_run_default_timestamp_is_utc_iso(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        run_id = history.start_run("build")
        history.finish_run(run_id, "ok")
        [run] = history.runs(1)
    assert run.started.endswith("+00:00") and "T" in run.started
    assert run.finished is not None and run.finished >= run.started


def test_trend_only_built_oldest_first(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        for day, seconds, status in [(1, 100.0, "built"), (2, 5.0, "skipped"), (3, 120.0, "built"),
                                     (4, 30.0, "failed"), (5, 90.0, "built"), (6, 95.0, "built")]:
            run_id = history.start_run("nightly", started=f"2024-07-0{day}T02:00:00+00:00")
            history.add_entry(run_id, entry(status=status, seconds=seconds))
            history.add_entry(run_id, entry("2.16.1-py3.11", seconds=999.0))
        assert history.trend("2.17.0-py3.11", 10) == [
            ("2024-07-01T02:00:00+00:00", 100.0), ("2024-07-03T02:00:00+00:00", 120.0),
            ("2024-07-05T02:00:00+00:00", 90.0), ("2024-07-06T02:00:00+00:00", 95.0)]
        # The limit keeps the most recent builds, still oldest first.
        assert history.trend("2.17.0-py3.11", 2) == [("2024-07-05T02:00:00+00:00", 90.0),
                                                      ("2024-07-06T02:00:00+00:00", 95.0)]
        assert history.trend("9.9.9-py3.11", 5) == []


def test_bad_values_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with History(db) as history:
        with pytest.raises(ValueError, match="run kind"):
            history.start_run("weekly")  # type: ignore[arg-type]
        run_id = history.start_run("build")
        with pytest.raises(ValueError, match="entry status"):
            history.add_entry(run_id, entry(status="exploded"))
        with pytest.raises(ValueError, match="no run 999"):
            history.finish_run(999, "ok")
    # The schema enforces the same, for writers that bypass this class.
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO runs (started, kind) VALUES ('x', 'weekly')")
    conn.close()
    assert raw(db, "SELECT COUNT(*) FROM entries") == [(0,)]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    History(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(OutputError, match="newer than this tfwheelbuild"):
        History(db)


def test_unopenable_path_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot open run history"):
        History(blocker / "history.sqlite3")


def _writer(db: str, worker: int, start: Barrier) -> None:
    start.wait(30)
    with History(Path(db)) as history:
        for n in range(5):
            run_id = history.start_run("build")
            for i in range(10):
                history.add_entry(run_id, entry(f"2.{worker}.{n}-py3.{i}"))
            history.finish_run(run_id, "ok")


def test_concurrent_writers(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(str(db), w, start)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert raw(db, "SELECT COUNT(*), COUNT(DISTINCT identifier) FROM entries") == [(200, 200)]
    assert raw(db, "SELECT COUNT(*) FROM runs WHERE status = 'ok' AND finished IS NOT NULL") == [(20,)]
    assert raw(db, "PRAGMA user_version") == [(1,)]


def test_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_history_path() == tmp_path / "xdg" / "tfwheelbuild" / "history.sqlite3"


def test_published_keys_are_remembered_per_index(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        assert history.published("k1", "http://a/") is None
        history.record_published("k1", "http://a/", "tf-1.whl", "aa")
        history.record_published("k1", "http://a/", "tf-2.whl", "bb")  # a rebuild replaces the record
        assert history.published("k1", "http://a/") == ("tf-2.whl", "bb")
        assert history.published("k1", "http://b/") is None
        assert history.published("k2", "http://a/") is None


def test_history_json_keeps_its_own_entry_fields(tmp_path: Path) -> None:
    # The shared record carries the report's and nightly's fields too; `history --json` must not grow them.
    with History(tmp_path / "h.sqlite3") as history:
        run_id = history.start_run("nightly", started="2026-01-01T00:00:00+00:00")
        history.add_entry(run_id, entry(published="uploaded", where="index", manifest_path="m", attempts=2,
                                        stages=(("compile", 3.0, "passed"),)))
        [run] = history.runs(1)
    data = run.as_json()
    assert list(data) == ["id", "started", "finished", "kind", "status", "report_path", "entries"]
    assert data["entries"] == [{"identifier": "2.17.0-py3.11", "tf_version": "2.17.0", "python": "3.11",
                                "status": "built", "seconds": 100.0, "wheel": "", "wheel_size": 0, "build_key": "",
                                "error": "", "log_path": "", "stages": (("compile", 3.0, "passed"),)}]
