"""The arm64 image a single-stage command runs in: base pulled or bootstrapped, proven arm64, recipe on top."""

from __future__ import annotations

from typing import Any

from tfwheelbuild.errors import UsageError
from tfwheelbuild.util.hostpaths import host_ca


def arm64_image(engine: Any, log: Any, recipe: Any, *, base_image: str, mirror: str, python: str) -> str:
    """Base (pulled or bootstrapped), proven to run arm64, then `recipe` on top of it; its tag."""
    from tfwheelbuild.engine.bootstrap import host_mirror
    from tfwheelbuild.engine.imagebuild import ensure_base, ensure_image
    from tfwheelbuild.plan import base_plan

    base_ref, base_id = ensure_base(engine, log, base_plan(base_image, mirror or host_mirror(), python), python)
    engine.check_arm64(base_ref)
    tag, _ = ensure_image(engine, log, recipe, base_ref, base_id, host_ca())
    return str(tag)


def python_from_tags(pythons: tuple[str, ...]) -> str:
    for tag in pythons:
        if tag.startswith("cp") and tag[2:].isdigit():
            return f"{tag[2]}.{tag[3:]}"
    raise UsageError(f"cannot tell the Python from the wheel's tags ({', '.join(pythons)}); pass --py")
