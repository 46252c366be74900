"""The fault suite: each fault injected for real against the real engine, and what must follow. Here: signals
in every stage and during an image build, the engine stopping mid-compile, and secrets kept out of all a build
leaves. A full disk, an OOM kill and a failed build's container: test_faults_resources_e2e.py.

RELIABILITY.md keeps the table of faults and outcomes these tests prove.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.integration.faults import NAMESPACE, Run, all_containers, drop_volumes, tool_containers
from tests.integration.harness import ROOT, tfwheelbuild

pytestmark = pytest.mark.engine

# The stages a build goes through, and the signal each one gets (both signals, spread over them).
STAGE_SIGNALS = [("images", signal.SIGTERM), ("container", signal.SIGINT), ("source", signal.SIGTERM),
                 ("configure", signal.SIGINT), ("patches", signal.SIGTERM), ("compile", signal.SIGINT),
                 ("repair", signal.SIGTERM), ("test", signal.SIGINT), ("publish", signal.SIGTERM)]


# Stages that take under a second when everything is cached: signalled sooner.
QUICK = {"images": 0.1, "container": 0.1, "source": 0.2, "configure": 0.2, "patches": 0.1}


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

    # Cache volumes of its own, cold: the build runs its actions and so writes the remote cache, whose URL
    # carries the secret. (In the suite's warm namespace a forced rebuild may run none, and the remote
    # cache would never be written, whichever test ran before.)
    namespace = f"{NAMESPACE}-secrets"
    args = [namespace if a == NAMESPACE else a for a in build_args]
    drop_volumes(namespace)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # Secrets through the environment (argv is public to every user of the host: README says so).
    env = index_server.env(TFWHEELBUILD_REMOTE_CACHE=secret_url)  # type: ignore[attr-defined]
    try:
        result = tfwheelbuild(*args, "--force", "--publish", "--index", index_server.url,  # type: ignore[attr-defined]
                              "--json", env=env)
    finally:
        done.set()
        watcher.join(timeout=10)
        drop_volumes(namespace)
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
