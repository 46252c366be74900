"""From wheel to image, against a real registry: Debian's docker-registry on loopback, the real engine.

The image is pushed, removed locally, pulled back and run: its default command prints the version
and the computation. Bad input (no credentials, no registry) is refused before anything is built;
a refused push keeps the local image.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.harness import tfwheelbuild
from tests.integration.servers import ImageRegistry

pytestmark = pytest.mark.engine


def docker(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def exists(ref: str) -> bool:
    return docker("image", "inspect", ref).returncode == 0


def unique(name: str) -> str:
    return f"tfwb-e2e/{name}:{uuid.uuid4().hex[:10]}"


def test_image_pushed_pulled_back_and_run_prints_version_and_computation(
        fixture_wheel: Path, image_registry: ImageRegistry, work_dir: Path, tmp_path: Path) -> None:
    ref = image_registry.tag(unique("tf"))
    result = tfwheelbuild("image", str(fixture_wheel), "--tag", ref, "--push", "--work-dir", str(work_dir), "--json",
                          env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000",
                               "DOCKER_CONFIG": str(tmp_path / "docker")})
    assert result.code == 0, result.stderr[-3000:]
    summary = result.json()
    assert summary["status"] == "pushed" and str(summary["digest"]).startswith("sha256:")
    try:
        assert docker("rmi", ref).returncode == 0
        pulled = docker("pull", ref)
        assert pulled.returncode == 0, pulled.stderr
        run = docker("run", "--rm", ref)
        assert run.returncode == 0, run.stderr
        assert "tensorflow 2.16.1" in run.stdout and "262144.0" in run.stdout, run.stdout
        facts = json.loads(docker("image", "inspect", ref).stdout)[0]
        labels = facts["Config"]["Labels"]
        manifest = json.loads(Path(str(fixture_wheel) + ".manifest.json").read_text())
        assert facts["Architecture"] == "arm64" and facts["Config"]["User"] == "tfwb"
        assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
        assert labels["org.opencontainers.image.revision"] == manifest["source"]["commit"]
        assert labels["org.opencontainers.image.version"] == "2.16.1"
        assert labels["org.tfwheelbuild.build-key"] == manifest["build_key"]
        assert labels["org.tfwheelbuild.wheel.sha256"] == manifest["wheel"]["sha256"]
        # The wheel file stays in the install stage: the pulled image has only the venv.
        listing = docker("run", "--rm", ref, "sh", "-c", "ls /wheels 2>&1; id -u")
        assert "No such file" in listing.stdout and listing.stdout.strip().endswith("10001")
        # Never offered for pruning as one of the tool's own images.
        images = tfwheelbuild("images", "--json")
        assert ref not in images.stdout
    finally:
        docker("rmi", ref)


def test_push_without_credentials_or_registry_builds_nothing_and_a_refused_push_keeps_the_image(
        fixture_wheel: Path, auth_registry: ImageRegistry, work_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker")}  # no config.json: no credentials
    ref = auth_registry.tag(unique("tf"))
    result = tfwheelbuild("image", str(fixture_wheel), "--tag", ref, "--push", "--work-dir", str(work_dir), env=env)
    assert result.code == 51 and "asks for credentials" in result.stderr and "Traceback" not in result.stderr
    assert not exists(ref)

    gone = f"127.0.0.1:{_closed_port()}/{unique('tf')}"
    result = tfwheelbuild("image", str(fixture_wheel), "--tag", gone, "--push", "--work-dir", str(work_dir), env=env)
    assert result.code == 52 and "cannot reach the registry" in result.stderr
    assert not exists(gone)

    wrong = tmp_path / "auth.json"
    wrong.write_text(json.dumps({"auths": {auth_registry.host: {"auth": base64.b64encode(b"ci:wrong").decode()}}}))
    try:
        result = tfwheelbuild("image", str(fixture_wheel), "--tag", ref, "--push", "--registry-auth", str(wrong),
                              "--work-dir", str(work_dir), env=env)
        assert result.code == 54, result.stderr[-2000:]
        assert f"the image {ref} is kept on the local engine" in result.stderr and "wrong" not in result.stderr
        assert exists(ref)
        right = tmp_path / "right.json"
        right.write_text(json.dumps({"auths": {auth_registry.host: {"username": "ci", "password": "pw"}}}))
        result = tfwheelbuild("image", str(fixture_wheel), "--tag", ref, "--push", "--registry-auth", str(right),
                              "--work-dir", str(work_dir), env=env)
        assert result.code == 0, result.stderr[-2000:]
    finally:
        docker("rmi", ref)


def _closed_port() -> int:
    from tests.integration.servers import _free_port

    return _free_port()


def test_build_with_image_pushes_the_tested_wheel_as_an_image(fixture_wheel: Path, fixture_repo: Path,
                                                              image_registry: ImageRegistry, work_dir: Path,
                                                              tmp_path: Path) -> None:
    from tests.integration.harness import FIXTURE_PATCHES

    ref = image_registry.tag(unique("tf"))
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker")}
    # The fixture wheel's output dir: same build key, so the build is skipped and its wheel imaged.
    result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--patches",
                          str(FIXTURE_PATCHES), "--output", str(fixture_wheel.parent), "--work-dir", str(work_dir),
                          "--mode", "cross", "--image", ref, "--push-image", "--json", env=env)
    try:
        assert result.code == 0, result.stderr[-3000:]
        image = dict(result.json()["image"])  # type: ignore[call-overload]
        assert image["status"] == "pushed" and image["tag"] == ref
        run = docker("run", "--rm", ref)
        assert "tensorflow 2.16.1" in run.stdout and "262144.0" in run.stdout, run.stdout + run.stderr
    finally:
        docker("rmi", ref)
    # A bad tag is refused before anything is built.
    bad = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--output",
                       str(tmp_path / "out"), "--work-dir", str(work_dir), "--image", "Reg/TF", env=env)
    assert bad.code == 50 and "Traceback" not in bad.stderr and not (tmp_path / "out").exists()
