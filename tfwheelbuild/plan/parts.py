"""The parts of a build plan: one frozen record per concern (images, source, compile, repair, test)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tfwheelbuild.plan.layout import DEFAULT_MAX_WHEEL_SIZE, OUT


@dataclass(frozen=True, kw_only=True)
class PatchFile:
    name: str
    path: Path
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ImageRecipe:
    role: Literal["builder", "builder-cross", "runtime"]
    template: str  # file name under buildenv/
    values: tuple[tuple[str, str], ...]
    context_files: tuple[tuple[str, str], ...] = ()  # (name in context, host path)
    platform: str = "linux/arm64"


@dataclass(frozen=True, kw_only=True)
class BasePlan:
    image: str
    # How to make the base when it cannot be had otherwise: a Debian suite from `mirror`.
    bootstrap_suite: str
    mirror: str
    user_chosen: bool
    arch: str = "arm64"  # amd64 for the cross builder's base


@dataclass(frozen=True, kw_only=True)
class SourcePlan:
    url: str
    ref: str
    local_path: Path | None  # a local checkout, bind-mounted read-only at ORIGIN
    fetch_url: str  # the URL as seen from inside the builder; may hold credentials: never shown
    mirror_name: str  # bare repo under GIT_CACHE, one per source URL


@dataclass(frozen=True, kw_only=True)
class CompilePlan:
    bazel_startup: tuple[str, ...]
    bazel_build: tuple[str, ...]
    target: str
    package_cmd: tuple[str, ...]  # produces the raw wheel in OUT/raw
    env: tuple[tuple[str, str], ...]  # for bazelisk-py: mirror, forced version, proxy
    jobs: int
    ram_mb: int
    memory_bytes: int = 0  # the build container's limit; 0: none
    # Upstream's release config, used when the checkout's .bazelrc defines it (the compile stage looks);
    # else `release_equivalent`, the flags it stands for. Both come before bazel_build on the command line.
    release_config: str = ""
    release_equivalent: tuple[str, ...] = ()
    bazel_mirror: str = ""  # the compile stage writes a downloader config rewriting every URL to it
    mirror_loopback: bool = False  # the mirror or an index is on the engine host's loopback: host networking
    # The index rules_python's pip (the release's requirements lock) installs from; "" = upstream's PyPI.
    # Handed over in the environment (it may carry credentials), never on the command line.
    pip_index: str = ""
    deps: Path | None = None  # mounted read-only at DEPS_IN_CONTAINER as the repository cache; no network
    # A Python the hermetic release ships no lock for (--allow-unsupported-python): the compile stage hands
    # Bazel the builder's own interpreter (HERMETIC_PYTHON_URL) and a lock it generates
    # (HERMETIC_REQUIREMENTS_LOCK), as upstream's python_repo takes them. "" = the release's own.
    custom_python: str = ""
    index_url: str = ""  # where the generated lock resolves from ("" = pip's configured index)


@dataclass(frozen=True, kw_only=True)
class RepairPlan:
    plat: str
    exclude: tuple[str, ...]
    build_tag: str
    # Refusals after repair; neither changes the wheel's bytes, so neither is in the build key.
    allow_4k_pages: bool = False
    max_wheel_size: int = DEFAULT_MAX_WHEEL_SIZE  # bytes; 0: no limit

    def command(self, wheel: str) -> list[str]:
        """`auditwheel repair` of `wheel` (a path in the container): what the repair stage runs, and what
        --dry-run shows, from this one place."""
        return ["auditwheel", "repair", "-w", f"{OUT}/repaired", *(["--plat", self.plat] if self.plat else []),
                *[a for lib in self.exclude for a in ("--exclude", lib)], wheel]


@dataclass(frozen=True, kw_only=True)
class TestPlan:
    index_url: str
    test_command: str
    installer: str  # auto: uv where it can be had, else pip (engine/installer.py); pip
    ca_bundle: Path | None
    proxy_env: tuple[tuple[str, str], ...]

