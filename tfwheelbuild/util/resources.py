"""Files the package ships beside its code: image recipes, default patch series, bazelisk-py."""

from __future__ import annotations

import sys
from importlib import resources

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable


def buildenv(name: str) -> Traversable:
    return resources.files("tfwheelbuild.buildenv").joinpath(name)


def default_patches() -> Traversable:
    return resources.files("tfwheelbuild.patches")


def bazelisk_source() -> bytes:
    # Runs inside the builder (standard library only), so it sits with the other in-container files.
    return buildenv("bazelisk.py").read_bytes()
