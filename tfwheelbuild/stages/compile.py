"""Stage: the long Bazel build of the release's wheel target, then the packaging step.

Bazel runs through bazelisk-py (the `bazel` in the builder image), which resolves the version the
checkout asks for. Output base, disk and repository caches live in the cache volume.
"""

from __future__ import annotations

import re
import shlex

from tfwheelbuild.buildlog import first_error_block
from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import BazelVersionError, CompileError
from tfwheelbuild.plan import BAZEL_OUTPUT, BUILDER_ID, CA_IN_CONTAINER, SRC
from tfwheelbuild.remote import RemotePlan

NAME = "compile"
OOM_PATTERNS = ("Killed signal terminated program", "exit code 137", "Killed")
BAZEL_VERSION_EXIT = 15
PROCESS_LINE = re.compile(r"\b\d+ process(?:es)?: ")


def run(ctx: BuildContext) -> dict[str, object]:
    plan = ctx.plan.compile
    env = dict(plan.env)
    if ctx.plan.test.ca_bundle is not None and ctx.plan.test.ca_bundle.is_file():
        env["SSL_CERT_FILE"] = CA_IN_CONTAINER
    start = ctx.log.mark()
    code = ctx.run(["bazel", "--tfwb-resolve"], workdir=SRC, env=env)
    resolve = [ln for ln in ctx.log.since(start) if not ln.startswith("+ ")]
    if code != 0:
        raise BazelVersionError(resolve[-1] if resolve else "cannot resolve a Bazel for this checkout")
    ctx.bazel_version = resolve[-1].split()[0]
    if ctx.bazel_version != ctx.plan.recipe.bazel:
        ctx.log.say(f"the checkout's .bazelversion asks for Bazel {ctx.bazel_version}; the recipe for "
                    f"{ctx.plan.recipe.release} says {ctx.plan.recipe.bazel}: using the checkout's")
    write_remote_rc(ctx)
    builder = ctx.builder_id.removeprefix("sha256:")
    build_args = [a.replace(BUILDER_ID, builder) for a in plan.bazel_build]
    argv = ["bazel", *plan.bazel_startup, "build", *build_args, plan.target]
    ctx.log.say(f"compiling {plan.target} with Bazel {ctx.bazel_version} "
                f"({plan.jobs} jobs, {plan.ram_mb} MB)")
    start = ctx.log.mark()
    code = ctx.run(argv, workdir=SRC, env=env)
    ctx.log.end_progress()
    output = ctx.log.since(start)
    if code != 0:
        raise _classify(code, output)
    processes = process_summary(output)
    package = list(plan.package_cmd)
    if any(BAZEL_OUTPUT in part for part in package):
        wheels = [f for f in built_outputs(output) if f.endswith(".whl")]
        if len(wheels) != 1:
            raise CompileError(f"Bazel reported {len(wheels)} wheels for {plan.target}, expected one: {wheels}")
        package = [part.replace(BAZEL_OUTPUT, shlex.quote(wheels[0])) for part in package]
    code = ctx.run(package, workdir=SRC)
    if code != 0:
        raise CompileError(f"packaging the wheel failed (exit {code}): "
                           f"{' / '.join(first_error_block(ctx.log.stage_lines()[-30:], 3))}")
    ctx.run(["bazel", *plan.bazel_startup, "shutdown"], workdir=SRC)
    return {"bazel_version": ctx.bazel_version, "argv": argv, "processes": processes.strip(),
            "cache": _cache_summary(processes)}


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


def _cache_summary(line: str) -> dict[str, int]:
    """Bazel's own summary, e.g. 'INFO: 21 processes: 8 disk cache hit, 7 internal, 6 linux-sandbox.'

    Only the part after "process(es):" counts: each entry says where an action's result came from.
    """
    parts = re.split(r"\bprocess(?:es)?:", line, maxsplit=1)
    tail = parts[1] if len(parts) == 2 else ""
    return {m[2].strip(): int(m[1]) for m in re.finditer(r"(\d+) ([a-z -]+?)(?=[,.]|$)", tail)}


def _classify(code: int, output: list[str]) -> Exception:
    block = first_error_block(output)
    text = "\n".join(output)
    if any(p in text for p in OOM_PATTERNS):
        return CompileError(
            "the compiler was killed, most likely out of memory (OOM)",
            remedy="lower --jobs or raise the engine's memory (TensorFlow needs ~2.5 GB a job)")
    if code == BAZEL_VERSION_EXIT:
        return BazelVersionError(block[-1] if block else "Bazel version mismatch")
    first = next((ln for ln in block if "error" in ln.lower()), block[0] if block else "")
    return CompileError(f"bazel build failed (exit {code}): {first.strip()}")
