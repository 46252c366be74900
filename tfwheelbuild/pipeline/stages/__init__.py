"""The stages of a build, one module each; `pipeline.STAGES` lists them in order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tfwheelbuild.pipeline.context import BuildContext


class Stage(Protocol):
    """What every stage module is (PEP 544: a module satisfies a protocol through its globals): a name for
    the terminal, the log and the manifest's durations, and a run that returns the facts it recorded."""

    NAME: str

    def run(self, ctx: BuildContext) -> dict[str, object]: ...
