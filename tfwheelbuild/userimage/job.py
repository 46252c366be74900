"""The image job: a checked request (tag, Python, registry and credentials) and the image made from it.

`tfwheelbuild image` and `build --image` both go through here; every bad input is refused in the checks,
before an engine is asked for anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ImageRequest:
    """Everything `image` needs, checked: the wheels, the tag, the Python, and for a push the credentials."""

    wheels: list[Any]  # WheelInfo, the TensorFlow wheel first
    ref: Any  # ImageRef
    python: str
    push: bool
    creds: dict[str, str] | None
    epoch: str


def check_request(wheels: list[Path], tag: str, *, python: str, push: bool, registry_auth: Path | None) -> ImageRequest:
    """Every bad input refused here, before an engine is asked for anything."""
    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
    from tfwheelbuild.plan import parse_source_date_epoch
    from tfwheelbuild.userimage.image import image_python, parse_tag
    from tfwheelbuild.userimage.registry import check_push

    ref = parse_tag(tag)
    infos = [inspect_wheel(w) for w in wheels]
    chosen = image_python(infos, python)
    epoch = parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", ""))
    creds = check_push(ref, registry_auth) if push else None
    return ImageRequest(wheels=infos, ref=ref, python=chosen, push=push, creds=creds, epoch=epoch)


def make_image(request: ImageRequest, *, base_image: str, mirror: str, work_dir: Path | None,
               verbose: bool, installer: str = "auto", index_url: str = "") -> dict[str, Any]:
    """Runtime image (content-hashed, shared with `test`), the user's image on it, then the push."""
    from tfwheelbuild.engine import installer as installers
    from tfwheelbuild.engine.arm64 import arm64_image
    from tfwheelbuild.engine.preflight import host_proxy_env
    from tfwheelbuild.engine.session import engine_session
    from tfwheelbuild.plan import runtime_recipe
    from tfwheelbuild.userimage.image import build_user_image, oci_labels, push_user_image, wheel_manifest
    from tfwheelbuild.util.hostpaths import host_ca

    main = request.wheels[0]
    with engine_session(work_dir, "images", main.name, verbose=verbose) as (engine, log):
        runtime = arm64_image(engine, log, runtime_recipe(request.python), base_image=base_image, mirror=mirror,
                              python=request.python)
        labels = oci_labels(main, wheel_manifest(main.path), epoch=request.epoch, base=runtime)
        chosen = installers.choose(installer)  # the user's tool cache, as `test`
        if chosen.note:
            log.say(chosen.note)
        build_args = {**dict(host_proxy_env()), **({"PIP_INDEX_URL": index_url} if index_url else {})}
        result = build_user_image(engine, log, runtime=runtime, python=request.python, wheels=request.wheels,
                                  ref=request.ref, labels=labels, build_args=build_args, ca_bundle=host_ca(),
                                  uv=chosen.uv)
        summary: dict[str, Any] = {"status": "built", "tag": result.tag, "id": result.image_id, "size": result.size,
                                   "seconds": result.seconds, "runtime": runtime, "labels": result.labels,
                                   "installer": chosen.name, "log": str(log.path)}
        if request.push:
            summary["digest"] = push_user_image(engine, log, request.ref, request.creds)
            summary["status"] = "pushed"
    return summary


def check_build_image(tag: str, *, python: str, push: bool, registry_auth: Path | None) -> ImageRequest | None:
    """`build --image`: the tag and the registry checked before hours of compiling (the wheel comes later)."""
    if not tag:
        if push or registry_auth:
            from tfwheelbuild.errors import UsageError

            raise UsageError("--push-image and --registry-auth need --image TAG")
        return None
    from tfwheelbuild.plan import parse_source_date_epoch
    from tfwheelbuild.userimage.image import parse_tag
    from tfwheelbuild.userimage.registry import check_push

    ref = parse_tag(tag)
    creds = check_push(ref, registry_auth) if push else None
    return ImageRequest(wheels=[], ref=ref, python=python, push=push, creds=creds,
                        epoch=parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", "")))


def image_after_build(request: ImageRequest, wheel: Path, *, base_image: str, mirror: str, work_dir: Path | None,
                      verbose: bool, installer: str = "auto", index_url: str = "") -> dict[str, Any]:
    from dataclasses import replace

    from tfwheelbuild.artifacts.wheelinfo import inspect_wheel
    from tfwheelbuild.userimage.image import image_python

    info = inspect_wheel(wheel)
    image_python([info], request.python)
    return make_image(replace(request, wheels=[info]), base_image=base_image, mirror=mirror, work_dir=work_dir,
                      verbose=verbose, installer=installer, index_url=index_url)
