"""Where things are inside every container, and the defaults a plan starts from (pure constants).

One fixed layout, so Bazel's output base (keyed by the workspace path) is the same from one build to
the next and the caches hit.
"""

from __future__ import annotations

BUILDER_ID = "<builder-image-id>"
BAZEL_OUTPUT = "<the-wheel-bazel-built>"  # filled in from Bazel's "Target ... up-to-date:" lines

SRC = "/tfwb/src"
ORIGIN = "/tfwb/origin"
GIT_CACHE = "/tfwb/git"
CACHE = "/tfwb/cache"
OUT = "/tfwb/out"
DEPS_IN_CONTAINER = "/tfwb/deps"  # a deps bundle, read-only
DEPS_CACHE = f"{DEPS_IN_CONTAINER}/repository_cache"
PATCH_DIR = "/tfwb/patches"
RAW_WHEELS = f"{OUT}/raw/*.whl"  # where the compile stage leaves the one wheel it built
BUILD_PYTHON = "/opt/tfwb/py/bin/python3"
BUILD_UID = 10001  # the builder's unprivileged user `tfwb` (useradd in buildenv/builder*.Dockerfile)
BUILD_HOME = "/home/tfwb"
BAZEL_IN_IMAGE = "/opt/tfwb/bazel"  # the builder's own Bazel (TFWB_BAZEL_DIR in buildenv/builder*.Dockerfile)
CA_IN_CONTAINER = "/etc/tfwheelbuild/ca.pem"  # the host's CA bundle, bind-mounted read-only

# Debian's arm64 suites and the Python each one ships (what `base bootstrap` can offer).
DEBIAN_SUITE_FOR_PYTHON = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
# Pythons no Debian suite the host's debootstrap knows by a stable name ships: the way to a base with
# them all the same (measured in issue 16: the mirror's sid and forky ship python3.14 for arm64, sid also
# python3.15; no Debian suite ships 3.10 or 3.12, Ubuntu's LTS images do).
_PYTHON_ROUTE = {
    "3.10": "ubuntu:22.04's python3 is 3.10: --base-image ubuntu:22.04 where a registry answers, else "
            "`tfwheelbuild base import` of that arm64 image saved on a machine that has one",
    "3.12": "ubuntu:24.04's python3 is 3.12: --base-image ubuntu:24.04 where a registry answers, else "
            "`tfwheelbuild base import` of that arm64 image saved on a machine that has one",
    **{py: f"Debian sid ships python{py} on the apt mirror: `tfwheelbuild base bootstrap --suite sid`, then "
              "--base-image with the tag it prints" for py in ("3.14", "3.15")},
}


def python_route(python: str) -> str:
    """How to get an arm64 base with Python `python` when no Debian suite the tool bootstraps has it."""
    return _PYTHON_ROUTE.get(python, f"pass --base-image with an arm64 image that has Python {python} "
                                     "(`tfwheelbuild base import` loads one saved elsewhere)")
DEFAULT_BASE_IMAGE = "ubuntu:22.04"
# The cross builder needs Debian's multiarch arm64 packages (libpython3.X-dev:arm64) beside amd64 ones.
CROSS_SUITE = "bookworm"  # the cross builder's amd64 Debian suite (python3.11 its only Python)
DEFAULT_CROSS_BASE = f"debian:{CROSS_SUITE}"
GIB = 1024**3
# Upstream's CI refuses arm64 wheels over TFCI_WHL_SIZE_LIMIT (ci/official/envs/linux_arm64: 240M, as
# find -size counts: MiB).
DEFAULT_MAX_WHEEL_SIZE = 240 * 1024**2
# Under qemu, JIT-compiling Bazel's own JVM with C2 costs more than it saves: C1 alone halves a warm
# build's Bazel overhead (measured 68 s -> 37 s on the fixture). Natively, C2 pays off on TF's graph.
EMULATED_JVM = ("--host_jvm_args=-XX:TieredStopAtLevel=1",)
