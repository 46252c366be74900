"""The clean-runtime test: install a wheel into a fresh venv in a compiler-free arm64 image.

Shared by the build pipeline's test stage and `tfwheelbuild test WHEEL`. The host's CA bundle is
bind-mounted read-only and its proxy settings are passed in, as corporate networks need.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from tfwheelbuild import resources
from tfwheelbuild.buildlog import BuildLog
from tfwheelbuild.engine import Engine, Mount
from tfwheelbuild.errors import RuntimeTestError
from tfwheelbuild.plan import CA_IN_CONTAINER

PIP_CACHE_VOLUME = "tfwb-pip"


@dataclass(frozen=True, kw_only=True)
class RuntimeTestSpec:
    image: str
    python: str
    expected_version: str
    index_url: str = ""
    test_command: str = ""
    ca_bundle: Path | None = None
    proxy_env: tuple[tuple[str, str], ...] = ()


def run_runtime_test(engine: Engine, wheel: Path, spec: RuntimeTestSpec, log: BuildLog,
                     labels: dict[str, str]) -> dict[str, object]:
    engine.ensure_volume(PIP_CACHE_VOLUME, {"org.tfwheelbuild": "1"})
    mounts = [Mount(source=PIP_CACHE_VOLUME, target="/root/.cache/pip")]
    env = dict(spec.proxy_env)
    if spec.ca_bundle and spec.ca_bundle.is_file():
        mounts.append(Mount(source=str(spec.ca_bundle.resolve()), target=CA_IN_CONTAINER, read_only=True))
        env.update(PIP_CERT=CA_IN_CONTAINER, SSL_CERT_FILE=CA_IN_CONTAINER, REQUESTS_CA_BUNDLE=CA_IN_CONTAINER)
    if spec.index_url:
        env["PIP_INDEX_URL"] = spec.index_url
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    container = engine.start(spec.image, mounts=mounts, labels=labels, env=env)
    try:
        smoke = resources.buildenv("smoke_test.py").read_bytes()
        engine.put_files(container, "/tfwb", {wheel.name: wheel, "smoke_test.py": smoke})
        # --no-compile: byte-compiling numpy (or TF) under qemu costs more than the whole smoke test,
        # and this venv is thrown away afterwards.
        steps = [
            ["python" + spec.python, "-m", "venv", "/tfwb/venv"],
            ["/tfwb/venv/bin/pip", "install", "--no-compile", "--progress-bar", "off", f"/tfwb/{wheel.name}"],
            ["/tfwb/venv/bin/python", "/tfwb/smoke_test.py", spec.expected_version],
        ]
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
