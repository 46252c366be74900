"""Which installer puts the wheel into the runtime test's venv: uv where it can be had, else pip.

Under emulation pip's own Python is most of a runtime test's install time (issue 17: `test` of the
official 2.16.1 wheel took 96 s against 94 s for a plain `docker run` + venv + `pip install`). uv does
the same work in compiled code. Its aarch64 binary comes from the wheel uv publishes on the package
index, fetched on the host with the host's own pip (so pip's configured index, CA and proxy apply),
pinned by version and sha256, and kept in the user's cache: the runtime image stays as it was (no
new layer, same content hash) and the binary is copied into each test container, which also works
on remote engines. Where it cannot be had (an air-gapped host without that wheel on its index, no pip
on the host), the test says why and installs with pip, as before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tfwheelbuild.util.digests import sha256_file
from tfwheelbuild.util.hostpaths import default_work_root

UV_VERSION = "0.13.9"
# uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl (static binary)
UV_WHEEL_SHA256 = "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe"
UV_IN_CONTAINER = "/tfwb/uv"
UV_CACHE_VOLUME = "tfwb-uv"
UV_CACHE_DIR = "/home/tfwb/.cache/uv"  # the runtime image's unprivileged user, beside pip's cache
INSTALLERS = ("auto", "pip")


@dataclass(frozen=True, kw_only=True)
class Installer:
    """`uv` is the host path of the aarch64 binary, or None for pip; `note` says why pip when uv was wanted."""

    uv: Path | None
    note: str = ""

    @property
    def name(self) -> str:
        return f"uv {UV_VERSION}" if self.uv else "pip"


# A failed fetch is remembered this long: on an air-gapped host each `test` would otherwise wait for pip's
# download to time out before installing with pip anyway.
RETRY_AFTER_SECONDS = 24 * 3600


def choose(wanted: str, *, cache_root: Path | None = None, now: float | None = None) -> Installer:
    """`auto`: uv when its pinned binary is cached or can be fetched now; `pip`: pip, as before."""
    if wanted == "pip":
        return Installer(uv=None)
    root = cache_root or default_work_root()
    cached = uv_path(root)
    marker = cached.with_name("unavailable.json")
    now = time.time() if now is None else now
    if cached.is_file():  # however it got there (a copy from a connected host): no fetch, no remembered failure
        return Installer(uv=cached)
    remembered = _remembered_failure(marker, now)
    if remembered:
        return Installer(uv=None, note=f"uv {UV_VERSION} unavailable ({remembered}; tried again a day after, or "
                                       f"at once when {marker} is deleted): installing with pip")
    try:
        binary = uv_binary(root)
    except UvUnavailable as exc:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"reason": str(exc), "at": now}))
        except OSError:
            pass  # remembering is an optimisation; a read-only cache just tries again next time
        return Installer(uv=None, note=f"uv {UV_VERSION} unavailable ({exc}): installing with pip")
    marker.unlink(missing_ok=True)
    return Installer(uv=binary)


def _remembered_failure(marker: Path, now: float) -> str:
    """The reason of a failed fetch less than RETRY_AFTER_SECONDS old, else ""."""
    try:
        record = json.loads(marker.read_text())
        at, reason = float(record["at"]), str(record["reason"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    if not 0 <= now - at < RETRY_AFTER_SECONDS:
        return ""
    return f"{reason}, {int((now - at) // 60)} min ago"


class UvUnavailable(Exception):
    """Why the pinned uv binary cannot be had on this host (the test falls back to pip)."""


def uv_path(cache_root: Path) -> Path:
    """Where the pinned aarch64 uv binary is kept in the tool cache (a failed fetch is remembered beside it)."""
    return cache_root / "tools" / f"uv-{UV_VERSION}-aarch64" / "uv"


def uv_binary(cache_root: Path) -> Path:
    """The pinned aarch64 uv binary, from the cache or fetched into it (atomically: builds may run at once)."""
    dest = uv_path(cache_root)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        wheel = _download_wheel(Path(tmp))
        extracted = extract_uv(wheel, Path(tmp) / "uv")
        os.replace(extracted, dest)
    return dest


def _download_wheel(into: Path) -> Path:
    requirement = into / "uv.txt"
    requirement.write_text(f"uv=={UV_VERSION} --hash=sha256:{UV_WHEEL_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--only-binary=:all:", "--platform", "manylinux2014_aarch64", "--require-hashes", "--retries", "1",
           "--timeout", "20", "-r", str(requirement), "-d", str(into)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UvUnavailable(f"pip download did not finish: {exc}") from None
    wheels = sorted(into.glob(f"uv-{UV_VERSION}-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), f"exit {proc.returncode}")
        raise UvUnavailable(f"the host's pip could not download it: {last.strip()}")
    return wheels[0]


def extract_uv(wheel: Path, dest: Path, *, sha256: str = UV_WHEEL_SHA256) -> Path:
    """The `uv` executable out of the uv wheel, after checking the wheel's pinned sha256."""
    digest = sha256_file(wheel)
    if digest != sha256:
        raise UvUnavailable(f"{wheel.name} has sha256 {digest[:12]}…, not the pinned {sha256[:12]}…")
    member = f"uv-{UV_VERSION}.data/scripts/uv"
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise UvUnavailable(f"{wheel.name} holds no {member}: {exc}") from None
    dest.chmod(0o755)
    return dest


# --no-compile: byte-compiling numpy (or TF) under qemu costs more than the whole smoke test, and the test
# venv is thrown away afterwards.
PIP_INSTALL = ("/tfwb/venv/bin/pip", "install", "--no-compile", "--progress-bar", "off")


def pip_venv(python: str) -> list[str]:
    """The test venv made by the image's Python, with its own pip."""
    return ["python" + python, "-m", "venv", "/tfwb/venv"]


def venv_and_install(installer: Installer, python: str, wheel_in_container: str, *,
                     seed_pip: bool) -> list[list[str]]:
    """The commands that make the test venv and install the wheel with its dependencies into it."""
    if installer.uv is None:
        return [pip_venv(python), [*PIP_INSTALL, wheel_in_container]]
    # uv makes the venv from the image's own Python (never a downloaded one) and, by default, without pip:
    # a --test-command may call pip, so then it is seeded.
    venv = [UV_IN_CONTAINER, "venv", "--python", f"python{python}", *(["--seed"] if seed_pip else []),
            "/tfwb/venv"]
    return [venv, [UV_IN_CONTAINER, "pip", "install", "--python", "/tfwb/venv/bin/python", wheel_in_container]]


# uv wherever the tool runs it in a container: the image's own Python (never a downloaded one), copies
# (its cache, when it has one, is another filesystem), no progress bars.
UV_SETTINGS = {"UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy", "UV_NO_PROGRESS": "1"}


def uv_env(index_url: str) -> dict[str, str]:
    """uv's settings in the test container: UV_SETTINGS, its cache volume, and the index as pip is given it."""
    env = {"UV_CACHE_DIR": UV_CACHE_DIR, **UV_SETTINGS}
    if index_url:
        env["UV_DEFAULT_INDEX"] = index_url
    return env
