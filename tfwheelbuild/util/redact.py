"""The one redaction of credentials in URLs, for everything the tool shows, logs or records.

A URL a user gives (--source, --index, --index-url, --remote-cache, a base rootfs) may carry
`user:token@`; git, pip and curl repeat such URLs in their own messages. `redact` takes the
userinfo out of every URL in a text, so it serves a bare URL and a line of git's output alike.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://userinfo@ : userinfo runs to the last '@' before the host (a password may hold an unescaped
# '@'), and never crosses a '/', a blank or a quote, so `git@host:path` and e-mail addresses are untouched.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s'\"<>@]*(?:@[^/\s'\"<>@]*)*@")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it removed: https://user:token@host/x -> https://host/x.

    An ssh URL keeps a bare user name (ssh://git@host/x): ssh authenticates with keys, and the name is
    part of the address; any password, and any userinfo of another scheme (a token alone), goes."""
    return _USERINFO.sub(_strip, text)


def _strip(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match[0][len(match["scheme"]):-1]
    if "ssh" in scheme.lower() and ":" not in userinfo and "@" not in userinfo:
        return match[0]
    return scheme


def redact_all(value: Any) -> Any:
    """`redact` through JSON-like data (dicts, lists, tuples, strings), for --json output and records."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_all(item) for item in value]
    return value
