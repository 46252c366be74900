"""A deps bundle's files beside Bazel's repository cache, fetched on the connected host.

- `wheels/`: the wheels of the release's requirements lock. TF's `python_init_pip()` installs the
  lock with rules_python's `pip_parse`, whose pip runs inside a repository rule: it never goes through
  Bazel's downloader, so neither the repository cache nor a downloader config reaches it. `pip download`
  (the host's pip, for the lock's Python on aarch64 and x86_64: the arm64 builder and the cross builder
  each run that pip on their own machine) puts every pinned file here, hashes checked against the lock;
  offline, the build points that pip at this directory (PIP_FIND_LINKS, PIP_NO_INDEX).
- `bazel/linux-<arch>/<version>/bazel`: the Bazel binary the release needs, when the builder image has
  no Bazel of that version, from Bazelisk's mirror (BAZELISK_BASE_URL) and checked against its `.sha256`
  as bazelisk-py checks it. The offline build points bazelisk-py's download cache at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

from tfwheelbuild.artifacts.deps import Entry
from tfwheelbuild.errors import DepsMissingError
from tfwheelbuild.util.digests import sha256_file

WHEELS = "wheels"
ARCHES = {"aarch64": "arm64", "x86_64": "x86_64"}  # pip's machine name -> Bazel's release file name
# manylinux tags pip may pick for a builder: manylinux2014 and glibc 2.17 up to a newer one than any
# builder base has (bookworm 2.36, trixie 2.41): the file pip would choose in the builder is among them.
_GLIBC_MINORS = range(17, 43)


def bazel_path(version: str, arch: str) -> str:
    """Bundle-relative path, laid out as bazelisk-py's download cache (<cache>/<version>/bazel) per arch."""
    return f"bazel/linux-{arch}/{version}/bazel"


def bazel_cache_dir(arch: str) -> str:
    return f"bazel/linux-{arch}"


def platforms(machine: str) -> list[str]:
    return [f"manylinux2014_{machine}", *(f"manylinux_2_{m}_{machine}" for m in _GLIBC_MINORS)]


def pip_download_command(lock: Path, dest: Path, python: str, machine: str) -> list[str]:
    """Every pin of the lock as the file pip would choose for `python` on `machine`, hashes required."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--prefer-binary",
               "--disable-pip-version-check", "--no-input", "--python-version", python, "--implementation", "cp",
               "--dest", str(dest), "-r", str(lock)]
    for tag in platforms(machine):
        command += ["--platform", tag]
    return command


def lock_pins(text: str) -> dict[str, set[str]]:
    """Requirement (as written) -> the sha256s the lock allows for it (pip-compile's `--hash` lines)."""
    pins: dict[str, set[str]] = {}
    current = ""
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if not words[0].startswith("--"):
            current = words[0]
            pins.setdefault(current, set())
        for word in words:
            if word.startswith("--hash=sha256:") and current:
                pins[current].add(word.removeprefix("--hash=sha256:"))
    return pins


def covered(pins: dict[str, set[str]], have: dict[str, str], machine: str) -> bool:
    """Every pin has a file in `have` (sha256 -> file name) that its lock allows and `machine` can install."""
    def fits(name: str) -> bool:
        if not name.endswith(".whl"):
            return True  # an sdist builds anywhere
        platform = name[:-4].rsplit("-", 1)[-1]
        return platform == "any" or any(p.endswith(machine) for p in platform.split("."))
    return all(any(sha in have and fits(have[sha]) for sha in hashes) for hashes in pins.values() if hashes)


def download_wheels(bundle: Path, lock: Path, python: str, index_url: str) -> tuple[Entry, ...]:
    """The lock's wheels into bundle/wheels (staged, then renamed in: a file there is always whole). A machine
    whose every pin already has an allowed file there is skipped: a second fetch adds only what is missing."""
    target = bundle / WHEELS
    target.mkdir(parents=True, exist_ok=True)
    pins = lock_pins(lock.read_text())
    for machine in ARCHES:
        have = {e.sha256: Path(e.path).name for e in wheel_entries(bundle)}
        if pins and covered(pins, have, machine):
            continue
        staging = bundle / f".incoming-wheels-{machine}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        # The index may carry credentials: pip gets it in its environment, never in argv or the log.
        env = {**os.environ, **({"PIP_INDEX_URL": index_url} if index_url else {})}
        done = subprocess.run(pip_download_command(lock, staging, python, machine), env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            detail = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            raise DepsMissingError(f"pip cannot download the requirements lock's wheels for Python {python} on "
                                   f"{machine}: {detail[-1] if detail else f'exit {done.returncode}'}",
                                   remedy="check the package index (--bazel-pip-index, --index-url or pip's "
                                   "configuration) and this host's network")
        for path in sorted(staging.iterdir()):
            os.replace(path, target / path.name)
        shutil.rmtree(staging, ignore_errors=True)
    return wheel_entries(bundle)


def wheel_entries(bundle: Path) -> tuple[Entry, ...]:
    root = bundle / WHEELS
    files = sorted(p for p in root.iterdir() if p.is_file()) if root.is_dir() else []
    return tuple(Entry(kind="wheel", path=f"{WHEELS}/{p.name}", sha256=sha256_file(p), size=p.stat().st_size,
                       repository="pip", url="") for p in files)


def _bazelisk() -> types.ModuleType:
    """bazelisk-py's own download layout and .sha256 parsing (it runs in the builder; one copy of the rules)."""
    from tfwheelbuild.util.resources import bazelisk_source

    module = types.ModuleType("tfwb_bazelisk")
    exec(compile(bazelisk_source(), "bazelisk.py", "exec"), module.__dict__)  # our own file, as shipped
    return module


def download_bazel(bundle: Path, version: str, base_url: str = "") -> tuple[Entry, ...]:
    """Bazel `version` for both builder machines, from Bazelisk's mirror, each checked against its .sha256."""
    from tfwheelbuild.util import httpget

    bazelisk = _bazelisk()
    base = base_url or os.environ.get("BAZELISK_BASE_URL", "") or bazelisk.DEFAULT_BASE_URL
    entries = []
    for arch in ARCHES.values():
        relative = bazel_path(version, arch)
        target = bundle / relative
        url = bazelisk.download_url(base, version, arch)
        try:
            with httpget.open_request(httpget.request(url + ".sha256"), timeout=60) as response:
                expected = bazelisk.parse_sha256_file(response.read().decode("utf-8", "replace"))
            if not (target.is_file() and sha256_file(target) == expected):
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = target.with_name(f".bazel-{os.getpid()}")
                with httpget.open_request(httpget.request(url), timeout=300) as response, staging.open("wb") as out:
                    shutil.copyfileobj(response, out)
                if sha256_file(staging) != expected:
                    staging.unlink()
                    raise DepsMissingError(f"Bazel {version} from {url} does not match its .sha256: not bundled")
                staging.chmod(0o755)
                os.replace(staging, target)
        except OSError as exc:
            raise DepsMissingError(f"cannot download Bazel {version} for linux-{arch} from {url}: "
                                   f"{httpget.failure(exc)[1]}",
                                   remedy="set BAZELISK_BASE_URL to a Bazel mirror this host reaches") from None
        except bazelisk.BazelResolveError as exc:
            raise DepsMissingError(f"Bazel {version} for linux-{arch}: {exc}") from None
        entries.append(Entry(kind="bazel", path=relative, sha256=expected, size=target.stat().st_size,
                             repository=f"bazel-{version}", url=url))
    return tuple(entries)
