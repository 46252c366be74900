"""What `images`, `cache` and `clean` may remove: pure choices over listed resources and files."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tfwheelbuild.engine.client import Resource, ToolContainer
from tfwheelbuild.errors import UsageError


def parse_age(text: str, option: str = "age") -> float:
    """'30d', '12h', '90m' or plain days -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text)
    if not match:
        raise UsageError(f"{option} {text!r} is not an age like 30d, 12h or 90m",
                         remedy=f"give {option} as days (30d), hours (12h) or minutes (90m)")
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


@dataclass(frozen=True, kw_only=True)
class ContainerChoice:
    remove: tuple[ToolContainer, ...]
    left: tuple[tuple[ToolContainer, str], ...]  # with why each stays


LIVE = "its run is still going"
UNKNOWN = "running, and nothing here says its run is over"


def containers_to_clean(found: Sequence[ToolContainer],
                        run_is_live: Callable[[Mapping[str, str]], bool | None]) -> ContainerChoice:
    """Stopped containers and those of runs that are over (kept with --keep-container, or of a killed
    run); never one whose run still holds its lock, stopped or not (a run reads a finished
    container's output before removing it), never a running one nobody can vouch for."""
    remove: list[ToolContainer] = []
    left: list[tuple[ToolContainer, str]] = []
    for container in found:
        live = run_is_live(container.labels)
        if live:
            left.append((container, LIVE))
        elif live is None and not container.stopped:
            left.append((container, UNKNOWN))
        else:
            remove.append(container)
    return ContainerChoice(remove=tuple(remove), left=tuple(left))


def left_summary(left: Sequence[tuple[ToolContainer, str]]) -> list[str]:
    """One line per reason, e.g. "left 1 running container (its run is still going): tfwb-…"."""
    lines = []
    for reason in (LIVE, UNKNOWN):
        chosen = [c for c, why in left if why == reason]
        if not chosen:
            continue
        running = all(not c.stopped for c in chosen)
        noun = ("running " if running else "") + ("container" if len(chosen) == 1 else "containers")
        lines.append(f"left {len(chosen)} {noun} ({reason}): {', '.join(c.name for c in chosen)}")
    if any(why == UNKNOWN for _, why in left):
        lines.append("  (no run lock on this host: started by an older version or from another host; "
                     "`docker rm -f NAME` removes one you know is finished)")
    return lines
