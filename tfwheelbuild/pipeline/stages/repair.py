"""Stage: auditwheel repair inside the arm64 builder: graft the libraries, set the manylinux tag.

With no --plat, auditwheel picks the most compatible policy the wheel reaches ("auto"); --plat
demands one and fails when the build cannot meet it. `tfwheelbuild repair` uses the same core.

Reproducible: auditwheel (6.x honours SOURCE_DATE_EPOCH) re-zips the wheel in sorted order with the
build's time on every entry; the stamp step then pins times and modes on the host, whatever the
builder's auditwheel did. The stamp holds only what the build key decides (no build id, tool
version or source URL: those are in the manifest), so one key gives one wheel, byte for byte.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from tfwheelbuild.artifacts import sbom
from tfwheelbuild.artifacts.pagecheck import PAGE_64K, describe, small_page_members
from tfwheelbuild.artifacts.wheelinfo import (
    STAMP_FILE,
    WheelInfo,
    add_dist_info_files,
    foreign_libraries,
    inspect_wheel,
    read_dist_info_file,
    set_build_tag,
)
from tfwheelbuild.core.key import KEY_VERSION, build_key
from tfwheelbuild.engine.client import Engine
from tfwheelbuild.errors import CompileError, PageAlignmentError, RepairError, WheelTooLargeError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.pipeline.stages import bazelcmd
from tfwheelbuild.plan import OUT, RAW_WHEELS, SRC, RepairPlan

NAME = "repair"


def run(ctx: BuildContext) -> dict[str, object]:
    raw: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", f"ls {RAW_WHEELS}"], sink=raw.append)
    if len(raw) != 1 or not raw[0].endswith(".whl"):
        raise CompileError(f"expected one wheel in {OUT}/raw, found: {raw}")
    if ctx.staging.exists():
        shutil.rmtree(ctx.staging)
    info = repair_in_container(ctx.engine, ctx.container, raw[0], ctx.plan.repair, ctx.log, ctx.staging,
                               source_date_epoch=ctx.source_date_epoch)
    foreign = foreign_libraries(info.path)
    if foreign:
        name, machine = foreign[0]
        raise CompileError(f"the wheel's {name} is {machine} code, not aarch64 ({len(foreign)} such libraries)",
                           remedy="a cross build must use the release's cross-compile config; see the log's "
                                  "bazel command")
    # The build key travels inside the wheel too, so a wheel found anywhere says how it was made.
    ctx.build_key = build_key(ctx.plan, ctx.commit, ctx.builder_id)
    bom, bom_facts = wheel_sbom(ctx, info)
    add_dist_info_files(info.path, {STAMP_FILE: stamp_bytes(ctx.build_key, ctx.commit, ctx.source_date_epoch),
                                    sbom.SBOM_FILE: sbom.to_bytes(bom)},
                        source_date_epoch=ctx.source_date_epoch)
    info = inspect_wheel(info.path, python=ctx.plan.python)
    check_size(info, ctx.plan.repair)  # again: the stamp and the SBOM are in it now
    ctx.wheel = info.path
    # The digest travels on, so the test stage does not read hundreds of MB again to key its cache.
    return {"raw_wheel": raw[0].rsplit("/", 1)[-1], "wheel": info.path.name, "policy": list(info.platforms),
            "grafted": list(info.grafted), "sha256": info.sha256, "sbom": bom_facts}


def wheel_sbom(ctx: BuildContext, info: WheelInfo) -> tuple[dict[str, Any], dict[str, object]]:
    """The wheel's CycloneDX SBOM (auditwheel's kept and extended) and what the manifest says of it."""
    from tfwheelbuild import __version__

    packages: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", "dpkg-query -W -f '${Package}\\t${Version}\\t${Architecture}\\n'"],
                    sink=packages.append)
    distro: list[str] = []
    ctx.engine.exec(ctx.container, ["sh", "-c", ". /etc/os-release && echo \"$ID\""], sink=distro.append)
    repos, note = bazel_repositories(ctx)
    existing = read_dist_info_file(info.path, sbom.AUDITWHEEL_SBOM)
    try:
        auditwheel = json.loads(existing) if existing else None
    except ValueError:
        auditwheel = None
    debs = sbom.parse_dpkg(packages)
    bom = sbom.compose(wheel_filename=info.path.name, name=info.name, version=info.version, tool_version=__version__,
                       auditwheel=auditwheel, grafted=sbom.grafted_libraries(info.path), repos=repos, packages=debs,
                       distro=(distro[-1].strip() if distro else "") or "debian", repos_note=note)
    ctx.log.say(f"SBOM: {len(bom['components'])} components ({len(repos)} Bazel repositories, "
                f"{len(debs)} builder packages{', auditwheel’s kept' if auditwheel else ''})")
    return bom, {"file": sbom.SBOM_FILE, "auditwheel": bool(auditwheel), "components": len(bom["components"]),
                 "bazel_repositories": [r.name for r in repos], "builder_packages": len(debs),
                 **({"note": note} if note else {})}


def bazel_repositories(ctx: BuildContext) -> tuple[list[sbom.BazelRepo], str]:
    """The external repositories the built target depends on, with their rule's URLs and sha256.

    `cquery` with the build's own command line, so select() takes the branches the build took (a plain
    query walks every branch: CUDA, oneDNN, other platforms' toolchains, fetching them) and no
    repository is fetched again for another environment. Then each repository's rule from //external.
    A query that fails leaves the list empty, with the reason in the SBOM and the log, rather than
    failing a wheel that built and repaired.
    """
    compile_plan = ctx.plan.compile
    argv = [str(a) for a in ctx.facts.get("compile", {}).get("argv", [])]
    if "build" not in argv:
        return [], "no Bazel command recorded: not listed"
    at = argv.index("build")
    startup, build_args = argv[1:at], [a for a in argv[at + 1:-1] if a != compile_plan.target]
    env = bazelcmd.bazel_env(ctx)
    try:
        return _query_repositories(ctx, startup, build_args, env)
    finally:
        bazelcmd.shutdown(ctx)


def _query_repositories(ctx: BuildContext, startup: list[str], build_args: list[str],
                        env: dict[str, str]) -> tuple[list[sbom.BazelRepo], str]:
    compile_plan = ctx.plan.compile
    cquery = ["bazel", *startup, "cquery", *build_args, f"deps({compile_plan.target})", "--noshow_progress"]
    lines: list[str] = []
    ctx.log.command(cquery, "builder")
    code = ctx.engine.exec(ctx.container, cquery, sink=lines.append, env=env, workdir=SRC)
    names = sorted(sbom.repos_in_deps(lines) - {"bazel_tools", "local_config_platform"})
    repos: list[sbom.BazelRepo] = []
    note = ""
    if code != 0:
        for line in lines[-5:]:
            ctx.log.line(line)
        note = f"bazel cquery deps() failed (exit {code}): not listed"
    elif names:
        found: list[str] = []
        query = ["bazel", *startup, "query", " + ".join(f"//external:{n}" for n in names), "--output=build",
                 "--noshow_progress"]
        ctx.log.command(query, "builder")
        code = ctx.engine.exec(ctx.container, query, sink=found.append, env=env, workdir=SRC)
        repos = sbom.parse_query_build(found)
        # Repositories //external does not know (Bzlmod modules) are still named.
        known = {r.name for r in repos}
        repos = sorted([*repos, *(sbom.BazelRepo(name=n, rule="") for n in names if n not in known)],
                       key=lambda r: r.name)
        if code != 0:
            for line in found[-5:]:
                ctx.log.line(line)
            note = f"bazel query //external failed (exit {code}): names only"
    return repos, note


def stamp_bytes(build_key: str, commit: str, source_date_epoch: int) -> bytes:
    """The stamp file: a function of the build key alone (the commit and the time are in it)."""
    stamp = {"build_key": build_key, "key_version": KEY_VERSION, "commit": commit,
             "source_date_epoch": source_date_epoch}
    return (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode()


def repair_in_container(engine: Engine, container: str, raw_wheel: str, plan: RepairPlan, log: BuildLog,
                        dest: Path, *, source_date_epoch: int | None = None) -> WheelInfo:
    """Repair `raw_wheel` (a path inside the container) and bring the result to `dest` on the host."""
    env = {"SOURCE_DATE_EPOCH": str(source_date_epoch)} if source_date_epoch is not None else None

    def sink(cmd: list[str]) -> int:
        log.command(cmd, "builder")
        return engine.exec(container, cmd, sink=log.line, env=env)

    shown = log.mark()
    sink(["auditwheel", "show", raw_wheel])
    show = log.since(shown)
    start = log.mark()
    code = sink(plan.command(raw_wheel))
    if code != 0:
        raise repair_failure(log.since(start), show, plan.plat, code)
    wheels = [p for p in engine.get_files(container, f"{OUT}/repaired", dest) if p.suffix == ".whl"]
    if len(wheels) != 1:
        raise RepairError(f"auditwheel produced {len(wheels)} wheels, expected one")
    wheel = (set_build_tag(wheels[0], plan.build_tag, source_date_epoch=source_date_epoch) if plan.build_tag
             else wheels[0])
    # Foreign code is the caller's to name (a build's cross config, or the input wheel).
    info = inspect_wheel(wheel, check_elf=False)
    log.say(f"repaired: {wheel.name} (grafted: {', '.join(info.grafted) or 'nothing'})")
    check_pages(info, plan, log)
    check_size(info, plan)
    return info


def check_pages(info: WheelInfo, plan: RepairPlan, log: BuildLog | None = None) -> None:
    """Refuse a wheel with an ELF file that a 64 KiB-page kernel cannot map (unless 4K-only is accepted)."""
    bad = small_page_members(list(info.load_alignments))
    if not bad:
        return
    if plan.allow_4k_pages:
        if log is not None:
            log.say(f"accepted for 4 KiB-page kernels only (--allow-4k-pages): {describe(bad)}")
        return
    raise PageAlignmentError(f"{info.path.name} will not load on 64 KiB-page kernels: {describe(bad, PAGE_64K)}")


def check_size(info: WheelInfo, plan: RepairPlan) -> None:
    """One line with the size, the limit and the members that make the wheel big."""
    if plan.max_wheel_size and info.size > plan.max_wheel_size:
        members = ", ".join(f"{name} ({_mib(size)} compressed)" for name, size in info.largest)
        raise WheelTooLargeError(f"{info.path.name} is {_mib(info.size)}, over the {_mib(plan.max_wheel_size)} "
                                 f"limit; largest members: {members}")


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB" if size >= 1024**2 else f"{size / 1024:.1f} KiB"


def repair_failure(output: list[str], show: list[str], plat: str, code: int) -> RepairError:
    """auditwheel's own reason for refusing (its `error:` line, or what `auditwheel show` said), with the
    fix that reason calls for: not the last line of its output, which is often usage text or a
    traceback's tail."""
    lines = [ln.strip() for ln in output if ln.strip() and not ln.startswith("+ ")]
    text = " ".join(lines)
    shown = " ".join(ln.strip() for ln in show if ln.strip() and not ln.startswith("+ "))
    # What the symbols allow ("This constrains the platform tag to …") is the tag a repair reaches; a raw
    # wheel is "consistent with" only linux_aarch64 until its libraries are grafted.
    constrained = re.search(r'constrains the platform tag to "([^"]+)"', shown)
    fits = re.search(r'consistent with the following platform tag: "([^"]+)"', shown)
    best = constrained.group(1) if constrained else fits.group(1) if fits and "manylinux" in fits.group(1) else ""
    error = next((ln.split("error: ", 1)[1] for ln in lines if re.match(r"auditwheel( repair)?: error: ", ln)), "")
    wanted = plat or "the policy asked for"
    if "too-recent versioned symbols" in error:
        symbols = re.search(r"system-provided shared libraries: (.*?)(?: This constrains|$)", shown)
        return RepairError(
            f"auditwheel cannot repair to {wanted}: the wheel uses too-recent versioned symbols"
            + (f" ({symbols.group(1)})" if symbols else "") + (f"; they allow {best}" if best else ""),
            remedy=(f"accept the higher tag with --plat {best} (or --plat auto: " if best else "use --plat auto (")
            + f"the best tag the wheel reaches), or reach {wanted} with a lower sysroot: a builder whose /dt10 "
              "has an older glibc, such as upstream's ml-build-arm64 image (glibc 2.17)")
    if "invalid choice" in error and "--plat" in error:
        choices = re.findall(r"'([^']+)'", error.split("choose from", 1)[-1])
        return RepairError(f"auditwheel has no policy {plat!r} for this wheel's architecture",
                           remedy="choose a --plat among " + ", ".join(c for c in choices if c != "auto")
                                  + " (or no --plat: the best the wheel reaches)")
    if "architecture to a wheel targeting" in error or "libc to a wheel targeting" in error:
        return RepairError(f"auditwheel cannot repair to {wanted}: {error}",
                           remedy="choose a --plat of the wheel's own architecture and libc (…_aarch64 manylinux)")
    if "black-listed symbols" in error:
        return RepairError(f"auditwheel cannot repair to {wanted}: the wheel calls symbols that manylinux "
                           "forbids (`auditwheel show` in the log lists them)",
                           remedy="remove those calls from the build (a patch), or link what provides them statically")
    if "unsupported ISA extensions" in error:
        return RepairError(f"auditwheel cannot repair to {wanted}: the wheel uses ISA extensions beyond the "
                           "policy's baseline", remedy="build without the extra -march/-mcpu flags "
                           "(--configure CC_OPT_FLAGS=…), or check --disable-isa-ext-check is what you want")
    if "UCS2" in error:
        return RepairError(f"auditwheel cannot repair to {wanted}: the wheel was built against a UCS2 Python",
                           remedy="build against a wide-unicode (UCS4) Python, as every Python 3.3+ is")
    located = re.search(r'required library "([^"]+)" could not be located', text)
    if located:
        lib = located.group(1)
        return RepairError(f"auditwheel cannot graft {lib}: the wheel needs it and the builder does not have it",
                           remedy=f"--exclude {lib} if every target system provides it, or install it in the "
                                  "builder image (or link it statically)")
    if "does not look like a platform wheel" in text or "does not look like a platform wheel" in shown:
        return RepairError("auditwheel found no ELF file (extension module or library) in the wheel: it does "
                           "not look like a platform wheel, so there is nothing to repair",
                           remedy="a pure-Python wheel needs no repair: test or publish it as it is; if it should "
                                  "hold compiled code, the build did not package it")
    if "Invalid binary wheel" in text:
        return RepairError("auditwheel found no ELF file for the wheel's architecture: "
                           + _sentence(text, "Invalid binary wheel"), remedy="rebuild the wheel for linux aarch64")
    if error:
        return RepairError(f"auditwheel repair failed: {error}")
    tail = next((ln for ln in reversed(lines) if re.match(r"[A-Za-z_.]*(Error|Exception)\b", ln)), "")
    if tail:
        return RepairError(f"auditwheel repair crashed: {tail}",
                           remedy="read auditwheel's traceback in the log (report it to auditwheel if the wheel "
                                  "is sound)")
    return RepairError(f"auditwheel repair failed (exit {code}): {lines[-1] if lines else 'no output'}")


def _sentence(text: str, start: str) -> str:
    tail = text[text.index(start):]
    return tail.split(". ", 1)[0].rstrip(".")
