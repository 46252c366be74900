"""A config file written and loaded: what the config tests share."""

from __future__ import annotations

from pathlib import Path

from tfwheelbuild.core.config import ConfigFile, load_config


def _file(tmp_path: Path, text: str, name: str = "tfwheelbuild.toml") -> ConfigFile:
    path = tmp_path / name
    path.write_text(text)
    return load_config(path)
