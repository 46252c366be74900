"""`clean` against the real engine: it removes stopped and kept containers, never those of a run that
still holds its run lock (running or stopped), and says what it left and why."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, tfwheelbuild
from tfwheelbuild.engine.client import BUILD_LABEL, Engine
from tfwheelbuild.engine.locks import run_lock

pytestmark = pytest.mark.engine

BASE = "tfwheelbuild/base:bookworm-arm64"


@pytest.fixture(scope="module")
def base_image(engine_ready: None) -> str:
    made = tfwheelbuild("base", "bootstrap", "--suite", "bookworm")  # idempotent: an existing image is kept
    assert made.code == 0, made.stderr[-2000:]
    return BASE


def exists(container_id: str) -> bool:
    return subprocess.run(["docker", "container", "inspect", container_id], capture_output=True,
                          check=False).returncode == 0


def stop(container_id: str) -> None:
    subprocess.run(["docker", "stop", "-t", "0", container_id], capture_output=True, check=True)


def test_clean_removes_stopped_and_kept_containers_never_a_live_runs(base_image: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    tag = uuid.uuid4().hex[:8]
    made: list[str] = []
    try:
        # A build that ended: one container kept (--keep-container, still running), one stopped.
        ended = Engine.connect()
        ended.labels[BUILD_LABEL] = f"clean-ended-{tag}"
        with run_lock(work / "builds" / f"clean-ended-{tag}", ended.labels):
            kept = ended.start(base_image, mounts=[], labels={}, name=f"tfwb-clean-kept-{tag}")
            stopped = ended.start(base_image, mounts=[], labels={}, name=f"tfwb-clean-stopped-{tag}")
            made += [kept, stopped]
            ended.keep(kept)
            ended.keep(stopped)
        stop(stopped)

        # A build still running, as a live one is: its lock held, one container running, one that has
        # just exited (a run reads a finished container's output before it removes it).
        live = Engine.connect()
        live.labels[BUILD_LABEL] = f"clean-live-{tag}"
        with run_lock(work / "builds" / f"clean-live-{tag}", live.labels):
            running = live.start(base_image, mounts=[], labels={}, name=f"tfwb-clean-live-{tag}")
            finished = live.start(base_image, mounts=[], labels={}, name=f"tfwb-clean-live-done-{tag}")
            made += [running, finished]
            stop(finished)

            result = tfwheelbuild("clean", "--work-dir", str(work))

            assert result.code == 0, result.stderr
            assert exists(running) and exists(finished), result.stdout
            assert not exists(kept) and not exists(stopped), result.stdout
            left = next(ln for ln in result.stdout.splitlines() if "its run is still going" in ln)
            assert f"tfwb-clean-live-{tag}" in left and f"tfwb-clean-live-done-{tag}" in left, result.stdout
            live.remove_all()
        assert not exists(running) and not exists(finished)
    finally:
        for container in made:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


def test_clean_during_a_real_build_leaves_it_alone_and_the_build_succeeds(fixture_repo: Path, work_dir: Path,
                                                                         tmp_path: Path) -> None:
    from tests.integration.faults import Run

    out = tmp_path / "out"
    run = Run(["build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--work-dir", str(work_dir),
               "--cache-namespace", "clean", "--output", str(out), "--patches", str(FIXTURE_PATCHES), "--force"])
    try:
        run.wait_for("▶ source")  # the build container is up, its caches mounted
        ours = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter",
                               f"label={BUILD_LABEL}={run.build_id}"], capture_output=True, text=True,
                              check=True).stdout.split()
        assert ours, "the build's container is not running"
        cleaned = tfwheelbuild("clean", "--work-dir", str(work_dir))
        assert cleaned.code == 0, cleaned.stderr
        assert all(exists(c) for c in ours), cleaned.stdout
        assert any("its run is still going" in ln and f"tfwb-{run.build_id}" in ln
                   for ln in cleaned.stdout.splitlines()), cleaned.stdout
        assert (work_dir / "builds" / run.build_id).is_dir()
        code = run.finish(timeout=3000)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert code == 0, "\n".join(run.lines[-30:])
    assert list(out.glob("*.whl"))
    assert not any(exists(c) for c in ours)  # and the build removed its own container as usual
