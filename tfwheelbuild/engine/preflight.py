"""Host-side checks before any container starts: is the source there, is the build already done?

They make bad input fail in a second instead of after an image build, and make a repeated build
return at once (the build key), using only git on the host and local engine look-ups.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
from tfwheelbuild.core.key import build_key
from tfwheelbuild.core.remote import RemotePlan
from tfwheelbuild.engine.client import Engine
from tfwheelbuild.engine.imagebuild import lookup_builder_id
from tfwheelbuild.errors import RemoteCacheError, SourceError
from tfwheelbuild.plan import BuildPlan
from tfwheelbuild.util.redact import redact

BAZEL_VARS = ("BAZELISK_BASE_URL", "USE_BAZEL_VERSION")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def host_proxy_env() -> tuple[tuple[str, str], ...]:
    return tuple((k, os.environ[k]) for k in PROXY_VARS if os.environ.get(k))


def host_bazel_env() -> tuple[tuple[str, str], ...]:
    return tuple((k, os.environ[k]) for k in BAZEL_VARS if os.environ.get(k))


def resolve_ref(source: str, ref: str) -> tuple[str, str]:
    """(full ref, commit) of `ref` in `source`: a tag first, then a branch (tracking r2.20 or master).

    Fails in a second, not after the image builds, when the ref or the source is wrong.
    """
    if shutil.which("git") is None:
        return (ref if ref.startswith("refs/") else f"refs/tags/{ref}"), ""
    local = Path(source.removeprefix("file://"))
    is_local = "://" not in source.replace("file://", "") and not source.startswith("git@")
    if is_local and not local.exists():
        raise SourceError(f"source {source} does not exist")
    wanted = [ref] if ref.startswith("refs/") else [f"refs/tags/{ref}", f"refs/heads/{ref}"]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        result = subprocess.run(["git", "ls-remote", source, *wanted, *(w + "^{}" for w in wanted)],
                                capture_output=True, text=True, timeout=60, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"source {redact(source)} did not answer within 60 s") from exc
    if result.returncode != 0:
        # git's first `fatal:` line names the cause; its last is boilerplate ("...and the repository exists.").
        lines = result.stderr.strip().splitlines()
        detail = next((ln.removeprefix("fatal: ") for ln in lines if ln.startswith("fatal: ")),
                      lines[-1] if lines else "git ls-remote failed")
        raise SourceError(f"cannot read source {redact(source)}: {redact(detail)}")
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line.strip():
            sha, name = line.split()[:2]
            found[name] = sha
    for full in wanted:
        # An annotated tag's own object is not a commit: take the commit it peels to.
        commit = found.get(full + "^{}") or found.get(full)
        if commit:
            return full, commit
    raise SourceError(f"tag {ref} does not exist in {redact(source)}" if not ref.startswith("refs/")
                      else f"ref {ref} does not exist in {redact(source)}")


def expected_key(plan: BuildPlan, engine: Engine, commit: str) -> str | None:
    """The build key this plan will have, when its builder image already exists (else unknowable yet)."""
    if not commit:
        return None
    builder_id = lookup_builder_id(engine, plan.cross_base or plan.base, plan.builder, plan.test.ca_bundle)
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


def check_remote(remote: RemotePlan, say: Callable[[str], None]) -> None:
    """Does the remote cache answer? Required: fail now. Else warn once; Bazel falls back to local."""
    url = remote.secret_url or remote.url
    if not url:
        return
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443, "grpc": 80, "grpcs": 443}[parts.scheme]
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=5):
            return
    except OSError as exc:
        reason = exc.strerror or str(exc)
    if remote.required:
        raise RemoteCacheError(f"remote cache {remote.url} does not answer ({reason})")
    say(f"warning: remote cache {remote.url} does not answer ({reason}); building with local caches only")
