"""Bazel remote cache and remote execution settings: pure, validated before any container starts.

Flags without secrets go on Bazel's command line (and into the manifest); credentials (a URL's
userinfo, a header file) reach Bazel only through the build container's .bazelrc.user.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tfwheelbuild.errors import UsageError
from tfwheelbuild.util.redact import redact

__all__ = ["LOOPBACK_HOSTS", "REMOTE_SCHEMES", "RemoteOptions", "RemotePlan", "redact", "remote_flags", "remote_plan"]


class RemoteOptions(Protocol):
    """The options remote_plan reads (plan's BuildOptions has them): so imports go plan -> remote only."""

    @property
    def remote_cache(self) -> str: ...
    @property
    def remote_cache_readonly(self) -> bool: ...
    @property
    def remote_cache_required(self) -> bool: ...
    @property
    def remote_header_file(self) -> Path | None: ...
    @property
    def remote_executor(self) -> str: ...
    @property
    def remote_instance_name(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class RemotePlan:
    """Bazel remote cache/executor. Flags without secrets go on the command line; credentials (URL
    userinfo, header file) reach Bazel through the checkout's .bazelrc.user, written in the container."""

    url: str = ""  # credentials removed
    executor: str = ""
    instance_name: str = ""
    readonly: bool = False
    required: bool = False
    secret_url: str = ""  # the URL with its userinfo, only when it has one
    header_file: Path | None = None
    loopback: bool = False  # the cache/executor is on the engine host's loopback: host networking

    @property
    def enabled(self) -> bool:
        return bool(self.url or self.executor)


REMOTE_SCHEMES = ("http", "https", "grpc", "grpcs")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def remote_plan(opts: RemoteOptions) -> RemotePlan:
    """Validated remote settings: a malformed URL fails here, before any container starts."""
    def check(url: str, what: str, schemes: tuple[str, ...]) -> urllib.parse.SplitResult:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in schemes or not parts.hostname:
            raise UsageError(f"{what} {redact(url)!r} is not a {'/'.join(schemes)} URL with a host",
                             remedy=f"e.g. {what} http://cache.internal:8080 or grpc://127.0.0.1:50051")
        return parts

    if not opts.remote_cache and not opts.remote_executor:
        if opts.remote_cache_readonly or opts.remote_cache_required or opts.remote_header_file:
            raise UsageError("remote cache options given without --remote-cache")
        return RemotePlan()
    hosts = []
    secret = ""
    url = ""
    if opts.remote_cache:
        parts = check(opts.remote_cache, "--remote-cache", REMOTE_SCHEMES)
        hosts.append(parts.hostname)
        url = redact(opts.remote_cache)
        secret = opts.remote_cache if url != opts.remote_cache else ""
    if opts.remote_executor:
        hosts.append(check(opts.remote_executor, "--remote-executor", ("grpc", "grpcs")).hostname)
    if opts.remote_header_file is not None and not opts.remote_header_file.is_file():
        what = "is a directory, not a file" if opts.remote_header_file.is_dir() else "does not exist"
        raise UsageError(f"--remote-header-file {opts.remote_header_file} {what}",
                         remedy="give a file of `Name: value` lines, e.g. `Authorization: Bearer …`")
    return RemotePlan(url=url, executor=opts.remote_executor, instance_name=opts.remote_instance_name,
                      readonly=opts.remote_cache_readonly, required=opts.remote_cache_required, secret_url=secret,
                      header_file=opts.remote_header_file, loopback=any(h in LOOPBACK_HOSTS for h in hosts))


def remote_flags(remote: RemotePlan) -> list[str]:
    """The command-line half of the remote settings: nothing secret."""
    flags = []
    if remote.url and not remote.secret_url:
        flags.append(f"--remote_cache={remote.url}")
    if remote.executor:
        flags.append(f"--remote_executor={remote.executor}")
    if remote.instance_name:
        flags.append(f"--remote_instance_name={remote.instance_name}")
    if remote.readonly:
        flags.append("--remote_upload_local_results=false")
    return flags

