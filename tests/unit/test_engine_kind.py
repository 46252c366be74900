"""Which engine answers the Docker API (Docker, Podman's compatible service, Docker Desktop on Apple
silicon), from its own /version and /info answers; and what an Apple-silicon engine means for the plan."""

from __future__ import annotations

from typing import Any

import pytest

from tfwheelbuild.engine.client import Engine, EngineInfo, engine_kind, podman_socket
from tfwheelbuild.engine.doctor import binfmt_check
from tfwheelbuild.plan import BuildOptions, make_plan
from tfwheelbuild.recipes import recipe_for

GIB = 1 << 30
# Trimmed from the real answers: Podman 4.3.1 (Debian bookworm's) system service, Docker 24 on Linux,
# Docker Desktop 4.x on an Apple-silicon Mac (its Linux VM is aarch64).
PODMAN_VERSION = {"Platform": {"Name": "linux/amd64/debian-12"}, "Version": "4.3.1", "ApiVersion": "1.41",
                  "Components": [{"Name": "Podman Engine", "Version": "4.3.1",
                                  "Details": {"APIVersion": "4.3.1", "Os": "linux"}}]}
PODMAN_INFO = {"Architecture": "x86_64", "NCPU": 2, "MemTotal": 8 * GIB, "OperatingSystem": "debian",
               "DockerRootDir": "/var/lib/containers/storage"}
DOCKER_VERSION = {"Platform": {"Name": "Docker Engine - Community"}, "Version": "24.0.7", "ApiVersion": "1.43",
                  "Components": [{"Name": "Engine", "Version": "24.0.7"}, {"Name": "containerd", "Version": "1.6"}]}
DOCKER_INFO = {"Architecture": "x86_64", "NCPU": 2, "MemTotal": 8 * GIB, "OperatingSystem": "Debian GNU/Linux 12",
               "DockerRootDir": "/var/lib/docker"}
DESKTOP_VERSION = {"Platform": {"Name": "Docker Desktop 4.36.0 (175267)"}, "Version": "27.3.1", "ApiVersion": "1.47",
                   "Components": [{"Name": "Engine", "Version": "27.3.1"}]}
DESKTOP_INFO = {"Architecture": "aarch64", "NCPU": 8, "MemTotal": 8 * GIB, "OperatingSystem": "Docker Desktop",
                "DockerRootDir": "/var/lib/docker"}


@pytest.mark.parametrize(("version", "info", "expected"), [
    (PODMAN_VERSION, PODMAN_INFO, ("podman", "4.3.1")),
    ({"Platform": {"Name": "linux/arm64/fedora-40 podman"}, "Version": "5.2.0"}, {}, ("podman", "5.2.0")),
    (DOCKER_VERSION, DOCKER_INFO, ("docker", "24.0.7")),
    (DESKTOP_VERSION, DESKTOP_INFO, ("docker-desktop", "27.3.1")),
    ({}, {}, ("docker", "?")),
])
def test_engine_kind_from_its_own_answers(version: dict[str, Any], info: dict[str, Any],
                                          expected: tuple[str, str]) -> None:
    assert engine_kind(version, info) == expected


class Answers:
    """An SDK client answering /info and /version as the given engine does."""

    def __init__(self, version: dict[str, Any], info: dict[str, Any]) -> None:
        self._version, self._info = version, info

    def version(self) -> dict[str, Any]:
        return self._version

    def info(self) -> dict[str, Any]:
        return self._info


def test_engine_info_names_podman_and_its_storage() -> None:
    info = Engine(Answers(PODMAN_VERSION, PODMAN_INFO)).info()
    assert (info.kind, info.label, info.version, info.root_dir) == ("podman", "Podman", "4.3.1",
                                                                   "/var/lib/containers/storage")
    assert not info.native_arm64


def test_apple_silicon_docker_desktop_is_a_native_arm64_engine_planned_without_emulation_or_cross() -> None:
    info = Engine(Answers(DESKTOP_VERSION, DESKTOP_INFO)).info()
    assert info.kind == "docker-desktop" and info.label == "Docker Desktop" and info.native_arm64
    assert binfmt_check(info.arch).status == "ok" and "not needed" in binfmt_check(info.arch).detail
    opts = BuildOptions(tf_version="2.16.1", python="3.11")
    # As the pipeline plans it (pipeline.py): emulated = not native_arm64, the engine's own arch.
    plan = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=info.cpus, engine_mem=info.mem_bytes,
                     engine_emulated=not info.native_arm64, engine_arch=info.arch)
    assert plan.cross_base is None  # auto mode: the arm64 builder, natively; no amd64 cross builder
    assert "--config=cross_compile_linux_arm64" not in plan.compile.bazel_build
    assert not any(a.startswith("--host_jvm_args") for a in plan.compile.bazel_startup)  # no qemu JVM tuning
    # The same release on an x86_64 engine is a cross build.
    x86 = make_plan(opts, recipe_for("2.16.1"), patches=(), engine_cpus=2, engine_mem=8 * GIB, engine_emulated=True,
                    engine_arch="x86_64")
    assert x86.cross_base is not None


def test_engine_info_defaults_to_docker() -> None:
    assert EngineInfo(version="1", api_version="1", arch="x86_64", cpus=1, mem_bytes=1).label == "Docker"


# ---- Podman's socket, found when nothing names an engine and Docker's socket is absent ----------------

@pytest.mark.parametrize(("env", "present", "uid", "expected"), [
    ({}, {"/var/run/docker.sock", "/run/podman/podman.sock"}, 0, None),  # Docker's own socket wins
    ({"DOCKER_HOST": "tcp://h:2375"}, {"/run/podman/podman.sock"}, 0, None),  # a named engine wins
    ({}, {"/run/podman/podman.sock"}, 0, "unix:///run/podman/podman.sock"),  # rootful
    ({"XDG_RUNTIME_DIR": "/run/user/1000"}, {"/run/user/1000/podman/podman.sock", "/run/podman/podman.sock"}, 1000,
     "unix:///run/user/1000/podman/podman.sock"),  # the user's own (rootless) service first
    ({}, {"/run/user/1000/podman/podman.sock"}, 1000, "unix:///run/user/1000/podman/podman.sock"),
    ({}, set(), 1000, None),  # nothing: the SDK's default, and its "cannot reach" error
])
def test_podman_socket_is_found_only_when_nothing_else_is_named(env: dict[str, str], present: set[str], uid: int,
                                                                expected: str | None) -> None:
    assert podman_socket(env, present.__contains__, uid) == expected
