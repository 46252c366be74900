"""One matrix entry's work, shared by `build` and `nightly`: options from the cascade, skip by key
against the output dir and the index, build, publish, check the index serves what was published."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from packaging.utils import parse_wheel_filename

from tfwheelbuild.config import Settings
from tfwheelbuild.history import History
from tfwheelbuild.plan import BuildOptions
from tfwheelbuild.publish import IndexTarget, index_files
from tfwheelbuild.recipes import Recipe
from tfwheelbuild.simple_index import LocalIndex


def build_options(tf_version: str, python: str, settings: Settings, *, nightly_date: str = "") -> BuildOptions:
    """The resolved settings as the pipeline's options (host facts filled in: mirror, CA, proxy)."""
    from tfwheelbuild.bootstrap import host_mirror
    from tfwheelbuild.deps import check_mirror_url
    from tfwheelbuild.hostpaths import default_work_root, host_ca
    from tfwheelbuild.plan import check_project_name, parse_memory, parse_size, parse_source_date_epoch
    from tfwheelbuild.preflight import host_bazel_env, host_proxy_env

    # Bad values fail here, before the engine is asked (make_plan, which uses them, runs after it answers).
    check_project_name(settings["project-name"])  # tensorflow-metal, tensorflow-macos, invalid names
    parse_memory(settings["memory"])
    parse_size(settings["max-wheel-size"])
    source_date_epoch = parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", ""))
    return BuildOptions(
        tf_version=tf_version, python=python, source=settings["source"], ref=settings["ref"],
        output=settings["output"], work_root=settings["work-dir"] or default_work_root(),
        base_image=settings["base-image"], builder_image=settings["builder-image"],
        mirror=settings["mirror"] or host_mirror(),
        configure=settings["configure"], patch_dirs=settings["patches"],
        default_patches=settings["default-patches"], jobs=settings["jobs"], ram_mb=settings["ram-mb"],
        memory=settings["memory"],
        plat=settings["plat"], exclude=settings["exclude"], project_name=settings["project-name"],
        build_tag=settings["build-tag"], index_url=settings["index-url"], test_command=settings["test-command"],
        bazel_args=settings["bazel-args"], ca_bundle=host_ca(),
        proxy_env=host_proxy_env(), bazel_env=host_bazel_env(), nightly_date=nightly_date,
        remote_cache=settings["remote-cache"], remote_cache_readonly=settings["remote-cache-readonly"],
        remote_cache_required=settings["remote-cache-required"], remote_header_file=settings["remote-header-file"],
        remote_executor=settings["remote-executor"], remote_instance_name=settings["remote-instance-name"],
        cache_namespace=settings["cache-namespace"], mode=settings["mode"], source_date_epoch=source_date_epoch,
        allow_4k_pages=settings["allow-4k-pages"], max_wheel_size=settings["max-wheel-size"],
        bazel_mirror=check_mirror_url(settings["bazel-mirror"]) if settings["bazel-mirror"] else "",
        deps=settings["deps"].resolve() if settings["deps"] else None,
    )


def pin_source(opts: BuildOptions, recipe: Recipe, say: Callable[[str], None]) -> tuple[BuildOptions, str]:
    """Resolve the ref on the host (and check the remote cache): (options naming the full ref, its commit).

    A branch (tracking `r2.20` or `master`) builds its newest commit with a nightly version stamp,
    through the release's own ML_WHEEL_TYPE where it has one (2.20+), as tf-nightly does.
    """
    from tfwheelbuild.preflight import check_remote, resolve_ref
    from tfwheelbuild.remote import remote_plan
    from tfwheelbuild.validate import release_tag

    check_remote(remote_plan(opts), say)
    full, commit = resolve_ref(opts.source, opts.ref or release_tag(opts.tf_version))
    if full.startswith("refs/heads/") and not opts.nightly_date:
        if recipe.wheel_type_env:
            opts = replace(opts, nightly_date=today())
            say(f"branch {full.removeprefix('refs/heads/')} @ {commit[:12]}: stamping {opts.tf_version}.dev"
                f"{opts.nightly_date}")
        else:
            say(f"note: TensorFlow {recipe.release} has no ML_WHEEL_TYPE, so branch builds carry the plain "
                f"version {opts.tf_version} (an index refuses a second, different file under it)")
    return replace(opts, ref=full), commit


def today() -> str:
    return time.strftime("%Y%m%d", time.gmtime())


def index_lookup(target: IndexTarget, history: History) -> Callable[[str], str | None]:
    """build key -> the file name the index holds for it, or None.

    A directory index is asked directly (manifests beside its wheels carry the key). A remote
    index only lists files, so the history's record of what was published there under the key is
    checked against the index's own listing: a wheel deleted from the index is built again.
    """

    def lookup(key: str) -> str | None:
        if target.kind == "local":
            found = LocalIndex(Path(target.location)).find_build_key(key)
            return found.filename if found else None
        record = history.published(key, target.display)
        if record is None:
            return None
        wheel, sha256 = record
        listed = index_files(target, str(parse_wheel_filename(wheel)[0]), env=os.environ)
        return wheel if wheel in listed and listed[wheel] in ("", sha256) else None

    return lookup


def publish_and_verify(wheel: Path, build_key: str, target: IndexTarget, history: History, *, verify: bool,
                       settings: Settings, verbose: bool = False) -> dict[str, object]:
    """Publish a tested wheel, record it under its key, then install it back from the index."""
    from tfwheelbuild.indexverify import verify_from_index
    from tfwheelbuild.publish import publish, verify_published

    result = publish([wheel], target)[0]
    history.record_published(build_key, target.display, wheel.name, result.sha256)
    out: dict[str, object] = {"status": result.status, "index": result.index, "simple_url": result.simple_url}
    if verify:
        out["verified"] = verify_published(result, target, lambda: verify_from_index(
            wheel, target, base_image=settings["base-image"], mirror=settings["mirror"],
            index_url=settings["index-url"], work_dir=settings["work-dir"], verbose=verbose))
    return out
