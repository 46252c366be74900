"""Checks and conversions of user input that a plan needs: sizes, times, names, jobs, the nightly date."""

from __future__ import annotations

import re

from tfwheelbuild.errors import ConfigError, ProjectNameError, UsageError
from tfwheelbuild.plan.layout import GIB
from tfwheelbuild.recipes import Recipe


def default_jobs(cpus: int, mem_bytes: int) -> tuple[int, int]:
    """Jobs and RAM (MB) for Bazel from what the engine has.

    TensorFlow's heaviest compile actions take ~2-2.5 GB each; one job per 2.5 GB keeps the OOM
    killer away, and no more jobs than cores keeps them busy without thrashing.
    """
    ram_mb = max(1024, int(mem_bytes * 0.8) // (1024 * 1024))
    jobs = max(1, min(cpus, int(mem_bytes // (2.5 * GIB))))
    return jobs, ram_mb


def parse_memory(text: str) -> int:
    """'6g', '3500m', '6GiB' -> bytes (docker's units, powers of 1024); '' -> 0 (no limit)."""
    from tfwheelbuild.core import validate

    try:
        return validate.memory(text)
    except ValueError as exc:
        raise UsageError(f"--memory {text!r}: {exc}") from None


def parse_size(text: str) -> int:
    """--max-wheel-size as bytes (0: no limit)."""
    from tfwheelbuild.core import validate

    try:
        return validate.wheel_size_bytes(text)
    except ValueError as exc:
        raise UsageError(f"--max-wheel-size {text!r}: {exc}") from exc


def parse_source_date_epoch(text: str) -> str:
    """SOURCE_DATE_EPOCH as the reproducible-builds spec defines it (a decimal count of seconds since
    1970-01-01 UTC), normalised ('0017' -> '17'); '' stays '' (the commit's time is used)."""
    value = text.strip()
    if not value:
        return ""
    if not value.isdigit() or not value.isascii():
        raise ConfigError(f"invalid SOURCE_DATE_EPOCH from the environment: expected seconds since 1970 "
                          f"(an integer), got {text!r}",
                          remedy="set it to a Unix time, e.g. $(git log -1 --format=%ct), or unset it to use the "
                                 "source commit's committer time")
    return str(int(value))


def wheel_distribution_name(project_name: str) -> str:
    return project_name.replace("-", "_").replace(".", "_")


# Apple's distributions: a Linux container (native or emulated) has no Metal to build or run them against.
MACOS_ONLY_PROJECTS = {
    "tensorflow-metal": "Apple's Metal GPU plugin for TensorFlow",
    "tensorflow-macos": "Apple's macOS-only TensorFlow, whose GPU path is tensorflow-metal",
}


def check_project_name(project_name: str) -> None:
    """Refuse, before any work, a distribution name a Linux aarch64 wheel cannot carry (empty: the recipe's)."""
    from packaging.utils import InvalidName, canonicalize_name

    if not project_name:
        return
    try:
        canonical = canonicalize_name(project_name, validate=True)
    except InvalidName:
        raise ProjectNameError(f"project name {project_name!r} is not a valid distribution name "
                               "(letters, digits, '.', '_' and '-', starting and ending with a letter or digit)"
                               ) from None
    if canonical in MACOS_ONLY_PROJECTS:
        raise ProjectNameError(
            f"{project_name} cannot be built for Linux: Metal exists only on macOS and cannot reach a Linux "
            f"container ({project_name} is {MACOS_ONLY_PROJECTS[canonical]})",
            remedy="on a Mac, `pip install tensorflow tensorflow-metal`; here, drop --project-name to build "
                   "the CPU `tensorflow` wheel for aarch64")



def nightly_repo_env(recipe: Recipe, nightly_date: str) -> list[str]:
    """How the release itself stamps its version: from 2.20, ML_WHEEL_TYPE (XLA's python_wheel.bzl)."""
    if not nightly_date:
        return ["--repo_env=ML_WHEEL_TYPE=release"] if recipe.wheel_type_env else []
    if not re.fullmatch(r"20\d{6}", nightly_date):
        raise UsageError(f"nightly date {nightly_date!r} is not YYYYMMDD")
    if not recipe.wheel_type_env:
        # Before 2.20 the stamp is made by editing version files (update_version.py --nightly), which
        # changes the source itself: that is a patch's job, not a build flag's.
        raise UsageError(f"TensorFlow {recipe.release} has no ML_WHEEL_TYPE, so it cannot stamp a nightly version",
                         remedy="build 2.20 or newer with --nightly, or carry update_version.py --nightly as a patch")
    return ["--repo_env=ML_WHEEL_TYPE=nightly", f"--repo_env=ML_WHEEL_BUILD_DATE={nightly_date}"]
