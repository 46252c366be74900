"""Where things live on this host: the system CA bundle and the per-user cache and data directories.

platformdirs follows the XDG base directory spec on Linux, which gives the paths this tool has
always used (~/.cache/tfwheelbuild, ~/.local/share/tfwheelbuild, or under XDG_CACHE_HOME and
XDG_DATA_HOME when they are absolute).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "tfwheelbuild"
DEFAULT_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def host_ca() -> Path | None:
    return DEFAULT_CA if DEFAULT_CA.is_file() else None


def default_work_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # A relative XDG_CACHE_HOME has always been taken as given here (platformdirs ignores one, as
    # the spec says); kept so an existing work root does not move.
    if cache and not os.path.isabs(cache):
        return Path(cache) / APP
    return platformdirs.user_cache_path(APP)


def data_dir() -> Path:
    """The per-user data directory: the local index, the build history (a relative XDG_DATA_HOME is ignored)."""
    return platformdirs.user_data_path(APP)
