"""Typed results of one build: what `pipeline.run_build` returns and what the build service adds.

The `--json` summaries were dicts read by string keys; they are now rendered from these records in one
place (`summary()`), with the keys and their order as they always were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    """One build run or skipped by its key (`where` says where the key was found for a skip)."""

    status: Literal["built", "skipped"]
    wheel: str  # a path in the output dir, or a file name on the index
    build_key: str
    seconds: float
    where: Literal["", "output", "index"] = ""
    manifest: str = ""
    wheel_sha256: str = ""
    log: str = ""
    cache: dict[str, Any] = field(default_factory=dict)
    toolchain: dict[str, Any] = field(default_factory=dict)
    stages: tuple[tuple[str, float], ...] = ()

    def summary(self) -> dict[str, Any]:
        if self.status == "skipped":
            return {"status": "skipped", "where": self.where, "wheel": self.wheel, "build_key": self.build_key,
                    "manifest": self.manifest, "seconds": self.seconds}
        return {"status": "built", "wheel": self.wheel, "wheel_sha256": self.wheel_sha256,
                "build_key": self.build_key, "manifest": self.manifest, "log": self.log, "cache": self.cache,
                "toolchain": self.toolchain, "seconds": self.seconds, "stages": dict(self.stages)}


@dataclass(frozen=True, kw_only=True)
class Published:
    status: str  # "uploaded", or "exists" (the same file was already there)
    index: str
    simple_url: str
    verified: dict[str, object] | None = None  # None: not installed back from the index

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status, "index": self.index, "simple_url": self.simple_url}
        if self.verified is not None:
            out["verified"] = self.verified
        return out


@dataclass(frozen=True, kw_only=True)
class EntryResult:
    """One matrix entry through the build service: the build, and what was done with its wheel."""

    build: BuildResult
    published: Published | None = None
    image: dict[str, Any] | None = None
    report: str = ""  # the build's report.html, when the service recorded it

    def summary(self) -> dict[str, Any]:
        out = self.build.summary()
        if self.published is not None:
            out["published"] = self.published.summary()
        if self.build.log:
            out["report"] = self.report
        if self.image is not None:
            out["image"] = self.image
        return out
