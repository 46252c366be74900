"""What stages share while a build runs: the plan, the adapters, and what earlier stages found."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfwheelbuild.engine.client import Engine, EngineInfo
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.plan import BuildPlan


@dataclass
class BuildContext:
    plan: BuildPlan
    engine: Engine
    info: EngineInfo
    log: BuildLog
    build_dir: Path  # host side: log, staging, quarantine
    build_id: str
    retest: bool = False  # run the runtime test even for a wheel that passed it before, byte for byte
    keep_container: bool = False  # on failure, leave the build container for `tfwheelbuild shell`
    started: float = field(default_factory=time.time)  # wall clock, for the provenance's run details
    # Filled in by the stages, in pipeline order.
    base_id: str = ""
    builder_id: str = ""
    builder_tag: str = ""
    runtime_id: str = ""
    runtime_tag: str = ""
    container: str = ""
    commit: str = ""
    source_date_epoch: int = 0  # the time stamped on the wheel's files (SOURCE_DATE_EPOCH or the commit's)
    bazel_version: str = ""
    build_key: str = ""
    wheel: Path | None = None  # the repaired wheel, staged on the host
    facts: dict[str, Any] = field(default_factory=dict)  # stage name -> what it recorded

    @property
    def staging(self) -> Path:
        return self.build_dir / "staging"

    def run(self, cmd: list[str], *, env: dict[str, str] | None = None, workdir: str | None = None,
            where: str = "builder") -> int:
        """Exec in the build container with the command echoed into the log first."""
        self.log.command(cmd, where)
        return self.engine.exec(self.container, cmd, sink=self.log.line, env=env, workdir=workdir)
