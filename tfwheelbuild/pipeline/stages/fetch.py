"""Stage (of `tfwheelbuild fetch` only): the build's own downloads, into a deps bundle on the host.

`bazel build --nobuild` with exactly the compile stage's flags and target runs loading and analysis,
which fetches every external repository this configuration needs and nothing else (`bazel fetch`
takes no build flags in Bazel 4-6, so it would fetch for a configuration no build uses). A fresh
output root makes every repository rule run, so Bazel's resolved file names the URL and sha256 of
each; the repository cache is seeded with what the bundle has, so only what is missing is downloaded.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tfwheelbuild.artifacts import bundlefiles, deps
from tfwheelbuild.errors import DepsCorruptError, DepsMissingError, EngineError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.pipeline.stages.bazelcmd import bazel_env, build_arguments, bundle_identity, resolve_bazel
from tfwheelbuild.pipeline.stages.custom_python import lock_name
from tfwheelbuild.plan import SRC
from tfwheelbuild.plan.layout import BAZEL_IN_IMAGE
from tfwheelbuild.util.digests import sha256_file

NAME = "fetch"
WORK = "/tmp/tfwb-fetch"
BUNDLE_FACT = "fetch_bundle"  # ctx.facts key: the host directory of the bundle (set by `tfwheelbuild fetch`)


def run(ctx: BuildContext) -> dict[str, object]:
    bundle = Path(ctx.facts[BUNDLE_FACT])
    plan = ctx.plan.compile
    env = bazel_env(ctx)
    binary = resolve_bazel(ctx, env)
    identity = bundle_identity(ctx)
    old: dict[str, deps.Entry] = {}
    if (bundle / deps.MANIFEST).is_file():
        manifest = deps.read_manifest(bundle)
        deps.check_identity(bundle, manifest.identity, identity)
        old = {e.sha256: e for e in manifest.entries}
    have = _intact(bundle)
    cache = f"{WORK}/repository_cache"
    if ctx.run(["mkdir", "-p", cache, f"{WORK}/flat", f"{WORK}/meta", f"{WORK}/seed"]) != 0:
        raise EngineError("cannot prepare the fetch directories in the build container")
    if have:
        # Flat, then laid out by the build user: put_archive's own directories would be root's, and
        # Bazel must add its downloads beside them.
        ctx.engine.put_files(ctx.container, f"{WORK}/seed", {sha: deps.cache_file(bundle, sha) for sha in have})
        ctx.run(["sh", "-c", f"cd {WORK}/seed && for s in *; do d={cache}/content_addressable/sha256/$s; "
                             f"mkdir -p $d && cp $s $d/file; done"])
    startup = [a for a in plan.bazel_startup if not a.startswith("--output_user_root=")]
    argv = ["bazel", f"--output_user_root={WORK}/root", *startup, "build", "--nobuild", *build_arguments(ctx),
            f"--repository_cache={cache}", f"--experimental_repository_resolved_file={WORK}/meta/resolved.bzl",
            plan.target]
    ctx.log.say(f"fetching the external dependencies of {plan.target} ({len(have)} archives already in {bundle})")
    start = ctx.log.mark()
    code = ctx.run(argv, workdir=SRC, env=env)
    ctx.log.end_progress()
    if code != 0:
        found = deps.missing_archive(ctx.log.since(start))
        if found:
            raise DepsMissingError(f"cannot download @{found[0]} ({found[1]})",
                                   remedy="check this host's network, or point --bazel-mirror at a mirror that has it")
        raise EngineError(f"bazel build --nobuild (the fetch) failed with exit {code}: see the log",
                          remedy="run `tfwheelbuild build` for this release to see the failure in full")
    ctx.run(["bazel", f"--output_user_root={WORK}/root", *startup, "shutdown"], workdir=SRC)
    known = " ".join(have)
    # Only the new archives leave the container; named by sha256 (Bazel's cache names them all "file").
    script = (f"cd {cache}/content_addressable/sha256 2>/dev/null || exit 0; for s in *; do "
              f"case ' {known} ' in *\" $s \"*) continue;; esac; "
              f"[ -f \"$s/file\" ] && ln -f \"$s/file\" {WORK}/flat/$s; done; true")
    ctx.run(["sh", "-c", script])
    incoming = bundle / ".incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    added = _take(bundle, ctx.engine.get_files(ctx.container, f"{WORK}/flat", incoming))
    meta = ctx.engine.get_files(ctx.container, f"{WORK}/meta", incoming / "meta")
    resolved = deps.parse_resolved(meta[0].read_text()) if meta else {}
    fresh = deps.entries_for(deps.scan_cache(bundle), resolved, ctx.plan.python)
    archives = tuple(e if e.repository or e.sha256 not in old else old[e.sha256] for e in fresh)
    bzlmod = _bzlmod_warning(ctx)
    wheels = _lock_wheels(ctx, bundle, incoming)
    bazel = _bazel_binaries(ctx, bundle, binary)
    entries = archives + wheels + bazel
    deps.write_manifest(bundle, deps.Manifest(identity=identity, entries=entries))
    size = sum(e.size for e in entries)
    ctx.log.say(f"deps bundle {bundle}: {len(archives)} archives ({added} new), {len(wheels)} wheels, "
                f"{'Bazel binaries for linux-arm64 and linux-x86_64' if bazel else 'the builder image’s own Bazel'}, "
                f"{size / 2**20:.1f} MB, Bazel {identity.bazel}")
    return {"bundle": str(bundle), "archives": len(archives), "added": added, "wheels": len(wheels),
            "bazel_binaries": len(bazel), "bytes": size, "bzlmod_registry_not_bundled": bzlmod,
            "identity": {"release": identity.release, "python": identity.python, "bazel": identity.bazel}}


def _bzlmod_warning(ctx: BuildContext) -> bool:
    """Bzlmod's registry files (MODULE.bazel, source.json from the registry) are read outside the repository
    cache unless MODULE.bazel.lock holds their hashes: say so where a checkout may build with Bzlmod on
    (a MODULE.bazel, Bazel 7+, whose default is on). `bazel vendor` is the route; not built (README)."""
    major = ctx.bazel_version.split(".", 1)[0]
    if not (major.isdigit() and int(major) >= 7) or ctx.run(["test", "-f", f"{SRC}/MODULE.bazel"]) != 0:
        return False
    ctx.log.say(f"note: this checkout has a MODULE.bazel and Bazel {ctx.bazel_version}: if the build enables Bzlmod, "
                "the registry's own files are not in this bundle (only what Bazel's downloader cached)")
    return True


def _lock_wheels(ctx: BuildContext, bundle: Path, incoming: Path) -> tuple[deps.Entry, ...]:
    """The wheels of the requirements lock the build's pip installs (hermetic releases: the checkout's
    requirements_lock_3_N.txt for this Python), downloaded by the host's pip (bundlefiles)."""
    if not ctx.plan.recipe.python_env:
        return ()  # no hermetic Python: no pip inside Bazel
    lock = f"{SRC}/{lock_name(ctx.plan.python)}"
    if ctx.run(["test", "-f", lock]) != 0:
        return ()  # a Python the release has no lock for (a custom one): not bundled, as the README says
    try:
        copied = ctx.engine.get_files(ctx.container, lock, incoming / "lock")
        ctx.log.say(f"downloading the wheels of {lock_name(ctx.plan.python)} (aarch64 and x86_64) with the host's pip")
        return bundlefiles.download_wheels(bundle, copied[0], ctx.plan.python, ctx.plan.compile.pip_index)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _bazel_binaries(ctx: BuildContext, bundle: Path, binary: str) -> tuple[deps.Entry, ...]:
    """The Bazel the release needs, unless the builder image has it (Debian's registered one)."""
    if not binary or binary.startswith(f"{BAZEL_IN_IMAGE}/"):
        return ()
    ctx.log.say(f"bundling Bazel {ctx.bazel_version} (the builder image has another) for both builder machines")
    base = dict(ctx.plan.compile.env).get("BAZELISK_BASE_URL", "")
    return bundlefiles.download_bazel(bundle, ctx.bazel_version, base)


def _intact(bundle: Path) -> list[str]:
    """The cached archives whose bytes match their name; a corrupt one is dropped, to be fetched again."""
    good = []
    for sha in deps.scan_cache(bundle):
        path = deps.cache_file(bundle, sha)
        if sha256_file(path) == sha:
            good.append(sha)
        else:
            path.unlink()
    return good


def _take(bundle: Path, files: list[Path]) -> int:
    """Move checked archives into the bundle's cache by rename: a file there is always whole."""
    added = 0
    for path in files:
        sha = path.name
        if sha256_file(path) != sha:
            raise DepsCorruptError(f"Bazel's repository cache handed back {sha[:16]}… with other bytes")
        target = deps.cache_file(bundle, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        added += 1
    return added
