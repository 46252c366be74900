"""An arm64 base image without a registry: debootstrap a Debian suite from an apt mirror.

For air-gapped hosts (and this project's own CI). Runs on the host: debootstrap needs root and,
on non-arm64 hosts, qemu binfmt for its second stage.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tfwheelbuild.engine.client import Engine
from tfwheelbuild.errors import BaseBootstrapError, EmulationMissingError, UsageError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.util import resources

DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SOURCES_LIST = Path("/etc/apt/sources.list")
DEBOOTSTRAP = Path("/usr/sbin/debootstrap")
DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")
# The suites this tool's bases are made from (a Python each: 3.9, 3.11, 3.13).
TOOL_SUITES = ("bullseye", "bookworm", "trixie")
MIRROR_SCHEMES = ("http", "https", "file")


def base_tag(suite: str, arch: str = "arm64") -> str:
    return f"tfwheelbuild/base:{suite}-{arch}"


HOST_DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_mirror(sources: Path = DEBIAN_SOURCES, sources_list: Path = SOURCES_LIST,
                debootstrap: Path = DEBOOTSTRAP) -> str:
    """The host's Debian mirror (deb822 or one-line format), so air-gapped hosts use their own."""
    if sources.is_file():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                for uri in line.split()[1:]:
                    if "security" not in uri:
                        return uri
    if sources_list.is_file():
        for line in sources_list.read_text().splitlines():
            # deb [opt=a opt=b] URI suite components: the options block may hold spaces.
            rest = line.split("#", 1)[0].strip()
            if not rest.startswith("deb "):
                continue
            rest = rest[4:].strip()
            if rest.startswith("["):
                rest = rest.partition("]")[2].strip()
            uri = rest.split()[0] if rest else ""
            if uri and "security" not in uri:
                return uri
    return debootstrap_default_mirror(debootstrap)


def debootstrap_default_mirror(script: Path = DEBOOTSTRAP) -> str:
    """The mirror debootstrap itself falls back on (its DEF_MIRROR), for hosts with no Debian apt sources
    (the tool names no mirror of its own); "" when debootstrap is not installed either."""
    try:
        text = script.read_text(errors="replace")
    except OSError:
        return ""
    match = re.search(r'^DEF_MIRROR="([^"]+)"', text, re.M)
    return match[1] if match else ""


def check_mirror(mirror: str) -> str:
    """An apt mirror URL debootstrap can read; `mirror` back, else UsageError."""
    parts = urllib.parse.urlsplit(mirror)
    if parts.scheme not in MIRROR_SCHEMES or not (parts.netloc or parts.scheme == "file"):
        raise UsageError(f"--mirror {mirror!r} is not an apt mirror URL",
                         remedy="give the mirror's Debian root, e.g. http://mirror.example/debian "
                                "(http://, https:// or file:/)")
    return mirror


def debian_suites(scripts: Path = DEBOOTSTRAP_SCRIPTS) -> list[str]:
    """The Debian suites this host's debootstrap knows (its scripts that are Debian's, i.e. sid's)."""
    if not scripts.is_dir():
        return []
    return sorted(p.name for p in scripts.iterdir()
                  if p.name == "sid" or (p.is_symlink() and p.resolve().name == "sid"))


def check_suite(suite: str, scripts: Path = DEBOOTSTRAP_SCRIPTS) -> str:
    """A suite name debootstrap knows (when it is installed here to ask); `suite` back, else UsageError."""
    known = debian_suites(scripts)
    others = [s for s in known if s not in TOOL_SUITES]
    hint = ", ".join(TOOL_SUITES) + (f"; debootstrap here also knows {', '.join(others)}" if others else "")
    if not re.fullmatch(r"[a-z][a-z0-9.-]{0,40}", suite):
        raise UsageError(f"--suite {suite!r} is not a Debian suite name", remedy=f"choose a Debian suite: {hint}")
    if scripts.is_dir() and not (scripts / suite).exists():
        raise UsageError(f"debootstrap knows no suite {suite!r}", remedy=f"choose a Debian suite: {hint}")
    return suite


