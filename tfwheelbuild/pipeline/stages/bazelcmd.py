"""The Bazel command line and environment every Bazel command of a build shares: the compile, `fetch`'s
analysis and the SBOM's queries (another client environment or other flags would re-run repository rules).

Resolved in the build container: the Bazel version (bazelisk-py), whether the checkout defines upstream's
release config, and what the mirror, the deps bundle and Bazel's own pip need.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tfwheelbuild.artifacts import bundlefiles, deps
from tfwheelbuild.errors import BazelVersionError, MirrorError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.plan import BUILDER_ID, CA_IN_CONTAINER, DEPS_IN_CONTAINER, SRC
from tfwheelbuild.plan.layout import BUILD_HOME, BUILD_UID

DOWNLOADER_CONFIG = "/tmp/tfwb-downloader.cfg"


def bazel_env(ctx: BuildContext) -> dict[str, str]:
    """The environment every Bazel command of a build runs in: the build's, `fetch`'s, and the SBOM's queries
    after it (another client environment could re-run repository rules that read it)."""
    plan = ctx.plan.compile
    env = dict(plan.env)
    if ctx.plan.test.ca_bundle is not None and ctx.plan.test.ca_bundle.is_file():
        env["SSL_CERT_FILE"] = CA_IN_CONTAINER
    if plan.deps is None and plan.pip_index:
        env["PIP_INDEX_URL"] = plan.pip_index  # for --repo_env=PIP_INDEX_URL (pip_flags): not in argv
    if plan.deps is not None:
        arch = "x86_64" if ctx.plan.builder.platform == "linux/amd64" else "arm64"
        if (plan.deps / bundlefiles.bazel_cache_dir(arch)).is_dir():
            # bazelisk-py's download cache: the bundle's Bazel, used when the image has no Bazel of that version.
            env["TFWB_BAZEL_CACHE"] = f"{DEPS_IN_CONTAINER}/{bundlefiles.bazel_cache_dir(arch)}"
    return env


def pip_flags(ctx: BuildContext) -> list[str]:
    """Where the pip of Bazel's repository rules gets the release's requirements lock from.

    TF 2.14+ installs its lock with rules_python's pip_parse, which runs pip --isolated (no pip.conf, no
    PIP_* variables) against PyPI, outside Bazel's downloader. RULES_PYTHON_PIP_ISOLATED=0 (read by
    rules_python's use_isolated()) lets --repo_env's PIP_* through: the deps bundle's wheels offline, or the
    chosen index (its URL in the environment only: it may carry credentials)."""
    plan = ctx.plan.compile
    if plan.deps is not None:
        if not (plan.deps / bundlefiles.WHEELS).is_dir():
            return []
        return ["--repo_env=RULES_PYTHON_PIP_ISOLATED=0", "--repo_env=PIP_NO_INDEX=1",
                f"--repo_env=PIP_FIND_LINKS={DEPS_IN_CONTAINER}/{bundlefiles.WHEELS}"]
    if plan.pip_index:
        # `--repo_env=NAME` (the value from the environment) crashes Bazel before 5.3
        # (https://github.com/bazelbuild/bazel/issues/15430); there, repository rules see the client's whole
        # environment anyway, so the variable needs no flag.
        inherit = [] if _version(ctx.bazel_version) < (5, 3) else ["--repo_env=PIP_INDEX_URL"]
        return ["--repo_env=RULES_PYTHON_PIP_ISOLATED=0", *inherit]
    return []


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-+]", text)[:3])


def shutdown(ctx: BuildContext) -> None:
    """Stop the build's Bazel server (its memory back before the runtime test). The repair stage calls it once
    the SBOM's queries have run: they reuse the warm server and its analysis, which a server started anew
    under emulation spent ~45 s redoing (issue 17's forced `--retest` rebuild)."""
    ctx.run(["bazel", *ctx.plan.compile.bazel_startup, "shutdown"], workdir=SRC)


def resolve_bazel(ctx: BuildContext, env: dict[str, str]) -> str:
    """Sets the build's Bazel version; returns the binary bazelisk-py picked (the image's own, or a download)."""
    start = ctx.log.mark()
    code = ctx.run(["bazel", "--tfwb-resolve"], workdir=SRC, env=env)
    resolve = [ln for ln in ctx.log.since(start) if not ln.startswith("+ ")]
    if code != 0:
        raise BazelVersionError(resolve[-1] if resolve else "cannot resolve a Bazel for this checkout")
    ctx.bazel_version = resolve[-1].split()[0]
    if ctx.bazel_version != ctx.plan.recipe.bazel:
        ctx.log.say(f"the checkout's .bazelversion asks for Bazel {ctx.bazel_version}; the recipe for "
                    f"{ctx.plan.recipe.release} says {ctx.plan.recipe.bazel}: using the checkout's")
    words = resolve[-1].split()
    return words[1] if len(words) > 1 else ""


def bundle_identity(ctx: BuildContext) -> deps.Identity:
    return deps.Identity(release=ctx.plan.tf_version, python=ctx.plan.python, bazel=ctx.bazel_version)


def build_arguments(ctx: BuildContext) -> list[str]:
    """The build's flags after startup options; `fetch` runs the same ones, so it fetches what the build needs."""
    plan = ctx.plan.compile
    builder = ctx.builder_id.removeprefix("sha256:")
    mirror: list[str] = []
    if plan.bazel_mirror and plan.deps is None:
        # Bazel reads rewrite rules from a file only; the mirror URL in it carries no credentials.
        ctx.engine.put_files(ctx.container, "/tmp", {DOWNLOADER_CONFIG.rsplit("/", 1)[1]:
                                                     deps.downloader_config(plan.bazel_mirror).encode()})
        ctx.log.say(f"Bazel mirror {plan.bazel_mirror}: every external download is rewritten to it")
        mirror = [f"--experimental_downloader_config={DOWNLOADER_CONFIG}"]
        entry = deps.netrc_entry(plan.bazel_mirror)
        if entry and _version(ctx.bazel_version) < (5, 1):
            # Before 5.1 Bazel sends .netrc credentials only for a URL's own host, never for the URL a
            # downloader config rewrote it to (https://github.com/bazelbuild/bazel/issues/13111).
            try:
                deps.probe_mirror(plan.bazel_mirror, anonymous=True)
            except MirrorError:
                raise MirrorError(f"Bazel mirror {plan.bazel_mirror} wants credentials, and Bazel {ctx.bazel_version} "
                                  "does not send ~/.netrc credentials to rewritten URLs (fixed in Bazel 5.1: "
                                  "bazel#13111)", remedy="build a release whose .bazelversion is 5.1 or newer, or "
                                  "use a mirror that serves without credentials") from None
            entry = ""  # the mirror serves anonymously: nothing to hand over
        if entry:
            # Bazel reads $HOME/.netrc for the mirror's host: only that host's entry, readable by the build user
            # alone, never in argv, the log or the manifest.
            ctx.engine.put_files(ctx.container, BUILD_HOME, {".netrc": entry.encode()}, private_to=BUILD_UID)
            ctx.log.say(f"Bazel mirror credentials: ~/.netrc's entry for {urlsplit(plan.bazel_mirror).hostname}")
    # Before the plan's flags, so a user's own --bazel-arg still has the last word.
    return [*release_flags(ctx), *mirror, *pip_flags(ctx), *(a.replace(BUILDER_ID, builder) for a in plan.bazel_build)]


def release_flags(ctx: BuildContext) -> list[str]:
    """Upstream's own release config when the checkout's .bazelrc defines it, as upstream's CI passes it;
    else the flags it stands for (older checkouts, or a config renamed in a later release)."""
    plan = ctx.plan.compile
    if plan.release_config:
        probe = ["grep", "-qE", rf"^build:{plan.release_config}[[:space:]]", ".bazelrc"]
        if ctx.engine.exec(ctx.container, probe, sink=lambda _line: None, workdir=SRC) == 0:
            ctx.log.say(f"using the checkout's own --config={plan.release_config}")
            return [f"--config={plan.release_config}"]
        ctx.log.say(f"this checkout's .bazelrc has no {plan.release_config}: using the flags it stands for")
    return list(plan.release_equivalent)
