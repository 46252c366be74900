"""Remote cache settings: validated before any container, secrets never on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.core.key import key_material
from tfwheelbuild.errors import UsageError
from tfwheelbuild.pipeline.stages.compile import remote_rc_lines
from tfwheelbuild.plan import GIB, BuildOptions, BuildPlan, make_plan
from tfwheelbuild.recipes import recipe_for


def plan(**kw: object) -> BuildPlan:
    opts = BuildOptions(tf_version="2.16.1", python="3.11", **kw)  # type: ignore[arg-type]
    return make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=2, engine_mem=8 * GIB)


def test_plain_http_cache_goes_on_the_command_line() -> None:
    p = plan(remote_cache="http://cache.internal:8080/tf")
    assert "--remote_cache=http://cache.internal:8080/tf" in p.compile.bazel_build
    assert not p.remote.loopback and remote_rc_lines(p.remote) == []


def test_credentials_in_the_url_stay_off_the_command_line() -> None:
    p = plan(remote_cache="https://ci:s3cret@cache.internal/tf")
    text = " ".join(p.compile.bazel_build) + "\n".join(p.describe())
    assert "s3cret" not in text and "https://cache.internal/tf" in "\n".join(p.describe())
    assert remote_rc_lines(p.remote) == ["build --remote_cache=https://ci:s3cret@cache.internal/tf"]


def test_header_file_becomes_quoted_rc_lines(tmp_path: Path) -> None:
    headers = tmp_path / "headers"
    headers.write_text("# comment\nAuthorization: Bearer abc def\nx-buildbuddy-api-key: k1\n")
    p = plan(remote_cache="grpcs://remote.buildbuddy.io", remote_header_file=headers)
    assert remote_rc_lines(p.remote) == [
        "build '--remote_header=Authorization=Bearer abc def'", "build --remote_header=x-buildbuddy-api-key=k1"]
    assert not any("abc" in a for a in p.compile.bazel_build)


def test_readonly_loopback_and_executor() -> None:
    p = plan(remote_cache="grpc://127.0.0.1:50051", remote_cache_readonly=True,
             remote_executor="grpc://127.0.0.1:50051", remote_instance_name="main")
    flags = p.compile.bazel_build
    assert "--remote_upload_local_results=false" in flags and "--remote_instance_name=main" in flags
    assert "--remote_executor=grpc://127.0.0.1:50051" in flags and p.remote.loopback


@pytest.mark.parametrize("url", ["cache.internal:8080", "ftp://cache/", "http://", "s3://bucket/x"])
def test_malformed_urls_fail_before_anything(url: str) -> None:
    with pytest.raises(UsageError, match="--remote-cache"):
        plan(remote_cache=url)


def test_remote_options_without_a_cache_are_a_mistake() -> None:
    with pytest.raises(UsageError, match="without --remote-cache"):
        plan(remote_cache_readonly=True)


def test_the_cache_does_not_change_the_build_key() -> None:
    plain, cached = plan(), plan(remote_cache="http://cache:8080", remote_cache_readonly=True)
    assert key_material(plain, "c0ffee", "sha256:1") == key_material(cached, "c0ffee", "sha256:1")


def test_cache_namespace_names_separate_volumes() -> None:
    assert set(plan(cache_namespace="fresh").volumes) == {"tfwb-fresh-bazel-<builder-image-id>", "tfwb-fresh-git"}
