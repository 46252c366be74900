#!/usr/bin/env python3
"""bazelisk-py: a small Bazelisk-compatible launcher, installed as `bazel` in the builder image.

It runs inside the arm64 builder container, so it depends on the standard library alone.
Resolution order (as Bazelisk): USE_BAZEL_VERSION, else the workspace's `.bazelversion`.
Where the binary comes from, first hit wins:
  1. a Bazel the image already has, registered under $TFWB_BAZEL_DIR/bazel-<version>
     (e.g. Debian's bazel-bootstrap, whose client calls itself `no_version`, so the image
     build registers it under its package version);
  2. the download cache $TFWB_BAZEL_CACHE/<version>/bazel (a named volume);
  3. a download of bazel-<version>-linux-<arch> from BAZELISK_BASE_URL (Bazelisk's layout:
     <base>/<version>/<file>; default: the official release bucket), verified against its
     `.sha256` before it is ever executed.
A registered Bazel may carry `bazel-<version>.bazelrc` beside it (offline repository overrides
for Debian's Bazel); it is passed as the user rc file.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_BASE_URL = "https://releases.bazel.build"
EXIT_VERSION = 15  # matches errors.BazelVersionError


class BazelResolveError(Exception):
    pass


def wanted_version(workspace: Path, environ: dict[str, str]) -> str:
    forced = environ.get("USE_BAZEL_VERSION", "").strip()
    if forced:
        return forced
    for parent in [workspace, *workspace.parents]:
        candidate = parent / ".bazelversion"
        if candidate.is_file():
            text = candidate.read_text().strip()
            if text:
                return text.splitlines()[0].strip()
        if (parent / "WORKSPACE").exists() or (parent / "MODULE.bazel").exists():
            break
    raise BazelResolveError("no USE_BAZEL_VERSION and no .bazelversion in the workspace")


def machine_arch() -> str:
    m = platform.machine().lower()
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}.get(m, m)


def download_url(base_url: str, version: str, arch: str) -> str:
    if base_url.rstrip("/") == DEFAULT_BASE_URL:
        return f"{base_url}/{version}/release/bazel-{version}-linux-{arch}"
    return f"{base_url.rstrip('/')}/{version}/bazel-{version}-linux-{arch}"


def parse_sha256_file(text: str) -> str:
    digest = text.strip().split()[0].lower() if text.strip() else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BazelResolveError(f"malformed .sha256 file: {text[:80]!r}")
    return digest


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError) as exc:
        raise BazelResolveError(f"cannot download {url}: {exc}") from exc


def download(version: str, cache_dir: Path, base_url: str, arch: str) -> Path:
    url = download_url(base_url, version, arch)
    expected = parse_sha256_file(fetch(url + ".sha256").decode("utf-8", "replace"))
    blob = fetch(url)
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected:
        raise BazelResolveError(f"sha256 mismatch for {url}: expected {expected}, got {actual}")
    target = cache_dir / version / "bazel"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename so a concurrent or interrupted run never sees half a binary.
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(blob)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def registered_versions(bazel_dir: Path) -> list[str]:
    if not bazel_dir.is_dir():
        return []
    names = (p.name for p in bazel_dir.iterdir() if p.name.startswith("bazel-"))
    return sorted(n[len("bazel-") :] for n in names if not n.endswith(".bazelrc"))


def resolve(version: str, environ: dict[str, str]) -> tuple[Path, Path | None]:
    """Return (binary, optional rc file) for `version`."""
    bazel_dir = Path(environ.get("TFWB_BAZEL_DIR", "/opt/tfwb/bazel"))
    registered = bazel_dir / f"bazel-{version}"
    if registered.exists():
        rc = bazel_dir / f"bazel-{version}.bazelrc"
        return registered, rc if rc.exists() else None
    cache_dir = Path(environ.get("TFWB_BAZEL_CACHE", "/tfwb/cache/bazelisk"))
    cached = cache_dir / version / "bazel"
    if cached.exists():
        return cached, None
    base_url = environ.get("BAZELISK_BASE_URL", DEFAULT_BASE_URL)
    try:
        return download(version, cache_dir, base_url, machine_arch()), None
    except BazelResolveError as exc:
        have = ", ".join(registered_versions(bazel_dir)) or "none"
        raise BazelResolveError(
            f"this build needs Bazel {version}; the builder image has {have} and {exc}"
        ) from exc


def main(argv: list[str]) -> int:
    environ = dict(os.environ)
    try:
        version = wanted_version(Path.cwd(), environ)
        if argv[:1] == ["--tfwb-resolve"]:
            binary, rc = resolve(version, environ)
            print(f"{version} {binary} {rc or ''}".strip())
            return 0
        binary, rc = resolve(version, environ)
    except BazelResolveError as exc:
        print(f"bazelisk-py: {exc}", file=sys.stderr)
        return EXIT_VERSION
    args = [str(binary)]
    if rc is not None:
        args.append(f"--bazelrc={rc}")
    args.extend(argv)
    os.execv(str(binary), args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
