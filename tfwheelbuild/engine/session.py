"""An engine and a log for a single-stage command (shell, image, verify), and the engine named in errors."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tfwheelbuild.errors import EngineUnavailableError, TfwbError
from tfwheelbuild.util.hostpaths import default_work_root


def name_engine(exc: TfwbError) -> TfwbError:
    """An unreachable engine named by the address that was tried (DOCKER_HOST, which --docker-host sets)."""
    host = os.environ.get("DOCKER_HOST", "")
    if isinstance(exc, EngineUnavailableError) and host and host not in exc.message:
        cause = str(exc.__cause__ or "").strip().splitlines()
        exc.message = f"cannot reach a Docker engine at {host}" + (f": {cause[0]}" if cause else "")
        exc.remedy = f"start the engine at {host}, or point --docker-host (or DOCKER_HOST) at one that answers"
    return exc


@contextmanager
def engine_session(work_dir: Path | None, kind: str, name: str, *, verbose: bool) -> Iterator[tuple[Any, Any]]:
    """An engine and a log for a single-stage command; containers removed, log path on errors."""
    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.engine.locks import run_lock
    from tfwheelbuild.pipeline.buildlog import BuildLog

    engine = Engine.connect()
    log_dir = (work_dir or default_work_root()) / kind / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    log = BuildLog(log_dir / f"{kind}.log", verbose=verbose)
    engine.labels["org.tfwheelbuild.session"] = f"{log_dir.name}-{os.getpid()}"
    try:
        with run_lock(log_dir, engine.labels):  # `clean` leaves this session's containers alone meanwhile
            try:
                yield engine, log
            finally:
                engine.remove_all()
    except TfwbError as exc:
        exc.log_path = str(log.path)
        raise
    finally:
        log.close()
