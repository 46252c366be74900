"""`tfwheelbuild image`: from a tested wheel to a ready-to-run arm64 image, pushed when asked."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from tfwheelbuild import validate
from tfwheelbuild.cliutil import (
    VERBOSE_HELP,
    checked,
    declared_option,
    docker_host_option,
    handle_errors,
)

REGISTRY_AUTH_HELP = ("Registry credentials: a JSON file shaped like ~/.docker/config.json (`auths`) "
                      "[default: the engine's own config.json and its credential helpers].")


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
    from tfwheelbuild.image import check_push, image_python, parse_tag
    from tfwheelbuild.plan import parse_source_date_epoch
    from tfwheelbuild.wheelinfo import inspect_wheel

    ref = parse_tag(tag)
    infos = [inspect_wheel(w) for w in wheels]
    chosen = image_python(infos, python)
    epoch = parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", ""))
    creds = check_push(ref, registry_auth) if push else None
    return ImageRequest(wheels=infos, ref=ref, python=chosen, push=push, creds=creds, epoch=epoch)


def make_image(request: ImageRequest, *, base_image: str, mirror: str, work_dir: Path | None,
               verbose: bool) -> dict[str, Any]:
    """Runtime image (content-hashed, shared with `test`), the user's image on it, then the push."""
    from tfwheelbuild.arm64image import arm64_image
    from tfwheelbuild.enginesession import engine_session
    from tfwheelbuild.hostpaths import host_ca
    from tfwheelbuild.image import build_user_image, oci_labels, push_user_image, wheel_manifest
    from tfwheelbuild.plan import runtime_recipe
    from tfwheelbuild.preflight import host_proxy_env

    main = request.wheels[0]
    with engine_session(work_dir, "images", main.name, verbose=verbose) as (engine, log):
        runtime = arm64_image(engine, log, runtime_recipe(request.python), base_image=base_image, mirror=mirror,
                              python=request.python)
        labels = oci_labels(main, wheel_manifest(main.path), epoch=request.epoch, base=runtime)
        result = build_user_image(engine, log, runtime=runtime, python=request.python, wheels=request.wheels,
                                  ref=request.ref, labels=labels, build_args=dict(host_proxy_env()),
                                  ca_bundle=host_ca())
        summary: dict[str, Any] = {"status": "built", "tag": result.tag, "id": result.image_id, "size": result.size,
                                   "seconds": result.seconds, "runtime": runtime, "labels": result.labels,
                                   "log": str(log.path)}
        if request.push:
            summary["digest"] = push_user_image(engine, log, request.ref, request.creds)
            summary["status"] = "pushed"
    return summary


@click.command()
@click.argument("wheels", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tag", "-t", required=True, help="Image reference REGISTRY/NAME:TAG, e.g. "
              "registry.internal:5000/ml/tensorflow:2.16.1-py3.11.")
@click.option("--push", is_flag=True, help="Push the image after building it (the registry is checked first).")
@click.option("--registry-auth", type=click.Path(path_type=Path), help=REGISTRY_AUTH_HELP)
@click.option("--py", "python", default="", callback=checked(validate.python),
              help="The image's Python [default: from the first wheel's tag].")
@declared_option("base-image", help="arm64 base image for the runtime image.")
@declared_option("mirror")
@declared_option("work-dir")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@docker_host_option
@handle_errors
def image(wheels: tuple[Path, ...], tag: str, push: bool, registry_auth: Path | None, python: str, base_image: str,
          mirror: str, work_dir: Path | None, as_json: bool, verbose: bool) -> None:
    """Build an arm64 image with the wheel(s) installed in a venv; `docker run` it to see TensorFlow work.

    The image stands on the clean runtime image `test` uses, runs as a non-root user, and its
    default command imports TensorFlow and prints its version and a small computation. Labels
    name the wheel's source, commit, build key and sha256 (from the manifest beside it).

    \b
    Examples:
      tfwheelbuild image dist/tensorflow-2.16.1-cp311-*.whl --tag registry.internal/ml/tensorflow:2.16.1
      tfwheelbuild image dist/tensorflow-*.whl --tag 127.0.0.1:5000/tf:2.16.1 --push
    """
    request = check_request(list(wheels), tag, python=python, push=push, registry_auth=registry_auth)
    summary = make_image(request, base_image=base_image, mirror=mirror, work_dir=work_dir, verbose=verbose)
    if as_json:
        click.echo(json.dumps(summary))
        return
    from tfwheelbuild.report import human_size

    click.echo(f"built {summary['tag']} ({human_size(int(summary['size']))}, {summary['seconds']} s) on "
               f"{summary['runtime']}")
    if summary.get("digest") is not None:
        click.echo(f"pushed {summary['tag']}" + (f" ({summary['digest']})" if summary["digest"] else ""))
    click.echo(f"run it: docker run --rm {summary['tag']}")


def check_build_image(tag: str, *, python: str, push: bool, registry_auth: Path | None) -> ImageRequest | None:
    """`build --image`: the tag and the registry checked before hours of compiling (the wheel comes later)."""
    if not tag:
        if push or registry_auth:
            from tfwheelbuild.errors import UsageError

            raise UsageError("--push-image and --registry-auth need --image TAG")
        return None
    from tfwheelbuild.image import check_push, parse_tag
    from tfwheelbuild.plan import parse_source_date_epoch

    ref = parse_tag(tag)
    creds = check_push(ref, registry_auth) if push else None
    return ImageRequest(wheels=[], ref=ref, python=python, push=push, creds=creds,
                        epoch=parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH", "")))


def image_after_build(request: ImageRequest, wheel: Path, *, base_image: str, mirror: str, work_dir: Path | None,
                      verbose: bool) -> dict[str, Any]:
    from dataclasses import replace

    from tfwheelbuild.image import image_python
    from tfwheelbuild.wheelinfo import inspect_wheel

    info = inspect_wheel(wheel)
    image_python([info], request.python)
    return make_image(replace(request, wheels=[info]), base_image=base_image, mirror=mirror, work_dir=work_dir,
                      verbose=verbose)
