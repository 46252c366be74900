"""The fault suite: each fault injected for real against the real engine, and what must follow.

RELIABILITY.md keeps the table of faults and outcomes these tests prove.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import FIXTURE_PATCHES, ROOT, tfwheelbuild

pytestmark = pytest.mark.engine

NAMESPACE = "faults"  # its own cache volumes: the first interrupted run starts cold on purpose
# The stages a build goes through, and the signal each one gets (both signals, spread over them).
STAGE_SIGNALS = [("images", signal.SIGTERM), ("container", signal.SIGINT), ("source", signal.SIGTERM),
                 ("configure", signal.SIGINT), ("patches", signal.SIGTERM), ("compile", signal.SIGINT),
                 ("repair", signal.SIGTERM), ("test", signal.SIGINT), ("publish", signal.SIGTERM)]


# Stages that take under a second when everything is cached: signalled sooner.
QUICK = {"images": 0.1, "container": 0.1, "source": 0.2, "configure": 0.2, "patches": 0.1}


def tool_containers(build_id: str = "") -> set[str]:
    """The tool's containers, or those of one build (other builds may share the engine)."""
    label = f"org.tfwheelbuild.build={build_id}" if build_id else "org.tfwheelbuild"
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label={label}"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def build_id_of(stderr: str) -> str:
    """From the build's first line: "…; log: <work>/builds/<build id>/build.log"."""
    line = next(ln for ln in stderr.splitlines() if "; log: " in ln)
    return Path(line.split("; log: ")[1]).parent.name


