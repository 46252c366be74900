"""Stage: publish the tested wheel and its manifest into the output dir (atomically)."""

from __future__ import annotations

from tfwheelbuild.context import BuildContext
from tfwheelbuild.infer import inference_record
from tfwheelbuild.interrupts import signals_deferred
from tfwheelbuild.manifest import atomic_copy, write_manifest
from tfwheelbuild.wheelinfo import inspect_wheel

NAME = "output"


def run(ctx: BuildContext) -> dict[str, object]:
    assert ctx.wheel is not None, "only a wheel that passed its runtime test reaches this stage"
    info = inspect_wheel(ctx.wheel)
    dest = ctx.plan.output / ctx.wheel.name
    manifest_path = ctx.plan.output / f"{ctx.wheel.name}.manifest.json"
    manifest = build_manifest(ctx)
    manifest["wheel"] = {"file": ctx.wheel.name, "sha256": info.sha256, "size": info.size,
                         "name": info.name, "version": info.version, "build_tag": info.build_tag,
                         "platforms": list(info.platforms), "grafted": list(info.grafted)}
    # Wheel first, manifest last: a manifest always describes a wheel that is there in full. The
    # pair is written with SIGINT/SIGTERM held (a second or two), so no wheel is left without its
    # manifest; a manifest that cannot be written takes the wheel back out.
    with signals_deferred():
        atomic_copy(ctx.wheel, dest)
        try:
            write_manifest(manifest_path, manifest)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
    ctx.log.say(f"wrote {dest} and {manifest_path.name}")
    return {"wheel": str(dest), "manifest": str(manifest_path), "sha256": info.sha256}


def build_manifest(ctx: BuildContext) -> dict[str, object]:
    from tfwheelbuild import __version__

    plan = ctx.plan
    return {
        "tool": {"name": "tfwheelbuild", "version": __version__,
                 "recipe_version": plan.recipe.recipe_version},
        "build_id": ctx.build_id,
        "build_key": ctx.build_key,
        "tensorflow": plan.tf_version,
        "version": plan.wheel_version,
        "python": plan.python,
        "source": {"url": plan.source.url, "ref": plan.source.ref, "commit": ctx.commit},
        # The time on every file in the wheel; "environment": rebuild with SOURCE_DATE_EPOCH=value to get
        # the same bytes, "commit": the commit's committer time, used again by any build of that commit.
        "source_date_epoch": {"value": ctx.source_date_epoch,
                              "from": "environment" if plan.source_date_epoch else "commit"},
        "configure": dict(plan.configure_env),
        **({"recipe_inference": inference_record(plan.recipe)} if plan.recipe.inferred else {}),
        # compiler, linker and sysroot with their real versions, upstream's for comparison, and every difference
        "toolchain": ctx.facts.get("configure", {}).get("toolchain", {"upstream": plan.toolchain.upstream}),
        "patches": [{"name": p.name, "sha256": p.sha256} for p in plan.patches],
        "bazel": {"version": ctx.bazel_version,
                  "argv": ctx.facts.get("compile", {}).get("argv", []),
                  "cache": ctx.facts.get("compile", {}).get("cache", {})},
        "images": {"base": ctx.facts.get("images", {}).get("base", plan.base.image), "base_id": ctx.base_id,
                   "builder": ctx.builder_tag, "builder_id": ctx.builder_id,
                   "runtime": ctx.runtime_tag, "runtime_id": ctx.runtime_id},
        "repair": {"plat_requested": plan.repair.plat or "auto",
                   "policy": ctx.facts.get("repair", {}).get("policy"),
                   "grafted": ctx.facts.get("repair", {}).get("grafted"),
                   "excluded": list(plan.repair.exclude)},
        "engine": {"version": ctx.info.version, "arch": ctx.info.arch,
                   "emulated": not ctx.info.native_arm64},
        "test": ctx.facts.get("test", {}),
        "durations": ctx.facts.get("durations", {}),
    }
