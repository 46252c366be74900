"""How a build compiles, set beside how upstream built the official wheel. Pure: no Docker, no files.

Upstream builds its aarch64 wheels with clang + lld (17 for 2.15-2.17, 18 from 2.18) against a
glibc-2.17 devtoolset sysroot at /dt10, through its own `--config=release_arm64_linux` (2.16+), and
audits them to manylinux2014 (manylinux_2_27 for 2.21); through 2.14 with devtoolset-10's GCC. The
tool follows the release's recipe: clang where upstream used clang, at the path upstream's files
name (/usr/lib/llvm-N/bin/clang; configure.py's default, the toolchains, .bazelrc). What it cannot
copy, it says: the builder's clang may be another version answering at that path, and its sysroot
(Debian bullseye's glibc 2.31 at /dt10, built without a registry) cannot reach manylinux2014.
Every difference is recorded in the plan (--dry-run), the manifest and the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tfwheelbuild.errors import UsageError
from tfwheelbuild.recipes import Recipe

# The aarch64 sysroot the tool's builder images carry at /dt10, and the policy it reaches: Debian
# bullseye's libc6-dev (glibc 2.31) and GCC 10's libstdc++ (GLIBCXX_3.4.28, within manylinux_2_31).
# Upstream's /dt10 is devtoolset-10 on glibc 2.17, which no package this tool can reach offline has.
SYSROOT = "/dt10"
SYSROOT_GLIBC = "2.31"
SYSROOT_ORIGIN = "Debian bullseye arm64 (glibc 2.31, libstdc++ of GCC 10)"
AUTO = "auto"

# What upstream's release_linux_base adds for clang (tf-releases.md §8; .bazelrc): lld, the version
# check that its linker scripts fail, and the warnings clang >= 16 turned into errors for TF's code.
# Used as such where a checkout's .bazelrc has no release config of its own.
CLANG_RELEASE_FLAGS = (
    "--copt=-Wno-gnu-offsetof-extensions",
    "--copt=-Wno-error=array-parameter",
    "--copt=-Wno-error=unused-command-line-argument",
    "--linkopt=-fuse-ld=lld",
    "--linkopt=-lm",
    "--linkopt=-Wl,--undefined-version",
)

_POLICY = re.compile(r"^(?:manylinux2014|manylinux_(\d+)_(\d+)|musllinux_(\d+)_(\d+))_(\w+)$")


@dataclass(frozen=True, kw_only=True)
class ToolchainPlan:
    compiler: str  # "gcc" or "clang": the recipe's, i.e. upstream's family
    upstream_version: str  # the version upstream used, e.g. "17.0.6"
    clang_path: str  # where clang must answer in the builder (upstream's path); "" for GCC
    linker: str  # "lld" for clang releases, "ld" for GCC ones
    sysroot: str  # the aarch64 sysroot upstream names (the builder provides one there for clang)
    release_config: str  # upstream's release config (native builds use it where the checkout defines it)
    equivalent: tuple[str, ...]  # the flags that stand in for it otherwise (configs, copts, clang flags)
    plat: str  # the policy repair targets; "" = auditwheel's own choice (`--plat auto`, cross mode)
    upstream_plat: str  # what upstream ships for this release
    plat_reason: str  # one line: why `plat` is what it is
    builder_image: str = ""  # --builder-image: a build image in upstream's shape brings its own sysroot

    @property
    def upstream(self) -> str:
        return (f"{self.compiler} {self.upstream_version}" + (" + lld" if self.linker == "lld" else "")
                + f", sysroot {self.sysroot}, {self.upstream_plat}"
                + (f", --config={self.release_config}" if self.release_config else ""))

    def differences(self) -> list[str]:
        """What this build does otherwise than upstream, known before the builder exists."""
        out = []
        if self.compiler == "gcc":
            out.append(f"compiler: the builder's GCC and glibc, not upstream's devtoolset-10 GCC "
                       f"{self.upstream_version} on glibc 2.17")
        elif self.builder_image:
            out.append(f"builder: {self.builder_image} with tfwheelbuild's helpers layered on it (its bazel launcher "
                       "replaced by tfwheelbuild's, auditwheel and a build venv added); its own clang and sysroot")
        else:
            out.append(f"sysroot: {SYSROOT} holds {SYSROOT_ORIGIN}, not upstream's devtoolset-10 on glibc 2.17")
        if self.plat != self.upstream_plat:
            out.append(f"manylinux: {self.plat or 'auditwheel chooses'}, not upstream's {self.upstream_plat} "
                       f"({self.plat_reason})")
        return out


def policy_glibc(policy: str) -> tuple[int, int] | None:
    """(2, 17) for manylinux2014_*, (2, N) for manylinux_2_N_*; None for musllinux and unknown names."""
    match = _POLICY.match(policy)
    if not match:
        return None
    if policy.startswith("manylinux2014"):
        return (2, 17)
    if match[1]:
        return (int(match[1]), int(match[2]))
    return None


def check_plat(plat: str) -> str:
    """--plat as given: '' (the default policy), 'auto', or an aarch64 policy name auditwheel knows."""
    from tfwheelbuild.core import validate

    try:
        return validate.plat(plat)
    except ValueError as exc:
        raise UsageError(f"--plat {plat.strip()!r}: {exc}",
                         remedy="give manylinux2014_aarch64 or manylinux_2_NN_aarch64, or `auto` for "
                                "auditwheel's own choice") from None


def default_plat(recipe: Recipe) -> tuple[str, str]:
    """The policy a build targets unless told otherwise, and why: the release's own when the builder's
    sysroot reaches it, else the sysroot's floor (never silently: the reason says which)."""
    if recipe.compiler != "clang":
        # GCC builds go through Bazel's auto-configured toolchain, which knows no sysroot: they link
        # against the builder's own glibc, so the policy is whatever that reaches.
        return "", "GCC builds link against the builder's own glibc; auditwheel names the policy it reaches"
    floor = f"manylinux_{SYSROOT_GLIBC.replace('.', '_')}_aarch64"
    upstream = policy_glibc(recipe.manylinux)
    reach = tuple(int(p) for p in SYSROOT_GLIBC.split("."))
    if upstream is not None and upstream >= reach:
        return recipe.manylinux, "the release's own policy"
    return floor, f"the builder's sysroot is glibc {SYSROOT_GLIBC}"


