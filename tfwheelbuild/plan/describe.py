"""The --dry-run text of a plan: every command as it will run."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tfwheelbuild.plan.layout import BUILD_PYTHON, ORIGIN, RAW_WHEELS, SRC, python_route
from tfwheelbuild.recipes.infer import inference_lines

if TYPE_CHECKING:
    from tfwheelbuild.plan import BuildPlan


def describe_plan(plan: BuildPlan) -> list[str]:
    """Human-readable lines for --dry-run: every command as it will run."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in plan.configure_env)
    lines = [
        f"TensorFlow {plan.tf_version} for Python {plan.python} (recipe {plan.recipe.release}, "
        f"recipe version {plan.recipe.recipe_version})",
        *inference_lines(plan.recipe),
        f"base image:    {plan.base.image}"
        + ("" if plan.base.user_chosen else
           f"  (fallback: debootstrap {plan.base.bootstrap_suite} arm64 from {plan.base.mirror})"
           if plan.base.bootstrap_suite else
           f"  (no fallback: no Debian suite ships Python {plan.python}; if {plan.base.image} cannot be "
           f"pulled: {python_route(plan.python)})"),
        *([f"builder base:  {plan.cross_base.image} {plan.cross_base.arch}  (fallback: debootstrap "
           f"{plan.cross_base.bootstrap_suite} {plan.cross_base.arch}; cross mode: the builder runs natively)"]
          if plan.cross_base else []),
        *([f"builder base:  {plan.builder_base.image}  (--builder-image: its own clang and sysroot; only the "
           "tool's helpers are layered on it)"] if plan.builder_base else []),
        f"builder image: buildenv/{plan.builder.template} with "
        + ", ".join(f"{k}={v}" for k, v in plan.builder.values),
        f"runtime image: buildenv/{plan.runtime.template} with "
        + ", ".join(f"{k}={v}" for k, v in plan.runtime.values),
        "volumes:       " + ", ".join(f"{n} -> {m}" for n, m in plan.volumes.items()),
        f"source:        {plan.source.url} @ {plan.source.ref}"
        + (f" (bind-mounted read-only at {ORIGIN})" if plan.source.local_path else ""),
        f"configure:     cd {SRC} && {env} {BUILD_PYTHON} configure.py < /dev/null",
    ]
    if plan.wheel_version != plan.tf_version:
        lines.append(f"wheel version: {plan.wheel_version}")
    lines += [f"patch:         {p.name} sha256={p.sha256}" for p in plan.patches] or [
        "patch:         (none)"
    ]
    tc = plan.toolchain
    lines.append(f"upstream:      {tc.upstream}")
    lines.append("toolchain:     " + (f"clang at {tc.clang_path} (upstream's path) + lld, sysroot {tc.sysroot}"
                                      if tc.compiler == "clang" else "the builder's GCC and GNU ld")
                 + "; the real versions are read from the builder and recorded in the manifest")
    lines += [f"differs:       {d}" for d in tc.differences()]
    release = ([f"--config={plan.compile.release_config}"] if plan.compile.release_config
               else list(plan.compile.release_equivalent))
    bazel = shlex.join(["bazel", *plan.compile.bazel_startup, "build", *release,
                        *plan.compile.bazel_build, plan.compile.target])
    lines.append(f"compile:       {bazel}")
    if plan.compile.release_config:
        lines.append(f"               (when the checkout's .bazelrc has no {plan.compile.release_config}: "
                     f"{shlex.join(plan.compile.release_equivalent)})")
    if plan.compile.memory_bytes:
        lines.append(f"memory limit:  {plan.compile.memory_bytes // 2**20} MB for the build container")
    if plan.remote.secret_url or plan.remote.header_file:
        lines.append(f"remote (rc):   --remote_cache={plan.remote.url} with credentials from "
                     + ("the URL" if plan.remote.secret_url else f"{plan.remote.header_file}")
                     + " in .bazelrc.user (never on the command line)")
    if plan.compile.package_cmd:
        lines.append(f"package:       {shlex.join(plan.compile.package_cmd)}")
    # The raw wheel's name is known once it is built: the glob stays unquoted.
    lines.append(f"repair:        {shlex.join(plan.repair.command(RAW_WHEELS)[:-1])} {RAW_WHEELS}")
    if plan.repair.build_tag:
        lines.append(f"build tag:     {plan.repair.build_tag}")
    limit = plan.repair.max_wheel_size
    size = f"at most {limit / 1024**2:.1f} MiB" if limit else "no size limit"
    pages = "4 KiB-page ELF files accepted" if plan.repair.allow_4k_pages else "every ELF file 64 KiB-page ready"
    lines.append(f"checks:        {pages}; {size}")
    lines.append("file times:    SOURCE_DATE_EPOCH=" + (f"{plan.source_date_epoch} (from the environment)"
                                                       if plan.source_date_epoch else
                                                       "the source commit's committer time"))
    how = "uv (pip where uv cannot be had)" if plan.test.installer == "auto" else "pip"
    lines.append(f"test:          fresh venv in the runtime image; {how} installs the wheel"
                 f" (index {plan.test.index_url or 'pip default'}); smoke test")
    if plan.test.test_command:
        lines.append(f"user test:     {plan.test.test_command}")
    lines.append(f"output:        {plan.output}/")
    return lines
