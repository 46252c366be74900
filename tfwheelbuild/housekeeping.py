"""What `images`, `cache` and `clean` may remove: pure choices over listed resources and files."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from tfwheelbuild.engine import Resource
from tfwheelbuild.errors import UsageError


def parse_age(text: str) -> float:
    """'30d', '12h', '90m' or plain days -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text)
    if not match:
        raise UsageError(f"age {text!r} is not like 30d, 12h or 90m")
    number, unit = float(match.group(1)), match.group(2) or "d"
    return number * {"d": 86400, "h": 3600, "m": 60}[unit]


def created_epoch(created: str) -> float:
    """Docker's timestamps (RFC 3339 with nanoseconds, or with a zone offset) as epoch seconds."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", created.strip()).replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return 0.0  # unknown age: treated as old, which only matters when pruning by age
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def older_than(resources: Sequence[Resource], seconds: float, now: float | None = None) -> list[Resource]:
    now = time.time() if now is None else now
    return [r for r in resources if now - created_epoch(r.created) > seconds]


def staging_dirs(work_root: Path) -> list[Path]:
    """Per-build staging copies of wheels: kept only to debug a failed build, safe to delete."""
    return sorted(p for p in (work_root / "builds").glob("*/staging") if p.is_dir())


def old_build_dirs(work_root: Path, seconds: float, now: float | None = None) -> list[Path]:
    now = time.time() if now is None else now
    return sorted(p for p in (work_root / "builds").glob("*") if p.is_dir() and now - p.stat().st_mtime > seconds)
