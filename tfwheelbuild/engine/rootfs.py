"""A base image from a root filesystem tarball given by URL or path, verified before it is used.

Where no registry answers, a distribution's published rootfs (Ubuntu's ubuntu-base-*-base-arm64.tar.gz
on cdimage.ubuntu.com, or a mirror of it) is the other way to a base besides debootstrap. A download
is only imported when its sha256 matches: the one given, else the one in the SHA256SUMS file
published beside it (Ubuntu's and Debian's layout). Nothing unverified becomes an image.
"""

from __future__ import annotations

import re
import ssl
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfwheelbuild.core.remote import redact
from tfwheelbuild.engine.client import Engine
from tfwheelbuild.errors import ChecksumError, EmulationMissingError, ImageError, UsageError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.util import httpget, resources
from tfwheelbuild.util.digests import sha256_stream

SUMS_FILE = "SHA256SUMS"
SHA_LABEL = "org.tfwheelbuild.rootfs-sha256"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, kw_only=True)
class Imported:
    tag: str
    image_id: str
    sha256: str
    source: str  # the URL or path, credentials redacted


def image_name(source: str) -> str:
    """A tag-safe name from the file name: ubuntu-base-22.04.5-base-arm64.tar.gz -> ubuntu-base-22.04.5-base."""
    name = Path(urllib.parse.urlsplit(source).path).name.lower()
    name = re.sub(r"\.(tar(\.(gz|xz|bz2|zst))?|tgz|txz)$", "", name)
    name = re.sub(r"[-_.](arm64|aarch64|amd64|x86_64)$", "", name)
    name = re.sub(r"[^a-z0-9._-]+", "-", name).strip("-._")
    return name or "rootfs"


def sums_for(text: str, filename: str) -> str | None:
    """The sha256 a SHA256SUMS file gives for `filename` ("<hex>  name" or "<hex> *name")."""
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and _HEX64.fullmatch(parts[0]) and parts[1].lstrip("*").strip() == filename:
            return parts[0].lower()
    return None


def check_sha256(value: str) -> str:
    if not _HEX64.fullmatch(value.strip()):
        raise UsageError(f"--sha256 {value!r} is not a sha256 (64 hex digits)")
    return value.strip().lower()


NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,100}")
SOURCE_REMEDY = ("give the path of a root filesystem tarball (e.g. ubuntu-base-22.04.5-base-arm64.tar.gz) "
                 "or its http(s):// URL")


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"--name {name!r}: use lower-case letters, digits, '.', '_' and '-'")
    return name


def check_import_args(source: str, *, sha256: str, name: str) -> None:
    """Everything `base import` is given, checked before a log, a download or an engine call."""
    scheme = urllib.parse.urlsplit(source).scheme
    if "://" in source and scheme not in ("http", "https", "file"):
        raise UsageError(f"{source!r}: {scheme}:// is not a way to fetch a rootfs here", remedy=SOURCE_REMEDY)
    if not _is_url(source):
        path = Path(source.removeprefix("file://"))
        if not path.exists():
            raise UsageError(f"rootfs {path} does not exist", remedy=SOURCE_REMEDY)
        if not path.is_file():
            raise UsageError(f"rootfs {path} is not a file (a directory?)", remedy=SOURCE_REMEDY)
    if sha256:
        check_sha256(sha256)
    if name:
        check_name(name)


def _is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def _open(url: str, context: ssl.SSLContext) -> Any:
    """urlopen, with credentials written into the URL sent as Basic auth (urllib would not)."""
    try:
        return httpget.open_request(httpget.request(redact(url), auth=httpget.url_auth(url)), timeout=60,
                                    context=context)
    except OSError as exc:
        code, reason = httpget.failure(exc)
        shown = f"HTTP {code} {reason}" if code is not None else reason
        raise ImageError(f"cannot download {redact(url)}: {shown}") from None


