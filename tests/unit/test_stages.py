"""Stages against the fake engine: what each execs or copies, in which order, and the facts it returns."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.unit.conftest import write_wheel
from tests.unit.fakes import FakeEngine, make_context
from tfwheelbuild.errors import ConfigureError, EngineError, PatchError, SourceError
from tfwheelbuild.pipeline.stages import configure, container, output, patches, source
from tfwheelbuild.pipeline.stages.source import GIT_ENV
from tfwheelbuild.plan import BUILD_PYTHON, CACHE, GIT_CACHE, OUT, PATCH_DIR, SRC, PatchFile

BUILDER = "fake01" + "0" * 58


def test_context_run_echoes_the_command_into_the_log_before_it_runs(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("echo hi", code=3, lines=["hi"])
    ctx = make_context(tmp_path, engine)
    ctx.container = BUILDER
    assert ctx.run(["echo", "hi"], env={"A": "1"}, workdir=SRC) == 3
    assert ctx.log.stage_lines() == ["+ builder: echo hi", "hi"]
    call = engine.calls[-1]
    assert (call.container, call.cmd, dict(call.env), call.workdir) == (BUILDER, ("echo", "hi"), {"A": "1"}, SRC)


def test_container_stage_mounts_the_caches_then_prepares_its_directories(tmp_path: Path) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine)
    ctx.builder_tag, ctx.builder_id = "tfwheelbuild/builder:abc", "sha256:" + "b" * 64
    facts = container.run(ctx)
    assert engine.methods() == ["ensure_volume", "ensure_volume", "start", "own_volumes", "exec"]
    assert engine.volumes == ["tfwb-bazel-" + "b" * 16, "tfwb-git"]
    started = engine.calls[2].extra
    assert started["image"] == "tfwheelbuild/builder:abc" and started["name"] == "tfwb-b1"
    assert started["network"] == "bridge" and started["labels"] == {"org.tfwheelbuild.build": "b1"}
    assert engine.execs() == [f"mkdir -p {OUT}/raw {OUT}/repaired {PATCH_DIR} {CACHE}/bazel {CACHE}/bazelisk"]
    assert ctx.container == engine.started[0]
    assert facts == {"container": ctx.container[:12], "volumes": engine.volumes}


def test_container_stage_fails_when_its_directories_cannot_be_made(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("mkdir -p", code=1)
    ctx = make_context(tmp_path, engine)
    with pytest.raises(EngineError, match="cannot prepare directories"):
        container.run(ctx)


def test_source_stage_fetches_with_the_url_out_of_the_command_and_records_the_commit(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("git init", lines=["abc123 1700000000"])
    ctx = make_context(tmp_path, engine, source="https://user:token@example.invalid/tf.git")
    ctx.container = BUILDER
    facts = source.run(ctx)
    (call,) = [c for c in engine.calls if c.method == "exec"]
    assert call.env == {**GIT_ENV, "TFWB_SOURCE_URL": "https://user:token@example.invalid/tf.git"}
    assert "token" not in call.line and f"git -C {GIT_CACHE}/" in call.line and "refs/tags/v2.16.1" in call.line
    assert (ctx.commit, ctx.source_date_epoch) == ("abc123", 1700000000)
    assert facts == {"url": ctx.plan.source.url, "ref": "v2.16.1", "commit": "abc123", "commit_time": 1700000000}


def test_source_stage_names_a_missing_tag(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("git init", code=128, lines=["fatal: couldn't find remote ref refs/tags/v2.16.1"])
    ctx = make_context(tmp_path, engine, source="https://example.invalid/tf.git")
    with pytest.raises(SourceError, match=re.escape("tag v2.16.1 does not exist in https://example.invalid/tf.git")):
        source.run(ctx)


def test_configure_stage_checks_the_tree_then_runs_configure_with_every_answer(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("/opt/tfwb/toolchain.json", lines=[json.dumps({"clang": "17.0.6"})])
    ctx = make_context(tmp_path, engine)
    ctx.container = BUILDER
    facts = configure.run(ctx)
    execs = engine.execs()
    assert execs[-3:] == ["test -f configure.py", f"{BUILD_PYTHON} configure.py",
                          "sh -c 'cat .tf_configure.bazelrc 2>/dev/null || true'"]
    run_configure = next(c for c in engine.calls if c.cmd[:1] == (BUILD_PYTHON,))
    assert dict(run_configure.env) == dict(ctx.plan.configure_env) and run_configure.workdir == SRC
    assert facts["env"] == dict(ctx.plan.configure_env)
    assert isinstance(facts["toolchain"], dict) and facts["toolchain"]["upstream"] == ctx.plan.toolchain.upstream


def test_configure_stage_failure_quotes_the_unanswered_prompt(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("test -f", code=0)  # first: its command line names configure.py too
    engine.answer("configure.py", code=1,
                  lines=["Please specify the location of python.", "EOFError: EOF when reading"])
    ctx = make_context(tmp_path, engine)
    ctx.log.begin_stage()
    with pytest.raises(ConfigureError, match=r"configure.py failed \(exit 1\): EOFError: EOF when reading"):
        configure.run(ctx)


def _patch(tmp_path: Path, name: str) -> PatchFile:
    path = tmp_path / name
    path.write_text("--- a/x\n+++ b/x\n")
    return PatchFile(name=name, path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def test_patches_stage_copies_the_series_in_then_applies_each_in_order(tmp_path: Path) -> None:
    engine = FakeEngine()
    series = (_patch(tmp_path, "fix-a.patch"), _patch(tmp_path, "fix-b.patch"))
    ctx = make_context(tmp_path, engine, patches=series)
    facts = patches.run(ctx)
    assert engine.methods() == ["put_files", "exec", "exec"]
    assert list(engine.put[PATCH_DIR]) == ["0000-fix-a.patch", "0001-fix-b.patch"]
    assert [f"{PATCH_DIR}/0000-fix-a.patch" in line for line in engine.execs()] == [True, False]
    assert "tfwheelbuild: fix-b.patch" in engine.execs()[1]
    assert facts == {"applied": [{"name": p.name, "sha256": p.sha256} for p in series]}


def test_patches_stage_resets_the_tree_when_a_patch_does_not_apply(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.answer("0001-fix-b.patch", code=1, lines=["error: patch failed: x:1"])
    ctx = make_context(tmp_path, engine, patches=(_patch(tmp_path, "fix-a.patch"), _patch(tmp_path, "fix-b.patch")))
    with pytest.raises(PatchError, match=re.escape("fix-b.patch does not apply: error: patch failed: x:1")):
        patches.run(ctx)
    assert engine.execs()[-1] == "sh -c 'git reset -q --hard && git clean -qfd'"


def test_patches_stage_with_no_series_touches_nothing(tmp_path: Path) -> None:
    engine = FakeEngine()
    assert patches.run(make_context(tmp_path, engine)) == {"applied": []}
    assert engine.calls == []


def test_output_stage_writes_the_wheel_its_provenance_and_its_manifest(tmp_path: Path) -> None:
    engine = FakeEngine()
    ctx = make_context(tmp_path, engine)
    staged = tmp_path / "staged"
    staged.mkdir()
    ctx.wheel = write_wheel(staged, tag="cp311-cp311-manylinux_2_17_aarch64")
    ctx.build_key, ctx.commit = "k" * 64, "abc123"
    facts = output.run(ctx)
    dest = ctx.plan.output / ctx.wheel.name
    assert dest.read_bytes() == ctx.wheel.read_bytes()
    manifest = json.loads(Path(str(facts["manifest"])).read_text())
    assert manifest["build_key"] == "k" * 64 and manifest["source"]["commit"] == "abc123"
    assert manifest["wheel"]["sha256"] == facts["sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert Path(str(facts["provenance"])).is_file()
    assert engine.calls == []  # the host's job alone
