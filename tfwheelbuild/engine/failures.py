"""What talking to the engine can raise, and the one-line messages and error classes it becomes."""

from __future__ import annotations

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from tfwheelbuild.errors import (
    EmulationMissingError,
    EngineError,
    EngineSetupError,
)

# What talking to the engine can raise: its own refusals, and a daemon gone mid-call (stopped,
# crashed, restarted), which surfaces from requests/urllib3 rather than as an APIError.
ENGINE_FAILURES = (docker.errors.APIError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)


def in_use(exc: Exception) -> bool:
    return isinstance(exc, docker.errors.APIError) and exc.status_code == 409


def engine_gone(exc: Exception, doing: str) -> EngineError | None:
    """A daemon that stopped answering mid-call is the engine's failure, not the image's: exit 34, retried."""
    if isinstance(exc, docker.errors.APIError):
        return None
    return EngineError(f"{doing}: {first_line(exc)}")


def container_error(exc: Exception, image: str) -> Exception:
    text = first_line(exc)
    if "exec format error" in text:
        return EmulationMissingError(f"arm64 binaries cannot run on this engine ({text})")
    setup = engine_setup_problem(text)
    if setup is not None:
        return setup
    return EngineError(f"cannot start a container from {image}: {text}")


def first_line(exc: BaseException) -> str:
    if not isinstance(exc, docker.errors.APIError) and isinstance(exc, ENGINE_FAILURES):
        return "the Docker engine stopped answering (the daemon stopped or restarted)"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def engine_setup_problem(text: str) -> EngineSetupError | None:
    """Engine refusals that no rerun cures, each with the change to the engine's setup that does.

    Both are Podman's, seen on Debian's 4.3.1 (the texts below are its own): unlike dockerd, Podman gives
    every container explicit nofile/nproc limits (its built-in default is the maximum), which a host
    without CAP_SYS_RESOURCE refuses to raise; and `init` needs the catatonit binary, a separate package.
    """
    if "error setting rlimit" in text:
        return EngineSetupError(
            "the engine cannot give the container the resource limits it asks for (the host forbids raising "
            "them: " + text.rsplit("error setting rlimit", 1)[1].strip(" :")[:80] + ")",
            remedy=("Podman: set `default_ulimits = [\"nofile=N:N\", \"nproc=M:M\"]` under [containers] in "
                    "containers.conf, at or below the limits the service itself runs with "
                    "(`grep -E 'open files|processes' /proc/$(pgrep -f 'podman system service')/limits`), "
                    "and restart `podman system service`"))
    if "container-init binary not found" in text or "catatonit" in text:
        return EngineSetupError("the engine has no init binary for the container (" + text[-120:] + ")",
                                remedy="install Podman's init: `apt-get install catatonit` "
                                       "(dnf install catatonit), then rerun")
    return None
