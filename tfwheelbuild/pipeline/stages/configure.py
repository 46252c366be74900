"""Stage: run the checkout's configure.py non-interactively.

Every prompt is answered through its environment variable and stdin is closed, so a prompt we
did not answer ends configure with EOF instead of hanging a nightly job forever.
"""

from __future__ import annotations

import json

from tfwheelbuild.errors import ConfigureError, SourceError, ToolchainError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.plan import BUILD_PYTHON, SRC

NAME = "configure"
# Written by buildenv/*.Dockerfile: what really answers at upstream's paths (compiler version, sysroot).
TOOLCHAIN_FACTS = "/opt/tfwb/toolchain.json"


def run(ctx: BuildContext) -> dict[str, object]:
    env = dict(ctx.plan.configure_env)
    toolchain = builder_toolchain(ctx, env)
    if ctx.run(["test", "-f", "configure.py"], workdir=SRC) != 0:
        raise SourceError(f"{ctx.plan.source.url} @ {ctx.plan.source.ref} has no configure.py: "
                          "is it a TensorFlow source tree?")
    code = ctx.run([BUILD_PYTHON, "configure.py"], env=env, workdir=SRC)
    if code != 0:
        output = [ln for ln in ctx.log.stage_lines() if not ln.startswith("+ ")]
        missing = [ln for ln in output if "EOF" in ln or "not set" in ln.lower() or "error" in ln.lower()]
        detail = (missing or output or ["no output"])[-1].strip()
        raise ConfigureError(f"configure.py failed (exit {code}): {detail}")
    ctx.run(["sh", "-c", "cat .tf_configure.bazelrc 2>/dev/null || true"], workdir=SRC)
    return {"env": env, "toolchain": toolchain}


def builder_toolchain(ctx: BuildContext, env: dict[str, str]) -> dict[str, object]:
    """The compiler this build really uses, read from the builder; refused in a second when the answer
    configure is about to get (clang at upstream's path) names nothing there."""
    clang = env.get("CLANG_COMPILER_PATH", "") if env.get("TF_NEED_CLANG") == "1" else ""
    if clang and ctx.run(["test", "-x", clang], workdir=SRC) != 0:
        raise ToolchainError(f"the builder image has no clang at {clang}, where TensorFlow "
                             f"{ctx.plan.recipe.release}'s configure and toolchains look for it")
    lines: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", f"cat {TOOLCHAIN_FACTS} 2>/dev/null || true"],
                    sink=lines.append, workdir=SRC)
    try:
        facts = json.loads("\n".join(lines) or "{}")
    except ValueError:
        facts = {}
    facts = facts if isinstance(facts, dict) else {}
    facts["compiler"] = "clang" if clang else "gcc"
    facts["compiler_path"] = clang or "the builder's cc"
    facts["upstream"] = ctx.plan.toolchain.upstream
    facts["differences"] = ctx.plan.toolchain.differences() + _version_difference(ctx, facts)
    if clang:
        ctx.log.say(f"compiler: clang {facts.get('clang', '?')} at {clang}"
                    + (f" (upstream used {ctx.plan.toolchain.upstream_version})"
                       if facts.get("clang") != ctx.plan.toolchain.upstream_version else ""))
    return facts


def _version_difference(ctx: BuildContext, facts: dict[str, object]) -> list[str]:
    if facts["compiler"] != "clang":
        return []
    real = str(facts.get("clang", ""))
    wanted = ctx.plan.toolchain.upstream_version
    out = []
    if real and real.split(".")[0] != wanted.split(".")[0]:
        out.append(f"compiler: clang {real} answers at {facts['compiler_path']}, where upstream used clang "
                   f"{wanted} (the nearest major the builder's distribution serves)")
    # The cross builder also answers at the majors the release's cross toolchain names (2.18+: llvm-17).
    also = facts.get("also")
    for major, fact in sorted(also.items()) if isinstance(also, dict) else ():
        if isinstance(fact, dict) and str(fact.get("clang", "")).split(".")[0] != major:
            out.append(f"cross toolchain: clang {fact.get('clang', '?')} answers at /usr/lib/llvm-{major}, which "
                       "the release's cross toolchain names (the nearest major the builder's distribution serves)")
    return out
