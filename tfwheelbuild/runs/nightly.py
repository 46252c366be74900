"""The nightly job's loop: every matrix entry built (or skipped by key), tested, published; past failures.

Pure orchestration over an `attempt` function that does one entry's work, so the policy (continue
past a failed entry, retry once what the infrastructure broke, never what the build broke) is
unit-tested without an engine. `nightly` hands it the build service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from tfwheelbuild.errors import EngineError, EngineUnavailableError, Interrupted, PublishError, TfwbError
from tfwheelbuild.runs.entry import EntryRecord

# The engine went away or the network failed under us: worth one more try. A compile error,
# a failing patch or a failed runtime test would fail the same way again.
INFRASTRUCTURE = (EngineError, EngineUnavailableError, PublishError)


@dataclass(frozen=True, kw_only=True)
class Entry:
    identifier: str
    tf_version: str
    python: str


def is_infrastructure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE)


def run_entries(entries: Sequence[Entry], attempt: Callable[[Entry], EntryRecord], *, retries: int = 1,
                say: Callable[[str], None] = print) -> list[EntryRecord]:
    """Each entry in order; a failure is recorded and the loop goes on."""
    outcomes: list[EntryRecord] = []
    for number, entry in enumerate(entries, 1):
        say(f"[{number}/{len(entries)}] {entry.identifier}")
        started = time.monotonic()
        tries = 0
        while True:
            tries += 1
            try:
                outcome = replace(attempt(entry), attempts=tries)
                break
            except Interrupted:
                raise  # the operator stopped the whole run, not this entry
            except TfwbError as exc:
                if is_infrastructure(exc) and tries <= retries:
                    say(f"  {entry.identifier}: {exc.message} (infrastructure; retrying, {tries}/{retries})")
                    continue
                outcome = EntryRecord(identifier=entry.identifier, tf_version=entry.tf_version, python=entry.python,
                                  status="failed", error=exc.message, exit_code=exc.exit_code,
                                  log_path=exc.log_path, seconds=round(time.monotonic() - started, 1),
                                  attempts=tries)
                break
        say(f"  {entry.identifier}: {describe(outcome)}")
        outcomes.append(outcome)
    return outcomes


def describe(outcome: EntryRecord) -> str:
    if outcome.status == "failed":
        return f"FAILED (exit {outcome.exit_code}): {outcome.error}"
    what = "built" if outcome.status == "built" else f"up to date in the {outcome.where or 'output'}"
    published = {"uploaded": ", published", "exists": ", already published"}.get(outcome.published, "")
    if outcome.verified:
        published += "; installs from the index"
    return f"{what} {outcome.wheel}{published} ({outcome.seconds} s)"


def run_status(outcomes: Sequence[EntryRecord]) -> Literal["passed", "failed"]:
    return "failed" if any(o.status == "failed" for o in outcomes) else "passed"
