"""Stage: fetch the release tag into a cached bare mirror, check it out as the work tree.

The mirror lives in a named volume, so a second build fetches nothing it already has; the work
tree is always at the same path, which keeps Bazel's output base (and its caches) stable.

The commit's committer time is the default SOURCE_DATE_EPOCH (the time stamped on the wheel's
files): part of the commit, so two builds of one commit stamp the same time.
"""

from __future__ import annotations

import shlex

from tfwheelbuild.artifacts.wheelinfo import ZIP_TIME_MIN
from tfwheelbuild.errors import DiskFullError, SourceError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.plan import GIT_CACHE, SRC
from tfwheelbuild.util.redact import redact

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
        # The URL comes in the environment: it may carry a token, which must stay out of the logged command.
        f"git -C {mirror} fetch --depth 1 --no-tags --force \"$TFWB_SOURCE_URL\" {shlex.quote(f'+{ref}:{ref}')}\n"
        f"rm -rf {SRC}\n"
        f"git clone -q --shared --no-checkout {mirror} {SRC}\n"
        f"git -C {SRC} checkout -q --detach {shlex.quote(ref)}\n"
        f"git -C {SRC} log -1 --format='%H %ct' HEAD\n"
    )
    start = ctx.log.mark()
    code = ctx.run(["sh", "-c", script], env={**GIT_ENV, "TFWB_SOURCE_URL": src.fetch_url})
    lines = [ln for ln in ctx.log.since(start) if not ln.startswith("+ ")]
    if code != 0:
        text = " ".join(lines)
        full = next((ln.strip() for ln in lines if "No space left on device" in ln), "")
        if full:
            raise DiskFullError(f"the git mirror cache ({GIT_CACHE}) ran out of disk space: {full}")
        if "couldn't find remote ref" in text or "not our ref" in text:
            raise SourceError(f"tag {src.ref} does not exist in {src.url}")
        raise SourceError(f"cannot fetch {src.ref} from {src.url}: {redact(lines[-1]) if lines else 'git failed'}")
    last = lines[-1].split() if lines else []
    if len(last) != 2 or not last[1].isdigit():
        raise SourceError(f"cannot read the commit of {src.ref} in {src.url}: {' '.join(last) or 'no output'}")
    ctx.commit, committed = last
    ctx.source_date_epoch = source_date_epoch(ctx.plan.source_date_epoch, int(committed))
    ctx.log.say(f"source {src.url} @ {src.ref} = {ctx.commit}; SOURCE_DATE_EPOCH={ctx.source_date_epoch} "
                f"({'from the environment' if ctx.plan.source_date_epoch else 'the commit time'})")
    return {"url": src.url, "ref": src.ref, "commit": ctx.commit, "commit_time": int(committed)}


def source_date_epoch(given: str, commit_time: int) -> int:
    """The time for the wheel's files: SOURCE_DATE_EPOCH as given, else the commit's committer time;
    never before 1980-01-01, the earliest time a zip entry can carry."""
    return max(ZIP_TIME_MIN, int(given) if given else commit_time)
