"""Stage: apply the patch series in order: git apply, then git apply --3way, then patch -p1.

Each applied patch is committed in the work tree, so a patch that does not apply is undone with
a reset and the tree is left exactly as the previous patch left it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from tfwheelbuild.errors import PatchError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.pipeline.stages.source import GIT_ENV
from tfwheelbuild.plan import PATCH_DIR, SRC

NAME = "patches"
COMMIT_ENV = {**GIT_ENV, "GIT_AUTHOR_NAME": "tfwheelbuild", "GIT_AUTHOR_EMAIL": "tfwheelbuild@localhost",
              "GIT_COMMITTER_NAME": "tfwheelbuild", "GIT_COMMITTER_EMAIL": "tfwheelbuild@localhost",
              "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z"}


def run(ctx: BuildContext) -> dict[str, object]:
    patches = ctx.plan.patches
    if not patches:
        ctx.log.say("no patches for this release")
        return {"applied": []}
    files: dict[str, bytes | Path] = {f"{i:04d}-{p.name}": p.path for i, p in enumerate(patches)}
    ctx.engine.put_files(ctx.container, PATCH_DIR, files)
    applied = []
    for (staged, patch) in zip(files, patches, strict=True):
        path = shlex.quote(f"{PATCH_DIR}/{staged}")
        script = (
            f"if git apply --check {path} 2>/dev/null; then git apply {path}; "
            f"elif git apply --3way {path}; then :; "
            f"else git reset -q --hard && git clean -qfd && patch -p1 --forward --batch < {path}; fi"
            f" && git add -A && git commit -q --allow-empty -m 'tfwheelbuild: {patch.name}'"
        )
        start = ctx.log.mark()
        code = ctx.run(["sh", "-c", script], env=COMMIT_ENV, workdir=SRC)
        if code != 0:
            ctx.run(["sh", "-c", "git reset -q --hard && git clean -qfd"], env=COMMIT_ENV, workdir=SRC)
            output = [ln for ln in ctx.log.since(start) if not ln.startswith("+ ")]
            hunk = next((ln for ln in output if "FAILED" in ln or "patch failed" in ln
                         or "does not apply" in ln), output[-1] if output else "")
            raise PatchError(f"patch {patch.path} does not apply: {hunk.strip()}")
        ctx.log.say(f"applied {patch.name}")
        applied.append({"name": patch.name, "sha256": patch.sha256})
    return {"applied": applied}
