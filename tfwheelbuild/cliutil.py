"""What every command shares at the click edge: the error edge, --docker-host, the option set and cascade."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from tfwheelbuild.enginesession import name_engine
from tfwheelbuild.errors import TfwbError, UsageError
from tfwheelbuild.interrupts import signals_raise_interrupted
from tfwheelbuild.redact import redact

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
    from tfwheelbuild.engine import check_engine_address

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


WORK_DIR_HELP = "Logs and staging [default: ~/.cache/tfwheelbuild]."
VERBOSE_HELP = "Stream all container output, not just the stage lines."

# Options every building command shares. Defaults are None (not given), so the config cascade can tell
# a flag the user typed from a default: command line > TFWHEELBUILD_* > config file > defaults.
_SETTINGS_OPTIONS = (
    click.option("--config", "config_path", type=click.Path(path_type=Path),
                 help="Config file [default: ./tfwheelbuild.toml, or [tool.tfwheelbuild] in ./pyproject.toml]."),
    click.option("--source", help="Git URL, local path or file:// URL of the TensorFlow source "
                 "[default: https://github.com/tensorflow/tensorflow.git]."),
    click.option("--ref", help="Git ref to build instead of tag v<tf>."),
    click.option("--output", "-o", type=click.Path(path_type=Path), help="Output directory [default: dist]."),
    click.option("--base-image", help="arm64 base image [default: ubuntu:22.04, falling back to a "
                 "debootstrapped Debian base when no registry answers]."),
    click.option("--builder-image", help="arm64 build image in upstream's shape (ml-build-arm64 or your copy), "
                 "pinned: NAME@sha256:... or a local image id; only the tool's helpers are layered on it."),
    click.option("--mirror", help="apt mirror for the debootstrap fallback [default: the host's]."),
    click.option("--configure", multiple=True, metavar="KEY=VALUE",
                 help="Answer for configure.py (repeatable), e.g. TF_NEED_CLANG=1."),
    click.option("--patches", multiple=True, type=click.Path(path_type=Path),
                 help="Extra patch series dir (repeatable), applied after the tool's own."),
    click.option("--no-default-patches", is_flag=True, default=None, help="Skip the tool's patches/<minor>/series."),
    click.option("--jobs", type=click.IntRange(min=1), help="Bazel --jobs [default: from engine CPUs/RAM]."),
    click.option("--ram-mb", type=click.IntRange(min=512), help="Bazel --local_ram_resources in MB."),
    click.option("--memory", help="Memory limit of the build container, e.g. 6g [default: none]."),
    click.option("--plat", help="Demand this manylinux policy, e.g. manylinux2014_aarch64; auto: auditwheel's "
                 "choice [default: the release's policy, or the builder sysroot's floor]."),
    click.option("--exclude", multiple=True, help="Library auditwheel must not graft (repeatable)."),
    click.option("--project-name", help="Distribution name, e.g. tensorflow-aarch64-internal."),
    click.option("--build-tag", help="Wheel build tag, e.g. 1."),
    click.option("--index", help="Publish target: upload URL, ~/.pypirc name or directory "
                 "[default: the local index under the user's data dir]."),
    click.option("--index-url", help="Package index for test dependencies [default: pip's]."),
    click.option("--test-command", help="Extra command run in the test venv."),
    click.option("--bazel-arg", "bazel_args", multiple=True, help="Extra bazel build argument (repeatable)."),
    click.option("--work-dir", type=click.Path(path_type=Path), help=WORK_DIR_HELP),
    click.option("--remote-cache", help="Bazel remote cache URL: http(s)://… or grpc(s)://… (credentials in the "
                 "URL stay out of logs and Bazel's command line; give such a URL through TFWHEELBUILD_REMOTE_CACHE, "
                 "since any user can read this process's argv)."),
    click.option("--remote-cache-readonly", is_flag=True, default=None, help="Read the remote cache, never write."),
    click.option("--remote-cache-required", is_flag=True, default=None,
                 help="Fail when the remote cache does not answer [default: warn, build locally]."),
    click.option("--remote-header-file", type=click.Path(path_type=Path),
                 help="File of `Name: value` headers for the remote cache/executor (e.g. Authorization)."),
    click.option("--remote-executor", help="Bazel remote execution endpoint, grpc(s)://…"),
    click.option("--remote-instance-name", help="REAPI instance name."),
    click.option("--cache-namespace", help="Prefix for this build's own cache volumes [default: shared]."),
    click.option("--mode", type=click.Choice(["auto", "emulated", "cross"]),
                 help="cross: compile natively with an aarch64 cross toolchain (2.16+); emulated: the arm64 "
                 "builder under qemu; auto: native on arm64 engines, cross on x86_64 ones where the release has a "
                 "cross config, else emulated [default: auto]."),
    click.option("--docker-host", help="Engine to build on: ssh://user@arm64-box, tcp://… [default: DOCKER_HOST]."),
    click.option("--allow-4k-pages", is_flag=True, default=None,
                 help="Accept ELF files that load only on 4 KiB-page kernels [default: refused at repair]."),
    click.option("--max-wheel-size", help="Refuse a repaired wheel over this size, e.g. 240M; 0: no limit "
                 "[default: 240M, upstream's arm64 limit]."),
    click.option("--bazel-mirror", help="Rewrite every Bazel download to this mirror (MIRROR/<host>/<path>); "
                 "credentials from ~/.netrc only."),
    click.option("--deps", type=click.Path(path_type=Path),
                 help="Deps bundle from `tfwheelbuild fetch`: build offline, the network off for the whole compile."),
)
_SETTING_KEYS = ("source", "ref", "output", "base_image", "builder_image",
                 "mirror", "configure", "patches", "jobs", "ram_mb", "memory",
                 "plat", "exclude", "project_name", "build_tag", "index", "index_url", "test_command", "bazel_args",
                 "work_dir", "remote_cache", "remote_cache_readonly", "remote_cache_required", "remote_header_file",
                 "remote_executor", "remote_instance_name", "cache_namespace", "docker_host", "mode",
                 "allow_4k_pages", "max_wheel_size", "bazel_mirror", "deps")


def settings_options(func: F) -> F:
    for option in reversed(_SETTINGS_OPTIONS):
        func = option(func)
    return func


def resolve_settings(kw: dict[str, Any], **more: Any) -> tuple[Any, Any]:
    """(Settings, ConfigFile or None) from the shared options in `kw`, the environment and the config file."""
    from tfwheelbuild.config import find_config, load_config, resolve

    path = find_config(Path.cwd(), kw.get("config_path"))
    config = load_config(path) if path else None
    cli = {key: kw.get(key) for key in _SETTING_KEYS}
    cli["default-patches"] = False if kw.get("no_default_patches") else None
    cli.update(more)
    settings = resolve(cli, dict(os.environ), config)
    use_docker_host(settings["docker-host"])
    return settings, config
