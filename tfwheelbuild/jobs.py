"""The resolved settings as the pipeline's options (the build service, service.py, does the rest)."""

from __future__ import annotations

import os

from tfwheelbuild.config import Settings
from tfwheelbuild.plan import BuildOptions


def build_options(tf_version: str, python: str, settings: Settings, *, nightly_date: str = "") -> BuildOptions:
    """The resolved settings as the pipeline's options (host facts filled in: mirror, CA, proxy)."""
    from tfwheelbuild.bootstrap import host_mirror
    from tfwheelbuild.deps import check_mirror_url
    from tfwheelbuild.plan import check_project_name, parse_memory, parse_size, parse_source_date_epoch
    from tfwheelbuild.preflight import host_bazel_env, host_proxy_env
    from tfwheelbuild.session import default_work_root, host_ca

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
