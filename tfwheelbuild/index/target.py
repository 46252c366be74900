"""Where wheels are published: an upload URL, a ~/.pypirc repository, or a directory index, resolved once.

Every form of `--index` (and the `index` key) is checked here before anything is uploaded; credentials
are never part of a target (twine and pip find them in their own places).
"""

from __future__ import annotations

import configparser
import difflib
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tfwheelbuild.core.remote import redact
from tfwheelbuild.errors import PublishError
from tfwheelbuild.index.simple import LocalIndex, default_index_root


@dataclass(frozen=True)
class IndexTarget:
    kind: Literal["local", "remote"]
    location: str  # local: the index root; remote: the legacy upload URL (without credentials)
    simple_url: str  # PEP 503 page root pip installs from
    repository: str = ""  # a ~/.pypirc section this target came from

    @property
    def display(self) -> str:
        return self.location if self.kind == "local" else redact(self.location)



def _pypirc(path: Path | None = None) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path or Path.home() / ".pypirc")
    return parser


def simple_url_for(upload_url: str) -> str:
    """Where pip reads what an upload URL receives: pypiserver, devpi, Artifactory and Nexus all serve
    the simple pages under the upload URL (devpi as +simple), so derive it unless told."""
    base = upload_url.rstrip("/")
    if base.endswith(("/simple", "/+simple")):
        return base + "/"
    if re.search(r"/[^/]+/[^/]+$", urllib.parse.urlsplit(base).path) and "devpi" in base:
        return base + "/+simple/"
    return base + "/simple/"


INDEX_FORMS = ("an http(s):// upload URL, a repository named in ~/.pypirc, an existing directory, or a new "
               "directory written as a path (/abs, ./rel, ../rel, ~/… or file://…)")
INDEX_REMEDY = f"give --index (or the `index` key, TFWHEELBUILD_INDEX) as {INDEX_FORMS}"
REMOTE_SCHEMES = ("http", "https")
PATH_PREFIXES = ("/", "./", "../", "~/")


def resolve_index(value: str, *, simple_url: str = "", pypirc: Path | None = None) -> IndexTarget:
    """Where to publish: the one place an index string (--index, `index`, TFWHEELBUILD_INDEX) is read.

    Empty: the embedded local index. An http(s) URL or a ~/.pypirc repository: a remote index. A
    directory index only when that is plainly meant: one that exists, or a path written as one
    (absolute, ./, ../, ~/, file://). Anything else (another scheme, a typo of one, a name that is
    neither a directory nor a ~/.pypirc section) is refused: it would otherwise become a new
    directory in the working folder and "publish" into it.
    """
    if not value:
        root = default_index_root()
        return IndexTarget("local", str(root), LocalIndex(root).url)
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme == "file":
            return _directory_target(urllib.parse.unquote(urllib.parse.urlsplit(value).path), value)
        if scheme not in REMOTE_SCHEMES:
            hint = difflib.get_close_matches(scheme, [*REMOTE_SCHEMES, "file"], n=1)
            raise PublishError(f"index {redact(value)}: unknown scheme '{scheme}://'"
                               + (f"; did you mean '{hint[0]}://'?" if hint else ""), remedy=INDEX_REMEDY)
        return _remote_target(value, simple_url)
    if Path(value).expanduser().exists() or value.startswith(PATH_PREFIXES) or value in (".", "..", "~"):
        return _directory_target(value, value)
    sections = _pypirc(pypirc).sections()
    if value in sections:
        url = _pypirc(pypirc).get(value, "repository", fallback="")
        if not url:
            raise PublishError(f"~/.pypirc section [{value}] has no repository URL",
                               remedy=f"add `repository = https://…` to [{value}] in ~/.pypirc")
        if urllib.parse.urlsplit(url).scheme.lower() not in REMOTE_SCHEMES:
            raise PublishError(f"~/.pypirc section [{value}] has repository {redact(url)}, not an http(s) URL",
                               remedy=f"set an http(s) upload URL as `repository` in [{value}] of ~/.pypirc")
        target = _remote_target(url, simple_url)
        return IndexTarget("remote", target.location, target.simple_url, repository=value)
    hint = difflib.get_close_matches(value, [s for s in sections if s != "distutils"], n=1)
    raise PublishError(f"index '{value}' is neither a repository in ~/.pypirc nor an existing directory"
                       + (f"; did you mean '{hint[0]}'?" if hint else ""),
                       remedy=f"{INDEX_REMEDY}; for a new directory here, write ./{value}")


def _remote_target(url: str, simple_url: str) -> IndexTarget:
    if not urllib.parse.urlsplit(url).hostname:
        raise PublishError(f"index {redact(url)} has no host name", remedy=INDEX_REMEDY)
    upload = url.rstrip("/")
    if upload.endswith("/simple"):
        upload = upload[: -len("/simple")]  # pypiserver takes uploads at its root
    return IndexTarget("remote", upload, simple_url or simple_url_for(redact(upload)))


def _directory_target(path: str, given: str) -> IndexTarget:
    if not path:
        raise PublishError(f"index {given} names no directory", remedy=INDEX_REMEDY)
    root = Path(path).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise PublishError(f"index {given} is a file, not a directory index", remedy=INDEX_REMEDY)
    return IndexTarget("local", str(root), LocalIndex(root).url)