def toolchain_plan(recipe: Recipe, *, plat: str, cross: bool, builder_image: str = "") -> ToolchainPlan:
    plat = check_plat(plat)
    if cross:
        # auditwheel decides the aarch64 policy itself on the amd64 builder (--plat only names the running
        # machine's policies there); the sysroot still bounds what it can find.
        chosen, reason = "", "cross mode: auditwheel picks the aarch64 policy itself"
    elif plat == AUTO:
        chosen, reason = "", "--plat auto"
    elif plat:
        chosen, reason = plat, "--plat"
    elif builder_image:
        # Upstream's own build image carries its glibc-2.17 devtoolset sysroot: the release's policy is in
        # reach, and an image that cannot reach it fails at repair naming what lifts it (exit 17).
        chosen, reason = recipe.manylinux, "the release's own policy (--builder-image brings its own sysroot)"
    else:
        chosen, reason = default_plat(recipe)
    clang = recipe.compiler == "clang"
    equivalent = (*(f"--config={c}" for c in recipe.bazel_configs), *(f"--copt={c}" for c in recipe.copts))
    if clang and not cross:  # the cross toolchain names its own compilers and flags
        equivalent += (f"--repo_env=CC={recipe.clang_path}", f"--repo_env=BAZEL_COMPILER={recipe.clang_path}",
                       *CLANG_RELEASE_FLAGS)
    return ToolchainPlan(
        compiler=recipe.compiler, upstream_version=recipe.compiler_version, clang_path=recipe.clang_path,
        linker=recipe.linker, sysroot=recipe.sysroot, release_config=recipe.release_config,
        equivalent=equivalent, plat=chosen, upstream_plat=recipe.manylinux, plat_reason=reason,
        builder_image=builder_image,
    )


def configure_answers(tc: ToolchainPlan) -> dict[str, str]:
    """configure.py's compiler answers: clang at upstream's path for clang releases (TF >= 2.18's
    configure.py refuses to go on without clang), GCC otherwise."""
    if tc.compiler == "clang":
        return {"TF_NEED_CLANG": "1", "CLANG_COMPILER_PATH": tc.clang_path}
    return {}
