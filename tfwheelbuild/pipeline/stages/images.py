"""Stage: the base, builder and runtime images, each built once and reused by content hash."""

from __future__ import annotations

from tfwheelbuild.engine.imagebuild import ensure_base, ensure_image
from tfwheelbuild.errors import ImageError
from tfwheelbuild.pipeline.context import BuildContext

NAME = "images"


def run(ctx: BuildContext) -> dict[str, object]:
    base_ref, ctx.base_id = ensure_base(ctx.engine, ctx.log, ctx.plan.base, ctx.plan.python)
    ctx.engine.check_arm64(base_ref)
    ca = ctx.plan.test.ca_bundle
    # Cross mode: the builder stands on an amd64 base and runs natively; the runtime stays arm64.
    builder_ref, builder_base_id = base_ref, ctx.base_id
    if ctx.plan.cross_base is not None:
        builder_ref, builder_base_id = ensure_base(ctx.engine, ctx.log, ctx.plan.cross_base, ctx.plan.python)
    if ctx.plan.builder_base is not None:  # --builder-image: the tool's helpers layered on the user's image
        builder_ref, builder_base_id = ensure_base(ctx.engine, ctx.log, ctx.plan.builder_base, ctx.plan.python)
        code, arch = ctx.engine.run_once(builder_ref, ["uname", "-m"])
        if code != 0 or arch.strip() != "aarch64":
            raise ImageError(f"--builder-image {builder_ref} is not an arm64 image that runs here "
                             f"(uname -m: {arch.strip()[-80:] or 'no answer'}, exit {code})",
                             remedy="give the arm64 variant's digest (ml-build-arm64, not the x86 ml-build)")
    ctx.builder_tag, ctx.builder_id = ensure_image(ctx.engine, ctx.log, ctx.plan.builder, builder_ref,
                                                   builder_base_id, ca)
    ctx.runtime_tag, ctx.runtime_id = ensure_image(ctx.engine, ctx.log, ctx.plan.runtime, base_ref,
                                                   ctx.base_id, ca)
    return {"base": base_ref, "base_id": ctx.base_id, "builder": ctx.builder_tag,
            "builder_id": ctx.builder_id, "runtime": ctx.runtime_tag, "runtime_id": ctx.runtime_id}

