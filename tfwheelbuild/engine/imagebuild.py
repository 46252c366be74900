"""The base, builder and runtime images: each built once and reused by content hash.

A library for the images stage, preflight, sessions and the image commands alike.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from tfwheelbuild.engine.bootstrap import base_tag, bootstrap_base
from tfwheelbuild.engine.client import Engine
from tfwheelbuild.errors import ImageError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.plan import BasePlan, ImageRecipe, python_route
from tfwheelbuild.util import resources


def ensure_base(engine: Engine, log: BuildLog, base: BasePlan, python: str) -> tuple[str, str]:
    """The base image's (ref, id): local, else pulled, else (the default only) bootstrapped."""
    image_id = engine.image_id(base.image)
    ref = base.image
    if image_id is None:
        fallback = base_tag(base.bootstrap_suite, base.arch) if base.bootstrap_suite and not base.user_chosen else ""
        fallback_id = engine.image_id(fallback) if fallback else None
        # With the fallback already here, a failed pull is the usual case (no registry answered before
        # either): one line for it, the attempt only in the log; the default is still pulled when a
        # registry answers.
        (log.line if fallback_id else log.say)(f"pulling {base.image} (linux/{base.arch})")
        try:
            image_id = engine.pull(base.image, platform=f"linux/{base.arch}")
            if fallback_id:
                log.say(f"base: pulled {base.image} (a registry answers now; it is used instead of {fallback})")
        except ImageError as exc:
            if base.user_chosen:
                raise
            if not base.bootstrap_suite:
                raise ImageError(
                    f"{exc.message}; and no Debian suite ships Python {python} to fall back on",
                    remedy=python_route(python)) from exc
            ref = fallback
            if fallback_id:
                log.line(exc.message)
                log.say(f"base: {ref} ({base.image} cannot be pulled here; --base-image chooses)")
                image_id = fallback_id
            else:
                log.say(f"cannot pull {base.image}: falling back to the {base.arch} Debian "
                        f"{base.bootstrap_suite} base {ref} (pass --base-image to choose)")
                image_id = bootstrap_base(engine, base.bootstrap_suite, base.mirror, log, arch=base.arch)
    arch = engine.image_arch(ref)
    if arch != base.arch:
        raise ImageError(f"base image {ref} is built for {arch}, not {base.arch}",
                         remedy=f"pass --base-image with a linux/{base.arch} image")
    return ref, image_id


def lookup_builder_id(engine: Engine, base: BasePlan, builder: ImageRecipe, ca_bundle: Path | None) -> str | None:
    """The builder image id this plan would use, if it exists: local lookups only, no pulls, no builds."""
    ref = base.image
    base_id = engine.image_id(ref)
    if base_id is None and not base.user_chosen and base.bootstrap_suite:
        ref = base_tag(base.bootstrap_suite, base.arch)
        base_id = engine.image_id(ref)
    if base_id is None:
        return None
    return engine.image_id(content_tag(builder, render(builder, ref, base_id, ca_bundle)))


def render(recipe: ImageRecipe, base_ref: str, base_id: str, ca_bundle: Path | None) -> dict[str, bytes]:
    """The build context of an image: its Dockerfile and the files it copies. Pure."""
    text = resources.buildenv(recipe.template).read_text()
    values = dict(recipe.values)
    values["BASE_IMAGE"] = base_ref
    if recipe.role.startswith("builder"):
        # A recipe that names no clang major builds with GCC, as every builder did before CLANG existed.
        values.setdefault("CLANG", "")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    # The base's id (not just its name) is part of the hash: a moved base tag means a new builder.
    text += f"LABEL org.tfwheelbuild.base-id={base_id}\n"
    files = {"Dockerfile": text.encode()}
    if recipe.role.startswith("builder"):  # builder and builder-cross copy the launcher and CA
        files["bazelisk.py"] = resources.bazelisk_source()
        if recipe.template == "builder-on.Dockerfile":
            files["toolchain_probe.py"] = resources.buildenv("toolchain_probe.py").read_bytes()
        else:  # the builders that install Debian's Bazel mend its server jar (see the script)
            files["bazel_server_classpath.py"] = resources.buildenv("bazel_server_classpath.py").read_bytes()
        files["ca-bundle.pem"] = ca_bundle.read_bytes() if ca_bundle and ca_bundle.is_file() else b""
    return files


def content_tag(recipe: ImageRecipe, files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    python = dict(recipe.values).get("PY", "")
    return f"tfwheelbuild/{recipe.role}:py{python}-{digest.hexdigest()[:16]}"


def ensure_image(engine: Engine, log: BuildLog, recipe: ImageRecipe, base_ref: str, base_id: str,
                 ca_bundle: Path | None) -> tuple[str, str]:
    files = render(recipe, base_ref, base_id, ca_bundle)
    tag = content_tag(recipe, files)
    existing = engine.image_id(tag)
    if existing:
        log.say(f"{recipe.role} image {tag} is up to date (reused)")
        return tag, existing
    log.say(f"building {recipe.role} image {tag} (minutes under emulation; built once)")
    start = log.mark()
    with tempfile.TemporaryDirectory(prefix=f"tfwb-{recipe.role}-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        try:
            image_id = engine.build_image(Path(tmp), tag, sink=log.line, platform=recipe.platform,
                                          labels={"org.tfwheelbuild.role": recipe.role})
        except ImageError as exc:
            raise _explain(exc, log.since(start), base_ref) from exc
    return tag, image_id


def _explain(exc: ImageError, output: list[str], base_ref: str) -> ImageError:
    """Name the usual cause of a failed image build: a package the base's distribution lacks, or
    (clang releases) no clang near the wanted major, or no Debian bullseye for the sysroot."""
    for line in output:
        # (the daemon colours a step's stderr: the match starts after the escape sequence)
        toolchain = re.search(r"error: ((?:the base's apt offers no clang|the sysroot needs Debian bullseye)[^\x1b]*)",
                              line)
        given = re.search(r"error: (the builder image has no (?:clang|python)[^\x1b]*)", line)
        if given:
            return ImageError(f"layering the tool's helpers on {base_ref} failed: {given[1].strip()}",
                              remedy="give a --builder-image of the release's shape (upstream's ml-build-arm64 for "
                                     "that release has its clang and Pythons), or drop --builder-image")
        if toolchain:
            return ImageError(f"building the builder on {base_ref} failed: {toolchain[1].strip()}",
                              remedy="build on a Debian base (the default bookworm, or --base-image with a Debian "
                                     "image whose apt mirror also serves bullseye)")
        match = re.search(r"Unable to locate package (\S+)|Package '?(\S+?)'? has no installation candidate", line)
        if match:
            package = match[1] or match[2]
            return ImageError(f"the base image {base_ref} has no package {package}",
                              remedy="choose a --base-image whose distribution ships that Python "
                                     "(Debian: bullseye 3.9, bookworm 3.11, trixie 3.13; Ubuntu + deadsnakes)")
    return exc
