"""Podman as the engine: the fixture's build, its runtime test and its image, through Podman's Docker-compatible
service (Debian's 4.3.1, rootful) that the test starts on a socket of its own; the image goes through the
loopback registry and back, and runs.

Proof that Podman did the work and not the main engine: the tool's `doctor` names it, the manifest's engine
is Podman, and the image is pulled back and run by Podman. What Podman needs on a host like this one
(limits it may set, its init binary) is set in the service's own containers.conf, as the README says.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import FIXTURE_PATCHES, tfwheelbuild
from tests.integration.podman import PodmanService, can_raise_limits, start_podman, ulimits_conf
from tests.integration.servers import ImageRegistry

pytestmark = pytest.mark.engine


@pytest.fixture()
def podman(engine_ready: None, image_registry: ImageRegistry) -> Iterator[PodmanService]:
    # Started once with no configuration to read the limits it runs with, then with them as every
    # container's limits.
    bare = start_podman()
    limits = bare.limits()
    bare.stop()
    service = start_podman(containers_conf=ulimits_conf(limits), insecure_registry=image_registry.host)
    yield service
    service.stop()


def test_build_test_and_image_under_podman(podman: PodmanService, fixture_repo: Path, image_registry: ImageRegistry,
                                           tmp_path: Path) -> None:
    host = ["--docker-host", podman.host]
    work = ["--work-dir", str(tmp_path / "work")]  # its own: the runtime test really runs on Podman
    doctor = tfwheelbuild("doctor", "--json", "--source", str(fixture_repo), *host, timeout=600)
    engine = {c["name"]: c for c in json.loads(doctor.stdout)}["engine"]
    assert engine["status"] == "ok" and engine["detail"].startswith("Podman 4.") and podman.host in engine["detail"]

    # auto mode on this x86_64 engine: the amd64 cross builder compiles, the runtime test runs emulated.
    build = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--patches",
                         str(FIXTURE_PATCHES), "--output", str(tmp_path / "out"), *work, *host, "--json")
    assert build.code == 0, build.stderr[-3000:]
    wheel = Path(str(build.json()["wheel"]))
    manifest = json.loads(Path(f"{wheel}.manifest.json").read_text())
    assert manifest["engine"]["kind"] == "podman" and manifest["engine"]["emulated"] is True
    provenance = json.loads(Path(f"{wheel}.intoto.json").read_text())
    assert "podman" in provenance["predicate"]["runDetails"]["builder"]["version"]
    # The builder image is in Podman's store (the main engine's are Docker's).
    assert podman.docker("image", "inspect", manifest["images"]["builder"]).returncode == 0

    tested = tfwheelbuild("test", str(wheel), *work, *host, timeout=1800)
    assert tested.code == 0, tested.stderr[-3000:]
    assert "tensorflow 2.16.1" in tested.stdout + tested.stderr

    # Podman's /system/df gives volumes without their labels: `cache` still lists the tool's.
    cache = tfwheelbuild("cache", "--json", *host, timeout=120)
    assert cache.code == 0, cache.stderr
    names = [v["name"] for v in json.loads(cache.stdout)["volumes"]]
    assert any(n.startswith("tfwb-bazel-") for n in names), names

    ref = image_registry.tag(f"tfwb-e2e/podman:{uuid.uuid4().hex[:10]}")
    image = tfwheelbuild("image", str(wheel), "--tag", ref, "--push", *work, *host, "--json", timeout=1800,
                         env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker")})
    assert image.code == 0, image.stderr[-3000:]
    assert image.json()["status"] == "pushed"
    assert podman.docker("rmi", ref).returncode == 0
    assert podman.docker("image", "inspect", ref).returncode != 0
    pulled = podman.docker("pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    run = podman.docker("run", "--rm", ref)
    assert run.returncode == 0, run.stderr
    assert "tensorflow 2.16.1" in run.stdout and "262144.0" in run.stdout, run.stdout
    podman.docker("rmi", ref)


def test_a_podman_that_cannot_set_its_limits_is_one_line_with_the_setting_that_cures_it(
        engine_ready: None, fixture_wheel: Path, tmp_path: Path) -> None:
    if can_raise_limits():
        pytest.skip("this host lets Podman raise container limits: the refusal does not arise here")
    bare = start_podman()  # no default_ulimits: Podman asks runc for its built-in maximum
    try:
        result = tfwheelbuild("test", str(fixture_wheel), "--work-dir", str(tmp_path / "work"),
                              "--docker-host", bare.host, timeout=900)
    finally:
        bare.stop()
    assert result.code == 37, result.stderr[-2000:]
    assert "cannot give the container the resource limits" in result.stderr and "Traceback" not in result.stderr
    assert "default_ulimits" in result.stderr
