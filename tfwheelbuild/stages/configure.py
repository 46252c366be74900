"""Stage: run the checkout's configure.py non-interactively.

Every prompt is answered through its environment variable and stdin is closed, so a prompt we
did not answer ends configure with EOF instead of hanging a nightly job forever.
"""

from __future__ import annotations

from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import ConfigureError
from tfwheelbuild.plan import BUILD_PYTHON, SRC

NAME = "configure"


def run(ctx: BuildContext) -> dict[str, object]:
    env = dict(ctx.plan.configure_env)
    code = ctx.run([BUILD_PYTHON, "configure.py"], env=env, workdir=SRC)
    if code != 0:
        missing = [line for line in ctx.log.tail()[-20:] if "EOF" in line or "not set" in line.lower()]
        detail = missing[-1].strip() if missing else ctx.log.tail()[-1].strip()
        raise ConfigureError(f"configure.py failed (exit {code}): {detail}")
    ctx.run(["sh", "-c", "cat .tf_configure.bazelrc 2>/dev/null || true"], workdir=SRC)
    return {"env": env}