class Run:
    """A build in its own process; stderr read line by line so a test can act at a stage."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tfwheelbuild", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, marker: str, timeout: float = 1200) -> None:
        deadline = time.monotonic() + timeout
        while not any(ln.startswith(marker) for ln in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"never saw {marker!r}:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.1)

    @property
    def build_id(self) -> str:
        return build_id_of("\n".join(self.lines))

    def finish(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        sys.stderr.write("\n".join(self.lines[-15:]) + "\n")
        return code


@pytest.fixture()
def build_args(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> list[str]:
    return ["build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--work-dir", str(work_dir),
            "--cache-namespace", NAMESPACE, "--output", str(tmp_path / "out"), "--patches", str(FIXTURE_PATCHES)]


@pytest.fixture()
def emulated_args(build_args: list[str]) -> list[str]:
    """The arm64 builder under qemu, whose stages last long enough to be signalled, filled or stopped
    mid-way. On this x86_64 host `auto` cross-compiles, and a warm cross compile is over in seconds."""
    return [*build_args, "--mode", "emulated"]


def test_interrupt_in_every_stage_leaves_nothing_and_the_rerun_resumes(emulated_args: list[str],
                                                                        tmp_path: Path) -> None:
    build_args = emulated_args
    out = tmp_path / "out"
    index = tmp_path / "index"
    hits: list[tuple[str, str]] = []
    for stage, sig in STAGE_SIGNALS:
        # Publishing to a directory index takes well under a second; installing back from it (the
        # verification, on by default) is what the publish stage spends its time on.
        # --retest: this wheel may have passed the runtime test earlier in the session (same bytes),
        # and a reused pass takes no time to interrupt.
        run = Run([*build_args, "--publish", "--index", str(index), "--retest"])
        run.wait_for(f"▶ {stage}")
        time.sleep(QUICK.get(stage, 1.0))  # inside the stage, not at its door
        sent = time.monotonic()
        run.proc.send_signal(sig)
        code = run.finish(timeout=30)
        took = time.monotonic() - sent
        assert code == 128 + sig, f"{stage}: exit {code}\n" + "\n".join(run.lines[-20:])
        hit = next((ln[2:].split(" (")[0] for ln in run.lines if ln.startswith("✕ ")), "publish")
        hits.append((stage, hit))
        if stage not in QUICK:  # a quick stage may be over before the signal lands: it hits the next
            assert hit == stage, f"meant for {stage}, landed in {hit}"
        assert took < 10, f"{stage}: {took:.1f} s from {sig.name} to exit"
        assert not tool_containers(run.build_id), f"{stage}: containers left behind"
        assert any("interrupted by " + sig.name in ln for ln in run.lines), run.lines[-5:]
        leftovers = [p.name for p in out.glob("*")] if out.exists() else []
        if stage != "publish":  # by then the wheel and its manifest are complete in the output dir
            assert leftovers == [], f"{stage}: {leftovers}"
        else:
            # the wheel, its provenance (.intoto.json) and its manifest
            assert sorted(p.suffix for p in out.iterdir()) == [".json", ".json", ".whl"], leftovers
        assert not list(out.glob(".*.tmp")) and not list(index.rglob(".*.tmp")), f"{stage}: temp files left"

    sys.stderr.write(f"signalled stage -> interrupted stage: {hits}\n")
    # The rerun finds the wheel the interrupted publish run built and finishes the publishing.
    result = tfwheelbuild(*build_args, "--publish", "--index", str(index), "--json")
    assert result.code == 0, result.stderr[-3000:]
    assert list(index.rglob("*.whl")), "not published"
    # And a forced rebuild is a warm one: every compile action comes from the caches.
    result = tfwheelbuild(*build_args, "--force", "--json")
    assert result.code == 0, result.stderr[-3000:]
    cache = result.json()["cache"]
    assert isinstance(cache, dict)
    executed = sum(n for kind, n in cache.items() if kind not in ("internal", "disk cache hit", "remote cache hit"))
    assert executed == 0, cache


def all_containers() -> set[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_interrupt_while_the_daemon_builds_an_image_leaves_no_container_and_no_image(emulated_args: list[str],
                                                                                    tmp_path: Path) -> None:
    # Naming PyPI's index (the default, unnamed) makes another builder recipe: a new image, built
    # now. The signal lands in its pip step, a RUN the classic builder runs in a container of its
    # own; that step never completes, so every run of this test builds it again.
    before = all_containers()
    from pip._internal.models.index import PyPI  # pip's own default index, named: no host written here

    run = Run([*emulated_args, "--index-url", PyPI.simple_url])
    run.wait_for("building builder image", timeout=600)
    tag = next(ln for ln in run.lines if ln.startswith("building builder image")).split()[3]
    time.sleep(8)
    sent = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    code = run.finish(timeout=30)
    took = time.monotonic() - sent
    assert code == 130, "\n".join(run.lines[-20:])
    assert took < 10, f"{took:.1f} s from SIGINT to exit"
    assert any("interrupted by SIGINT" in ln for ln in run.lines)
    # The client's connection closed, so the daemon cancels the build and removes its container.
    left: set[str] = set()
    for _ in range(40):
        left = all_containers() - before
        if not left:
            break
        time.sleep(0.5)
    assert not left, f"the interrupted image build left containers: {left}"
    tagged = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, text=True, check=False)
    assert tagged.returncode != 0, f"{tag} exists after an interrupted build"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


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


def tmpfs_volume(name: str, size: str) -> None:
    """Replace a cache volume with a tiny tmpfs one (the tool uses a volume of that name as it finds it)."""
    subprocess.run(["docker", "volume", "rm", "-f", name], check=True, capture_output=True)
    subprocess.run(["docker", "volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
                    "--opt", f"o=size={size}", "--label", "org.tfwheelbuild=1", name], check=True, capture_output=True)


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


def hog_patch(fixture_repo: Path) -> str:
    """A patch adding 300k dependent statements to one unit: cc1plus -O2 needs well over 1 GB for it."""
    rel = "tensorflow/core/kernels/generated/unit_001.cc"
    lines = subprocess.run(["git", "-C", str(fixture_repo), "show", f"v2.16.1:{rel}"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    hog = ["#define S1 v = v * 3 + (v >> 7);", "#define S10 S1 S1 S1 S1 S1 S1 S1 S1 S1 S1",
           "#define S100 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10",
           "#define S1K S100 S100 S100 S100 S100 S100 S100 S100 S100 S100",
           "#define S10K S1K S1K S1K S1K S1K S1K S1K S1K S1K S1K",
           "#define S100K S10K S10K S10K S10K S10K S10K S10K S10K S10K S10K",
           "long Hog(long v) { S100K S100K S100K return v; }"]
    n = len(lines)
    return (f"--- a/{rel}\n+++ b/{rel}\n@@ -{n},1 +{n},{1 + len(hog)} @@\n {lines[-1]}\n"
            + "".join(f"+{h}\n" for h in hog))


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


def test_secrets_never_reach_logs_manifests_layers_environments_or_the_process_list(
        build_args: list[str], webdav_cache: object, index_server: object, work_dir: Path, tmp_path: Path) -> None:
    cache_secret = "cachesecret-5b1f0e"
    index_secret: str = index_server.password  # type: ignore[attr-defined]
    url: str = webdav_cache.url  # type: ignore[attr-defined]
    secret_url = url.replace("http://", f"http://builder:{cache_secret}@", 1)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        # What other users of the host could read while the build runs: argv of every process,
        # and the environment and command of every container the tool starts.
        while not done.is_set():
            seen.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout)
            ids = tool_containers()
            if ids:
                seen.append(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout)
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # Secrets through the environment (argv is public to every user of the host: README says so).
    env = index_server.env(TFWHEELBUILD_REMOTE_CACHE=secret_url)  # type: ignore[attr-defined]
    try:
        result = tfwheelbuild(*build_args, "--force", "--publish", "--index", index_server.url,  # type: ignore[attr-defined]
                              "--json", env=env)
    finally:
        done.set()
        watcher.join(timeout=10)
    assert result.code == 0, result.stderr[-3000:]
    summary = result.json()
    assert len(seen) > 10, "the watcher did not get to look"
    manifest = Path(str(summary["manifest"])).read_text()
    images = json.loads(manifest)["images"]
    layers = [subprocess.run(["docker", "history", "--no-trunc", images[k]], capture_output=True, text=True,
                             check=True).stdout for k in ("builder", "runtime")]
    build_dir = Path(str(summary["log"])).parent
    written = [p.read_text(errors="replace") for p in build_dir.rglob("*") if p.is_file() and p.stat().st_size < 5e7]
    places = {"stdout/stderr": result.stdout + result.stderr, "manifest": manifest, "image layers": "".join(layers),
              "build dir (log, report)": "".join(written), "process list / container env": "".join(seen)}
    for secret in (cache_secret, index_secret):
        for where, text in places.items():
            assert secret not in text, f"{secret} leaked into {where}"
    hits = summary["cache"]
    assert isinstance(hits, dict)
    assert "remote cache hit" in hits or any(webdav_cache.root.rglob("*")), "the cache was not used"  # type: ignore[attr-defined]


@pytest.mark.skipif(os.environ.get("TFWB_STOP_ENGINE_TESTS") != "1",
                    reason="stops the host's Docker engine under every other user of it: `make test` sets "
                           "TFWB_STOP_ENGINE_TESTS=1 (it runs the suite alone)")
def test_engine_stopping_mid_compile_is_classified_and_the_next_run_works(emulated_args: list[str],
                                                                         tmp_path: Path) -> None:
    build_args = emulated_args
    out = tmp_path / "out"
    run = Run([*build_args, "--force"])
    run.wait_for("▶ compile")
    time.sleep(5)
    pid = int(Path("/var/run/docker.pid").read_text())
    os.kill(pid, signal.SIGTERM)  # as `systemctl stop docker` or a package upgrade would
    try:
        code = run.finish(timeout=180)
        error = next((ln for ln in run.lines if ln.startswith("error: ")), "")
        assert code == 34, f"exit {code}\n" + "\n".join(run.lines[-20:])
        assert "engine" in error or "container stopped" in error, error
        assert not any("Traceback" in ln for ln in run.lines)
        assert not out.exists() or not list(out.iterdir())
    finally:
        for _ in range(120):  # dockerd stops its containers first (10 s grace), then exits
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.5)
        subprocess.run(["bash", str(ROOT / "scripts" / "setup-host.sh")], check=True, capture_output=True)
    # The stopped engine took the build container down with it (exited, not removed: nobody could):
    # `clean` removes what such a run left, and the same build then succeeds.
    leftover = tool_containers(run.build_id)
    cleaned = tfwheelbuild("clean")
    assert cleaned.code == 0 and not tool_containers(run.build_id), (leftover, cleaned.stdout)
    result = tfwheelbuild(*build_args, "--force")
    assert result.code == 0, result.stderr[-3000:]
    assert list(out.glob("*.whl"))
