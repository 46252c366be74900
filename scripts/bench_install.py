#!/usr/bin/env python3
"""`tfwheelbuild test` of the official 2.16.1 wheel against a plain `docker run` + venv + `pip install`.

Issue 17's goal: `test` / plain run ≤ 0.8×. All three are measured in one run, alternating, in the same
runtime image (the one `test` made), with the same smoke test (import, version, a matmul):

- plain: `docker run --rm IMAGE sh -c "python3.11 -m venv … && pip install --no-compile WHEEL && smoke"`,
  the host's CA bundle mounted, no cache volume (a fresh container, as such a command runs);
- `test` (uv, the default): the tool's runtime test, its uv cache volume warm after the first run;
- `test --installer pip`: the same with pip, its pip cache volume warm.

Writes the "Runtime test installs (issue 17)" section of BENCHMARKS.md.
Usage: scripts/bench_install.py [--runs 2] [--cache DIR] [--output BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from benchlib import official_wheel, write_section  # noqa: E402

HEADING = "Runtime test installs (issue 17)"
CA = Path("/etc/ssl/certs/ca-certificates.crt")


def timed(argv: list[str]) -> tuple[float, dict[str, object]]:
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} … failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
    return seconds, (json.loads(last) if last.startswith("{") else {})


def runtime_image() -> str:
    out = subprocess.run(["docker", "images", "--filter", "label=org.tfwheelbuild.role=runtime", "--filter",
                          "label=org.tfwheelbuild.python=3.11", "--format", "{{.Repository}}:{{.Tag}}"],
                         capture_output=True, text=True, check=True).stdout.split()
    # Users' images inherit the runtime image's labels: only the tool's own runtime tag is wanted.
    out = [ref for ref in out if ref.startswith("tfwheelbuild/runtime:")]
    if not out:
        raise SystemExit("no runtime image for Python 3.11: the warm-up `tfwheelbuild test` should have made it")
    return out[0]


def plain_argv(image: str, wheel: Path) -> list[str]:
    smoke = ROOT / "buildenv" / "smoke_test.py"
    env = [f"{k}={v}" for k, v in os.environ.items() if k.lower() in ("http_proxy", "https_proxy", "no_proxy")]
    script = (f"python3.11 -m venv /tmp/v && /tmp/v/bin/pip install --no-compile --progress-bar off /w/{wheel.name} "
              "&& /tmp/v/bin/python /tmp/smoke.py 2.16.1")
    return ["docker", "run", "--rm", "--platform", "linux/arm64", "-v", f"{wheel}:/w/{wheel.name}:ro",
            "-v", f"{smoke}:/tmp/smoke.py:ro", "-v", f"{CA}:/tmp/ca.crt:ro", "-e", "PIP_CERT=/tmp/ca.crt",
            "-e", "PIP_DISABLE_PIP_VERSION_CHECK=1", *(a for e in env for a in ("-e", e)), image, "sh", "-c", script]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "tfwheelbuild-bench")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    wheel = official_wheel(args.cache)
    if isinstance(wheel, str):
        write_section(args.output, HEADING, [f"Not measured: the official wheel could not be had ({wheel})."])
        return 1
    tool = [sys.executable, "-m", "tfwheelbuild", "test", str(wheel), "--json", "--work-dir", str(args.cache / "work")]
    _, warm = timed(tool)  # makes the runtime image, fetches uv, fills the uv cache: not measured
    image = runtime_image()
    times: dict[str, list[float]] = {"plain": [], "uv": [], "pip": []}
    for _ in range(args.runs):
        times["plain"].append(timed(plain_argv(image, wheel))[0])
        seconds, uv = timed(tool)
        times["uv"].append(seconds)
        times["pip"].append(timed([*tool, "--installer", "pip"])[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio, pip_ratio = med["uv"] / med["plain"], med["pip"] / med["plain"]
    lines = [
        f"Measured by `scripts/bench_install.py` (also run by `make bench`), {time.strftime('%Y-%m-%d')}: the official",
        f"{wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB), Python 3.11, in {image} (arm64 under",
        f"emulation), {args.runs} runs of each, alternating; the same smoke test in all three. The plain run has",
        "no cache volume (a fresh `docker run`, as a user types it) and installs with `--no-compile` as the",
        "tool does; the tool's runs keep their installer's cache volume warm.",
        "",
        "| run | median | all runs | installer |",
        "|---|---:|---|---|",
        f"| plain `docker run` + venv + `pip install` | {med['plain']:.1f} s | "
        f"{', '.join(f'{t:.1f}' for t in times['plain'])} | pip |",
        f"| `tfwheelbuild test` | {med['uv']:.1f} s | {', '.join(f'{t:.1f}' for t in times['uv'])} | "
        f"{uv.get('installer', warm.get('installer', '?'))} |",
        f"| `tfwheelbuild test --installer pip` | {med['pip']:.1f} s | "
        f"{', '.join(f'{t:.1f}' for t in times['pip'])} | pip |",
        "",
        "| target | measured | goal | met |",
        "|---|---:|---:|:-:|",
        f"| `test` / plain run | {ratio:.2f}× | ≤ 0.8× | {'yes' if ratio <= 0.8 else 'no'} |",
        f"| `test --installer pip` / plain run (before uv) | {pip_ratio:.2f}× | | |",
    ]
    write_section(args.output, HEADING, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
