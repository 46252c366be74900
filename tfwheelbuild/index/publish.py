"""Publishing wheels: twine to any upload index, or the embedded local directory index.

Credentials come only from where twine and pip look (TWINE_USERNAME/TWINE_PASSWORD, keyring,
~/.pypirc): never from our command line, where they would land in shell history and `ps`.
Before uploading, the index's own simple page is read: the same file already there is a no-op
(skip-existing), a different file under the same name is refused, so an index never holds two
different wheels under one name and nothing is overwritten.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name, parse_wheel_filename

from tfwheelbuild.artifacts.wheelinfo import WheelInfo, inspect_wheel
from tfwheelbuild.core.remote import LOOPBACK_HOSTS, redact
from tfwheelbuild.errors import CredentialsError, PublishError, RuntimeTestError, TfwbError, VersionConflictError
from tfwheelbuild.index.simple import LocalIndex
from tfwheelbuild.index.target import IndexTarget, _pypirc
from tfwheelbuild.util import httpget
from tfwheelbuild.util.digests import sha256_stream


@dataclass(frozen=True)
class PublishResult:
    wheel: str
    status: Literal["uploaded", "exists"]
    index: str
    simple_url: str
    sha256: str


def _credentials(target: IndexTarget, env: Mapping[str, str], pypirc: Path | None) -> tuple[str, str] | None:
    user, password = env.get("TWINE_USERNAME", ""), env.get("TWINE_PASSWORD", "")
    in_url = httpget.url_auth(target.location)
    if in_url and in_url[0] and not (user and password):
        user, password = in_url
    if target.repository and not (user and password):
        section = _pypirc(pypirc)[target.repository]
        user, password = user or section.get("username", ""), password or section.get("password", "")
    return (user, password) if user and password else None


def check_publishable(wheel: Path) -> WheelInfo:
    """Everything `inspect_wheel` checks (a real wheel, tags that match its WHEEL file, only AArch64
    code inside): WheelInputError before any upload, so no index ever lists a file that fails them."""
    return inspect_wheel(wheel, require_aarch64=True)


def publish(wheels: list[Path], target: IndexTarget, *, env: Mapping[str, str] | None = None,
            pypirc: Path | None = None) -> list[PublishResult]:
    """Publish each wheel; every wheel is checked before the first upload, so bad input uploads nothing."""
    env = dict(os.environ if env is None else env)
    infos = [(wheel, check_publishable(wheel)) for wheel in wheels]
    results: list[PublishResult] = []
    for wheel, info in infos:
        if target.kind == "local":
            manifest = wheel.with_name(wheel.name + ".manifest.json")
            added = LocalIndex(Path(target.location)).add(wheel, manifest if manifest.is_file() else None, info=info)
            status: Literal["uploaded", "exists"] = "exists" if added.status == "exists" else "uploaded"
        else:
            status = _publish_remote(wheel, info, target, env, pypirc)
        results.append(PublishResult(wheel.name, status, target.display, target.simple_url, info.sha256))
    return results


def verify_published(result: PublishResult, target: IndexTarget, verify: Callable[[], dict[str, object]], *,
                     env: Mapping[str, str] | None = None, pypirc: Path | None = None) -> dict[str, object]:
    """Run `verify` (install from the index, smoke test); a wheel that fails it does not stay listed.

    A directory index has the file withdrawn (wheel, checksum, manifest, pages) under its lock; a
    remote index cannot be asked to delete through the upload API, so the error names the file's
    URL there. Only a failed test counts: an engine or image failure says nothing about the wheel.
    """
    try:
        return verify()
    except RuntimeTestError as exc:
        head = f"{result.wheel} was published to {target.display} but does not install from it ({exc.message})"
        if target.kind == "local":
            gone = LocalIndex(Path(target.location)).withdraw(result.wheel, result.sha256)
            error = RuntimeTestError(
                head + ("; withdrawn: the index no longer lists it" if gone else
                        "; the index no longer holds these bytes under that name"),
                remedy="fix the wheel (the log shows what failed), then publish it again")
        else:
            url = _file_url(target, result, dict(os.environ if env is None else env), pypirc)
            error = RuntimeTestError(f"{head}; it is still listed: delete {url} on the index",
                                     remedy=f"delete {url} on the index (its web UI or API; uploads cannot delete), "
                                            "then publish the fixed wheel")
        error.log_path, error.details = exc.log_path, exc.details
        raise error from exc


def _file_url(target: IndexTarget, result: PublishResult, env: Mapping[str, str], pypirc: Path | None) -> str:
    """The file's address as the index's simple page links it (else the page, with the file name)."""
    project = str(parse_wheel_filename(result.wheel)[0])
    page = urllib.parse.urljoin(target.simple_url, canonicalize_name(project) + "/")
    with suppress(TfwbError):
        listed = _project_links(target, project, env, pypirc)
        if result.wheel in listed:
            return redact(listed[result.wheel][0])
    return f"{result.wheel} (listed on {redact(page)})"


def _publish_remote(wheel: Path, info: WheelInfo, target: IndexTarget, env: dict[str, str],
                    pypirc: Path | None) -> Literal["uploaded", "exists"]:
    listed = _project_links(target, info.name, env, pypirc)
    if wheel.name in listed:
        url, sha256 = listed[wheel.name]
        there = sha256 or _download_sha256(target, url, env, pypirc)
        if there == info.sha256:
            return "exists"
        raise VersionConflictError(f"{target.display} already has a different {wheel.name} "
                                   f"(sha256 {there[:12]}…, ours {info.sha256[:12]}…)")
    parts = urllib.parse.urlsplit(target.location)
    if parts.username and not target.repository:
        # Credentials written into the URL go to twine through its environment, not its argv (ps).
        env.setdefault("TWINE_USERNAME", urllib.parse.unquote(parts.username))
        env.setdefault("TWINE_PASSWORD", urllib.parse.unquote(parts.password or ""))
    cmd = [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar"]
    cmd += ["--repository", target.repository] if target.repository else ["--repository-url", target.display]
    if pypirc:
        cmd += ["--config-file", str(pypirc)]
    try:
        proc = subprocess.run([*cmd, str(wheel)], capture_output=True, text=True, env=twine_env(env), check=False,
                              timeout=3600)
    except subprocess.TimeoutExpired as exc:
        raise PublishError(f"upload of {wheel.name} to {target.display} did not finish within an hour") from exc
    if proc.returncode != 0:
        raise _twine_error(proc.stdout + proc.stderr, target, env)
    return "uploaded"


def _twine_error(output: str, target: IndexTarget, env: Mapping[str, str]) -> Exception:
    secret = env.get("TWINE_PASSWORD", "")
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if secret:
        lines = [ln.replace(secret, "***") for ln in lines]
    detail = next((ln for ln in reversed(lines) if "ERROR" in ln or "HTTPError" in ln), lines[-1] if lines else "")
    text = " ".join(lines)
    if re.search(r"\b(401|403)\b", text) or "Forbidden" in text or "Unauthorized" in text:
        return CredentialsError(f"{target.display} refused the credentials: {detail}")
    if re.search(r"\b409\b", text) or "already exists" in text:
        return VersionConflictError(f"{target.display} already has this file name: {detail}")
    if re.search(r"credentials? (were )?not found|no username", text, re.IGNORECASE):
        return CredentialsError(f"no credentials for {target.display}")
    return PublishError(f"upload to {target.display} failed: {detail}")


class _Links(HTMLParser):
    """File links of a PEP 503 project page: {file name: (absolute URL, sha256 or "")}.

    Not pypi-simple: for this one parse it would bring pydantic, beautifulsoup4 and requests, and fetch
    with requests, beside the one HTTP helper (util/httpget.py: proxy, CA, loopback) every other caller uses.
    """

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.links: dict[str, tuple[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            path, _, fragment = href.partition("#")
            name = urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])
            sha = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else ""
            self.links[name] = (urllib.parse.urljoin(self.page_url, path), sha)


def _open(url: str, auth: tuple[str, str] | None, timeout: float = 60, **headers: str) -> Any:
    # An index on loopback is never reached through the host's proxy.
    return httpget.open_request(httpget.request(url, auth=auth, headers=headers), timeout=timeout,
                                direct=httpget.is_loopback(url))


def twine_env(env: Mapping[str, str]) -> dict[str, str]:
    out = dict(env)
    for key in ("NO_PROXY", "no_proxy"):
        out[key] = ",".join(filter(None, [out.get(key, ""), *LOOPBACK_HOSTS]))
    return out


def index_files(target: IndexTarget, project: str, *, env: Mapping[str, str] | None = None,
                pypirc: Path | None = None) -> dict[str, str]:
    """{file name: sha256 or ""} listed on the project's simple page; {} when the project is new."""
    env = dict(os.environ if env is None else env)
    if target.kind == "local":
        return {f.filename: f.sha256 for f in LocalIndex(Path(target.location)).files(project)}
    return {name: sha for name, (_, sha) in _project_links(target, project, env, pypirc).items()}


def _project_links(target: IndexTarget, project: str, env: Mapping[str, str],
                   pypirc: Path | None) -> dict[str, tuple[str, str]]:
    url = urllib.parse.urljoin(target.simple_url, canonicalize_name(project) + "/")
    try:
        with _open(url, _credentials(target, env, pypirc), Accept="text/html") as response:
            page: bytes = response.read()
    except OSError as exc:
        code, reason = httpget.failure(exc)
        if code == 404:
            return {}
        if code in (401, 403):
            raise CredentialsError(f"{redact(url)} refused the credentials (HTTP {code})") from exc
        if code is not None:
            raise PublishError(f"{redact(url)} answered HTTP {code}") from exc
        raise PublishError(f"index {target.display} is unreachable: {reason}") from exc
    parser = _Links(url)
    parser.feed(page.decode("utf-8", "replace"))
    return parser.links


def _download_sha256(target: IndexTarget, url: str, env: Mapping[str, str], pypirc: Path | None) -> str:
    with _open(url, _credentials(target, env, pypirc), timeout=3600) as response:
        return sha256_stream(response).hexdigest()
