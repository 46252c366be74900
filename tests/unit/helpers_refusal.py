"""The real command line in a child process, pointed at no engine, and the check that an input was
refused the way RELIABILITY.md's "## Bad input" table says: one `error:` line, one `fix:` line, the
error class's exit code, nothing written. Shared by the bad-input, option-check and message tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tfwheelbuild.errors import TfwbError

ROOT = Path(__file__).resolve().parents[2]
NO_ENGINE = "unix:///nonexistent/tfwb-bad-input-docker.sock"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def tfwheelbuild(home: Path, *args: str, **env: str) -> Run:
    """`python -m tfwheelbuild ARGS` in `home`, with caches, data and the engine pointed at nothing real."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TFWHEELBUILD_", "TWINE_"))}
    base.update(DOCKER_HOST=NO_ENGINE, XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".data"),
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])))
    base.update(env)
    proc = subprocess.run([sys.executable, "-m", "tfwheelbuild", *args], cwd=home, env=base, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_refused(run: Run, error: type[TfwbError], *words: str, out: Path | None = None,
                   home: Path | None = None) -> str:
    """Exit code of `error`; stderr is exactly one `error:` line naming the problem and one `fix:` line;
    no traceback; nothing on stdout; `out` absent or empty; no work dir made under `home`. The error line."""
    assert run.code == error.exit_code, f"exit {run.code}, wanted {error.exit_code}:\n{run.stderr}"
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.splitlines()
    assert len(lines) == 2, run.stderr
    line, fix = lines
    assert line.startswith("error: ") and fix.startswith("  fix: "), run.stderr
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    assert run.stdout == ""
    if out is not None:
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    if home is not None:
        assert not (home / ".cache" / "tfwheelbuild").exists()  # no log, lock or staging dir either
    return line


def git_repo(path: Path, tag: str) -> Path:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
           "-C", str(path)]
    path.mkdir(parents=True)
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    subprocess.run([*git, "tag", tag], check=True)
    return path


def build(home: Path, dist: Path, *args: str, **env: str) -> Run:
    return tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.11", "--output", str(dist), *args, **env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
