"""--builder-image: upstream's own build image (or a copy) with only the tool's helpers layered on it. Pure."""

from __future__ import annotations

import dataclasses

import pytest

from tfwheelbuild.core import validate
from tfwheelbuild.engine.imagebuild import render
from tfwheelbuild.errors import UsageError
from tfwheelbuild.plan import GIB, BuildOptions, make_plan
from tfwheelbuild.recipes import recipe_for

DIGEST = "sha256:" + "ab" * 32
PINNED = f"registry.example.invalid/ml-build-arm64@{DIGEST}"


@pytest.mark.parametrize("value", [PINNED, DIGEST, f"registry.example.invalid:5000/x/y:tag@{DIGEST}", ""])
def test_pinned_images_are_accepted(value: str) -> None:
    assert validate.pinned_image(f" {value} ") == value


@pytest.mark.parametrize("value", ["ml-build-arm64", "registry.example.invalid/ml-build-arm64:latest",
                                   "x@sha256:abc", "sha256:" + "a" * 63, "Bad Image@" + DIGEST])
def test_unpinned_or_malformed_images_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="pinned by digest"):
        validate.pinned_image(value)


def plan_for(release: str, **opts: object):  # type: ignore[no-untyped-def]
    options = dataclasses.replace(BuildOptions(tf_version=f"{release}.0", python="3.11"), **opts)  # type: ignore[arg-type]
    return make_plan(options, recipe_for(f"{release}.0"), patches=(), engine_cpus=2, engine_mem=16 * GIB,
                     engine_emulated=True, engine_arch="x86_64")


@pytest.mark.parametrize("release", ["2.16", "2.18", "2.21"])
def test_the_given_image_is_layered_on_and_targets_the_releases_own_policy(release: str) -> None:
    plan = plan_for(release, builder_image=PINNED)
    # auto mode on an x86_64 engine would cross-compile; the given image is arm64, so it builds emulated
    assert plan.cross_base is None and plan.builder.platform == "linux/arm64"
    assert plan.builder_base is not None and plan.builder_base.image == PINNED and plan.builder_base.user_chosen
    assert plan.builder.template == "builder-on.Dockerfile"
    values = dict(plan.builder.values)
    assert values["CLANG"] == recipe_for(f"{release}.0").compiler_major
    # upstream's image carries its glibc-2.17 sysroot: the release's own tag, not the tool's sysroot floor
    assert plan.repair.plat == recipe_for(f"{release}.0").manylinux == plan.toolchain.upstream_plat
    text = "\n".join(plan.describe())
    assert f"builder base:  {PINNED}" in text and "sysroot: /dt10 holds" not in text
    assert any(d.startswith(f"builder: {PINNED} with tfwheelbuild's helpers") for d in plan.toolchain.differences())
    # and --plat still wins
    assert plan_for(release, builder_image=PINNED, plat="auto").repair.plat == ""


def test_without_it_nothing_changes() -> None:
    plan = plan_for("2.16", mode="emulated")
    assert plan.builder_base is None and plan.builder.template == "builder.Dockerfile"
    assert plan.repair.plat == "manylinux_2_31_aarch64"


def test_cross_mode_with_a_builder_image_is_refused() -> None:
    with pytest.raises(UsageError, match="--builder-image is an arm64 build image"):
        plan_for("2.16", builder_image=PINNED, mode="cross")


def test_the_layer_installs_no_toolchain_and_records_what_the_image_has() -> None:
    plan = plan_for("2.18", builder_image=PINNED)
    files = render(plan.builder, PINNED, DIGEST, None)
    text = files["Dockerfile"].decode()
    assert text.startswith("# tfwheelbuild's helpers") and f"FROM {PINNED}\n" in text and "{{" not in text
    assert "apt-get install -y --no-install-recommends clang" not in text and "bullseye" not in text
    assert 'toolchain_probe.py "18" /opt/tfwb/toolchain.json' in text
    assert set(files) == {"Dockerfile", "bazelisk.py", "ca-bundle.pem", "toolchain_probe.py"}


def test_the_probe_reads_a_sysroots_glibc_from_its_headers(tmp_path: object) -> None:
    import importlib.util
    from pathlib import Path

    from tfwheelbuild.util import resources

    spec = importlib.util.spec_from_file_location("toolchain_probe", str(resources.buildenv("toolchain_probe.py")))
    assert spec and spec.loader
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    root = Path(str(tmp_path))
    (root / "usr/include").mkdir(parents=True)
    (root / "usr/include/features.h").write_text("#define\t__GLIBC__\t2\n#define __GLIBC_MINOR__ 17\n")
    assert probe.glibc(str(root)) == "2.17" and probe.glibc(str(root / "none")) == ""


def test_a_given_image_without_the_releases_clang_is_named_in_one_line() -> None:
    from tfwheelbuild.engine.imagebuild import _explain
    from tfwheelbuild.errors import ImageError

    generic = ImageError("building tfwheelbuild/builder:py3-0 failed: The command ... returned a non-zero code: 1")
    line = "\x1b[91merror: the builder image has no clang at /usr/lib/llvm-18/bin/clang (it has: llvm-17)\n"
    exc = _explain(generic, ["Step 7/12", line], PINNED)
    assert exc is not generic and "\x1b" not in exc.message
    assert exc.message == (f"layering the tool's helpers on {PINNED} failed: the builder image has no clang at "
                           "/usr/lib/llvm-18/bin/clang (it has: llvm-17)")
    assert exc.remedy is not None and "--builder-image" in exc.remedy
