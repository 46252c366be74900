"""The resolved settings as the pipeline's options (the build service, service.py, does the rest)."""

from __future__ import annotations

import os

from tfwheelbuild.core.config import Settings
from tfwheelbuild.core.options import BY_FIELD
from tfwheelbuild.plan import BuildOptions


def build_options(tf_version: str, python: str, settings: Settings, *, nightly_date: str = "") -> BuildOptions:
    """The resolved settings as the pipeline's options (host facts filled in: mirror, CA, proxy)."""
    from tfwheelbuild.artifacts.deps import check_mirror_url
    from tfwheelbuild.engine.bootstrap import host_mirror
    from tfwheelbuild.engine.preflight import host_bazel_env, host_proxy_env
    from tfwheelbuild.plan import check_project_name, parse_memory, parse_size, parse_source_date_epoch
    from tfwheelbuild.util.hostpaths import default_work_root, host_ca

    # Bad values fail here, before the engine is asked (make_plan, which uses them, runs after it answers).
    check_project_name(settings["project-name"])  # tensorflow-metal, tensorflow-macos, invalid names
    parse_memory(settings["memory"])
    parse_size(settings["max-wheel-size"])
    source_date_epoch = parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", ""))
    declared = {field: settings[opt.name] for field, opt in BY_FIELD.items()}
    # What the host adds: its fallbacks for unset values, and facts the user does not set.
    host = dict(work_root=settings["work-dir"] or default_work_root(), mirror=settings["mirror"] or host_mirror(),
                ca_bundle=host_ca(), proxy_env=host_proxy_env(), bazel_env=host_bazel_env(),
                nightly_date=nightly_date, source_date_epoch=source_date_epoch,
                bazel_mirror=check_mirror_url(settings["bazel-mirror"]) if settings["bazel-mirror"] else "",
                deps=settings["deps"].resolve() if settings["deps"] else None)
    return BuildOptions(tf_version=tf_version, python=python, **{**declared, **host})

