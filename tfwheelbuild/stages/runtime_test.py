"""Stage: install the repaired wheel into a clean arm64 runtime and smoke-test it.

A wheel that fails goes to the build's quarantine dir, never to the output dir.
"""

from __future__ import annotations

import shutil

from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import RuntimeTestError
from tfwheelbuild.runtime_test import RuntimeTestSpec, run_runtime_test

NAME = "test"


def run(ctx: BuildContext) -> dict[str, object]:
    assert ctx.wheel is not None, "the repair stage stages the wheel"
    plan = ctx.plan
    spec = RuntimeTestSpec(image=ctx.runtime_tag, python=plan.python, expected_version=plan.wheel_version,
                           index_url=plan.test.index_url, test_command=plan.test.test_command,
                           ca_bundle=plan.test.ca_bundle, proxy_env=plan.test.proxy_env)
    try:
        return run_runtime_test(ctx.engine, ctx.wheel, spec, ctx.log,
                                labels={"org.tfwheelbuild.build": ctx.build_id})
    except RuntimeTestError:
        quarantine = ctx.build_dir / "quarantine"
        quarantine.mkdir(parents=True, exist_ok=True)
        shutil.move(str(ctx.wheel), quarantine / ctx.wheel.name)
        ctx.log.say(f"quarantined {ctx.wheel.name} in {quarantine}")
        ctx.wheel = None
        raise
