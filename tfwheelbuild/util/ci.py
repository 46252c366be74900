"""CI hosts: fold each stage in GitHub Actions' log and leave a summary table on the run's page."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from tfwheelbuild.util.redact import redact


def github_actions(env: Mapping[str, str] | None = None) -> bool:
    return (env if env is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def group(name: str) -> str:
    return f"::group::{name}"


def endgroup() -> str:
    return "::endgroup::"


def step_summary(title: str, stages: Sequence[tuple[str, float, bool]], facts: Mapping[str, str]) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: what was built, then a row per stage."""
    lines = [f"### {title}", ""]
    lines += [f"- **{key}**: `{redact(value)}`" for key, value in facts.items() if value]
    lines += ["", "| stage | time | result |", "|---|---:|---|"]
    lines += [f"| {name} | {seconds:.1f} s | {'✅' if ok else '❌'} |" for name, seconds, ok in stages]
    return "\n".join(lines) + "\n"


def write_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> None:
    path = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(markdown)
