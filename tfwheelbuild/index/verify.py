"""The check that a published wheel installs back from its index, in a clean runtime image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfwheelbuild.engine.arm64 import arm64_image, python_from_tags
from tfwheelbuild.engine.session import engine_session
from tfwheelbuild.util.hostpaths import host_ca


def verify_from_index(wheel: Path, target: Any, *, base_image: str, mirror: str, index_url: str,
                      work_dir: Path | None, verbose: bool) -> dict[str, object]:
    """pip install NAME==VERSION from the index in the clean runtime image, then the smoke test."""
    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
    from tfwheelbuild.core.remote import LOOPBACK_HOSTS
    from tfwheelbuild.engine.preflight import host_proxy_env
    from tfwheelbuild.engine.runtest import INDEX_MOUNT, IndexSource, RuntimeTestSpec, run_index_install_test
    from tfwheelbuild.plan import runtime_recipe

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
