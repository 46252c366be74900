"""The error hierarchy: one distinct exit code and a remedy for every kind of failure."""

from __future__ import annotations

import pytest
from tfwheelbuild.buildenv import bazelisk

from tfwheelbuild import errors
from tfwheelbuild.errors import BazelVersionError, TfwbError, UsageError


def _all_subclasses(cls: type[TfwbError]) -> list[type[TfwbError]]:
    found: list[type[TfwbError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


SUBCLASSES = _all_subclasses(TfwbError)


def test_the_module_defines_many_error_kinds() -> None:
    defined = {obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, TfwbError)}
    assert defined - {TfwbError} <= set(SUBCLASSES)
    assert len(SUBCLASSES) >= 18


def test_exit_codes_are_distinct() -> None:
    codes = [cls.exit_code for cls in SUBCLASSES]
    duplicates = {c for c in codes if codes.count(c) > 1}
    assert not duplicates, f"shared exit codes: {duplicates}"
    assert TfwbError.exit_code not in codes
    assert 0 not in codes


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_every_error_has_a_remedy_and_a_valid_exit_code(cls: type[TfwbError]) -> None:
    assert cls.remedy.strip()
    assert 1 <= cls.exit_code <= 255
    error = cls("something broke")
    assert error.message == "something broke"
    assert str(error) == "something broke"
    assert error.remedy == cls.remedy
    assert error.exit_code == cls.exit_code


def test_remedy_can_be_overridden_per_instance() -> None:
    error = UsageError("bad", remedy="do this instead")
    assert error.remedy == "do this instead"
    assert UsageError.remedy != "do this instead"
    assert UsageError("bad").remedy == UsageError.remedy


def test_bazelisk_exit_code_matches_bazel_version_error() -> None:
    assert BazelVersionError.exit_code == bazelisk.EXIT_VERSION
