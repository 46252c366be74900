"""Stage: the long Bazel build of the release's wheel target, then the packaging step.

Bazel runs through bazelisk-py (the `bazel` in the builder image), which resolves the version the
checkout asks for. Output base, disk and repository caches live in the cache volume.

SOURCE_DATE_EPOCH goes to the packaging step (setup.py bdist_wheel stamps it on the raw wheel's
entries), not to Bazel: as an --action_env it would be part of every compile action's key, so each
new commit (a new committer time) would miss the whole cache. The Bazel-built wheels (2.17+) need
none: the repair stage rewrites every entry's time anyway.
"""

from __future__ import annotations

import re
import shlex

from tfwheelbuild.artifacts import deps
from tfwheelbuild.core.crosscheck import TOOLCHAIN_BUILD, missing_paths_script, parse_missing, toolchain_paths
from tfwheelbuild.core.remote import RemotePlan
from tfwheelbuild.errors import (
    BazelVersionError,
    CompileError,
    CrossToolchainError,
    DiskFullError,
    OutOfMemoryError,
)
from tfwheelbuild.pipeline.buildlog import first_error_block
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.pipeline.stages import custom_python
from tfwheelbuild.pipeline.stages.bazelcmd import bazel_env, build_arguments, bundle_identity, resolve_bazel
from tfwheelbuild.plan import (
    BAZEL_OUTPUT,
    DEPS_CACHE,
    SRC,
    CompilePlan,
)

NAME = "compile"
# How a killed compiler shows in Bazel's output; the cgroup's own OOM counter is the proof.
OOM_PATTERNS = ("Killed signal terminated program", "killed by signal 9")
# The build container's OOM-kill counter: cgroup v2, then v1 (kernel >= 4.13 counts kills there too).
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
DISK_FULL = "No space left on device"
BAZEL_VERSION_EXIT = 15
PROCESS_LINE = re.compile(r"\b\d+ process(?:es)?: ")


def run(ctx: BuildContext) -> dict[str, object]:
    plan = ctx.plan.compile
    env = bazel_env(ctx)
    resolve_bazel(ctx, env)
    if plan.deps is not None:
        deps.check_identity(plan.deps, deps.read_manifest(plan.deps).identity, bundle_identity(ctx))
        ctx.log.say(f"deps bundle {plan.deps}: repository cache {DEPS_CACHE} (read-only); the build container "
                    "has no network")
    if ctx.plan.cross_base is not None:
        check_cross_toolchain(ctx)
    write_remote_rc(ctx)
    custom: list[str] = []
    custom_facts: dict[str, str] = {}
    if plan.custom_python:
        custom, custom_facts = custom_python.prepare(ctx, env)
    argv = ["bazel", *plan.bazel_startup, "build", *build_arguments(ctx), *custom, plan.target]
    ctx.log.say(f"compiling {plan.target} with Bazel {ctx.bazel_version} "
                f"({plan.jobs} jobs, {plan.ram_mb} MB)")
    kills_before = oom_kills(ctx)
    start = ctx.log.mark()
    code = ctx.run(argv, workdir=SRC, env=env)
    ctx.log.end_progress()
    output = ctx.log.since(start)
    if code != 0:
        missing = deps.missing_error(output, bundle_identity(ctx), plan.deps) if plan.deps is not None else None
        raise missing or _classify(code, output, oom_kills(ctx) - kills_before, ctx.plan.compile,
                                   ctx.info.mem_bytes)
    processes = process_summary(output)
    package = list(plan.package_cmd)
    if any(BAZEL_OUTPUT in part for part in package):
        wheels = [f for f in built_outputs(output) if f.endswith(".whl")]
        if len(wheels) != 1:
            raise CompileError(f"Bazel reported {len(wheels)} wheels for {plan.target}, expected one: {wheels}")
        package = [part.replace(BAZEL_OUTPUT, shlex.quote(wheels[0])) for part in package]
    code = ctx.run(package, workdir=SRC, env={"SOURCE_DATE_EPOCH": str(ctx.source_date_epoch)})
    if code != 0:
        raise CompileError(f"packaging the wheel failed (exit {code}): "
                           f"{' / '.join(first_error_block(ctx.log.stage_lines()[-30:], 3))}")
    # The server stays up for the repair stage's SBOM queries, which shut it down (shutdown above).
    return {"bazel_version": ctx.bazel_version, "argv": argv, "processes": processes.strip(),
            **({"custom_python": custom_facts} if custom_facts else {}),
            "cache": _cache_summary(processes, remote=ctx.plan.remote.enabled)}


def check_cross_toolchain(ctx: BuildContext) -> None:
    """Fail in a second, not after Bazel's analysis, when the checkout's (patched) cross toolchain
    names a compiler, linker or sysroot this builder lacks."""
    text: list[str] = []
    if ctx.engine.exec(ctx.container, ["cat", TOOLCHAIN_BUILD], sink=text.append, workdir=SRC) != 0:
        ctx.log.say(f"no {TOOLCHAIN_BUILD} in this checkout: the cross toolchain is not checked ahead")
        return
    paths = toolchain_paths("\n".join(text))
    found: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", missing_paths_script(paths)], sink=found.append)
    missing = parse_missing(found)
    if missing:
        raise CrossToolchainError(
            f"this checkout's cross toolchain ({TOOLCHAIN_BUILD}) needs {', '.join(missing[:4])}"
            + (f" and {len(missing) - 4} more" if len(missing) > 4 else "") + ", which the cross builder lacks")
    ctx.log.say(f"cross toolchain: the {len(paths)} paths {TOOLCHAIN_BUILD} names are all in the builder")


