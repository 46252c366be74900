"""A plan for a release and Python on an 8-CPU, 16 GiB engine, and its --repo_env pairs: what the plan
tests share."""

from __future__ import annotations

from tfwheelbuild.plan import GIB, BuildOptions, BuildPlan, make_plan
from tfwheelbuild.recipes import recipe_for

MEM_16G = 16 * GIB


def _plan(tf: str, py: str, **kw: object) -> BuildPlan:
    opts = BuildOptions(tf_version=tf, python=py, **kw)  # type: ignore[arg-type]
    return make_plan(opts, recipe_for(tf), patches=(), engine_cpus=8, engine_mem=MEM_16G)


def _repo_env(plan: BuildPlan) -> dict[str, str]:
    pairs = [a.removeprefix("--repo_env=") for a in plan.compile.bazel_build if a.startswith("--repo_env=")]
    return dict(p.split("=", 1) for p in pairs)
