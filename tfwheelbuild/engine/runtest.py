"""The clean-runtime test: install a wheel into a fresh venv in a compiler-free arm64 image.

Shared by the build pipeline's test stage, `tfwheelbuild test WHEEL`, and the check after
publishing (install from the index, not from the file). The host's CA bundle is bind-mounted
read-only and its proxy settings are passed in, as corporate networks need.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from tfwheelbuild.engine.client import Engine, Mount
from tfwheelbuild.engine.installer import (
    PIP_INSTALL,
    UV_CACHE_DIR,
    UV_CACHE_VOLUME,
    choose,
    pip_venv,
    uv_env,
    venv_and_install,
)
from tfwheelbuild.errors import RuntimeTestError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.plan import CA_IN_CONTAINER
from tfwheelbuild.util import resources

PIP_CACHE_VOLUME = "tfwb-pip"
PIP_CACHE_DIR = "/home/tfwb/.cache/pip"  # the runtime image's unprivileged user (buildenv/runtime.Dockerfile)
INDEX_MOUNT = "/tfwb/index"


@dataclass(frozen=True, kw_only=True)
class RuntimeTestSpec:
    image: str
    python: str
    expected_version: str
    index_url: str = ""
    test_command: str = ""
    installer: str = "auto"  # auto: uv where it can be had (engine/installer.py), else pip; pip: pip
    ca_bundle: Path | None = None
    proxy_env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class IndexSource:
    """Install `project==version` from a PEP 503 index instead of from a wheel file."""

    project: str
    version: str
    simple_url: str  # as the container sees it
    local_root: Path | None = None  # a directory index, mounted read-only at INDEX_MOUNT
    host_network: bool = False  # an index on the host's loopback


def run_runtime_test(engine: Engine, wheel: Path, spec: RuntimeTestSpec, log: BuildLog,
                     labels: dict[str, str]) -> dict[str, object]:
    installer = choose(spec.installer)
    if installer.note:
        log.say(installer.note)
    steps = venv_and_install(installer, spec.python, f"/tfwb/{wheel.name}", seed_pip=bool(spec.test_command))
    files: dict[str, Path] = {wheel.name: wheel}
    mounts: list[Mount] = []
    env: dict[str, str] = {}
    if installer.uv is not None:
        files["uv"] = installer.uv
        engine.ensure_volume(UV_CACHE_VOLUME, {"org.tfwheelbuild": "1"})
        mounts.append(Mount(source=UV_CACHE_VOLUME, target=UV_CACHE_DIR))
        env = uv_env(spec.index_url)
    result = _run(engine, spec, log, labels, files=files, steps=steps, mounts=mounts, env=env,
                  own=[UV_CACHE_DIR] if installer.uv is not None else [])
    return {**result, "installer": installer.name}


def run_index_install_test(engine: Engine, source: IndexSource, spec: RuntimeTestSpec, log: BuildLog,
                           labels: dict[str, str]) -> dict[str, object]:
    """After publishing: the wheel must come from the index, and only from it.

    It is downloaded alone from the index (no fallback to another one, so a same-named wheel on PyPI
    cannot stand in for ours), then installed with its dependencies from the usual index.
    """
    fetch = ["/tfwb/venv/bin/pip", "download", "--no-deps", "--progress-bar", "off", "--index-url",
             source.simple_url, "-d", "/tfwb/dl", f"{source.project}=={source.version}"]
    # pip here, whatever the installer: `pip download --no-deps --index-url` fetches the wheel from the index
    # and from nowhere else, which is what this check proves.
    steps = [pip_venv(spec.python), fetch, ["sh", "-c", shlex.join(PIP_INSTALL) + " /tfwb/dl/*.whl"]]
    mounts = [Mount(source=str(source.local_root), target=INDEX_MOUNT, read_only=True)] if source.local_root else []
    result = _run(engine, spec, log, labels, files={}, steps=steps, mounts=mounts,
                  network="host" if source.host_network else "bridge")
    return {**result, "index": source.simple_url}


def _run(engine: Engine, spec: RuntimeTestSpec, log: BuildLog, labels: dict[str, str], *,
         files: dict[str, Path], steps: list[list[str]], mounts: list[Mount] | None = None,
         env: dict[str, str] | None = None, own: list[str] | None = None, network: str = "bridge") -> dict[str, object]:
    """Run `steps` (venv and install), then the smoke test and the user's test command, in a fresh container."""
    engine.ensure_volume(PIP_CACHE_VOLUME, {"org.tfwheelbuild": "1"})
    all_mounts = [Mount(source=PIP_CACHE_VOLUME, target=PIP_CACHE_DIR), *(mounts or [])]
    env = {**dict(spec.proxy_env), **(env or {})}
    if spec.ca_bundle and spec.ca_bundle.is_file():
        all_mounts.append(Mount(source=str(spec.ca_bundle.resolve()), target=CA_IN_CONTAINER, read_only=True))
        env.update(PIP_CERT=CA_IN_CONTAINER, SSL_CERT_FILE=CA_IN_CONTAINER, REQUESTS_CA_BUNDLE=CA_IN_CONTAINER)
    if spec.index_url:
        env["PIP_INDEX_URL"] = spec.index_url
    if network == "host":
        # An index on loopback must not be asked for through the proxy.
        for key in ("NO_PROXY", "no_proxy"):
            env[key] = ",".join(filter(None, [env.get(key, ""), "127.0.0.1", "localhost"]))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    container = engine.start(spec.image, mounts=all_mounts, labels=labels, env=env, network=network)
    try:
        engine.own_volumes(container, [PIP_CACHE_DIR, *(own or [])], log.line)
        smoke = resources.buildenv("smoke_test.py").read_bytes()
        engine.put_files(container, "/tfwb", {**files, "smoke_test.py": smoke})
        steps = [*steps, ["/tfwb/venv/bin/python", "/tfwb/smoke_test.py", spec.expected_version]]
        if spec.test_command:
            steps.append(["sh", "-c", f". /tfwb/venv/bin/activate && {spec.test_command}"])
        found: dict[str, object] = {}
        for cmd in steps:
            lines: list[str] = []

            def sink(line: str, lines: list[str] = lines) -> None:
                lines.append(line)
                log.line(line)

            log.command(cmd, "runtime")
            code = engine.exec(container, cmd, sink=sink)
            for line in lines:
                if line.startswith("TFWB-SMOKE "):
                    found = json.loads(line[len("TFWB-SMOKE "):])
            if code != 0:
                detail = next((ln for ln in reversed(lines) if ln.strip()), "")
                if '"error"' in detail:
                    detail = json.loads(detail).get("error", detail)
                raise RuntimeTestError(f"runtime test step `{shlex.join(cmd)}` failed (exit {code}): {detail}")
        return {"passed": True, "smoke": found, "test_command": spec.test_command}
    finally:
        engine.remove(container)
