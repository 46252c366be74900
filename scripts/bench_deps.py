#!/usr/bin/env python3
"""P9 (issue 15): an offline build from a deps bundle against a connected warm build, side by side.

The 2.18-style fixture tag (two http_archives, a hermetic interpreter archive and a requirements lock whose
wheel Bazel's pip installs), Python 3.11, cross mode, `--force`. Connected: `build --bazel-mirror` and
`--bazel-pip-index` pointing at a loopback tests/integration/depserver.py, in a namespace warmed once.
Offline: `build --deps BUNDLE` (the container's network none) in another namespace warmed once, the bundle
from `tfwheelbuild fetch`. Runs alternate; wall time is the `seconds` of `--json`. Also: the bundle's size
next to the connected build's repository cache.

Writes the "P9: offline build from a deps bundle (issue 15)" section of BENCHMARKS.md.
Usage: scripts/bench_deps.py [--runs 3] [--cache DIR] [--output BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from benchlib import write_section  # noqa: E402
from make_repo import make_repo  # noqa: E402

from tests.integration.depserver import DepServer  # noqa: E402

HEADING = "P9: offline build from a deps bundle (issue 15)"
PATCHES = ROOT / "tests" / "fixtures" / "patches"


def tfwb(*args: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "tfwheelbuild", *args, "--json"], capture_output=True, text=True,
                          check=False, env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    if proc.returncode != 0:
        raise SystemExit(f"tfwheelbuild {args[0]} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def volume_bytes(volume: str, inside: str) -> int:
    """The bytes of the regular files under `inside` (as du() counts the bundle: directories left out)."""
    out = subprocess.run(["docker", "run", "--rm", "-v", f"{volume}:/v:ro", "tfwheelbuild/base:bookworm-amd64",
                          "find", f"/v/{inside}", "-type", "f", "-printf", "%s\\n"],
                         capture_output=True, text=True, check=False).stdout
    return sum(int(n) for n in out.split())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "tfwheelbuild-bench")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    repo = make_repo(args.cache / "fixture-3", units=3)
    work = args.cache / "work"
    stamp = time.strftime("%Y%m%d%H%M%S")
    online_ns, offline_ns = f"p9c{stamp}", f"p9o{stamp}"
    bundle = Path(tempfile.mkdtemp(prefix="tfwb-p9-")) / "bundle"

    def common(namespace: str) -> list[str]:
        return ["--tf", "2.18.0", "--py", "3.11", "--source", str(repo), "--patches", str(PATCHES),
                "--work-dir", str(work), "--mode", "cross", "--cache-namespace", namespace]

    server = DepServer()
    online_args = ["--bazel-mirror", server.url, "--bazel-pip-index", server.index_url]
    try:
        tfwb("build", *common(online_ns), "--output", str(args.cache / "p9-c"), "--force", *online_args)  # warm
        fetched = tfwb("fetch", *common(online_ns), "--out", str(bundle), *online_args)
        tfwb("build", *common(offline_ns), "--output", str(args.cache / "p9-o"), "--force", "--deps", str(bundle))
        online: list[float] = []
        offline: list[float] = []
        wheels: set[str] = set()
        for _ in range(args.runs):
            a = tfwb("build", *common(online_ns), "--output", str(args.cache / "p9-c"), "--force", *online_args)
            b = tfwb("build", *common(offline_ns), "--output", str(args.cache / "p9-o"), "--force",
                     "--deps", str(bundle))
            online.append(float(str(a["seconds"])))
            offline.append(float(str(b["seconds"])))
            wheels |= {str(a["wheel_sha256"]), str(b["wheel_sha256"])}
    finally:
        server.stop()
    volumes = subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True).stdout
    cache_volume = next(v for v in volumes.split() if v.startswith(f"tfwb-{online_ns}-bazel-"))
    repo_cache = volume_bytes(cache_volume, "bazel/repo")
    size = du(bundle)
    ratio = statistics.median(offline) / statistics.median(online)
    lines = [
        f"Measured by `scripts/bench_deps.py` on {time.strftime('%Y-%m-%d')}: the 2.18-style fixture tag (3 units; two",
        "`http_archive`s, a hermetic interpreter archive, and a requirements lock whose one wheel Bazel's pip",
        "installs), Python 3.11, `--mode cross`, `--force`, `SOURCE_DATE_EPOCH` fixed. *Connected warm*: `build",
        "--bazel-mirror` and `--bazel-pip-index` at a loopback `tests/integration/depserver.py`, namespace warmed",
        "once. *Offline*: `build --deps BUNDLE` (network none), its own namespace warmed once, the bundle from",
        "`tfwheelbuild fetch`. Runs alternate; wall time is the `seconds` of `--json`.",
        "",
        "| run | connected warm | offline from bundle |",
        "|---|---:|---:|",
        *(f"| {i + 1} | {a:.1f} s | {b:.1f} s |" for i, (a, b) in enumerate(zip(online, offline, strict=True))),
        f"| median | {statistics.median(online):.1f} s | {statistics.median(offline):.1f} s |",
        "",
        "| target | measured | goal | met |",
        "|---|---:|---:|:-:|",
        f"| P9 offline from bundle / connected warm (medians) | {ratio:.2f} | ≤ 1.10 "
        f"| {'yes' if ratio <= 1.10 else 'no'} |",
        "",
        f"Same wheel bytes in every run: {'yes' if len(wheels) == 1 else f'no ({len(wheels)} distinct)'}. Size: the "
        f"bundle is {size:,} bytes ({fetched['archives']} archives, {fetched['wheels']} wheel, "
        f"{fetched['bazel_binaries']} Bazel binaries, and `manifest.json`); the connected build's repository cache "
        f"is {repo_cache:,} bytes (both: the bytes of regular files). The bundle's `repository_cache/` holds "
        f"{du(bundle / 'repository_cache'):,} of them; the rest is the lock's wheels ({du(bundle / 'wheels'):,} bytes, "
        "outside the repository cache: Bazel's pip",
        "installs them) and the manifest. The fixture's Bazel 4.2.3 is the builder image's own, so no binary is",
        "bundled; on real TensorFlow a Bazel 6.5/7.4 binary adds about 50 MB per builder machine. Real TF's absolute",
        "size was not measured here.",
    ]
    write_section(args.output, HEADING, lines)
    shutil.rmtree(bundle.parent, ignore_errors=True)
    for namespace in (online_ns, offline_ns):
        names = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name=tfwb-{namespace}-"],
                               capture_output=True, text=True, check=True).stdout.split()
        subprocess.run(["docker", "volume", "rm", *names], capture_output=True, check=False)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
