"""Command line: the `tfwheelbuild` group and, in one list, every command module it registers.

Each command module declares plain click commands and imports no other command module; the error edge
and the options several commands share are in cli/edge.py, the build work in service.py.
"""

from __future__ import annotations

import click

from tfwheelbuild import __version__
from tfwheelbuild.cli import base as cli_base
from tfwheelbuild.cli import build as cli_build
from tfwheelbuild.cli import fetch as cli_fetch
from tfwheelbuild.cli import image as cli_image
from tfwheelbuild.cli import ops as cli_ops
from tfwheelbuild.cli import prune as cli_prune
from tfwheelbuild.cli import publish as cli_publish
from tfwheelbuild.cli import schema as cli_schema
from tfwheelbuild.cli.edge import CommandGroup


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tfwheelbuild")
def main() -> None:
    """Build TensorFlow wheels for Linux arm64 (aarch64) from source, in Docker.

    \b
    Example:
      tfwheelbuild build --tf 2.16.1 --py 3.11
    """


COMMANDS: tuple[click.Command, ...] = (
    cli_build.build,
    cli_base.test, cli_base.base, cli_base.versions, cli_base.repair,
    cli_publish.publish, cli_publish.nightly, cli_publish.matrix, cli_publish.history,
    cli_ops.doctor, cli_ops.shell, cli_ops.diff,
    cli_prune.images, cli_prune.cache, cli_prune.clean,
    cli_fetch.fetch,
    cli_image.image,
    cli_schema.schema,
)
for _command in COMMANDS:
    main.add_command(_command)
