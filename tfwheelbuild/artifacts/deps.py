"""Deps bundles: Bazel's external dependencies of one build, carried to an air-gapped host.

Layout of a bundle directory:

    repository_cache/content_addressable/sha256/<sha256>/file   Bazel's own repository-cache layout,
                                                                so the offline build mounts it as is
    wheels/<file>.whl                                           the requirements lock's wheels, for the pip
                                                                Bazel's repository rules run (bundlefiles.py)
    bazel/linux-<arch>/<version>/bazel                          the Bazel binary, when not the builder's own
    manifest.json                                               identity + one entry per file

The manifest is written last and by rename, so a bundle whose manifest is readable is complete,
and an interrupted fetch leaves only cache files Bazel itself wrote by rename (kept and reused).
Pure logic here: no Docker; the filesystem only where a function says so.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tfwheelbuild.errors import DepsCorruptError, DepsMismatchError, DepsMissingError, MirrorError
from tfwheelbuild.util.digests import sha256_file

FORMAT = 1
MANIFEST = "manifest.json"
CACHE_DIR = "repository_cache"
CAS = f"{CACHE_DIR}/content_addressable/sha256"
_SHA = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Identity:
    """What a bundle was fetched for: another release, Python or Bazel needs other archives."""

    release: str
    python: str
    bazel: str


@dataclass(frozen=True, kw_only=True)
class Entry:
    sha256: str
    size: int
    repository: str = ""  # "" when Bazel's resolved file does not say which repository downloaded it
    url: str = ""
    kind: str = "archive"  # archive (repository cache), wheel (wheels/), bazel (bazel/)
    path: str = ""  # bundle-relative, for wheels and Bazel binaries ("" for archives: named by sha256)


@dataclass(frozen=True, kw_only=True)
class Manifest:
    identity: Identity
    entries: tuple[Entry, ...]

    def to_json(self) -> str:
        entries = sorted(self.entries, key=lambda e: (e.kind, e.repository, e.path, e.sha256))
        return json.dumps({"format": FORMAT, "identity": asdict(self.identity),
                           "entries": [asdict(e) for e in entries]}, indent=1, sort_keys=True) + "\n"


def cache_file(bundle: Path, sha256: str) -> Path:
    return bundle / CAS / sha256 / "file"


def entry_file(bundle: Path, entry: Entry) -> Path:
    return bundle / entry.path if entry.path else cache_file(bundle, entry.sha256)


def read_manifest(bundle: Path) -> Manifest:
    path = bundle / MANIFEST
    try:
        data = json.loads(path.read_text())
        identity = Identity(**data["identity"])
        entries = tuple(Entry(**e) for e in data["entries"])
    except FileNotFoundError:
        raise DepsMismatchError(f"{bundle} is not a deps bundle (no {MANIFEST}; an interrupted fetch writes it last)",
                                remedy="rerun the same `tfwheelbuild fetch`: it resumes") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DepsMismatchError(f"{path} is not a deps bundle manifest: {exc}") from None
    if data.get("format") != FORMAT:
        raise DepsMismatchError(f"{path} has format {data.get('format')!r}; this tfwheelbuild reads {FORMAT}")
    return Manifest(identity=identity, entries=entries)


def write_manifest(bundle: Path, manifest: Manifest) -> None:
    """Temp file + rename: a reader sees the old manifest or the new one, never half of one."""
    tmp = bundle / f".{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(manifest.to_json())
    os.replace(tmp, bundle / MANIFEST)


def check_identity(bundle: Path, found: Identity, wanted: Identity, *, bazel_known: bool = True) -> None:
    """Name every field that differs; Bazel only when the build's Bazel is already known."""
    fields = ("release", "python", "bazel") if bazel_known else ("release", "python")
    differ = [f"{f} {getattr(found, f)} (this build: {getattr(wanted, f)})"
              for f in fields if getattr(found, f) != getattr(wanted, f)]
    if differ:
        raise DepsMismatchError(f"deps bundle {bundle} was fetched for another build: " + ", ".join(differ),
                                remedy=f"fetch one for this build: `{fetch_command(wanted, bundle)}`")


def verify(bundle: Path, manifest: Manifest) -> None:
    """Every archive the manifest names is there with its sha256: checked before the build uses any."""
    for entry in manifest.entries:
        path = entry_file(bundle, entry)
        if ".." in Path(entry.path).parts or Path(entry.path).is_absolute():
            raise DepsCorruptError(f"deps bundle {bundle} names a file outside itself: {entry.path!r}")
        if not path.is_file():
            raise DepsCorruptError(f"deps bundle {bundle} lacks {entry.repository or 'an archive'} "
                                   f"({entry.path or entry.url or entry.sha256}) that its manifest names")
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise DepsCorruptError(f"deps bundle file {path} has sha256 {actual}, not {entry.sha256} "
                                   f"({entry.repository or entry.url or 'archive'}): corrupt, refused")


def fetch_command(identity: Identity, bundle: Path) -> str:
    return f"tfwheelbuild fetch --tf {identity.release} --py {identity.python} --out {bundle}"


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def parse_resolved(text: str) -> dict[str, tuple[list[str], list[str]]]:
    """Bazel's --experimental_repository_resolved_file: repository name -> (urls, sha256s) in its attributes."""
    body = text.split("=", 1)[1] if "=" in text.split("[", 1)[0] else text
    try:
        resolved = ast.literal_eval(body.strip())
    except (ValueError, SyntaxError):
        return {}
    out: dict[str, tuple[list[str], list[str]]] = {}
    for item in resolved if isinstance(resolved, list) else []:
        if not isinstance(item, dict):
            continue
        attrs = item.get("original_attributes", {})
        name = attrs.get("name") if isinstance(attrs, dict) else None
        if not isinstance(name, str):
            continue
        strings = list(_strings(attrs))
        out[name] = ([s for s in strings if _URL.match(s)], [s for s in strings if _SHA.match(s)])
    return out


