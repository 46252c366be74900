"""The heart of the product, end to end: `tfwheelbuild build --tf 2.16.1 --py 3.11` on the fixture.

Real engine, real emulated arm64 containers, real Bazel, auditwheel and pip: nothing mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.integration.harness import AARCH64_TAGS, FIXTURE_PATCHES, CliResult, tfwheelbuild

pytestmark = pytest.mark.engine

# auditwheel names every policy met up to the one demanded (manylinux_2_24_aarch64.manylinux_2_31_aarch64).
WHEEL_RE = re.compile(rf"^tensorflow-2\.16\.1-cp311-cp311-{AARCH64_TAGS}\.whl$")


def build(repo: Path, out: Path, work: Path, *extra: str) -> CliResult:
    return tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(repo),
                        "--patches", str(FIXTURE_PATCHES), "--output", str(out),
                        "--work-dir", str(work), "--json", *extra)


@pytest.fixture(scope="module")
def first(fixture_repo: Path, work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[CliResult, Path]:
    out = tmp_path_factory.mktemp("dist")
    return build(fixture_repo, out, work_dir), out


def test_build_leaves_a_tested_manylinux_wheel_and_manifest(first: tuple[CliResult, Path], fixture_repo: Path) -> None:
    result, out = first
    assert result.code == 0, result.stderr[-3000:]
    summary = result.json()
    wheel = Path(str(summary["wheel"]))
    assert wheel.parent == out and WHEEL_RE.match(wheel.name), wheel.name
    assert sorted(p.name for p in out.iterdir()) == [wheel.name, wheel.name + ".intoto.json",
                                                     wheel.name + ".manifest.json"]
    # The build is in the run history, with a report page beside its log.
    report = Path(str(summary["report"]))
    assert report.name == "report.html" and report.parent == Path(str(summary["log"])).parent
    assert 'data-status="built"' in report.read_text() and "stage-compile" in report.read_text()

    manifest = json.loads((out / (wheel.name + ".manifest.json")).read_text())
    tag_commit = subprocess.run(["git", "-C", str(fixture_repo), "rev-parse", "v2.16.1^{commit}"],
                                capture_output=True, text=True, check=True).stdout.strip()
    assert manifest["source"]["commit"] == tag_commit
    assert manifest["tensorflow"] == "2.16.1" and manifest["python"] == "3.11"
    assert manifest["configure"]["TF_NEED_CUDA"] == "0"
    assert manifest["configure"]["PYTHON_BIN_PATH"] == "/opt/tfwb/py/bin/python3"
    assert [p["name"] for p in manifest["patches"]] == ["0001-cpu-feature-guard-aarch64.patch"]
    assert all(len(p["sha256"]) == 64 for p in manifest["patches"])
    assert manifest["bazel"]["version"] == "4.2.3"
    assert "--repo_env=TF_PYTHON_VERSION=3.11" in manifest["bazel"]["argv"]
    assert any(a.startswith("--action_env=TFWB_BUILDER_ID=") and "<" not in a for a in manifest["bazel"]["argv"])
    assert manifest["images"]["builder_id"].startswith("sha256:")
    # OpenMP makes auditwheel graft libgomp into the wheel, as TF's oneDNN builds need.
    assert any("libgomp" in lib for lib in manifest["repair"]["grafted"])
    assert manifest["wheel"]["sha256"] and manifest["wheel"]["platforms"][0].endswith("_aarch64")
    smoke = manifest["test"]["smoke"]
    assert manifest["test"]["passed"] is True
    assert smoke["version"] == "2.16.1" and smoke["matmul_sum"] == 262144.0
    assert smoke["build_info"]["is_cuda_build"] is False
    assert set(manifest["durations"]) >= {"images", "source", "configure", "patches", "compile", "repair", "test"}
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(n.startswith("tensorflow.libs/libgomp") for n in names)


def test_identical_second_build_reuses_images_and_bazel_caches(
        first: tuple[CliResult, Path], fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    assert first[0].code == 0
    # --force: the same build key would otherwise skip the build altogether (see the next test).
    again = build(fixture_repo, first[1], work_dir, "--force")
    assert again.code == 0, again.stderr[-3000:]
    log = Path(str(again.json()["log"])).read_text()
    # (on an x86_64 host `auto` cross-compiles: the builder is the amd64 builder-cross)
    assert re.search(r"builder(-cross)? image \S+ is up to date \(reused\)", log), log[-2000:]
    manifest = json.loads(Path(str(again.json()["manifest"])).read_text())
    cache = manifest["bazel"]["cache"]
    assert cache, "Bazel's process summary line was not found in the build output"
    # Nothing compiled again: every action came from Bazel's caches (or was internal).
    executed = {k: v for k, v in cache.items() if k not in ("internal", "disk cache hit", "remote cache hit")
                and "processes" not in k}
    assert not executed, cache
    first_manifest = json.loads(Path(str(first[0].json()["manifest"])).read_text())
    assert manifest["source"]["commit"] == first_manifest["source"]["commit"]
    # The same bytes again (reproducible): the runtime test's pass is reused, not run again.
    assert manifest["wheel"]["sha256"] == first_manifest["wheel"]["sha256"]
    assert manifest["test"].get("reused_from"), manifest["test"]
    assert "not run again (--retest runs it)" in again.stderr


def test_same_build_key_skips_without_starting_a_container(first: tuple[CliResult, Path], fixture_repo: Path,
                                                         work_dir: Path) -> None:
    assert first[0].code == 0
    since = subprocess.run(["date", "+%s"], capture_output=True, text=True, check=True).stdout.strip()
    result = build(fixture_repo, first[1], work_dir)
    until = subprocess.run(["date", "+%s"], capture_output=True, text=True, check=True).stdout.strip()
    assert result.code == 0, result.stderr[-3000:]
    summary = result.json()
    assert summary["status"] == "skipped"
    assert summary["wheel"] == first[0].json()["wheel"] and summary["build_key"] == first[0].json()["build_key"]
    events = subprocess.run(["docker", "events", "--since", since, "--until", str(int(until) + 1),
                             "--filter", "type=container", "--filter", "event=create",
                             "--filter", "label=org.tfwheelbuild", "--format", "{{.ID}}"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert events == []


def test_test_command_smoke_tests_a_built_wheel(first: tuple[CliResult, Path], work_dir: Path) -> None:
    assert first[0].code == 0
    wheel = Path(str(first[0].json()["wheel"]))
    result = tfwheelbuild("test", str(wheel), "--work-dir", str(work_dir), "--json")
    assert result.code == 0, result.stderr[-3000:]
    smoke = result.json()["smoke"]
    assert isinstance(smoke, dict) and smoke["matmul_sum"] == 262144.0
    # uv by default (its pinned aarch64 binary, fetched with the host's pip); pip when asked, as before.
    assert str(result.json()["installer"]).startswith("uv ")
    with_pip = tfwheelbuild("test", str(wheel), "--work-dir", str(work_dir), "--installer", "pip", "--json")
    assert with_pip.code == 0, with_pip.stderr[-3000:]
    pip_smoke = with_pip.json()["smoke"]
    assert with_pip.json()["installer"] == "pip" and isinstance(pip_smoke, dict) and pip_smoke["matmul_sum"] == 262144.0


def test_patch_that_does_not_apply_names_the_patch_and_writes_nothing(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad-patches"
    bad.mkdir()
    (bad / "series").write_text("9999-broken.patch\n")
    (bad / "9999-broken.patch").write_text(
        "--- a/configure.py\n+++ b/configure.py\n@@ -1,3 +1,3 @@\n-this line is not in configure.py\n"
        "+nor is this one\n context that does not exist\n")
    out = tmp_path / "dist"
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo),
                          "--patches", str(FIXTURE_PATCHES), "--patches", str(bad), "--output", str(out),
                          "--work-dir", str(work_dir))
    assert result.code == 13, result.stderr[-2000:]
    assert "9999-broken.patch" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_2_17_style_builds_the_wheel_target_under_a_project_name(
        fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    """A second recipe style: `:wheel` with WHEEL_NAME and HERMETIC_PYTHON_VERSION (no build_pip_package)."""
    result = tfwheelbuild("build", "--tf", "2.17.0", "--py", "3.11", "--source", str(fixture_repo),
                          "--patches", str(FIXTURE_PATCHES), "--project-name", "tensorflow-aarch64-internal",
                          "--build-tag", "7", "--output", str(tmp_path), "--work-dir", str(work_dir), "--json")
    assert result.code == 0, result.stderr[-3000:]
    wheel = Path(str(result.json()["wheel"]))
    assert re.match(r"^tensorflow_aarch64_internal-2\.17\.0-7-cp311-cp311-manylinux_2_\d+_aarch64\.whl$",
                    wheel.name), wheel.name
    manifest = json.loads(Path(str(result.json()["manifest"])).read_text())
    argv = manifest["bazel"]["argv"]
    assert argv[-1] == "//tensorflow/tools/pip_package:wheel"
    assert "--repo_env=WHEEL_NAME=tensorflow_aarch64_internal" in argv
    assert "--repo_env=HERMETIC_PYTHON_VERSION=3.11" in argv
    assert manifest["test"]["smoke"]["version"] == "2.17.0"
    with zipfile.ZipFile(wheel) as archive:
        stamp = json.loads(archive.read("tensorflow_aarch64_internal-2.17.0.dist-info/tfwheelbuild.json"))
    assert stamp["build_key"] == manifest["build_key"]


def test_repair_command_demands_a_policy_and_fails_when_unmet(first: tuple[CliResult, Path], work_dir: Path,
                                                              tmp_path: Path) -> None:
    assert first[0].code == 0
    wheel = Path(str(first[0].json()["wheel"]))
    # Built against a glibc-2.31 sysroot (and libstdc++ of GCC 10): manylinux2014 (glibc 2.17) cannot be met.
    unmet = tfwheelbuild("repair", str(wheel), "--plat", "manylinux2014_aarch64", "--output", str(tmp_path / "a"),
                         "--work-dir", str(work_dir))
    assert unmet.code == 17, unmet.stderr[-2000:]
    assert "auditwheel cannot repair to manylinux2014_aarch64" in unmet.stderr and "Traceback" not in unmet.stderr
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())
    met = tfwheelbuild("repair", str(wheel), "--build-tag", "2", "--output", str(tmp_path / "b"),
                       "--work-dir", str(work_dir))
    assert met.code == 0, met.stderr[-2000:]
    assert [p.name for p in (tmp_path / "b").iterdir()] == [
        wheel.name.replace("2.16.1-cp311", "2.16.1-2-cp311")]


def test_wheel_failing_its_runtime_test_is_quarantined_not_output(fixture_repo: Path, work_dir: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo),
                          "--patches", str(FIXTURE_PATCHES), "--output", str(out), "--work-dir", str(work_dir),
                          "--test-command", "python -c 'import tensorflow as tf; assert tf.__version__ == \"9\"'")
    assert result.code == 18, result.stderr[-2000:]
    assert "runtime test step" in result.stderr and "Traceback" not in result.stderr.split("first error")[0]
    assert not out.exists() or not any(out.iterdir())
    log_line = next(ln for ln in result.stderr.splitlines() if ln.strip().startswith("log:"))
    build_dir = Path(log_line.split("log:", 1)[1].strip()).parent
    quarantined = [p.name for p in (build_dir / "quarantine").iterdir()]
    assert len(quarantined) == 1 and quarantined[0].startswith("tensorflow-2.16.1-cp311"), quarantined


def test_publish_to_a_directory_index_installs_back_in_the_runtime_image(first: tuple[CliResult, Path],
                                                                          work_dir: Path, tmp_path: Path) -> None:
    """The embedded index (what `make demo` uses): published, then pip-installed from file:// in the runtime."""
    assert first[0].code == 0
    wheel = Path(str(first[0].json()["wheel"]))
    result = tfwheelbuild("publish", str(wheel), "--index", str(tmp_path / "index"), "--work-dir", str(work_dir),
                          "--json")
    assert result.code == 0, result.stderr[-3000:]
    row = result.json()["published"][0]  # type: ignore[index]
    assert row["status"] == "uploaded" and row["verified"]["passed"] is True
    assert row["verified"]["index"] == "file:///tfwb/index/simple/"
    assert (tmp_path / "index" / "simple" / "tensorflow" / "index.html").is_file()
