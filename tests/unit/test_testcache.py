"""Runtime-test results are reused only for exactly the inputs that passed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tfwheelbuild.artifacts.testcache import RuntimeTestInputs, lookup, record_pass

BASE = RuntimeTestInputs(wheel_sha256="a" * 64, runtime_image_id="sha256:" + "b" * 64, python="3.11",
                  expected_version="2.16.1", index_url="", test_command="")


def test_a_recorded_pass_is_found_for_the_same_inputs(tmp_path: Path) -> None:
    assert lookup(tmp_path, BASE) is None
    record_pass(tmp_path, BASE, {"passed": True, "smoke": {"version": "2.16.1"}})
    found = lookup(tmp_path, BASE)
    assert found is not None and found["facts"]["passed"] is True and found["passed_at"].endswith("Z")


@pytest.mark.parametrize("change", [
    {"wheel_sha256": "c" * 64}, {"runtime_image_id": "sha256:" + "d" * 64}, {"python": "3.12"},
    {"expected_version": "2.16.2"}, {"index_url": "https://pypi.internal/simple/"}, {"test_command": "pytest -x"},
])
def test_any_other_input_is_a_different_test(tmp_path: Path, change: dict[str, str]) -> None:
    record_pass(tmp_path, BASE, {"passed": True})
    assert lookup(tmp_path, replace(BASE, **change)) is None


def test_an_unreadable_record_is_no_record(tmp_path: Path) -> None:
    record_pass(tmp_path, BASE, {"passed": True})
    next((tmp_path / "test-results").iterdir()).write_text("{not json")
    assert lookup(tmp_path, BASE) is None


def test_a_result_that_cannot_be_kept_does_not_fail(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    record_pass(blocker, BASE, {"passed": True})  # test-results would have to live under a file
    assert lookup(blocker, BASE) is None
