"""What the fault suite drives and inspects: a build in its own process, the tool's containers, cache volumes
made tiny, a patch whose compile needs more memory than it gets."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

NAMESPACE = "faults"  # its own cache volumes: the first interrupted run starts cold on purpose


def tool_containers(build_id: str = "") -> set[str]:
    """The tool's containers, or those of one build (other builds may share the engine)."""
    label = f"org.tfwheelbuild.build={build_id}" if build_id else "org.tfwheelbuild"
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label={label}"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def build_id_of(stderr: str) -> str:
    """From the build's first line: "…; log: <work>/builds/<build id>/build.log"."""
    line = next(ln for ln in stderr.splitlines() if "; log: " in ln)
    return Path(line.split("; log: ")[1]).parent.name


class Run:
    """A build in its own process; stderr read line by line so a test can act at a stage."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tfwheelbuild", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, marker: str, timeout: float = 1200) -> None:
        deadline = time.monotonic() + timeout
        while not any(ln.startswith(marker) for ln in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"never saw {marker!r}:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.1)

    @property
    def build_id(self) -> str:
        return build_id_of("\n".join(self.lines))

    def finish(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        sys.stderr.write("\n".join(self.lines[-15:]) + "\n")
        return code


def all_containers() -> set[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def tmpfs_volume(name: str, size: str) -> None:
    """Replace a cache volume with a tiny tmpfs one (the tool uses a volume of that name as it finds it)."""
    subprocess.run(["docker", "volume", "rm", "-f", name], check=True, capture_output=True)
    subprocess.run(["docker", "volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
                    "--opt", f"o=size={size}", "--label", "org.tfwheelbuild=1", name], check=True, capture_output=True)


def drop_volumes(namespace: str) -> None:
    """Remove a cache namespace's volumes, so its next build starts cold."""
    names = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=^tfwb-{namespace}-"],
                           capture_output=True, text=True, check=True).stdout.split()
    if names:
        subprocess.run(["docker", "volume", "rm", "-f", *names], check=False, capture_output=True)


def hog_patch(fixture_repo: Path) -> str:
    """A patch adding 300k dependent statements to one unit: cc1plus -O2 needs well over 1 GB for it."""
    rel = "tensorflow/core/kernels/generated/unit_001.cc"
    lines = subprocess.run(["git", "-C", str(fixture_repo), "show", f"v2.16.1:{rel}"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    hog = ["#define S1 v = v * 3 + (v >> 7);", "#define S10 S1 S1 S1 S1 S1 S1 S1 S1 S1 S1",
           "#define S100 S10 S10 S10 S10 S10 S10 S10 S10 S10 S10",
           "#define S1K S100 S100 S100 S100 S100 S100 S100 S100 S100 S100",
           "#define S10K S1K S1K S1K S1K S1K S1K S1K S1K S1K S1K",
           "#define S100K S10K S10K S10K S10K S10K S10K S10K S10K S10K S10K",
           "long Hog(long v) { S100K S100K S100K return v; }"]
    n = len(lines)
    return (f"--- a/{rel}\n+++ b/{rel}\n@@ -{n},1 +{n},{1 + len(hog)} @@\n {lines[-1]}\n"
            + "".join(f"+{h}\n" for h in hog))
