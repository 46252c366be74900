"""`tfwheelbuild schema`: the config file's JSON schema, for editors (taplo, Even Better TOML, VS Code)."""

from __future__ import annotations

import click

from tfwheelbuild.cli.edge import handle_errors
from tfwheelbuild.core.option_docs import schema_json


@click.command()
@handle_errors
def schema() -> None:
    """Print the JSON schema of tfwheelbuild.toml (and of pyproject's [tool.tfwheelbuild]).

    \b
    Examples:
      tfwheelbuild schema > tfwheelbuild.schema.json
      # first line of tfwheelbuild.toml, for taplo / Even Better TOML:
      #:schema ./tfwheelbuild.schema.json
    """
    click.echo(schema_json(), nl=False)
