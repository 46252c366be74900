"""The build key: what changes it (everything that decides the wheel) and what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.core.key import build_key, key_material
from tfwheelbuild.plan import GIB, BuildOptions, BuildPlan, PatchFile, make_plan
from tfwheelbuild.recipes import recipe_for

COMMIT = "ce3050c3b904801dc26f8244af1face77dedb4ad"
BUILDER = "sha256:" + "ab" * 32
PATCH = PatchFile(name="0001-fix.patch", path=Path("/p/0001-fix.patch"), sha256="11" * 32)


def plan(*, tf: str = "2.16.1", patches: tuple[PatchFile, ...] = (PATCH,), cpus: int = 8, mem: int = 16 * GIB,
         **kw: object) -> BuildPlan:
    opts = BuildOptions(tf_version=tf, python=str(kw.pop("python", "3.11")), **kw)  # type: ignore[arg-type]
    return make_plan(opts, recipe_for(tf), patches=patches, engine_cpus=cpus, engine_mem=mem)


BASE = build_key(plan(), COMMIT, BUILDER)


def test_key_is_a_stable_sha256() -> None:
    assert len(BASE) == 64 and int(BASE, 16) >= 0
    assert build_key(plan(), COMMIT, BUILDER) == BASE


@pytest.mark.parametrize("changed", [
    pytest.param(lambda: build_key(plan(), "0" * 40, BUILDER), id="source commit"),
    pytest.param(lambda: build_key(plan(), COMMIT, "sha256:" + "cd" * 32), id="builder image id"),
    pytest.param(lambda: build_key(plan(patches=(PatchFile(name=PATCH.name, path=PATCH.path, sha256="22" * 32),)),
                                   COMMIT, BUILDER), id="patch contents"),
    pytest.param(lambda: build_key(plan(patches=()), COMMIT, BUILDER), id="patch removed"),
    pytest.param(lambda: build_key(plan(configure=(("TF_NEED_CLANG", "0"),)), COMMIT, BUILDER),
                 id="configure answer"),
    pytest.param(lambda: build_key(plan(bazel_args=("--copt=-O1",)), COMMIT, BUILDER), id="bazel flag"),
    pytest.param(lambda: build_key(plan(bazel_env=(("USE_BAZEL_VERSION", "6.5.0"),)), COMMIT, BUILDER),
                 id="bazel version forced"),
    pytest.param(lambda: build_key(plan(python="3.12"), COMMIT, BUILDER), id="python"),
    pytest.param(lambda: build_key(plan(plat="manylinux_2_34_aarch64"), COMMIT, BUILDER), id="repair policy"),
    pytest.param(lambda: build_key(plan(exclude=("libgomp.so.1",)), COMMIT, BUILDER), id="repair exclude"),
    pytest.param(lambda: build_key(plan(project_name="tensorflow-internal"), COMMIT, BUILDER), id="wheel name"),
    pytest.param(lambda: build_key(plan(build_tag="1"), COMMIT, BUILDER), id="build tag"),
    pytest.param(lambda: build_key(plan(tf="2.16.0"), COMMIT, BUILDER), id="release"),
])
def test_what_decides_the_wheel_changes_the_key(changed: object) -> None:
    assert callable(changed)
    assert changed() != BASE


@pytest.mark.parametrize("same", [
    pytest.param(lambda: build_key(plan(cpus=2, mem=4 * GIB), COMMIT, BUILDER), id="engine size"),
    pytest.param(lambda: build_key(plan(jobs=1, ram_mb=2048), COMMIT, BUILDER), id="jobs and ram"),
    pytest.param(lambda: build_key(plan(output=Path("/elsewhere")), COMMIT, BUILDER), id="output dir"),
    pytest.param(lambda: build_key(plan(work_root=Path("/w")), COMMIT, BUILDER), id="work dir"),
    pytest.param(lambda: build_key(plan(patches=(PatchFile(name=PATCH.name, path=Path("/moved/p.patch"),
                                                           sha256=PATCH.sha256),)), COMMIT, BUILDER),
                 id="patch file location"),
    pytest.param(lambda: build_key(plan(test_command="python -c 1"), COMMIT, BUILDER), id="test command"),
])
def test_what_only_changes_speed_or_place_keeps_the_key(same: object) -> None:
    assert callable(same)
    assert same() == BASE


def test_material_names_the_inputs_and_fills_the_builder_id() -> None:
    material = key_material(plan(), COMMIT, BUILDER)
    assert material["source_commit"] == COMMIT and material["builder_id"] == BUILDER
    bazel = material["bazel"]
    assert isinstance(bazel, dict)
    assert f"--action_env=TFWB_BUILDER_ID={BUILDER.removeprefix('sha256:')}" in bazel["build"]
    assert not any(a.startswith("--jobs=") for a in bazel["build"])
