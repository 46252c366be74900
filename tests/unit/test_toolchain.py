"""The toolchain half of the plan: upstream's facts per release, and what this build does otherwise."""

from __future__ import annotations

import pytest

from tfwheelbuild.core.toolchain import check_plat, configure_answers, default_plat, policy_glibc, toolchain_plan
from tfwheelbuild.errors import UsageError
from tfwheelbuild.recipes import load_recipes, recipe_for


@pytest.mark.parametrize(("policy", "glibc"), [("manylinux2014_aarch64", (2, 17)),
                                               ("manylinux_2_27_aarch64", (2, 27)),
                                               ("manylinux_2_31_aarch64", (2, 31)),
                                               ("musllinux_1_2_aarch64", None), ("bogus", None)])
def test_policy_glibc(policy: str, glibc: tuple[int, int] | None) -> None:
    assert policy_glibc(policy) == glibc


@pytest.mark.parametrize("plat", ["", "auto", "manylinux2014_aarch64", "manylinux_2_28_aarch64"])
def test_aarch64_policies_and_auto_are_accepted(plat: str) -> None:
    assert check_plat(plat) == plat


@pytest.mark.parametrize("plat", ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "musllinux_1_2_aarch64",
                                  "manylinux_2_31", "macosx_11_0_arm64"])
def test_other_policies_are_refused_with_the_choices(plat: str) -> None:
    with pytest.raises(UsageError) as info:
        check_plat(plat)
    assert "aarch64 policy" in info.value.message
    assert "manylinux2014_aarch64" in info.value.remedy


def test_default_policy_is_the_sysroot_floor_when_upstream_is_lower() -> None:
    # Upstream's manylinux2014 (glibc 2.17) is below what a Debian bullseye sysroot reaches.
    assert default_plat(recipe_for("2.16.1")) == ("manylinux_2_31_aarch64", "the builder's sysroot is glibc 2.31")
    assert default_plat(recipe_for("2.21.0"))[0] == "manylinux_2_31_aarch64"


def test_plat_sources_are_named() -> None:
    recipe = recipe_for("2.17.0")
    assert toolchain_plan(recipe, plat="auto", cross=False).plat == ""
    given = toolchain_plan(recipe, plat="manylinux2014_aarch64", cross=False)
    assert (given.plat, given.plat_reason) == ("manylinux2014_aarch64", "--plat")
    assert given.differences() == ["sysroot: /dt10 holds Debian bullseye arm64 (glibc 2.31, libstdc++ of GCC 10), "
                                   "not upstream's devtoolset-10 on glibc 2.17"]
    cross = toolchain_plan(recipe, plat="", cross=True)
    assert cross.plat == "" and "cross mode" in cross.plat_reason
    # The cross toolchain names its own compiler and flags; upstream's release config is for native builds.
    assert not [f for f in cross.equivalent if "CC=" in f or "lld" in f]
    assert cross.upstream.endswith("--config=release_arm64_linux")  # upstream's facts whatever the mode


@pytest.mark.parametrize("release", list(load_recipes()))
def test_clang_answers_follow_upstream(release: str) -> None:
    recipe = load_recipes()[release]
    answers = configure_answers(toolchain_plan(recipe, plat="", cross=False))
    if recipe.compiler == "clang":
        assert answers == {"TF_NEED_CLANG": "1",
                           "CLANG_COMPILER_PATH": f"/usr/lib/llvm-{recipe.compiler_major}/bin/clang"}
    else:
        assert answers == {}


def test_upstream_line_reads_like_upstream() -> None:
    tc = toolchain_plan(recipe_for("2.19.0"), plat="", cross=False)
    assert tc.upstream == ("clang 18.1.8 + lld, sysroot /dt10, manylinux2014_aarch64, "
                           "--config=release_arm64_linux")
    gcc = toolchain_plan(recipe_for("2.12.0"), plat="", cross=False)
    assert gcc.upstream == "gcc 10.2.1, sysroot /dt10, manylinux2014_aarch64"
    assert gcc.differences()[0].startswith("compiler: the builder's GCC")


@pytest.mark.parametrize(("release", "arch", "cross"), [("2.16.1", "x86_64", True), ("2.21.0", "x86_64", True),
                                                        ("2.15.0", "x86_64", False), ("2.16.1", "aarch64", False),
                                                        ("2.16.1", "", False)])
def test_auto_mode_cross_compiles_on_x86_64_where_the_release_has_a_cross_config(release: str, arch: str,
                                                                                 cross: bool) -> None:
    from tfwheelbuild.plan import GIB, BuildOptions, make_plan

    plan = make_plan(BuildOptions(tf_version=release, python="3.11"), recipe_for(release), patches=(),
                     engine_cpus=2, engine_mem=8 * GIB, engine_emulated=arch != "aarch64", engine_arch=arch)
    assert (plan.cross_base is not None) is cross
    assert (plan.builder.role == "builder-cross") is cross
    if cross:  # only the runtime test is emulated: Bazel's JVM gets its native settings
        assert not any("TieredStopAtLevel" in a for a in plan.compile.bazel_startup)


def test_auto_mode_with_a_demanded_policy_builds_where_auditwheel_can_honour_it() -> None:
    from tfwheelbuild.plan import GIB, BuildOptions, make_plan

    opts = BuildOptions(tf_version="2.16.1", python="3.11", plat="manylinux_2_28_aarch64")
    plan = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=2, engine_mem=8 * GIB,
                     engine_emulated=True, engine_arch="x86_64")
    assert plan.cross_base is None and plan.repair.plat == "manylinux_2_28_aarch64"
