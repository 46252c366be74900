"""Host facts and engine sessions that commands and jobs share: the CA bundle, the work root, an
engine with a log for a single-stage command, the arm64 images such commands run in, and the check
that a published wheel installs back from its index.

Kept apart from the click edge (cliutil) so the core (jobs, doctor) never imports the CLI.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tfwheelbuild.errors import EngineUnavailableError, TfwbError, UsageError

DEFAULT_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def host_ca() -> Path | None:
    return DEFAULT_CA if DEFAULT_CA.is_file() else None


def default_work_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tfwheelbuild"


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
    from tfwheelbuild.buildlog import BuildLog
    from tfwheelbuild.engine import Engine
    from tfwheelbuild.locks import run_lock

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


def arm64_image(engine: Any, log: Any, recipe: Any, *, base_image: str, mirror: str, python: str) -> str:
    """Base (pulled or bootstrapped), proven to run arm64, then `recipe` on top of it; its tag."""
    from tfwheelbuild.bootstrap import host_mirror
    from tfwheelbuild.imagebuild import ensure_base, ensure_image
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


def verify_from_index(wheel: Path, target: Any, *, base_image: str, mirror: str, index_url: str,
                      work_dir: Path | None, verbose: bool) -> dict[str, object]:
    """pip install NAME==VERSION from the index in the clean runtime image, then the smoke test."""
    from tfwheelbuild.plan import runtime_recipe
    from tfwheelbuild.preflight import host_proxy_env
    from tfwheelbuild.remote import LOOPBACK_HOSTS
    from tfwheelbuild.runtime_test import INDEX_MOUNT, IndexSource, RuntimeTestSpec, run_index_install_test
    from tfwheelbuild.wheelinfo import inspect_wheel

    info = inspect_wheel(wheel)
    python = python_from_tags(info.pythons)
    if target.kind == "local":
        source = IndexSource(project=info.name, version=info.version, simple_url=f"file://{INDEX_MOUNT}/simple/",
                             local_root=Path(target.location))
    else:
        from urllib.parse import urlsplit

        source = IndexSource(project=info.name, version=info.version, simple_url=target.simple_url,
                             host_network=urlsplit(target.simple_url).hostname in LOOPBACK_HOSTS)
    with engine_session(work_dir, "verify", info.name, verbose=verbose) as (engine, log):
        tag = arm64_image(engine, log, runtime_recipe(python), base_image=base_image, mirror=mirror, python=python)
        spec = RuntimeTestSpec(image=tag, python=python, expected_version=info.version, index_url=index_url,
                               ca_bundle=host_ca(), proxy_env=host_proxy_env())
        return run_index_install_test(engine, source, spec, log, labels={})
