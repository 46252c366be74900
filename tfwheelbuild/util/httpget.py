"""The host side's plain HTTP requests (registry probe, index pages, rootfs downloads, mirror probe).

Each caller keeps its own error class and message; this module builds the request (Basic auth from a
(user, password) pair or from the URL's own userinfo, which urllib would not send), opens it (no
proxy where the caller says the host is direct, the caller's CA context) and tells an answer with an
HTTP status from no answer at all.
"""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

from tfwheelbuild.core.remote import LOOPBACK_HOSTS

Auth = tuple[str, str]


def url_auth(url: str) -> Auth | None:
    """The (user, password) written into the URL, if any."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")


def request(url: str, *, auth: Auth | None = None, method: str | None = None,
            headers: dict[str, str] | None = None) -> urllib.request.Request:
    built = urllib.request.Request(url, headers=headers or {}, method=method)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        built.add_header("Authorization", f"Basic {token}")
    return built


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


def open_request(req: urllib.request.Request, *, timeout: float, direct: bool = False,
                 context: ssl.SSLContext | None = None) -> Any:
    """The response (a context manager); `direct`: never through the host's proxy."""
    handlers: list[Any] = [urllib.request.ProxyHandler({})] if direct else []
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers).open(req, timeout=timeout)


def failure(exc: OSError) -> tuple[int | None, str]:
    """(HTTP status, reason) of a failed request: no status when nothing answered."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code, str(exc.reason)
    return None, str(getattr(exc, "reason", exc))