def remote_rc_lines(remote: RemotePlan) -> list[str]:
    """The secret half of the remote settings, as bazelrc lines (shell-quoted, as Bazel tokenizes them)."""
    lines = []
    if remote.secret_url:
        lines.append("build " + shlex.quote(f"--remote_cache={remote.secret_url}"))
    if remote.header_file is not None:
        for raw in remote.header_file.read_text().splitlines():
            name, sep, value = raw.partition(":")
            if sep and name.strip() and not raw.lstrip().startswith("#"):
                lines.append("build " + shlex.quote(f"--remote_header={name.strip()}={value.strip()}"))
    return lines


def write_remote_rc(ctx: BuildContext) -> None:
    """Credentials go into the checkout's .bazelrc.user (TF's .bazelrc try-imports it), inside the
    throwaway container: never on a command line, in the log, the manifest or an image layer."""
    lines = remote_rc_lines(ctx.plan.remote)
    if not lines:
        return
    ctx.engine.put_files(ctx.container, SRC, {".bazelrc.user": ("\n".join(lines) + "\n").encode()})
    # A source whose .bazelrc does not import .bazelrc.user would silently build without the cache.
    ctx.run(["sh", "-c", "grep -q 'bazelrc.user' .bazelrc 2>/dev/null || "
                         "echo 'try-import %workspace%/.bazelrc.user' >> .bazelrc"], workdir=SRC)
    ctx.log.say(f"remote cache {ctx.plan.remote.url or ctx.plan.remote.executor}: credentials in .bazelrc.user")


def built_outputs(output: list[str]) -> list[str]:
    """The files Bazel lists under "Target //x:y up-to-date:" (this build's outputs, not stale ones)."""
    files: list[str] = []
    listing = False
    for line in output:
        if line.startswith("Target //") and line.rstrip().endswith("up-to-date:"):
            listing = True
        elif listing and line.startswith("  "):
            files.append(line.strip())
        else:
            listing = False
    return files


def process_summary(output: list[str]) -> str:
    """Bazel's last 'N process(es): ...' line of a build, or ''."""
    return next((ln for ln in reversed(output) if PROCESS_LINE.search(ln)), "")


def _cache_summary(line: str, *, remote: bool = True) -> dict[str, int]:
    """Bazel's own summary, e.g. 'INFO: 21 processes: 8 disk cache hit, 7 internal, 6 linux-sandbox.'

    Only the part after "process(es):" counts: each entry says where an action's result came from.
    Bazel before 5 serves --disk_cache through its remote-cache code and counts its hits as
    "remote cache hit"; with no remote cache configured, that can only be the disk cache.
    """
    parts = re.split(r"\bprocess(?:es)?:", line, maxsplit=1)
    tail = parts[1] if len(parts) == 2 else ""
    summary = {m[2].strip(): int(m[1]) for m in re.finditer(r"(\d+) ([a-z -]+?)(?=[,.]|$)", tail)}
    if not remote and "remote cache hit" in summary:
        summary["disk cache hit"] = summary.get("disk cache hit", 0) + summary.pop("remote cache hit")
    return summary


def oom_kills(ctx: BuildContext) -> int:
    lines: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", f"cat {' '.join(OOM_COUNTERS)} 2>/dev/null; true"], sink=lines.append)
    return parse_oom_kills(lines)


def parse_oom_kills(lines: list[str]) -> int:
    """The `oom_kill N` counter of memory.events (v2) or memory.oom_control (v1); 0 when absent."""
    return sum(int(ln.split()[1]) for ln in lines if ln.startswith("oom_kill ") and ln.split()[1].isdigit())


def memory_mb(plan: CompilePlan, engine_mem: int) -> int:
    """What the compile had: the build container's limit, else the engine's memory."""
    return (plan.memory_bytes or engine_mem) // 2**20


def fitting_settings(plan: CompilePlan, engine_mem: int) -> str:
    """What to try after an OOM kill: half the jobs, or (at one job) twice the memory."""
    limit_mb = memory_mb(plan, engine_mem)
    if plan.jobs > 1:
        return f"rerun with --jobs {plan.jobs // 2} --ram-mb {max(512, plan.ram_mb // 2)}"
    return (f"one job already: give the build more memory, e.g. --memory {2 * limit_mb}m or a bigger engine "
            "(TensorFlow's largest compile actions need ~2.5 GB each)")


def _classify(code: int, output: list[str], new_oom_kills: int, plan: CompilePlan, engine_mem: int) -> Exception:
    block = first_error_block(output)
    text = "\n".join(output)
    killed = next((ln.strip() for ln in output if any(p in ln for p in OOM_PATTERNS)), "")
    if new_oom_kills > 0 or killed:
        limit_mb = memory_mb(plan, engine_mem)
        return OutOfMemoryError(
            f"out of memory: the kernel's OOM killer ended {new_oom_kills or 'a'} process(es) of the compile "
            f"({plan.jobs} jobs in {limit_mb} MB)" + (f": {killed}" if killed else ""),
            remedy=fitting_settings(plan, engine_mem))
    if DISK_FULL in text:
        where = next((ln.strip() for ln in output if DISK_FULL in ln), DISK_FULL)
        return DiskFullError(f"the build ran out of disk space: {where}")
    if code == BAZEL_VERSION_EXIT:
        return BazelVersionError(block[-1] if block else "Bazel version mismatch")
    first = next((ln for ln in block if "error" in ln.lower()), block[0] if block else "")
    return CompileError(f"bazel build failed (exit {code}): {first.strip()}")
