"""`--docker-host` reaches another engine: a second dockerd on its own socket stands in for a remote host.

Each test proves the tool talked to the second engine and not the main one by something only the
second engine has: its data root under a temp dir, an image tag that exists nowhere else, the
containers in its event stream. No build runs there (too slow); images, cache and doctor do.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from tests.integration.harness import tfwheelbuild
from tests.integration.servers import SecondEngine

pytestmark = pytest.mark.engine


def _main_arm64_base() -> str:
    """The tool's arm64 base image on the main engine (the smallest image the tool makes)."""
    listed = subprocess.run(["docker", "images", "--filter", "label=org.tfwheelbuild.role=base", "--format",
                             "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=True)
    for ref in listed.stdout.split():
        arch = subprocess.run(["docker", "image", "inspect", "--format", "{{.Architecture}}", ref],
                              capture_output=True, text=True, check=True).stdout.strip()
        if ref.startswith("tfwheelbuild/base:") and arch == "arm64":
            return ref
    pytest.fail("no arm64 tfwheelbuild/base image on the main engine: run `tfwheelbuild base bootstrap` once")


@pytest.fixture(scope="module")
def loaded(second_engine: SecondEngine) -> str:
    """The main engine's arm64 base, copied (`docker save | docker -H … load`) into the second engine and
    retagged there to a name no other engine has; that name."""
    source = _main_arm64_base()
    save = subprocess.Popen(["docker", "save", source], stdout=subprocess.PIPE)
    load = subprocess.run(["docker", "-H", second_engine.host, "load", "--quiet"], stdin=save.stdout,
                          capture_output=True, text=True, timeout=600, check=False)
    assert save.stdout is not None
    save.stdout.close()
    assert save.wait(timeout=60) == 0 and load.returncode == 0, load.stderr
    tag = f"tfwheelbuild/base:second-engine-{uuid.uuid4().hex[:8]}"
    assert second_engine.docker("tag", source, tag).returncode == 0
    assert second_engine.docker("rmi", source).returncode == 0  # only untags: `tag` still names the image
    return tag


def test_images_and_cache_list_the_second_engine(second_engine: SecondEngine, loaded: str) -> None:
    there = tfwheelbuild("images", "--json", "--docker-host", second_engine.host, timeout=120)
    assert there.code == 0, there.stderr
    assert [i["name"] for i in json.loads(there.stdout)["images"]] == [loaded]
    here = tfwheelbuild("images", "--json", timeout=120)  # the main engine: never has that tag
    assert here.code == 0, here.stderr
    assert loaded not in [i["name"] for i in json.loads(here.stdout)["images"]]

    volumes = tfwheelbuild("cache", "--json", "--docker-host", second_engine.host, timeout=120)
    assert volumes.code == 0, volumes.stderr
    assert json.loads(volumes.stdout)["volumes"] == []  # the main engine's Bazel cache volumes are not there


def test_doctor_checks_the_second_engine(second_engine: SecondEngine, loaded: str) -> None:
    since = str(int(time.time()) - 1)
    result = tfwheelbuild("doctor", "--json", "--docker-host", second_engine.host, timeout=300)
    until = str(int(time.time()) + 1)
    assert result.code == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    engine = checks["engine"]
    assert engine["status"] == "ok" and f"at {second_engine.host}" in engine["detail"], engine
    assert f"data in {second_engine.data_root}" in engine["detail"], engine
    assert checks["engine disk"]["detail"].endswith(f"at {second_engine.data_root}"), checks["engine disk"]
    arm64 = checks["arm64 execution"]
    assert arm64["status"] == "ok" and f"`uname -m` in {loaded} says aarch64" in arm64["detail"], arm64

    # The `uname -m` container ran on the second engine (and is gone: doctor removes what it starts) ...
    events = second_engine.docker("events", "--since", since, "--until", until, "--filter", "type=container",
                                  "--format", "{{.Action}} {{.Actor.Attributes.image}}", timeout=60)
    assert events.returncode == 0, events.stderr
    actions = [line.split()[0] for line in events.stdout.splitlines() if line.endswith(f" {loaded}")]
    assert "create" in actions and "start" in actions and "destroy" in actions, events.stdout
    assert second_engine.docker("ps", "-a", "-q").stdout.strip() == ""
    # ... and not on the main one, where no container of that image was made in the same window.
    main = subprocess.run(["docker", "events", "--since", since, "--until", until, "--filter", "type=container",
                           "--filter", f"image={loaded}", "--format", "{{.Action}}"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert main.returncode == 0 and main.stdout.strip() == "", main.stdout + main.stderr


@pytest.mark.parametrize("command", ["images", "cache"])
def test_unreachable_docker_host_is_named(command: str, engine_ready: None) -> None:
    host = "unix:///nonexistent.sock"
    result = tfwheelbuild(command, "--docker-host", host, timeout=60)
    assert result.code == 30, result.stdout + result.stderr
    error, fix = result.stderr.splitlines()
    assert error.startswith(f"error: cannot reach a Docker engine at {host}: "), error
    assert host in fix and "--docker-host" in fix, fix
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_doctor_names_an_unreachable_docker_host(engine_ready: None) -> None:
    result = tfwheelbuild("doctor", "--json", "--docker-host", "unix:///nonexistent.sock", timeout=120)
    assert result.code == 1, result.stdout + result.stderr
    engine = {c["name"]: c for c in json.loads(result.stdout)}["engine"]
    assert engine["status"] == "fail" and "unix:///nonexistent.sock" in engine["detail"], engine
