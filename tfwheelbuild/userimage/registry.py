"""The registry a user's image is pushed to: does it answer, does it ask for credentials, and which.

Checked before anything is built (`image --push`, `build --image … --push-image`). Credentials come from
a config.json-shaped file given by path or the engine's own config and its credential helpers, never argv.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from tfwheelbuild.errors import RegistryCredentialsError, RegistryUnreachableError
from tfwheelbuild.userimage.image import DEFAULT_REGISTRY, ImageRef
from tfwheelbuild.util import httpget

# The docker CLI keys the default index's credentials by its URL (https://HOST/v1/).
_DEFAULT_INDEX_KEY = re.compile(r"https://[^/]+/v1/?")
PROBE_SECONDS = 10


def registry_api(ref: ImageRef) -> str:
    host = ref.registry
    # The engine itself speaks plain HTTP to loopback registries (127.0.0.0/8 is insecure-allowed).
    return f"{'http' if ref.loopback else 'https'}://{host}/v2/"


def probe_registry(ref: ImageRef, timeout: float = PROBE_SECONDS) -> bool:
    """True when the registry asks for credentials (401), False when it lets anyone push; else exit 52."""
    if ref.registry == DEFAULT_REGISTRY:
        return False  # the engine's default registry: its push says whether it wants credentials (exit 54)
    url = registry_api(ref)
    try:
        with httpget.open_request(httpget.request(url, method="GET"), timeout=timeout, direct=ref.loopback):
            return False
    except OSError as exc:
        code, reason = httpget.failure(exc)
        if code == 401:
            return True
        if code is not None:
            raise RegistryUnreachableError(f"{ref.registry} is no registry: GET {url} answered HTTP {code}") from None
        raise RegistryUnreachableError(f"cannot reach the registry {ref.registry} ({url}): {reason}") from None


def docker_config_path() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


def registry_credentials(ref: ImageRef, auth_file: Path | None) -> dict[str, str] | None:
    """username/password for the registry from `auth_file` (config.json-shaped) or the engine's own
    config.json: `auths` entries, then `credHelpers`/`credsStore` helpers. None when there are none."""
    path = auth_file or docker_config_path()
    try:
        config = json.loads(path.read_text()) if path.is_file() or auth_file else {}
    except (OSError, ValueError) as exc:
        raise RegistryCredentialsError(f"cannot read the registry credentials in {path}: {exc}",
                                       remedy="give --registry-auth a JSON file shaped like ~/.docker/config.json "
                                              '({"auths": {"REGISTRY": {"auth": base64(user:password)}}})') from None
    if not isinstance(config, dict):
        return None
    default = ref.registry == DEFAULT_REGISTRY
    auths = config.get("auths") or {}
    for key, entry in auths.items():
        matches = _DEFAULT_INDEX_KEY.fullmatch(key) if default else _registry_key(key) == ref.registry
        if matches and isinstance(entry, dict):
            found = _from_entry(entry)
            if found:
                return {**found, "serveraddress": key}
    helper = (None if default else (config.get("credHelpers") or {}).get(ref.registry)) or config.get("credsStore")
    if helper and not default:
        return _from_helper(str(helper), ref.registry)
    return None


def _registry_key(key: str) -> str:
    return re.sub(r"^https?://", "", key).split("/", 1)[0]


def _from_entry(entry: dict[str, Any]) -> dict[str, str] | None:
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return {"username": user, "password": password} if user else None
    if entry.get("username") and entry.get("password"):
        return {"username": str(entry["username"]), "password": str(entry["password"])}
    if entry.get("identitytoken"):
        return {"identitytoken": str(entry["identitytoken"])}
    return None


def _from_helper(helper: str, server: str) -> dict[str, str] | None:
    """The docker CLI's credential helper protocol: `docker-credential-NAME get`, the server on stdin."""
    try:
        proc = subprocess.run([f"docker-credential-{helper}", "get"], input=server, capture_output=True, text=True,
                              timeout=30, check=False)
        data = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not data.get("Username"):
        return None
    return {"username": str(data["Username"]), "password": str(data.get("Secret", "")), "serveraddress": server}


def check_push(ref: ImageRef, auth_file: Path | None) -> dict[str, str] | None:
    """Before anything is built: the registry answers, and credentials exist when it asks for them."""
    if auth_file is not None and not auth_file.is_file():
        raise RegistryCredentialsError(f"--registry-auth {auth_file}: no such file")
    needs_auth = probe_registry(ref)
    creds = registry_credentials(ref, auth_file)
    if needs_auth and creds is None:
        where = f"--registry-auth {auth_file}" if auth_file else f"{docker_config_path()}"
        raise RegistryCredentialsError(f"{ref.registry} asks for credentials and {where} has none for it")
    return creds
