"""Stage: fetch the release tag into a cached bare mirror, check it out as the work tree.

The mirror lives in a named volume, so a second build fetches nothing it already has; the work
tree is always at the same path, which keeps Bazel's output base (and its caches) stable.
"""

from __future__ import annotations

from tfwheelbuild.context import BuildContext
from tfwheelbuild.errors import SourceError
from tfwheelbuild.plan import GIT_CACHE, SRC

NAME = "source"
# Sources bind-mounted from the host belong to another uid than the container's user.
GIT_ENV = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*",
           "GIT_TERMINAL_PROMPT": "0"}


def run(ctx: BuildContext) -> dict[str, object]:
    src = ctx.plan.source
    mirror = f"{GIT_CACHE}/{src.mirror_name}"
    ref = f"refs/tags/{src.ref}" if not src.ref.startswith("refs/") else src.ref
    script = (
        "set -e\n"
        # An earlier run killed mid-fetch (Ctrl-C, SIGTERM, a dead daemon) leaves git's lock files,
        # or half an init, behind; every later fetch would then fail. Builds of one cache namespace
        # hold its lock (locks.py), so no live git process can own these.
        f"git -C {mirror} rev-parse --git-dir >/dev/null 2>&1 || {{ rm -rf {mirror}; git init -q --bare {mirror}; }}\n"
        f"find {mirror} -path {mirror}/objects -prune -o -name '*.lock' -type f -exec rm -f {{}} +\n"
        f"git -C {mirror} fetch --depth 1 --no-tags --force {src.fetch_url} +{ref}:{ref}\n"
        f"rm -rf {SRC}\n"
        f"git clone -q --shared --no-checkout {mirror} {SRC}\n"
        f"git -C {SRC} checkout -q --detach {ref}\n"
        f"git -C {SRC} rev-parse HEAD\n"
    )
    start = ctx.log.mark()
    code = ctx.run(["sh", "-c", script], env=GIT_ENV)
    lines = [ln for ln in ctx.log.since(start) if not ln.startswith("+ ")]
    if code != 0:
        text = " ".join(lines)
        if "couldn't find remote ref" in text or "not our ref" in text:
            raise SourceError(f"tag {src.ref} does not exist in {src.url}")
        raise SourceError(f"cannot fetch {src.ref} from {src.url}: {lines[-1] if lines else 'git failed'}")
    ctx.commit = lines[-1].strip()
    ctx.log.say(f"source {src.url} @ {src.ref} = {ctx.commit}")
    return {"url": src.url, "ref": src.ref, "commit": ctx.commit}
