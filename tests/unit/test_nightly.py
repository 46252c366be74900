"""The nightly loop's policy: continue past failures, retry infrastructure once, never build errors."""

from __future__ import annotations

import pytest

from tfwheelbuild.errors import CompileError, EngineError, Interrupted, PublishError, RuntimeTestError
from tfwheelbuild.runs.entry import EntryRecord as Outcome
from tfwheelbuild.runs.nightly import Entry, describe, is_infrastructure, run_entries, run_status

A = Entry(identifier="2.16.1-py3.11", tf_version="2.16.1", python="3.11")
B = Entry(identifier="2.17.0-py3.11", tf_version="2.17.0", python="3.11")


def built(entry: Entry) -> Outcome:
    return Outcome(identifier=entry.identifier, tf_version=entry.tf_version, python=entry.python, status="built",
                   wheel=f"tensorflow-{entry.tf_version}.whl", published="uploaded", seconds=1.0)


def test_a_failed_entry_does_not_stop_the_next() -> None:
    calls: list[str] = []

    def attempt(entry: Entry) -> Outcome:
        calls.append(entry.identifier)
        if entry is A:
            raise CompileError("bazel build failed")
        return built(entry)

    outcomes = run_entries([A, B], attempt, say=lambda _: None)
    assert calls == [A.identifier, B.identifier]
    assert [o.status for o in outcomes] == ["failed", "built"]
    assert outcomes[0].exit_code == 16 and outcomes[0].error == "bazel build failed"
    assert run_status(outcomes) == "failed"


@pytest.mark.parametrize("error", [EngineError("daemon went away"), PublishError("index unreachable")])
def test_infrastructure_failures_are_retried_once(error: Exception) -> None:
    calls: list[str] = []

    def attempt(entry: Entry) -> Outcome:
        calls.append(entry.identifier)
        if len(calls) == 1:
            raise error
        return built(entry)

    outcomes = run_entries([A], attempt, retries=1, say=lambda _: None)
    assert len(calls) == 2 and outcomes[0].status == "built" and outcomes[0].attempts == 2
    assert run_status(outcomes) == "passed"


def test_infrastructure_failure_twice_is_a_failure() -> None:
    def attempt(entry: Entry) -> Outcome:
        raise EngineError("daemon went away")

    outcomes = run_entries([A], attempt, retries=1, say=lambda _: None)
    assert outcomes[0].status == "failed" and outcomes[0].attempts == 2 and outcomes[0].exit_code == 34


@pytest.mark.parametrize("error", [CompileError("x"), RuntimeTestError("y")])
def test_build_failures_are_not_retried(error: Exception) -> None:
    calls: list[str] = []

    def attempt(entry: Entry) -> Outcome:
        calls.append(entry.identifier)
        raise error

    run_entries([A], attempt, retries=3, say=lambda _: None)
    assert calls == [A.identifier]


def test_retries_zero_means_one_attempt() -> None:
    calls: list[str] = []

    def attempt(entry: Entry) -> Outcome:
        calls.append(entry.identifier)
        raise EngineError("gone")

    run_entries([A], attempt, retries=0, say=lambda _: None)
    assert calls == [A.identifier]


def test_classification() -> None:
    assert is_infrastructure(EngineError("x")) and is_infrastructure(PublishError("x"))
    assert not is_infrastructure(CompileError("x"))


def test_describe_says_what_happened() -> None:
    assert "published" in describe(built(A))
    skipped = Outcome(identifier="i", tf_version="2.16.1", python="3.11", status="skipped", where="index",
                      wheel="w.whl")
    assert describe(skipped).startswith("up to date in the index")
    assert run_status([skipped]) == "passed"


def test_an_interruption_stops_the_whole_run() -> None:
    calls: list[str] = []

    def attempt(entry: Entry) -> Outcome:
        calls.append(entry.identifier)
        raise Interrupted("interrupted by SIGTERM")

    with pytest.raises(Interrupted):
        run_entries([A, B], attempt, say=lambda _: None)
    assert calls == [A.identifier]
