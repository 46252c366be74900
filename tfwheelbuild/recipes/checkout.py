"""Read-only views of a TensorFlow source tree at one commit, for recipe inference: a directory, or one
commit of a git repository fetched on the host into a throwaway bare repository."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tfwheelbuild.errors import SourceError
from tfwheelbuild.util.redact import redact

__all__ = ["Checkout", "DirCheckout", "GitCheckout", "git_checkout"]


class Checkout(Protocol):
    """Read-only access to a source tree at one commit."""

    def read(self, path: str) -> str | None:
        """The text of a file, or None when there is no such file."""

    def names(self, directory: str) -> tuple[str, ...]:
        """The entries directly inside a directory ("" = the root), sorted; () when it does not exist."""


@dataclass(frozen=True)
class DirCheckout:
    root: Path

    def read(self, path: str) -> str | None:
        try:
            return (self.root / path).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def names(self, directory: str) -> tuple[str, ...]:
        try:
            return tuple(sorted(os.listdir(self.root / directory)))
        except (FileNotFoundError, NotADirectoryError):
            return ()


@dataclass(frozen=True)
class GitCheckout:
    git_dir: Path
    commit: str

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "--git-dir", str(self.git_dir), *args], capture_output=True, text=True,
                              errors="replace", timeout=300, check=False,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})

    def read(self, path: str) -> str | None:
        result = self._git("cat-file", "blob", f"{self.commit}:{path}")
        return result.stdout if result.returncode == 0 else None

    def names(self, directory: str) -> tuple[str, ...]:
        spec = f"{self.commit}:{directory}" if directory else f"{self.commit}^{{tree}}"
        result = self._git("ls-tree", "--name-only", spec)
        return tuple(sorted(result.stdout.split("\n")[:-1])) if result.returncode == 0 else ()


@contextmanager
def git_checkout(source: str, ref: str) -> Iterator[GitCheckout]:
    """One commit of `source` (a git URL or a local repository) read on the host, in a throwaway bare
    repository. Remote sources are fetched without file contents (blobs come on demand): the few files
    inference reads, not TensorFlow's whole tree."""
    local = "://" not in source.replace("file://", "") and not source.startswith("git@")
    with tempfile.TemporaryDirectory(prefix="tfwb-infer-") as tmp:
        git_dir = Path(tmp) / "src.git"
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True, capture_output=True, env=env)
        fetch = ["git", "--git-dir", str(git_dir), "fetch", "-q", "--depth", "1", "--no-tags"]
        if not local:
            fetch.append("--filter=blob:none")
        result = subprocess.run([*fetch, source, f"+{ref}:refs/tfwb/infer"], capture_output=True, text=True,
                                timeout=600, check=False, env=env)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise SourceError(f"cannot read {ref} of {redact(source)} to infer its recipe: "
                              f"{redact(lines[-1]) if lines else 'git fetch failed'}")
        if not local:
            # Later reads fetch blobs from the promisor remote by name, not by the URL given above.
            subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.url", source],
                           check=True, capture_output=True, env=env)
            subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.promisor", "true"],
                           check=True, capture_output=True, env=env)
            subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.partialclonefilter",
                            "blob:none"], check=True, capture_output=True, env=env)
        yield GitCheckout(git_dir=git_dir, commit="refs/tfwb/infer")
