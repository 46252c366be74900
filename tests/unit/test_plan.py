"""make_plan and friends: pure data in, data out. What each release compiles and with which flags, the
described plan, cross mode (base image, source and nightly stamping: test_plan_source.py)."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

import pytest

from tests.unit.helpers_plan import MEM_16G, _plan, _repo_env
from tfwheelbuild.errors import UsageError
from tfwheelbuild.plan import (
    BAZEL_OUTPUT,
    BUILD_PYTHON,
    BUILDER_ID,
    GIB,
    OUT,
    BuildOptions,
    PatchFile,
    default_jobs,
    make_plan,
)
from tfwheelbuild.recipes import recipe_for

# ---------------------------------------------------------------------------------- 2.16


def test_216_build_pip_package_target_and_package_command() -> None:
    plan = _plan("2.16.1", "3.11")
    assert plan.compile.target == "//tensorflow/tools/pip_package:build_pip_package"
    assert plan.compile.package_cmd == (
        "./bazel-bin/tensorflow/tools/pip_package/build_pip_package", f"{OUT}/raw",
        "--project_name", "tensorflow")
    assert plan.wheel_name == "tensorflow"
    assert plan.source.ref == "v2.16.1"


def test_216_project_name_goes_to_package_command_normalised() -> None:
    plan = _plan("2.16.1", "3.11", project_name="tensorflow-aarch64-internal")
    assert plan.compile.package_cmd[-2:] == ("--project_name", "tensorflow_aarch64_internal")
    assert "WHEEL_NAME" not in _repo_env(plan)


def test_216_python_selected_by_tf_python_version() -> None:
    env = _repo_env(_plan("2.16.1", "3.11"))
    assert env["TF_PYTHON_VERSION"] == "3.11"
    assert "HERMETIC_PYTHON_VERSION" not in env
    assert "USE_PYWRAP_RULES" not in env
    assert "ML_WHEEL_TYPE" not in env


def test_216_configure_env_has_build_python_and_recipe_answers() -> None:
    env = dict(_plan("2.16.1", "3.11").configure_env)
    assert env["PYTHON_BIN_PATH"] == BUILD_PYTHON == "/opt/tfwb/py/bin/python3"
    assert env["TF_NEED_CUDA"] == "0"
    # Upstream builds 2.16 with clang 17: configure gets clang at the path upstream's files name.
    assert env["TF_NEED_CLANG"] == "1"
    assert env["CLANG_COMPILER_PATH"] == "/usr/lib/llvm-17/bin/clang"


def test_user_configure_overrides_win() -> None:
    plan = _plan("2.16.1", "3.11", configure=(("TF_NEED_CLANG", "0"), ("PYTHON_BIN_PATH", "/usr/bin/python3"),
                                              ("CLANG_COMPILER_PATH", "/usr/bin/clang-17")))
    env = dict(plan.configure_env)
    assert env["TF_NEED_CLANG"] == "0"
    assert env["PYTHON_BIN_PATH"] == "/usr/bin/python3"
    assert env["CLANG_COMPILER_PATH"] == "/usr/bin/clang-17"
    assert [k for k, _ in plan.configure_env] == sorted(env)


def test_216_config_and_copt_flags_come_from_the_recipe() -> None:
    recipe = recipe_for("2.16.1")
    plan = _plan("2.16.1", "3.11")
    # Upstream's own config first; the flags it stands for when the checkout has none.
    assert plan.compile.release_config == "release_arm64_linux"
    assert not [a for a in plan.compile.bazel_build if a.startswith("--config=")]
    args = plan.compile.release_equivalent
    assert [a for a in args if a.startswith("--config=")] == [f"--config={c}" for c in recipe.bazel_configs]
    assert "--config=mkl_aarch64_threadpool" in args
    assert "--config=linux_arm64" in args
    assert "--copt=-flax-vector-conversions" in args


# ---------------------------------------------------------------------------------- 2.17 / 2.20 / 2.13


def test_217_wheel_target_and_copy_step() -> None:
    plan = _plan("2.17.0", "3.11")
    assert plan.compile.target == "//tensorflow/tools/pip_package:wheel"
    assert plan.compile.package_cmd[:2] == ("sh", "-c")
    assert BAZEL_OUTPUT in plan.compile.package_cmd[2] and "*" not in plan.compile.package_cmd[2]
    assert f"{OUT}/raw" in plan.compile.package_cmd[2]


def test_217_wheel_name_from_project_name_and_hermetic_python() -> None:
    env = _repo_env(_plan("2.17.0", "3.12", project_name="my-tf.build"))
    assert env["WHEEL_NAME"] == "my_tf_build"
    assert env["HERMETIC_PYTHON_VERSION"] == "3.12"
    assert env["TF_PYTHON_VERSION"] == "3.12"  # the legacy alias is passed too
    assert "ML_WHEEL_TYPE" not in env


def test_217_default_wheel_name_is_tensorflow() -> None:
    assert _repo_env(_plan("2.17.0", "3.11"))["WHEEL_NAME"] == "tensorflow"


def test_220_pywrap_rules_and_release_wheel_type() -> None:
    env = _repo_env(_plan("2.20.0", "3.13"))
    assert env["USE_PYWRAP_RULES"] == "1"
    assert env["ML_WHEEL_TYPE"] == "release"
    assert env["HERMETIC_PYTHON_VERSION"] == "3.13"


def test_213_has_no_python_repo_env() -> None:
    plan = _plan("2.13.1", "3.10")
    env = _repo_env(plan)
    assert "TF_PYTHON_VERSION" not in env
    assert "HERMETIC_PYTHON_VERSION" not in env
    assert plan.compile.target.endswith(":build_pip_package")
    assert dict(plan.configure_env)["PYTHON_BIN_PATH"] == BUILD_PYTHON


# ---------------------------------------------------------------------------------- shared flags


def test_builder_id_token_is_in_the_action_env() -> None:
    args = _plan("2.16.1", "3.11").compile.bazel_build
    assert f"--action_env=TFWB_BUILDER_ID={BUILDER_ID}" in args


def test_user_bazel_args_are_appended_last() -> None:
    args = _plan("2.16.1", "3.11", bazel_args=("--verbose_failures", "--config=nonccl")).compile.bazel_build
    assert args[-2:] == ("--verbose_failures", "--config=nonccl")


def test_jobs_and_ram_from_engine_unless_given() -> None:
    plan = _plan("2.16.1", "3.11")
    assert (plan.compile.jobs, plan.compile.ram_mb) == default_jobs(8, MEM_16G)
    assert f"--jobs={plan.compile.jobs}" in plan.compile.bazel_build
    forced = _plan("2.16.1", "3.11", jobs=3, ram_mb=4096)
    assert (forced.compile.jobs, forced.compile.ram_mb) == (3, 4096)
    assert "--jobs=3" in forced.compile.bazel_build
    assert "--local_ram_resources=4096" in forced.compile.bazel_build


@pytest.mark.parametrize(("cpus", "mem", "expected"), [
    (8, 16 * GIB, (6, 13107)),     # memory-bound: 16 GiB / 2.5 GiB = 6 jobs; 80% of RAM
    (4, 64 * GIB, (4, 52428)),     # CPU-bound
    (64, 1 * GIB, (1, 1024)),      # at least one job and 1024 MB
    (2, 5 * GIB, (2, 4096)),
])
def test_default_jobs(cpus: int, mem: int, expected: tuple[int, int]) -> None:
    assert default_jobs(cpus, mem) == expected


# ---------------------------------------------------------------------------------- describe


def test_describe_contains_the_exact_bazel_command() -> None:
    plan = _plan("2.17.0", "3.11", bazel_args=("--define=foo=a b",))
    bazel = shlex.join(["bazel", *plan.compile.bazel_startup, "build", "--config=release_arm64_linux",
                        *plan.compile.bazel_build, plan.compile.target])
    lines = plan.describe()
    assert f"compile:       {bazel}" in lines
    assert f"package:       {shlex.join(plan.compile.package_cmd)}" in lines
    assert "patch:         (none)" in lines


def test_describe_lists_patches_and_repair_options(tmp_path: Path) -> None:
    patch = PatchFile(name="0001-x.patch", path=tmp_path / "0001-x.patch", sha256="ab" * 32)
    opts = BuildOptions(tf_version="2.16.1", python="3.11", plat="manylinux_2_34_aarch64",
                        exclude=("libfoo.so.1",), build_tag="7")
    lines = make_plan(opts, recipe_for("2.16.1"), patches=(patch,), engine_cpus=2, engine_mem=8 * GIB).describe()
    assert f"patch:         0001-x.patch sha256={'ab' * 32}" in lines
    repair = next(line for line in lines if line.startswith("repair:"))
    assert "--plat manylinux_2_34_aarch64" in repair
    assert "--exclude libfoo.so.1" in repair
    assert "build tag:     7" in lines


@pytest.mark.parametrize("release", [f"2.{m}" for m in range(10, 22)])
def test_every_release_plans_like_its_official_commands(release: str) -> None:
    recipe = recipe_for(release)
    py = "3.10" if "3.10" in recipe.pythons else recipe.pythons[-1]
    plan = _plan(f"{release}.0", py)
    repo_env = _repo_env(plan)
    minor = int(release.split(".")[1])
    if minor <= 16:
        assert plan.compile.target == "//tensorflow/tools/pip_package:build_pip_package"
        assert "--project_name" in plan.compile.package_cmd and "WHEEL_NAME" not in repo_env
    else:
        assert plan.compile.target == "//tensorflow/tools/pip_package:wheel"
        assert repo_env["WHEEL_NAME"] == "tensorflow"
    if minor <= 13:
        assert not {"TF_PYTHON_VERSION", "HERMETIC_PYTHON_VERSION"} & set(repo_env)
    elif minor <= 16:
        assert repo_env["TF_PYTHON_VERSION"] == py and "HERMETIC_PYTHON_VERSION" not in repo_env
    else:
        assert repo_env["HERMETIC_PYTHON_VERSION"] == py
    assert ("USE_PYWRAP_RULES" in repo_env) == (minor >= 20)
    assert ("ML_WHEEL_TYPE" in repo_env) == (minor >= 20)
    env = dict(plan.configure_env)
    assert env["TF_NEED_CUDA"] == "0" and env["TF_NEED_ROCM"] == "0" and env["PYTHON_BIN_PATH"]
    assert "--config=mkl_aarch64_threadpool" in plan.compile.release_equivalent
    # Upstream's toolchain, configure answers, release config and audit policy (tf-releases.md §1, §3, §7, §8).
    tc = plan.toolchain
    if minor <= 14:
        assert (tc.compiler, tc.linker) == ("gcc", "ld")
        assert env.get("TF_NEED_CLANG") == (None if minor <= 12 else "0")  # 2.13 is the first to ask
        assert "CLANG_COMPILER_PATH" not in env
    else:
        major = "17" if minor <= 17 else "18"
        assert (tc.compiler, tc.linker, tc.upstream_version.split(".")[0]) == ("clang", "lld", major)
        assert env["TF_NEED_CLANG"] == "1" and env["CLANG_COMPILER_PATH"] == f"/usr/lib/llvm-{major}/bin/clang"
        assert f"--repo_env=CC=/usr/lib/llvm-{major}/bin/clang" in plan.compile.release_equivalent
        assert "--linkopt=-fuse-ld=lld" in plan.compile.release_equivalent
    assert plan.compile.release_config == ("release_arm64_linux" if minor >= 16 else "")
    assert tc.upstream_plat == ("manylinux_2_27_aarch64" if minor == 21 else "manylinux2014_aarch64")
    text = "\n".join(plan.describe())
    if minor <= 14:  # GCC links against the builder's glibc: auditwheel names the policy it reaches
        assert plan.repair.plat == ""
        assert f"differs:       manylinux: auditwheel chooses, not upstream's {tc.upstream_plat}" in text
    else:  # clang builds against the /dt10 sysroot: its floor, said as a difference
        assert plan.repair.plat == "manylinux_2_31_aarch64"
        assert f"differs:       manylinux: manylinux_2_31_aarch64, not upstream's {tc.upstream_plat}" in text
    assert plan.compile.target in text and f"TensorFlow {release}.0 for Python {py}" in text


def test_emulated_engines_get_a_c1_only_bazel_jvm_and_native_ones_do_not() -> None:
    opts = BuildOptions(tf_version="2.16.1", python="3.11")
    emulated = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=2, engine_mem=MEM_16G,
                         engine_emulated=True)
    native = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=2, engine_mem=MEM_16G)
    assert "--host_jvm_args=-XX:TieredStopAtLevel=1" in emulated.compile.bazel_startup
    assert not any(a.startswith("--host_jvm_args") for a in native.compile.bazel_startup)


def test_cross_mode_uses_the_release_config_and_an_amd64_builder() -> None:
    plan = _plan("2.16.1", "3.11", mode="cross")
    assert "--config=cross_compile_linux_arm64" in plan.compile.bazel_build
    assert plan.builder.template == "builder-cross.Dockerfile" and plan.builder.platform == "linux/amd64"
    assert plan.cross_base is not None and plan.cross_base.arch == "amd64" and plan.base.arch == "arm64"
    assert plan.runtime.platform == "linux/arm64"
    # Bazel runs natively: no C1-only JVM for emulation.
    assert not any("TieredStopAtLevel" in a for a in plan.compile.bazel_startup)
    assert any(line.startswith("builder base:") for line in plan.describe())


def test_emulated_and_auto_modes_keep_the_arm64_builder() -> None:
    for mode in ("auto", "emulated"):
        plan = _plan("2.16.1", "3.11", mode=mode)
        assert plan.builder.template == "builder.Dockerfile" and plan.cross_base is None
        assert not any("cross_compile" in a for a in plan.compile.bazel_build)


def test_cross_mode_needs_a_release_with_a_cross_config() -> None:
    with pytest.raises(UsageError, match="no cross-compile config"):
        _plan("2.13.0", "3.11", mode="cross")


def test_cross_mode_refuses_a_demanded_policy() -> None:
    with pytest.raises(UsageError, match="--plat cannot be demanded in cross mode"):
        _plan("2.17.0", "3.11", mode="cross", plat="manylinux_2_34_aarch64")


@pytest.mark.parametrize("release", ["2.14", "2.16", "2.17", "2.18", "2.21"])
def test_cross_builder_carries_every_clang_major_the_release_names(release: str) -> None:
    # Upstream's 2.18+ cross toolchain BUILD names /usr/lib/llvm-17 while its release config builds with
    # llvm-18: the cross builder must answer at both, or a real checkout stops at the cross check (exit 28).
    opts = BuildOptions(tf_version=f"{release}.0", python="3.11")
    emulated = make_plan(dataclasses.replace(opts, mode="emulated"), recipe_for(f"{release}.0"), patches=(),
                         engine_cpus=2, engine_mem=MEM_16G, engine_emulated=True)
    assert dict(emulated.builder.values)["CLANG"] == {"2.14": "", "2.16": "17", "2.17": "17"}.get(release, "18")
    if release == "2.14":
        return
    cross = make_plan(dataclasses.replace(opts, mode="cross"), recipe_for(f"{release}.0"), patches=(),
                      engine_cpus=2, engine_mem=MEM_16G, engine_emulated=True)
    assert dict(cross.builder.values)["CLANG"] == ("17" if release in ("2.16", "2.17") else "18 17")
