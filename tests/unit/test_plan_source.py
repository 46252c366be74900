"""make_plan and base_plan: the base image, the source and its mirror, nightly version stamping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.helpers_plan import _plan, _repo_env
from tfwheelbuild.errors import CustomPythonError, UsageError
from tfwheelbuild.plan import DEFAULT_BASE_IMAGE, ORIGIN, BuildOptions, base_plan, make_plan
from tfwheelbuild.recipes import recipe_for

# ---------------------------------------------------------------------------------- base and source


@pytest.mark.parametrize(("py", "suite"), [("3.11", "bookworm"), ("3.9", "bullseye"), ("3.13", "trixie"),
                                           ("3.10", ""), ("3.12", "")])
def test_base_plan_fallback_suite(py: str, suite: str) -> None:
    base = base_plan("", "http://mirror.example/debian", py)
    assert base.image == DEFAULT_BASE_IMAGE
    assert base.bootstrap_suite == suite
    assert base.user_chosen is False
    assert base.mirror == "http://mirror.example/debian"


def test_base_plan_user_chosen() -> None:
    base = base_plan("debian:bookworm", "http://m", "3.11")
    assert (base.image, base.user_chosen) == ("debian:bookworm", True)


@pytest.mark.parametrize(("source", "local"), [
    ("/src/tensorflow", Path("/src/tensorflow")),
    ("./tensorflow", Path("tensorflow")),
    ("file:///srv/git/tensorflow", Path("/srv/git/tensorflow")),
    ("https://github.com/tensorflow/tensorflow.git", None),
    ("git@github.com:tensorflow/tensorflow.git", None),
    ("ssh://git@example.com/tf.git", None),
])
def test_local_vs_remote_source(source: str, local: Path | None) -> None:
    plan = _plan("2.16.1", "3.11", source=source)
    assert plan.source.local_path == local
    assert plan.source.url == source
    assert plan.source.fetch_url == (f"file://{ORIGIN}" if local else source)
    assert plan.source.mirror_name.endswith(".git")


def test_mirror_name_differs_per_source() -> None:
    a = _plan("2.16.1", "3.11", source="https://a.example/tf.git").source.mirror_name
    b = _plan("2.16.1", "3.11", source="https://b.example/tf.git").source.mirror_name
    assert a != b


def test_explicit_ref_wins() -> None:
    assert _plan("2.16.1", "3.11", ref="refs/heads/r2.16").source.ref == "refs/heads/r2.16"


def test_hermetic_releases_share_one_builder_python_and_host_python_releases_do_not() -> None:
    assert dict(_plan("2.16.1", "3.11").builder.values)["PY"] == "3"
    assert dict(_plan("2.16.1", "3.12").builder.values)["PY"] == "3"
    assert dict(_plan("2.13.0", "3.11").builder.values)["PY"] == "3.11"
    # The runtime image always has the wheel's own Python.
    assert dict(_plan("2.16.1", "3.12").runtime.values)["PY"] == "3.12"


def _on_x86(tf: str, py: str, **kw: object) -> object:
    opts = BuildOptions(tf_version=tf, python=py, **kw)  # type: ignore[arg-type]
    return make_plan(opts, recipe_for(tf), patches=(), engine_cpus=8, engine_mem=8 << 30, engine_arch="x86_64")


def test_a_custom_interpreter_is_the_builders_own_python_and_picks_a_builder_that_has_it() -> None:
    # 2.21 ships locks for 3.10-3.13: 3.14 is a custom interpreter, so the builder must have python3.14.
    emulated = _plan("2.21.0", "3.14", mode="emulated", base_image="tfwheelbuild/base:sid-arm64")
    assert dict(emulated.builder.values)["PY"] == "3.14" and emulated.compile.custom_python == "3.14"
    # auto on an x86_64 engine cross-compiles, but the cross builder (bookworm amd64) has python3.11 only:
    # auto builds in the arm64 builder instead, and an explicit --mode cross is one line before any work.
    auto = _on_x86("2.21.0", "3.14", base_image="tfwheelbuild/base:sid-arm64")
    assert auto.cross_base is None and dict(auto.builder.values)["PY"] == "3.14"  # type: ignore[attr-defined]
    with pytest.raises(CustomPythonError, match=r"cross builder \(Debian bookworm, amd64\) has no python3\.14"):
        _on_x86("2.21.0", "3.14", mode="cross")
    # Releases without hermetic Python never hand Bazel an interpreter; a listed Python keeps cross mode.
    assert _on_x86("2.10.0", "3.11", mode="emulated").compile.custom_python == ""  # type: ignore[attr-defined]
    assert _on_x86("2.16.1", "3.11").cross_base is not None  # type: ignore[attr-defined]


def test_the_mode_asked_for_is_checked_without_an_engine() -> None:
    # check_mode needs no engine facts: the service runs it before connecting, so with no engine the user
    # still hears about an impossible --mode first (exit 46 / 2, not the engine's exit 30).
    from tfwheelbuild.plan import check_mode

    def opts(tf: str, py: str, **kw: object) -> BuildOptions:
        return BuildOptions(tf_version=tf, python=py, **kw)  # type: ignore[arg-type]

    with pytest.raises(CustomPythonError, match=r"has no python3\.14"):
        check_mode(opts("2.21.0", "3.14", mode="cross"), recipe_for("2.21.0"))
    with pytest.raises(UsageError, match="no cross-compile config"):
        check_mode(opts("2.13.0", "3.11", mode="cross"), recipe_for("2.13.0"))
    with pytest.raises(UsageError, match="--plat cannot be demanded in cross mode"):
        check_mode(opts("2.16.1", "3.11", mode="cross", plat="manylinux2014_aarch64"), recipe_for("2.16.1"))
    with pytest.raises(UsageError, match="--builder-image is an arm64 build image"):
        check_mode(opts("2.16.1", "3.11", mode="cross", builder_image="x:1"), recipe_for("2.16.1"))
    with pytest.raises(UsageError, match="choose auto, emulated or cross"):
        check_mode(opts("2.16.1", "3.11", mode="native"), recipe_for("2.16.1"))
    # auto and emulated are never refused here: auto only picks cross where nothing above can fail.
    for mode in ("auto", "emulated"):
        check_mode(opts("2.21.0", "3.14", mode=mode, plat="manylinux2014_aarch64", builder_image="x:1"),
                   recipe_for("2.21.0"))


def test_220_nightly_stamps_through_ml_wheel_type() -> None:
    plan = _plan("2.20.0", "3.11", nightly_date="20261125")
    env = _repo_env(plan)
    assert env["ML_WHEEL_TYPE"] == "nightly"
    assert env["ML_WHEEL_BUILD_DATE"] == "20261125"
    assert plan.wheel_version == "2.20.0.dev20261125"
    assert "wheel version: 2.20.0.dev20261125" in plan.describe()


def test_release_build_keeps_the_release_version() -> None:
    plan = _plan("2.20.0", "3.11")
    assert plan.wheel_version == "2.20.0"
    assert not any(line.startswith("wheel version:") for line in plan.describe())


@pytest.mark.parametrize("tf", ["2.13.0", "2.16.1", "2.17.0"])
def test_nightly_before_220_is_refused(tf: str) -> None:
    with pytest.raises(UsageError, match="has no ML_WHEEL_TYPE"):
        _plan(tf, "3.11", nightly_date="20261125")


@pytest.mark.parametrize("date", ["2026-11-25", "261125", "19991231", "today"])
def test_nightly_date_must_be_yyyymmdd(date: str) -> None:
    with pytest.raises(UsageError, match="not YYYYMMDD"):
        _plan("2.21.0", "3.11", nightly_date=date)
