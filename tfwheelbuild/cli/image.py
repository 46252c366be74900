"""`tfwheelbuild image`: from a tested wheel to a ready-to-run arm64 image, pushed when asked."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tfwheelbuild.cli.edge import (
    VERBOSE_HELP,
    checked,
    declared_option,
    docker_host_option,
    handle_errors,
)
from tfwheelbuild.core import validate
from tfwheelbuild.userimage.job import check_request, make_image

REGISTRY_AUTH_HELP = ("Registry credentials: a JSON file shaped like ~/.docker/config.json (`auths`) "
                      "[default: the engine's own config.json and its credential helpers].")


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
@declared_option("installer", help="Installer for the image's venv: auto (uv where it can be had, else pip) or pip.")
@declared_option("index-url", help="Package index for the wheel's dependencies [default: the installer's].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@docker_host_option
@handle_errors
def image(wheels: tuple[Path, ...], tag: str, push: bool, registry_auth: Path | None, python: str, base_image: str,
          mirror: str, work_dir: Path | None, installer: str, index_url: str, as_json: bool, verbose: bool) -> None:
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
    summary = make_image(request, base_image=base_image, mirror=mirror, work_dir=work_dir, verbose=verbose,
                         installer=installer, index_url=index_url)
    if as_json:
        click.echo(json.dumps(summary))
        return
    from tfwheelbuild.runs.report import human_size

    click.echo(f"built {summary['tag']} ({human_size(int(summary['size']))}, {summary['seconds']} s) on "
               f"{summary['runtime']}")
    if summary.get("digest") is not None:
        click.echo(f"pushed {summary['tag']}" + (f" ({summary['digest']})" if summary["digest"] else ""))
    click.echo(f"run it: docker run --rm {summary['tag']}")
