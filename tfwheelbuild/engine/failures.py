"""What talking to the engine can raise, and the one-line messages and error classes it becomes."""

from __future__ import annotations

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from tfwheelbuild.errors import (
    EmulationMissingError,
    EngineError,
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
    return EngineError(f"cannot start a container from {image}: {text}")


def first_line(exc: BaseException) -> str:
    if not isinstance(exc, docker.errors.APIError) and isinstance(exc, ENGINE_FAILURES):
        return "the Docker engine stopped answering (the daemon stopped or restarted)"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
