"""Stage: start the one long-lived builder container that the next stages `exec` into.

Caches are named volumes: Bazel's output user root, disk and repository caches (keyed by the
builder image, so a different toolchain never shares them) and the git mirror of sources.
"""

from __future__ import annotations

from tfwheelbuild.engine.client import Mount
from tfwheelbuild.errors import EngineError
from tfwheelbuild.pipeline.context import BuildContext
from tfwheelbuild.plan import BUILDER_ID, CA_IN_CONTAINER, CACHE, DEPS_IN_CONTAINER, ORIGIN, OUT, PATCH_DIR

NAME = "container"


def container_name(build_id: str) -> str:
    return f"tfwb-{build_id}"


def build_network(ctx: BuildContext) -> str:
    """No network at all with a deps bundle: the proof that the build downloads nothing. Host
    networking for a remote cache or Bazel mirror on the engine host's loopback."""
    if ctx.plan.compile.deps is not None:
        return "none"
    return "host" if ctx.plan.remote.loopback or ctx.plan.compile.mirror_loopback else "bridge"


def run(ctx: BuildContext) -> dict[str, object]:
    mounts = []
    labels = {"org.tfwheelbuild.build": ctx.build_id}
    for name, target in ctx.plan.volumes.items():
        volume = name.replace(BUILDER_ID, ctx.builder_id.removeprefix("sha256:")[:16])
        ctx.engine.ensure_volume(volume, {"org.tfwheelbuild": "1"})
        mounts.append(Mount(source=volume, target=target))
    if ctx.plan.source.local_path is not None:
        mounts.append(Mount(source=str(ctx.plan.source.local_path.resolve()), target=ORIGIN, read_only=True))
    ca = ctx.plan.test.ca_bundle
    if ca is not None and ca.is_file():
        # For bazelisk-py's downloads through a TLS-intercepting proxy or from an internal mirror.
        mounts.append(Mount(source=str(ca.resolve()), target=CA_IN_CONTAINER, read_only=True))
    if ctx.plan.compile.deps is not None:
        mounts.append(Mount(source=str(ctx.plan.compile.deps), target=DEPS_IN_CONTAINER, read_only=True))
    # A remote cache on the engine host's loopback is only reachable from the host's network.
    ctx.container = ctx.engine.start(ctx.builder_tag, mounts=mounts, labels=labels, platform=ctx.plan.builder.platform,
                                     network=build_network(ctx),
                                     name=container_name(ctx.build_id), mem_limit=ctx.plan.compile.memory_bytes)
    ctx.log.say(f"build container {ctx.container[:12]} started from {ctx.builder_tag}")
    ctx.engine.own_volumes(ctx.container, [m.target for m in mounts if not m.read_only], ctx.log.line)
    code = ctx.run(["mkdir", "-p", f"{OUT}/raw", f"{OUT}/repaired", PATCH_DIR,
                    f"{CACHE}/bazel", f"{CACHE}/bazelisk"])
    if code != 0:
        raise EngineError("cannot prepare directories in the build container")
    return {"container": ctx.container[:12], "volumes": [m.source for m in mounts if not m.read_only]}
