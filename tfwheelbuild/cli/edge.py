"""What every command shares at the click edge: the error edge, --docker-host, the option set and cascade."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from tfwheelbuild.core.options import BY_NAME, OPTIONS, OptionDef
from tfwheelbuild.engine.session import name_engine
from tfwheelbuild.errors import TfwbError, UsageError
from tfwheelbuild.util.interrupts import signals_raise_interrupted
from tfwheelbuild.util.redact import redact

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """The one place errors are caught: message, remedy, log path, exit code; no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with signals_raise_interrupted():
                return func(*args, **kwargs)
        except TfwbError as exc:
            if isinstance(exc, UsageError) and "COMMAND" in exc.remedy:
                # The generic remedy names no command; here the one that was run is known.
                context = click.get_current_context(silent=True)
                if context is not None:
                    exc.remedy = exc.remedy.replace("tfwheelbuild COMMAND", context.command_path)
            report_error(name_engine(exc))
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def use_docker_host(host: str | None) -> None:
    """Every engine connection (the SDK's from_env) then goes to `host`, as with the docker CLI; so do the
    docker commands this process runs."""
    if host:
        os.environ["DOCKER_HOST"] = host


def _docker_host(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    from tfwheelbuild.engine.client import check_engine_address

    if value:
        try:
            check_engine_address(value)
        except UsageError as exc:  # click's own error for a bad value: exit 2, named --docker-host
            raise click.BadParameter(f"{exc.message}: give unix://…, tcp://HOST:PORT or ssh://USER@HOST") from None
    use_docker_host(value)


# For the commands outside the build settings (doctor, images, cache, clean, shell).
docker_host_option = click.option(
    "--docker-host", expose_value=False, callback=_docker_host,
    help="Engine to use: ssh://user@arm64-box, tcp://…, unix://… [default: DOCKER_HOST].")


def report_error(exc: TfwbError) -> None:
    """One `error:` line, then the fix, the log and the log's first error block, on stderr.

    Every line is redacted: a message may quote a URL the user gave, or git's or pip's output about it."""
    click.echo(f"error: {redact(exc.message)}", err=True)
    if exc.remedy:
        click.echo(f"  fix: {redact(exc.remedy)}", err=True)
    if exc.log_path:
        click.echo(f"  log: {exc.log_path}", err=True)
    if exc.details:
        click.echo("---- first error in the log ----", err=True)
        for line in exc.details:
            click.echo(f"  {redact(line)}", err=True)


def checked(check: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback running one of validate.py's checks on an option (each value of a multiple one):
    a value Docker would refuse, or misread, fails as a usage error before anything is done."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is None or value == "":
            return value
        values = value if isinstance(value, tuple) else (value,)
        out = []
        for item in values:
            try:
                out.append(check(item))
            except ValueError as exc:
                raise click.BadParameter(f"{item!r}: {exc}") from None
        return tuple(out) if isinstance(value, tuple) else out[0]

    return callback


class _ClickUsage(click.ClickException):
    """click's own parsing error (bad option value, missing option, unknown command) shown as ours."""

    exit_code = UsageError.exit_code

    def __init__(self, error: UsageError) -> None:
        super().__init__(error.message)
        self.error = error

    def show(self, file: Any = None) -> None:
        report_error(self.error)


def _as_usage_error(exc: click.ClickException, where: str) -> click.ClickException:
    if isinstance(exc, _ClickUsage) or not isinstance(exc, click.UsageError):
        return exc
    path = exc.ctx.command_path if exc.ctx is not None else where
    return _ClickUsage(UsageError(exc.format_message(), remedy=f"see `{path} --help`"))


class CommandGroup(click.Group):
    """The top-level group: a command line click cannot parse fails like every other bad input,
    with one `error:` line, a `fix:` line and UsageError's exit code (not click's usage block)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise _as_usage_error(exc, info_name or "tfwheelbuild") from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            # Without a context of its own the error belongs to the subcommand being run, when one was named.
            raise _as_usage_error(exc, f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()) from None


WORK_DIR_HELP = BY_NAME["work-dir"].flag_text
VERBOSE_HELP = "Stream all container output, not just the stage lines."
CONFIG_HELP = "Config file [default: ./tfwheelbuild.toml, or [tool.tfwheelbuild] in ./pyproject.toml]."


def _click_type(opt: OptionDef) -> Any:  # click.ParamType or None (its type parameter varies by click release)
    if opt.choices:
        return click.Choice(list(opt.choices))
    if opt.kind == "int":
        return click.IntRange(min=opt.minimum)
    if opt.kind == "path" or opt.paths:
        return click.Path(path_type=Path)
    return None


def _negated(opt: OptionDef) -> bool:
    """A --no-X flag: given, it sets X to false."""
    return opt.flag.startswith("--no-")


def _param_name(opt: OptionDef) -> str:
    return opt.flag.removeprefix("--").replace("-", "_") if _negated(opt) else opt.name.replace("-", "_")


def _click_option(opt: OptionDef, **attrs: Any) -> Callable[[F], F]:
    names = [_param_name(opt), opt.flag, *([opt.short] if opt.short else [])]
    base: dict[str, Any] = {"help": opt.flag_text, "type": _click_type(opt), "metavar": opt.metavar}
    if opt.kind in ("list", "table"):
        base["multiple"] = True
    if opt.kind == "bool":
        base.update(is_flag=True, type=None)
    return click.option(*names, **{**base, **attrs})


def declared_option(name: str, **overrides: Any) -> Callable[[F], F]:
    """The flag of declared option `name` for a command that takes it outside the cascade (e.g. `repair
    --plat`): the declaration's flag, help, default and check; `overrides` are click.option's own keywords."""
    opt = BY_NAME[name]
    attrs: dict[str, Any] = {"default": False if _negated(opt) else opt.default}
    if opt.check is not None:
        attrs["callback"] = checked(opt.check)
    return _click_option(opt, **{**attrs, **overrides})


_SHARED = tuple(opt for opt in OPTIONS if opt.shared_flag)


def settings_options(func: F) -> F:
    """The flags every building command shares. Defaults are None (not given), so the config cascade can tell
    a flag the user typed from a default: command line > TFWHEELBUILD_* > config file > defaults. Values are
    checked in the cascade, as those from the other layers are."""
    for opt in reversed(_SHARED):
        # A flag's own default is False, which the cascade would take for a typed answer.
        func = (_click_option(opt, default=None) if opt.kind == "bool" else _click_option(opt))(func)
    return click.option("--config", "config_path", type=click.Path(path_type=Path), help=CONFIG_HELP)(func)


def resolve_settings(kw: dict[str, Any], **more: Any) -> tuple[Any, Any]:
    """(Settings, ConfigFile or None) from the shared options in `kw`, the environment and the config file."""
    from tfwheelbuild.core.config import find_config, load_config, resolve

    path = find_config(Path.cwd(), kw.get("config_path"))
    config = load_config(path) if path else None
    cli = {opt.name: (False if kw.get(_param_name(opt)) else None) if _negated(opt) else kw.get(_param_name(opt))
           for opt in _SHARED}
    cli.update(more)
    settings = resolve(cli, dict(os.environ), config)
    use_docker_host(settings["docker-host"])
    return settings, config
