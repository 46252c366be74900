"""Stage: install the repaired wheel into a clean arm64 runtime and smoke-test it.

A wheel that fails goes to the build's quarantine dir, never to the output dir. A wheel that is
byte for byte one that passed this test before (a reproducible rebuild) keeps that result
(testcache.py); `--retest` runs it anyway.
"""

from __future__ import annotations

import shutil

from tfwheelbuild.artifacts.testcache import RuntimeTestInputs, lookup, record_pass
from tfwheelbuild.engine.runtest import RuntimeTestSpec, run_runtime_test
from tfwheelbuild.errors import RuntimeTestError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.util.digests import sha256_file

NAME = "test"


def run(ctx: BuildContext) -> dict[str, object]:
    assert ctx.wheel is not None, "the repair stage stages the wheel"
    plan = ctx.plan
    spec = RuntimeTestSpec(image=ctx.runtime_tag, python=plan.python, expected_version=plan.wheel_version,
                           index_url=plan.test.index_url, test_command=plan.test.test_command,
                           installer=plan.test.installer, ca_bundle=plan.test.ca_bundle, proxy_env=plan.test.proxy_env)
    inputs = RuntimeTestInputs(wheel_sha256=wheel_digest(ctx), runtime_image_id=ctx.runtime_id, python=plan.python,
                               expected_version=plan.wheel_version, index_url=plan.test.index_url,
                               test_command=plan.test.test_command)
    earlier = None if ctx.retest else lookup(plan.work_root, inputs)
    if earlier is not None:
        ctx.log.say(f"this exact wheel (sha256 {inputs.wheel_sha256[:12]}) passed this test in {ctx.runtime_tag} "
                    f"at {earlier['passed_at']}: not run again (--retest runs it)")
        return {**earlier["facts"], "reused_from": earlier["passed_at"]}
    try:
        facts = run_runtime_test(ctx.engine, ctx.wheel, spec, ctx.log,
                                 labels={"org.tfwheelbuild.build": ctx.build_id})
        record_pass(plan.work_root, inputs, facts)
        return facts
    except RuntimeTestError as exc:
        quarantine = ctx.build_dir / "quarantine"
        quarantine.mkdir(parents=True, exist_ok=True)
        shutil.move(str(ctx.wheel), quarantine / ctx.wheel.name)
        ctx.log.say(f"quarantined {ctx.wheel.name} in {quarantine}")
        # Only here was a wheel set aside: the `test` command and publish's check have nothing to quarantine.
        exc.remedy = (f"the wheel was quarantined in {quarantine}, not output; fix the build or the test command "
                      "and rebuild")
        ctx.wheel = None
        raise


def wheel_digest(ctx: BuildContext) -> str:
    """The staged wheel's sha256: the one the repair stage computed for this very file, else streamed."""
    assert ctx.wheel is not None
    repaired = ctx.facts.get("repair", {})
    if repaired.get("wheel") == ctx.wheel.name and repaired.get("sha256"):
        return str(repaired["sha256"])
    return sha256_file(ctx.wheel)
