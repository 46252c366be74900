"""Checks for values that would otherwise reach Docker (a tag, a volume name, an auditwheel flag) as given.

Pure functions of one string: each returns the value as the tool uses it (normalised) or raises
ValueError with the reason, phrased to follow "--option 'VALUE': ". Callers turn that into the
error of the layer the value came from (command line, environment, config file), so one check
serves every command and every layer.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse

# The tag TensorFlow gives a release candidate: v2.16.0-rc0 for the PEP 440 version 2.16.0rc0.
_RELEASE = re.compile(r"[vV]?(\d+)\.(\d+)\.(\d+)(?:-?rc(\d+))?")
_MINOR = re.compile(r"[vV]?\d+\.\d+")
_PYTHON = re.compile(r"3\.\d{1,2}")
# auditwheel's aarch64 policies: the PEP 600 names (glibc 2.17 is the oldest aarch64 one), the
# PEP 599 alias of 2_17, and the plain platform (no policy: nothing grafted, not uploadable to PyPI-likes).
_PLAT = re.compile(r"manylinux_2_(\d+)_aarch64|manylinux2014_aarch64|linux_aarch64")
# PEP 427: a build tag starts with a digit; '-' separates the file name's fields, so it cannot be in one.
_BUILD_TAG = re.compile(r"\d[A-Za-z0-9_.]*")
# Docker's own rule for volume names ([a-zA-Z0-9][a-zA-Z0-9_.-]*); also a file name for the namespace lock.
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
# An image reference as the engine parses it: [registry[:port]/]path[:tag][@digest], lowercase path.
_DOMAIN_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_IMAGE = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
                    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def release(text: str) -> str:
    """`--tf` as a PEP 440 release: ' v2.16.1 ' -> 2.16.1, 2.16.1rc0 / 2.16.1-rc0 -> 2.16.1rc0."""
    value = text.strip()
    match = _RELEASE.fullmatch(value)
    if match:
        major, minor, patch, rc = match.groups()
        return f"{int(major)}.{int(minor)}.{int(patch)}" + (f"rc{int(rc)}" if rc is not None else "")
    if _MINOR.fullmatch(value):
        raise ValueError(f"a minor release, not a release: give the full X.Y.Z (e.g. {value.lstrip('vV')}.0)")
    raise ValueError("not a TensorFlow release: give X.Y.Z (e.g. 2.16.1) or a release candidate X.Y.ZrcN")


def release_tag(version: str) -> str:
    """The git tag TensorFlow gives `version` (already normalised by `release`): v2.16.1, v2.16.0-rc0."""
    match = _RELEASE.fullmatch(version)
    if match and match[4] is not None:
        return f"v{match[1]}.{match[2]}.{match[3]}-rc{match[4]}"
    return f"v{version}"


def source(text: str) -> str:
    """A git URL or path; never one git would read as an option (`--upload-pack=…` runs a program)."""
    value = text.strip()
    if not value or value.startswith("-"):
        raise ValueError("not a git URL or path: give e.g. https://git.internal/tensorflow.git or ./tensorflow")
    return value


def python(text: str) -> str:
    value = text.strip()
    if not _PYTHON.fullmatch(value):
        raise ValueError("not a Python version: give 3.N, e.g. 3.11")
    return value


def plat(text: str) -> str:
    """An aarch64 policy auditwheel knows; '' (the release's policy, see toolchain.default_plat) or 'auto'
    (auditwheel's own choice) as given."""
    value = text.strip()
    if value in ("", "auto"):
        return value
    match = _PLAT.fullmatch(value)
    if match is None:
        arch = "" if "aarch64" in value else " (the wheels are aarch64)"
        raise ValueError(f"not an aarch64 policy auditwheel knows{arch}: give auto, manylinux_2_N_aarch64 "
                         "(N ≥ 17), manylinux2014_aarch64 or linux_aarch64")
    if match[1] is not None and int(match[1]) < 17:
        raise ValueError("older than any aarch64 policy: aarch64 starts at manylinux_2_17_aarch64")
    return value


def _empty_or_matching(text: str, pattern: re.Pattern[str], complaint: str) -> str:
    value = text.strip()
    if value and not pattern.fullmatch(value):
        raise ValueError(complaint)
    return value


def build_tag(text: str) -> str:
    return _empty_or_matching(text, _BUILD_TAG, "not a wheel build tag: it must start with a digit (PEP 427) and "
                              "hold only letters, digits, '_' and '.', e.g. 1 or 2_internal")


def cache_namespace(text: str) -> str:
    return _empty_or_matching(text, _NAMESPACE, "cannot name a Docker volume: use letters, digits, '_', '.' and "
                              "'-', starting with a letter or digit (at most 63)")


def nightly_date(text: str) -> str:
    value = text.strip()
    if not value:
        return ""
    try:
        if not re.fullmatch(r"\d{8}", value):
            raise ValueError
        day = datetime.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise ValueError("not a date: give YYYYMMDD, e.g. 20261204") from None
    if day.year < 2000:
        raise ValueError("before 2000: give YYYYMMDD, e.g. 20261204")
    return value


def image(text: str) -> str:
    """A Docker image reference (the engine would refuse anything else, after the build has begun)."""
    value = text.strip()
    if value and not _IMAGE.fullmatch(value):
        raise ValueError("not a Docker image reference, e.g. ubuntu:22.04 or registry.internal/base:arm64")
    return value


def pinned_image(text: str) -> str:
    """An image pinned to exactly one content: NAME@sha256:<digest> (a registry's) or sha256:<id> (a local image's
    id). A tag alone can move under a build key that says it did not."""
    value = text.strip()
    if not value:
        return ""
    if re.fullmatch(r"sha256:[0-9a-f]{64}", value):
        return value
    if "@sha256:" not in value or not _IMAGE.fullmatch(value):
        raise ValueError("not pinned by digest: give NAME@sha256:<64 hex> (what `docker inspect --format "
                         "'{{index .RepoDigests 0}}' IMAGE` prints) or a local image id sha256:<64 hex>")
    return value


def url(text: str, schemes: tuple[str, ...] = ("http", "https", "file")) -> str:
    """An absolute URL of one of `schemes` (mirrors, package indexes), with no blanks inside."""
    value = text.strip()
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in schemes or (parts.scheme != "file" and not parts.hostname) or re.search(r"\s", value):
        raise ValueError(f"not a {'/'.join(schemes)} URL, e.g. https://mirror.internal/path")
    return value


def configure_key(key: str) -> str:
    """configure.py reads its answers from environment variables: a key must be a variable name."""
    if not _ENV_NAME.fullmatch(key):
        raise ValueError(f"{key!r} is not an environment variable name (configure.py reads TF_* variables), "
                         "e.g. TF_NEED_CLANG=1")
    return key


def memory(text: str) -> int:
    """A container memory limit in docker's units (powers of 1024): '6g', '3500m', '6GiB' -> bytes; '' -> 0."""
    if not text.strip():
        return 0
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise ValueError("give a size such as 6g or 3500m")
    value = int(float(match[1]) * 1024 ** " kmgt".index(match[2] or " "))
    if value < 512 * 1024 * 1024:
        raise ValueError("Bazel alone needs more than 512 MB; give at least 512m")
    return value


def memory_limit(text: str) -> str:
    """`memory` as the option keeps it (the string), once `memory` accepts it."""
    memory(text)
    return text.strip()


def wheel_size_bytes(text: str) -> int:
    """A size as upstream's TFCI_WHL_SIZE_LIMIT writes it (find -size units: K, M, G are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError("not a size such as 240M, 1G or 0 (no limit)")
    return int(match.group(1)) * int(1024 ** " KMG".index(match.group(2).upper() or " "))


def wheel_size(text: str) -> str:
    wheel_size_bytes(text)
    return text.strip()


# The engine addresses the Docker SDK (and the docker CLI's DOCKER_HOST) understands.
ENGINE_SCHEMES = ("unix", "tcp", "http", "https", "ssh", "npipe", "fd")


def docker_host(text: str) -> str:
    """An engine address (unix://, tcp://, ssh://, …) or '' (DOCKER_HOST / the default socket)."""
    value = text.strip()
    if not value:
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ENGINE_SCHEMES or not rest.strip("/"):
        raise ValueError("not a Docker engine address: give unix:///var/run/docker.sock, tcp://HOST:2375 or "
                         "ssh://USER@HOST (the docker CLI's DOCKER_HOST forms)")
    return value
