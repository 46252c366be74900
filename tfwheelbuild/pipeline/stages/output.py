"""Stage: publish the tested wheel and its manifest into the output dir (atomically)."""

from __future__ import annotations

import hashlib
import time
import zipfile
from pathlib import Path

from tfwheelbuild.artifacts import provenance, sbom
from tfwheelbuild.artifacts.manifest import atomic_copy, atomic_write_bytes, write_manifest
from tfwheelbuild.artifacts.wheelinfo import inspect_wheel, read_dist_info_file
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.recipes.infer import inference_record
from tfwheelbuild.util.interrupts import signals_deferred

NAME = "output"


def run(ctx: BuildContext) -> dict[str, object]:
    assert ctx.wheel is not None, "only a wheel that passed its runtime test reaches this stage"
    info = inspect_wheel(ctx.wheel)
    dest = ctx.plan.output / ctx.wheel.name
    manifest_path = ctx.plan.output / f"{ctx.wheel.name}.manifest.json"
    provenance_path = ctx.plan.output / f"{ctx.wheel.name}{provenance.SUFFIX}"
    manifest = build_manifest(ctx)
    manifest["wheel"] = {"file": ctx.wheel.name, "sha256": info.sha256, "size": info.size,
                         "name": info.name, "version": info.version, "build_tag": info.build_tag,
                         "platforms": list(info.platforms), "grafted": list(info.grafted)}
    bom = read_dist_info_file(ctx.wheel, sbom.SBOM_FILE)
    byproducts = []
    if bom is not None:
        bom_path = f"{dist_info_dir(ctx.wheel)}/{sbom.SBOM_FILE}"
        bom_digest = hashlib.sha256(bom).hexdigest()
        manifest["sbom"] = {**ctx.facts.get("repair", {}).get("sbom", {}), "file": bom_path, "sha256": bom_digest,
                            "format": f"CycloneDX {sbom.SPEC_VERSION}"}
        byproducts.append({"name": bom_path, "digest": {"sha256": bom_digest},
                           "mediaType": "application/vnd.cyclonedx+json"})
    document = provenance.statement(manifest, started=ctx.started, finished=time.time(), byproducts=byproducts)
    manifest["provenance"] = {"file": provenance_path.name, "format": "in-toto Statement v1, SLSA provenance v1",
                              "sha256": hashlib.sha256(provenance.to_bytes(document)).hexdigest()}
    # Wheel first, manifest last: a manifest always describes a wheel that is there in full. The
    # set is written with SIGINT/SIGTERM held (a second or two), so no wheel is left without its
    # manifest; a provenance or manifest that cannot be written takes the wheel back out.
    with signals_deferred():
        atomic_copy(ctx.wheel, dest)
        try:
            atomic_write_bytes(provenance_path, provenance.to_bytes(document))
            write_manifest(manifest_path, manifest)
        except BaseException:
            dest.unlink(missing_ok=True)
            provenance_path.unlink(missing_ok=True)
            raise
    ctx.log.say(f"wrote {dest}, {provenance_path.name} and {manifest_path.name}")
    return {"wheel": str(dest), "manifest": str(manifest_path), "provenance": str(provenance_path),
            "sha256": info.sha256}


def dist_info_dir(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return next((n.split("/", 1)[0] for n in archive.namelist() if n.split("/", 1)[0].endswith(".dist-info")), "")


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
        "mode": "cross" if plan.cross_base is not None else "emulated" if not ctx.info.native_arm64 else "native",
        "recipe": plan.recipe.to_dict(),
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
        # A Python the release ships no lock for: the interpreter and lock handed to Bazel (custom_python.py).
        **({"custom_python": ctx.facts["compile"]["custom_python"]}
           if "custom_python" in ctx.facts.get("compile", {}) else {}),
        "engine": {"kind": ctx.info.kind, "version": ctx.info.version, "arch": ctx.info.arch,
                   "emulated": not ctx.info.native_arm64},
        "test": ctx.facts.get("test", {}),
        # The dependency bundle of `build --deps`, when one was used, goes in "deps": {"entries": [{name, url,
        # sha256}]}; provenance.resolved_dependencies lists each entry.
        "durations": ctx.facts.get("durations", {}),
    }
