"""Run history in SQLite: what each build or nightly run did, and how long each wheel took over time.

WAL mode and a busy timeout let a nightly job and an interactive build write at the same time;
`PRAGMA user_version` numbers the schema so later versions can migrate a file in place.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

from tfwheelbuild.errors import OutputError
from tfwheelbuild.runs.entry import HISTORY_FIELDS, EntryRecord, EntryStatus, view
from tfwheelbuild.util.hostpaths import data_dir

RunKind = Literal["build", "nightly"]

BUSY_TIMEOUT_S = 30.0

# MIGRATIONS[n] takes a database at user_version n to n + 1; append, never edit a shipped step.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started TEXT NOT NULL,
        finished TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('build', 'nightly')),
        status TEXT NOT NULL DEFAULT 'running',
        report_path TEXT
    );
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        identifier TEXT NOT NULL,
        tf_version TEXT NOT NULL,
        python TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('built', 'skipped', 'failed', 'published')),
        seconds REAL NOT NULL DEFAULT 0,
        wheel TEXT NOT NULL DEFAULT '',
        wheel_size INTEGER NOT NULL DEFAULT 0,
        build_key TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        log_path TEXT NOT NULL DEFAULT '',
        stages TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX entries_run ON entries(run_id);
    CREATE INDEX entries_identifier ON entries(identifier, status);
    CREATE TABLE published (
        build_key TEXT NOT NULL,
        index_url TEXT NOT NULL,
        wheel TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        published TEXT NOT NULL,
        PRIMARY KEY (build_key, index_url)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_history_path() -> Path:
    return data_dir() / "history.sqlite3"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    id: int
    started: str
    finished: str | None
    kind: RunKind
    status: str
    report_path: str | None
    entries: tuple[EntryRecord, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The run for `history --json`: the history's own fields of each entry, as they always were."""
        return {"id": self.id, "started": self.started, "finished": self.finished, "kind": self.kind,
                "status": self.status, "report_path": self.report_path,
                "entries": [view(entry, HISTORY_FIELDS) for entry in self.entries]}


class History:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_history_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: every write below opens its own explicit transaction.
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open run history {self.path}: {exc}",
                              remedy="check that the data directory is writable, or set XDG_DATA_HOME") from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._wal()
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise OutputError(f"cannot open run history {self.path}: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    def _wal(self) -> None:
        # Switching to WAL needs a moment alone with the file, and SQLite does not apply the busy
        # timeout to it: two first-time openers at once would see "database is locked". It sticks
        # in the file, so only the first opening of a new history ever waits here.
        for attempt in range(100):
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def start_run(self, kind: RunKind, *, started: str | None = None) -> int:
        if kind not in get_args(RunKind):
            raise ValueError(f"run kind must be one of {get_args(RunKind)}, not {kind!r}")
        with self._write() as conn:
            cursor = conn.execute("INSERT INTO runs (started, kind) VALUES (?, ?)", (started or now_iso(), kind))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_entry(self, run_id: int, entry: EntryRecord) -> None:
        if entry.status not in get_args(EntryStatus):
            raise ValueError(f"entry status must be one of {get_args(EntryStatus)}, not {entry.status!r}")
        stages = json.dumps([[name, float(seconds), status] for name, seconds, status in entry.stages])
        with self._write() as conn:
            conn.execute(
                "INSERT INTO entries (run_id, identifier, tf_version, python, status, seconds, wheel, wheel_size,"
                " build_key, error, log_path, stages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, entry.identifier, entry.tf_version, entry.python, entry.status, entry.seconds,
                 entry.wheel, entry.wheel_size, entry.build_key, entry.error, entry.log_path, stages))

    def finish_run(self, run_id: int, status: str, report_path: Path | str | None = None, *,
                   finished: str | None = None) -> None:
        with self._write() as conn:
            cursor = conn.execute("UPDATE runs SET finished = ?, status = ?, report_path = ? WHERE id = ?",
                                  (finished or now_iso(), status,
                                   str(report_path) if report_path is not None else None, run_id))
        if cursor.rowcount != 1:
            raise ValueError(f"no run {run_id} in {self.path}")

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest `limit` runs, newest first, each with its entries in the order they were added."""
        rows = self._read("SELECT id, started, finished, kind, status, report_path FROM runs"
                          " ORDER BY started DESC, id DESC LIMIT ?", (limit,))
        return [RunRecord(id=row[0], started=row[1], finished=row[2], kind=row[3], status=row[4],
                          report_path=row[5], entries=tuple(self.entries(row[0]))) for row in rows]

    def entries(self, run_id: int) -> list[EntryRecord]:
        rows = self._read("SELECT identifier, tf_version, python, status, seconds, wheel, wheel_size, build_key,"
                          " error, log_path, stages FROM entries WHERE run_id = ? ORDER BY id", (run_id,))
        return [EntryRecord(identifier=r[0], tf_version=r[1], python=r[2], status=r[3], seconds=r[4], wheel=r[5],
                            wheel_size=r[6], build_key=r[7], error=r[8], log_path=r[9],
                            stages=tuple((str(n), float(s), str(st)) for n, s, st in json.loads(r[10])))
                for r in rows]

    def trend(self, identifier: str, limit: int = 20) -> list[tuple[str, float]]:
        """(run start, seconds) of the last `limit` real builds of `identifier`, oldest first.

        Only "built" entries count: a skipped or failed one says nothing about how long a build takes.
        """
        rows = self._read("SELECT r.started, e.seconds FROM entries e JOIN runs r ON r.id = e.run_id"
                          " WHERE e.identifier = ? AND e.status = 'built'"
                          " ORDER BY r.started DESC, e.id DESC LIMIT ?", (identifier, limit))
        return [(str(started), float(seconds)) for started, seconds in reversed(rows)]

    def record_published(self, build_key: str, index_url: str, wheel: str, sha256: str) -> None:
        """What went to which index: a remote index cannot be asked for build keys, only for files."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO published (build_key, index_url, wheel, sha256, published)"
                         " VALUES (?, ?, ?, ?, ?)", (build_key, index_url, wheel, sha256, now_iso()))

    def published(self, build_key: str, index_url: str) -> tuple[str, str] | None:
        """(wheel file name, sha256) published to `index_url` under this build key, if any."""
        rows = self._read("SELECT wheel, sha256 FROM published WHERE build_key = ? AND index_url = ?",
                          (build_key, index_url))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def _migrate(self) -> None:
        # IMMEDIATE takes the write lock up front, so two first-time openers cannot both create tables.
        with self._write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise OutputError(f"run history {self.path} has schema {version}, newer than this tfwheelbuild "
                                  f"understands ({SCHEMA_VERSION})", remedy="upgrade tfwheelbuild")
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step + 1}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise OutputError(f"cannot write run history {self.path}: {exc}") from exc
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise OutputError(f"cannot write run history {self.path}: {exc}") from exc

    def _read(self, sql: str, params: tuple[object, ...]) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise OutputError(f"cannot read run history {self.path}: {exc}") from exc
