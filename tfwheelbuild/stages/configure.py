"""Stage: run the checkout's configure.py non-interactively.

Every prompt is answered through its environment variable and stdin is closed, so a prompt we
did not answer ends configure with EOF instead of hanging a nightly job forever.
"""

from __future__ import annotations

from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import ConfigureError, SourceError
from tfwheelbuild.plan import BUILD_PYTHON, SRC

NAME = "configure"


def run(ctx: BuildContext) -> dict[str, object]:
    env = dict(ctx.plan.configure_env)
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
    return {"env": env}
