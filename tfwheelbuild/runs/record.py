"""A run's entries kept in the history, and its report written beside them (report.json, report.html).

One `build` is a run of one entry with its own report.html; a `nightly` run has one entry per matrix entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tfwheelbuild.runs.entry import EntryRecord
from tfwheelbuild.runs.history import History, RunKind, now_iso


def record_build(entry: EntryRecord, *, started: str, report_dir: Path) -> Path:
    """A single `build` in the run history, with its own report.html (stages, and the trend of this
    release × Python over earlier builds and nights)."""
    status = "failed" if entry.status == "failed" else "passed"
    with History() as history:
        run_id = history.start_run("build", started=started)
        _, html = write_run(history, run_id, started, status, [entry], report_dir, kind="build")
        history.finish_run(run_id, status, html)
    return html


def write_run(history: History, run_id: int, started: str, status: str, entries: Sequence[EntryRecord],
              report_dir: Path, kind: RunKind = "nightly") -> tuple[Path, Path]:
    """The entries into the history, then the report with each entry's trend: (json path, html path)."""
    from tfwheelbuild.runs.report import RunReport, write_report

    for entry in entries:
        history.add_entry(run_id, entry)
    trends = {entry.identifier: history.trend(entry.identifier) for entry in entries}
    run = RunReport(kind=kind, started=started, finished=now_iso(), status=status, entries=tuple(entries))
    return write_report(report_dir, run, trends)
