"""`tfwheelbuild doctor`: can this host build? Each check says what it found and, when it fails, the fix.

A check is "fail" when a build cannot work (no engine, no arm64 execution, no disk), "warn" when
it may (little RAM per job, an unreachable default that a mirror option can replace), "ok" otherwise.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tfwheelbuild.errors import TfwbError
from tfwheelbuild.util.redact import redact

Status = Literal["ok", "warn", "fail"]
GIB = 1024**3
# TensorFlow's output base, disk cache and repository cache take tens of GB.
DISK_FAIL_GIB, DISK_WARN_GIB = 10, 60
RAM_PER_JOB_GIB = 2.5  # the heaviest TF compile actions, as plan.default_jobs assumes
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    remedy: str = ""


def run_checks(*, source: str, apt_mirror: str, pip_index: str, bazel_mirror: str, ca_bundle: Path | None,
               arm64_image: Callable[[object], str], cache_dir: Path, source_required: bool) -> list[Check]:
    checks: list[Check] = [Check("host", "ok", f"{os.uname().machine}, {os.cpu_count()} CPUs")]
    from tfwheelbuild.engine.client import Engine
    from tfwheelbuild.engine.session import name_engine

    try:
        engine = Engine.connect()
        info = engine.info()
    except TfwbError as exc:
        named = name_engine(exc)
        checks.append(Check("engine", "fail", named.message, named.remedy))
        engine = None
    if engine is not None:
        # Which engine answered (the address, and where it keeps images): a remote one is told from the local.
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        root = f", data in {info.root_dir}" if info.root_dir else ""
        checks.append(Check("engine", "ok", f"{info.label} {info.version} (API {info.api_version}) at {where}, "
                                            f"{info.arch}, {info.cpus} CPUs, {info.mem_bytes / GIB:.1f} GiB{root}"))
        checks.append(binfmt_check(info.arch))
        checks.append(arm64_check(engine, arm64_image, info.native_arm64))
        checks.append(ram_check(info.cpus, info.mem_bytes))
        if info.root_dir and _engine_is_local():
            checks.append(disk_check("engine disk", Path(info.root_dir)))
    checks.append(disk_check("work disk", cache_dir))
    checks.append(source_check(source, required=source_required))
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    for name, url, remedy in (
        ("apt mirror", apt_mirror.rstrip("/") + "/dists/bookworm/Release",
         "pass --mirror with a reachable Debian mirror"),
        ("package index", pip_index, "set PIP_INDEX_URL (or --index-url) to a reachable index"),
        ("bazel mirror", bazel_mirror, "set BAZELISK_BASE_URL to a mirror, or rely on the distro's Bazel "
                                       "when the checkout's .bazelversion matches it"),
    ):
        checks.append(url_check(name, url, remedy, context))
    return checks


def _engine_is_local() -> bool:
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


def binfmt_check(engine_arch: str) -> Check:
    if engine_arch in ("aarch64", "arm64"):
        return Check("arm64 emulation", "ok", "not needed: the engine is arm64")
    if not _engine_is_local():
        return Check("arm64 emulation", "ok", "remote engine: see the arm64 execution check")
    if not BINFMT.exists():
        return Check("arm64 emulation", "fail", "qemu-aarch64 is not registered with binfmt_misc",
                     "apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64")
    state = BINFMT.read_text().splitlines()[0].strip() if BINFMT.read_text() else ""
    if state != "enabled":
        return Check("arm64 emulation", "fail", f"qemu-aarch64 binfmt entry is {state or 'unreadable'}",
                     "update-binfmts --enable qemu-aarch64 (or: echo 1 > /proc/sys/fs/binfmt_misc/qemu-aarch64)")
    flags = next((ln.split(":", 1)[1].strip() for ln in BINFMT.read_text().splitlines()
                  if ln.startswith("flags:")), "")
    return Check("arm64 emulation", "ok", f"qemu-aarch64 registered (flags {flags or 'none'})")


def arm64_check(engine: object, arm64_image: Callable[[object], str], native: bool) -> Check:
    try:
        image = arm64_image(engine)
        engine.check_arm64(image)  # type: ignore[attr-defined]
    except TfwbError as exc:
        return Check("arm64 execution", "fail", exc.message, exc.remedy)
    return Check("arm64 execution", "ok", f"`uname -m` in {image} says aarch64 ({'native' if native else 'qemu'})")


def ram_check(cpus: int, mem_bytes: int) -> Check:
    per_job = mem_bytes / GIB / max(cpus, 1)
    detail = f"{per_job:.1f} GiB per CPU"
    if per_job < RAM_PER_JOB_GIB:
        jobs = max(1, int(mem_bytes / GIB // RAM_PER_JOB_GIB))
        return Check("RAM per job", "warn", detail + f": builds will use --jobs={jobs} to stay clear of the OOM "
                     "killer", "give the engine more memory for full parallelism")
    return Check("RAM per job", "ok", detail)


def disk_check(name: str, path: Path) -> Check:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / GIB
    detail = f"{free:.0f} GiB free at {path}"
    if free < DISK_FAIL_GIB:
        return Check(name, "fail", detail, f"free space: TensorFlow's caches need tens of GB (at least "
                     f"{DISK_WARN_GIB} GiB); `tfwheelbuild cache --prune --older-than 30d` frees old ones")
    if free < DISK_WARN_GIB:
        return Check(name, "warn", detail, f"a full TensorFlow build wants about {DISK_WARN_GIB} GiB")
    return Check(name, "ok", detail)


def source_check(source: str, *, required: bool) -> Check:
    try:
        proc = subprocess.run(["git", "ls-remote", "--heads", source, "master"], capture_output=True, text=True,
                              timeout=20, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, check=False)
        ok, detail = proc.returncode == 0, (proc.stderr.strip().splitlines() or ["no answer"])[-1]
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, detail = False, str(exc)
    if ok:
        return Check("source", "ok", f"{redact(source)} answers")
    return Check("source", "fail" if required else "warn", f"{redact(source)}: {redact(detail)}",
                 "pass --source with a reachable mirror or a local checkout (air-gapped hosts: see README)")


def url_check(name: str, url: str, remedy: str, context: ssl.SSLContext) -> Check:
    shown = redact(url)  # a package index or mirror URL may carry a token
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=15,
                                    context=context) as response:
            return Check(name, "ok", f"{shown} answers (HTTP {response.status})")
    except urllib.error.HTTPError as exc:
        if exc.code < 500:  # the server answered: it is reachable (a directory URL may well 403/404)
            return Check(name, "ok", f"{shown} answers (HTTP {exc.code})")
        return Check(name, "warn", f"{shown}: HTTP {exc.code}", remedy)
    except (urllib.error.URLError, OSError) as exc:
        return Check(name, "warn", f"{shown}: {redact(str(getattr(exc, 'reason', exc)))}", remedy)


def format_table(checks: list[Check]) -> str:
    mark = {"ok": "✓", "warn": "!", "fail": "✕"}
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{mark[c.status]} {c.name:<{width}}  {c.detail}")
        if c.remedy and c.status != "ok":
            lines.append(f"  {'':<{width}}  fix: {c.remedy}")
    return "\n".join(lines)