def mirror_serves(mirror: str, suite: str, timeout: float = 15) -> bool | None:
    """Whether the mirror has dists/<suite>/Release; None when it cannot be asked (debootstrap then says)."""
    if urllib.parse.urlsplit(mirror).scheme not in ("http", "https"):
        return None
    url = f"{mirror.rstrip('/')}/dists/{suite}/Release"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return False if exc.code == 404 else None
    except (urllib.error.URLError, OSError):
        return None


def check_suite_on_mirror(suite: str, mirror: str) -> None:
    if mirror_serves(mirror, suite) is False:
        raise UsageError(f"the mirror {mirror} serves no suite {suite!r} (it has no dists/{suite}/Release)",
                         remedy=f"choose a suite that mirror serves (this tool's bases use {', '.join(TOOL_SUITES)}), "
                                "or another --mirror")


def bootstrap_base(engine: Engine, suite: str, mirror: str, log: BuildLog, arch: str = "arm64") -> str:
    """Create tfwheelbuild/base:<suite>-<arch> (arm64 for builds and tests, amd64 for cross
    builders); return its image id."""
    if shutil.which("debootstrap") is None:
        raise BaseBootstrapError("debootstrap is not installed on this host")
    if os.geteuid() != 0:
        raise BaseBootstrapError("debootstrap must run as root")
    foreign = HOST_DEBIAN_ARCH.get(os.uname().machine) != arch
    if foreign and arch == "arm64" and not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        raise EmulationMissingError("qemu-aarch64 is not registered with binfmt_misc on this host")
    mirror = mirror or host_mirror()
    if not mirror:
        raise BaseBootstrapError("no Debian mirror is known: this host has no Debian apt sources",
                                 remedy="pass --mirror with a Debian mirror URL (or its `mirror` config key)")
    tag = base_tag(suite, arch)
    log.say(f"bootstrapping an {arch} Debian {suite} base from {mirror} (minutes)")
    with tempfile.TemporaryDirectory(prefix="tfwb-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = ["debootstrap", f"--arch={arch}", "--variant=minbase", suite, str(rootfs), mirror]
        _run(cmd, log)
        if suite not in TOOL_SUITES:
            allow_expired_release(rootfs)
        context = Path(tmp) / "context"
        context.mkdir()
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-czf", str(context / "rootfs.tar.gz"), "."], log)
        shutil.rmtree(rootfs)
        template = resources.buildenv("base-rootfs.Dockerfile").read_text()
        (context / "Dockerfile").write_text(
            template.replace("{{SUITE}}", suite).replace("{{MIRROR}}", mirror))
        image_id = engine.build_image(context, tag, sink=log.line, platform=f"linux/{arch}", nocache=True)
    log.say(f"base image {tag} ready ({image_id[:19]})")
    return image_id


def allow_expired_release(rootfs: Path) -> None:
    """Rolling suites (sid, testing) sign a Release that expires within days, so apt in a base made from a
    mirror snapshot (what an offline host has) refuses every `apt-get update` a week later, and the runtime
    image cannot install the Python it is for (measured: sid's python3.14, "Release file ... is expired").
    Stable suites carry no expiry, so they keep apt's check."""
    conf = rootfs / "etc" / "apt" / "apt.conf.d" / "99tfwb-check-valid-until"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text('Acquire::Check-Valid-Until "false";\n')


def _run(cmd: list[str], log: BuildLog) -> None:
    log.command(cmd, "host")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        log.line(line.rstrip("\n"))
    if proc.wait() != 0:
        tail = " / ".join(log.tail()[-3:])
        raise BaseBootstrapError(f"{cmd[0]} failed (exit {proc.returncode}): {tail}")