def entries_for(cached: Mapping[str, int], resolved: Mapping[str, tuple[list[str], list[str]]],
                python: str) -> tuple[Entry, ...]:
    """One entry per archive in the repository cache, named by the repository whose attributes name
    its sha256 (URL templates filled with the Python version, as hermetic-Python rules do)."""
    owner: dict[str, tuple[str, str]] = {}
    for name, (urls, shas) in sorted(resolved.items()):
        for sha in shas:
            url = next((u for u in urls if "{" not in u), urls[0] if urls else "")
            owner.setdefault(sha, (name, url.replace("{version}", python).replace("{}", python)))
    return tuple(Entry(sha256=sha, size=size, repository=owner.get(sha, ("", ""))[0], url=owner.get(sha, ("", ""))[1])
                 for sha, size in sorted(cached.items()))


def scan_cache(bundle: Path) -> dict[str, int]:
    """sha256 -> size of every complete file in the bundle's repository cache."""
    root = bundle / CAS
    if not root.is_dir():
        return {}
    return {d.name: (d / "file").stat().st_size for d in sorted(root.iterdir())
            if _SHA.match(d.name) and (d / "file").is_file()}


# Bazel 4-7 say a failed download so: the repository (http_archive: "no such package '@x//'";
# any repository rule: "fetch of repository 'x'") and the URL list in brackets.
_REPO = re.compile(r"no such package '@([^/']+)//|fetch of repository '([^']+)'|/external/([^/\s]+)/")
_DOWNLOAD = re.compile(r"Error downloading \[([^\]]+)\]")


def missing_archive(output: Iterable[str]) -> tuple[str, str] | None:
    """(repository, url) of the first download Bazel could not make, or None. The repository is
    on the same line, or (Bazel 4's "An error occurred during the fetch of repository 'x':") above it."""
    last = "?"
    for line in output:
        download = _DOWNLOAD.search(line)
        repo = _REPO.search(line)
        if repo:
            last = next(g for g in repo.groups() if g)
        if download:
            return last, download.group(1).split(",")[0].strip()
    return None


def missing_error(output: Iterable[str], identity: Identity, bundle: Path) -> DepsMissingError | None:
    found = missing_archive(output)
    if found is None:
        return None
    repo, url = found
    return DepsMissingError(f"the deps bundle {bundle} lacks repository @{repo} ({url}), and the build is offline",
                            remedy=f"on a connected host: `{fetch_command(identity, bundle)}`, then copy the bundle")


def check_mirror_url(url: str) -> str:
    """http(s)://host[/path], without credentials (they belong in .netrc, not in argv or a config file)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MirrorError(f"--bazel-mirror {url!r} is not an http(s):// URL")
    if parts.username or parts.password:
        raise MirrorError("--bazel-mirror carries credentials in the URL: they would show in Bazel's config file "
                          "and process list")
    return url.rstrip("/")


def downloader_config(mirror: str) -> str:
    """Bazel's --experimental_downloader_config: every URL (matched without its scheme) goes to
    mirror/<host>/<path>, the layout of a generic remote or a static mirror of several hosts."""
    return f"rewrite (.*) {mirror}/$1\n"


def check_bundle(bundle: Path, release: str, python: str) -> Manifest:
    """Before anything starts: a bundle for this release and Python, every archive intact."""
    if not bundle.is_dir():
        raise DepsMismatchError(f"--deps {bundle} is not a directory")
    manifest = read_manifest(bundle)
    check_identity(bundle, manifest.identity, Identity(release=release, python=python, bazel=manifest.identity.bazel),
                   bazel_known=False)
    verify(bundle, manifest)
    return manifest


def netrc_auth(url: str, netrc_path: Path | None = None) -> tuple[str, str] | None:
    """(login, password) for the URL's host from ~/.netrc (the only place mirror credentials live)."""
    import netrc

    path = netrc_path or Path.home() / ".netrc"
    host = urlsplit(url).hostname or ""
    try:
        found = netrc.netrc(str(path)).authenticators(host)
    except (FileNotFoundError, netrc.NetrcParseError):
        return None
    return (found[0] or "", found[2] or "") if found else None


def netrc_entry(url: str, netrc_path: Path | None = None) -> str:
    """The one ~/.netrc line the build container needs for the mirror's host ("" when there is none)."""
    auth = netrc_auth(url, netrc_path)
    if auth is None:
        return ""
    return f"machine {urlsplit(url).hostname} login {auth[0]} password {auth[1]}\n"


def probe_mirror(url: str, *, timeout: float = 10.0, netrc_path: Path | None = None,
                 anonymous: bool = False) -> None:
    """Fail before the build when the mirror does not answer or refuses our credentials; any other
    answer (a 404 for the bare mirror root is common) means it is there. `anonymous`: without ~/.netrc."""
    from tfwheelbuild.util import httpget

    auth = None if anonymous else netrc_auth(url, netrc_path)
    try:
        # Never through the host's proxy for a mirror the user named: it is the internal network's own.
        with httpget.open_request(httpget.request(url + "/", auth=auth, method="GET"), timeout=timeout, direct=True):
            return
    except OSError as exc:
        code, reason = httpget.failure(exc)
        if code in (401, 403):
            raise MirrorError(f"Bazel mirror {url} refuses access (HTTP {code})"
                              + (" with the ~/.netrc credentials for its host" if auth else
                                 "; ~/.netrc has no credentials for its host")) from None
        if code is not None:
            return
        raise MirrorError(f"Bazel mirror {url} does not answer: {reason}") from None
