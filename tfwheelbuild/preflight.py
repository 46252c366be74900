"""Host-side checks before any container starts: is the source there, is the build already done?

They make bad input fail in a second instead of after an image build, and make a repeated build
return at once (the build key), using only git on the host and local engine look-ups.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tfwheelbuild.engine import Engine
from tfwheelbuild.errors import SourceError
from tfwheelbuild.key import build_key
from tfwheelbuild.plan import BuildPlan
from tfwheelbuild.stages.images import lookup_builder_id
from tfwheelbuild.wheelinfo import inspect_wheel

BAZEL_VARS = ("BAZELISK_BASE_URL", "USE_BAZEL_VERSION")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def host_proxy_env() -> tuple[tuple[str, str], ...]:
    return tuple((k, os.environ[k]) for k in PROXY_VARS if os.environ.get(k))


def host_bazel_env() -> tuple[tuple[str, str], ...]:
    return tuple((k, os.environ[k]) for k in BAZEL_VARS if os.environ.get(k))


def check_tag(source: str, ref: str) -> str:
    """Fail in a second, not after the image builds, when the tag or the source is wrong."""
    if shutil.which("git") is None:
        return ""
    local = Path(source.removeprefix("file://"))
    is_local = "://" not in source.replace("file://", "") and not source.startswith("git@")
    if is_local and not local.exists():
        raise SourceError(f"source {source} does not exist")
    full = ref if ref.startswith("refs/") else f"refs/tags/{ref}"
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        result = subprocess.run(["git", "ls-remote", source, full, full + "^{}"], capture_output=True,
                                text=True, timeout=60, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"source {source} did not answer within 60 s") from exc
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["git ls-remote failed"])[-1]
        raise SourceError(f"cannot read source {source}: {detail}")
    lines = [ln.split() for ln in result.stdout.splitlines() if ln.strip()]
    if not lines:
        raise SourceError(f"tag {ref} does not exist in {source}")
    peeled = [sha for sha, name in lines if name.endswith("^{}")]
    return (peeled or [lines[0][0]])[0]


def expected_key(plan: BuildPlan, engine: Engine, commit: str) -> str | None:
    """The build key this plan will have, when its builder image already exists (else unknowable yet)."""
    if not commit:
        return None
    builder_id = lookup_builder_id(engine, plan.base, plan.builder, plan.test.ca_bundle)
    return None if builder_id is None else build_key(plan, commit, builder_id)


def find_in_output(plan: BuildPlan, key: str) -> Path | None:
    """A wheel in the output dir whose manifest carries this key and whose bytes still match it."""
    if not plan.output.is_dir():
        return None
    for manifest_path in sorted(plan.output.glob("*.manifest.json")):
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("build_key") != key:
            continue
        wheel = plan.output / manifest_path.name.removesuffix(".manifest.json")
        expected = manifest.get("wheel", {}).get("sha256")
        if wheel.is_file() and inspect_wheel(wheel).sha256 == expected:
            return wheel
    return None
