"""One matrix entry's outcome, the one record the nightly loop, the run history and the report share.

Each of them writes only its own view of it (`HISTORY_FIELDS`, `REPORT_FIELDS`), so the history's
`--json` and the report's JSON keep the keys they always had while the record grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EntryStatus = Literal["built", "skipped", "failed", "published"]
StageTiming = tuple[str, float, str]  # (stage name, seconds, status)

HISTORY_FIELDS = ("identifier", "tf_version", "python", "status", "seconds", "wheel", "wheel_size", "build_key",
                  "error", "log_path", "stages")
REPORT_FIELDS = ("identifier", "tf_version", "python", "status", "published", "where", "seconds", "wheel",
                 "wheel_size", "build_key", "error", "log_path", "manifest_path", "stages")


@dataclass(frozen=True, kw_only=True)
class EntryRecord:
    identifier: str  # e.g. "2.17.0-py3.11"
    tf_version: str
    python: str
    status: EntryStatus
    published: str = ""  # "uploaded", "exists" (already there, identical) or "" (not published)
    verified: bool = False  # installed back from the index in the clean runtime image
    where: str = ""  # for a skipped entry: "output" or "index", where the same build key was found
    seconds: float = 0.0
    wheel: str = ""
    wheel_size: int = 0
    build_key: str = ""
    error: str = ""  # the one line that says what went wrong
    exit_code: int = 0
    log_path: str = ""
    manifest_path: str = ""
    stages: tuple[StageTiming, ...] = ()
    attempts: int = 1


def view(entry: EntryRecord, names: tuple[str, ...]) -> dict[str, object]:
    """The fields one consumer writes, in its order (stages as lists, as `dataclasses.asdict` gave them)."""
    return {name: getattr(entry, name) for name in names}
