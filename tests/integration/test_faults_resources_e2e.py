"""The fault suite, resources: the output dir's disk full, a cache volume full, the compile killed by the OOM
killer, and the container a failed build leaves (kept or not). RELIABILITY.md keeps the table."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.faults import NAMESPACE, build_id_of, hog_patch, tmpfs_volume, tool_containers
from tests.integration.harness import tfwheelbuild

pytestmark = pytest.mark.engine


@pytest.fixture()
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs: room for a manifest, not for a wheel."""
    path = tmp_path / "full"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_output_dir_is_a_clear_error_with_nothing_half_written(build_args: list[str], tiny_fs: Path) -> None:
    args = [a if a != build_args[build_args.index("--output") + 1] else str(tiny_fs / "dist") for a in build_args]
    result = tfwheelbuild(*args, "--force")
    assert result.code == 36, result.stderr[-3000:]
    assert "no space left" in result.stderr and "Traceback" not in result.stderr, result.stderr[-3000:]
    left = [str(p.relative_to(tiny_fs)) for p in tiny_fs.rglob("*") if not p.is_dir()]
    assert left == [], f"a partial wheel or manifest was left: {left}"
    assert not tool_containers(build_id_of(result.stderr)), f"containers left behind\n{result.stderr[-2000:]}"


def test_full_cache_volumes_are_clear_errors_and_the_next_run_works(build_args: list[str], tmp_path: Path) -> None:
    # 1. The git mirror's volume is full: the fetch fails, named as disk full, not as a bad source.
    git_volume = f"tfwb-{NAMESPACE}-git"
    tmpfs_volume(git_volume, "16k")
    try:
        result = tfwheelbuild(*build_args, "--force")
        assert result.code == 36, result.stderr[-3000:]
        error = next(ln for ln in result.stderr.splitlines() if ln.startswith("error: "))
        assert "git mirror cache" in error and "No space left on device" in error, error
        assert "Traceback" not in result.stderr
        assert not tool_containers(build_id_of(result.stderr))
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", git_volume], check=False, capture_output=True)
    # 2. Space again (the volume made anew): the same build works, from the warm Bazel cache.
    result = tfwheelbuild(*build_args, "--force", "--json")
    assert result.code == 0, result.stderr[-3000:]
    builder_id = json.loads(Path(str(result.json()["manifest"])).read_text())["images"]["builder_id"]

    # 3. Bazel's cache volume is full (256 KB: not room for its output base).
    namespace = "diskfull"
    bazel_volume = f"tfwb-{namespace}-bazel-{builder_id.removeprefix('sha256:')[:16]}"
    tmpfs_volume(bazel_volume, "256k")
    args = [a if a != NAMESPACE else namespace for a in build_args]
    args = [a if a != str(tmp_path / "out") else str(tmp_path / "out2") for a in args]
    try:
        result = tfwheelbuild(*args)
        assert result.code == 36, result.stderr[-3000:]
        error = next(ln for ln in result.stderr.splitlines() if ln.startswith("error: "))
        assert "disk space" in error or "no space" in error.lower(), error
        # No traceback of ours. (The log excerpt may quote Bazel's own Starlark traceback: with the clang
        # toolchain the first write that fails is local_config_cc's autoconf, a repository rule.)
        assert not re.search(r'File "[^"]+\.py", line \d+', result.stderr), result.stderr[-3000:]
        assert not tool_containers(build_id_of(result.stderr))
        assert not (tmp_path / "out2").exists() or not list((tmp_path / "out2").iterdir())
    finally:
        for volume in (bazel_volume, f"tfwb-{namespace}-git"):
            subprocess.run(["docker", "volume", "rm", "-f", volume], check=False, capture_output=True)


def test_oom_kill_is_named_with_settings_that_fit_and_the_container_can_be_kept(
        build_args: list[str], fixture_repo: Path, tmp_path: Path) -> None:
    patches = tmp_path / "patches" / "2.16"
    patches.mkdir(parents=True)
    (patches / "series").write_text("0002-hog.patch\n")  # after the fixture's own series
    (patches / "0002-hog.patch").write_text(hog_patch(fixture_repo))
    result = tfwheelbuild(*build_args, "--patches", str(tmp_path / "patches"), "--memory", "900m", "--jobs", "1",
                          "--keep-container")
    assert result.code == 27, result.stderr[-3000:]
    error = next(ln for ln in result.stderr.splitlines() if ln.startswith("error: "))
    assert "out of memory" in error and "1 jobs in 900 MB" in error, error
    fix = next(ln for ln in result.stderr.splitlines() if ln.startswith("  fix: "))
    assert "--memory 1800m" in fix and "tfwheelbuild shell" in fix, fix
    build_id = fix.split("tfwheelbuild shell ")[1].split("`")[0]

    # The kept container: `shell` enters it in the source tree, where the failed build ran.
    shell = subprocess.run([sys.executable, "-m", "tfwheelbuild", "shell", build_id[-4:], "--",
                            "sh", "-c", "pwd; grep -c S100K tensorflow/core/kernels/generated/unit_001.cc; cat "
                            "/sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null; true"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.splitlines()[:2] == ["/tfwb/src", "2"], shell.stdout
    assert "oom_kill " in shell.stdout and "oom_kill 0" not in shell.stdout, shell.stdout
    listed = tfwheelbuild("shell", "--list")
    assert build_id in listed.stdout
    cleaned = tfwheelbuild("clean")
    assert cleaned.code == 0
    assert build_id not in tfwheelbuild("shell", "--list").stdout


def test_without_keep_container_a_failure_leaves_no_container(build_args: list[str], tmp_path: Path) -> None:
    patches = tmp_path / "patches" / "2.16"
    patches.mkdir(parents=True)
    (patches / "series").write_text("0001-bad.patch\n")
    (patches / "0001-bad.patch").write_text("--- a/nothing.cc\n+++ b/nothing.cc\n@@ -1,1 +1,1 @@\n-a\n+b\n")
    result = tfwheelbuild(*build_args, "--patches", str(tmp_path / "patches"))
    assert result.code == 13, result.stderr[-2000:]
    assert not tool_containers(build_id_of(result.stderr))
    assert "tfwheelbuild shell" not in result.stderr
    shell = tfwheelbuild("shell", "nosuchbuild")
    assert shell.code == 2 and "no build container matches" in shell.stderr