def expected_sha256(source: str, given: str, context: ssl.SSLContext) -> str:
    """The checksum to hold a download to: the one given, else the published SHA256SUMS entry."""
    if given:
        return check_sha256(given)
    parts = urllib.parse.urlsplit(source)
    filename = Path(parts.path).name
    sums_url = urllib.parse.urlunsplit(parts._replace(path=parts.path.rsplit("/", 1)[0] + "/" + SUMS_FILE,
                                                       query="", fragment=""))
    try:
        with _open(sums_url, context) as response:
            text = response.read(1 << 20).decode("utf-8", "replace")
    except ImageError as exc:
        raise ChecksumError(f"no checksum for {redact(source)}: pass --sha256, or publish {SUMS_FILE} beside it "
                            f"({exc.message})") from None
    found = sums_for(text, filename)
    if found is None:
        raise ChecksumError(f"{redact(sums_url)} has no line for {filename}: pass --sha256")
    return found


def fetch(source: str, dest: Path, context: ssl.SSLContext) -> str:
    """Copy the URL or local file to `dest`; its sha256."""
    with dest.open("wb") as out:
        if _is_url(source):
            reader = _open(source, context)
        else:
            path = Path(source.removeprefix("file://"))
            if not path.is_file():
                raise ImageError(f"rootfs {source} is not a file", remedy=SOURCE_REMEDY)
            reader = path.open("rb")
        with reader:
            return sha256_stream(reader, out).hexdigest()


def import_rootfs(engine: Engine, source: str, *, name: str, arch: str, sha256: str, ca_bundle: Path | None,
                  log: BuildLog, force: bool = False) -> Imported:
    """Download (or copy), verify, and build tfwheelbuild/base:<name>-<arch> FROM scratch."""
    check_name(name)
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    tag = f"tfwheelbuild/base:{name}-{arch}"
    shown = redact(source)
    # A URL must be verified; a local file is verified when a checksum is given.
    wanted = expected_sha256(source, sha256, context) if _is_url(source) else (check_sha256(sha256) if sha256 else "")
    existing = engine.image_id(tag)
    if existing and not force:
        had = engine.image_labels(tag).get(SHA_LABEL, "")
        if wanted and had == wanted:
            log.say(f"{tag} already holds this rootfs (sha256 {had[:12]}): reused")
            return Imported(tag=tag, image_id=existing, sha256=had, source=shown)
        raise UsageError(f"{tag} exists" + (f" with another rootfs (sha256 {had[:12]})" if had else ""),
                         remedy="pass --force to import again, or --name for another tag")
    with tempfile.TemporaryDirectory(prefix="tfwb-rootfs-") as tmp:
        tarball = Path(tmp) / "rootfs.tar.gz"
        log.say(f"fetching {shown}")
        got = fetch(source, tarball, context)
        if wanted and got != wanted:
            raise ChecksumError(f"{shown} has sha256 {got}, not {wanted}: not imported")
        log.say(f"sha256 {got}" + (" matches" if wanted else " (no checksum given: a local file)"))
        if not tarfile.is_tarfile(tarball):
            raise ImageError(f"{shown} is not a tar archive (compressed or not)")
        template = resources.buildenv("base-rootfs.Dockerfile").read_text()
        (Path(tmp) / "Dockerfile").write_text(
            template.replace("{{SUITE}}", name).replace("{{MIRROR}}", f"rootfs-sha256-{got}"))
        image_id = engine.build_image(Path(tmp), tag, sink=log.line, platform=f"linux/{arch}",
                                      labels={SHA_LABEL: got}, nocache=True)
    _check_runs_as(engine, tag, arch)
    log.say(f"base image {tag} ready ({image_id[:19]})")
    return Imported(tag=tag, image_id=image_id, sha256=got, source=shown)


def _check_runs_as(engine: Engine, tag: str, arch: str) -> None:
    """The tarball's programs must be for the architecture it is tagged with; else take the image back."""
    machine = {"arm64": "aarch64", "amd64": "x86_64"}[arch]
    try:
        code, output = engine.run_once(tag, ["uname", "-m"], platform=f"linux/{arch}")
    except EmulationMissingError as exc:
        engine.remove_image(tag)
        raise ImageError(f"the rootfs's programs do not run as {arch} here ({exc.message}): not imported",
                         remedy=f"give a linux/{arch} root filesystem, or --arch for the one it is") from None
    if code != 0 or output.strip() != machine:
        engine.remove_image(tag)
        raise ImageError(f"the rootfs's programs are not {arch} (uname -m gave {output.strip()!r}): not imported",
                         remedy=f"give a linux/{arch} root filesystem, or --arch for the one it is")
