#!/usr/bin/env python3
"""Peak resident memory of `tfwheelbuild test WHEEL` and `tfwheelbuild publish WHEEL --index DIR`.

Each command runs as its own child process; its peak RSS is the kernel's count for that child
(os.wait4's rusage: the largest of it and the processes it waited for, e.g. twine), so one
command's figure never includes the other's. For a TensorFlow wheel of hundreds of MB the goal is
a peak well below the wheel's size: the wheel is streamed, never held in memory.

Usage: scripts/rss.py WHEEL [--work-dir DIR] [--index DIR] [--no-verify] [--json]
       (the official 2.16.1 wheel: pip download --no-deps --only-binary :all: --platform
        manylinux2014_aarch64 --python-version 3.11 -d DIR tensorflow==2.16.1)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss(argv: list[str]) -> tuple[int, float, float]:
    """(exit code, peak RSS in MB, seconds) of one child process."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    return proc.returncode, usage.ru_maxrss / 1024, time.monotonic() - start  # ru_maxrss is in KB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--work-dir", type=Path, help="tfwheelbuild's --work-dir [default: its own]")
    parser.add_argument("--index", type=Path, help="directory index to publish into [default: a fresh temp dir]")
    parser.add_argument("--no-verify", action="store_true", help="publish without installing back from the index")
    parser.add_argument("--only", choices=["test", "publish"], help="measure one of the two commands")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tool = [sys.executable, "-m", "tfwheelbuild"]
    work = ["--work-dir", str(args.work_dir)] if args.work_dir else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="tfwb-rss-") as tmp:
        index = args.index or Path(tmp) / "index"
        commands = {
            "test": [*tool, "test", str(args.wheel), *work],
            "publish": [*tool, "publish", str(args.wheel), "--index", str(index.absolute()), *work,
                        *(["--no-verify"] if args.no_verify else [])],
        }
        size_mb = args.wheel.stat().st_size / (1 << 20)
        if not args.json:
            print(f"wheel: {args.wheel.name} ({size_mb:.0f} MB)", flush=True)
        for name, argv in commands.items():
            if args.only and name != args.only:
                continue
            code, mb, seconds = peak_rss(argv)
            row = {"command": name, "exit": code, "peak_rss_mb": round(mb, 1), "seconds": round(seconds, 1)}
            rows.append(row)
            if not args.json:  # each as it ends: the test alone takes minutes under emulation
                print(f"{name:8} peak RSS {mb:7.1f} MB  ({seconds:.0f} s, exit {code})", flush=True)
    if args.json:
        print(json.dumps({"wheel": args.wheel.name, "wheel_mb": round(size_mb, 1), "runs": rows}))
    return max(int(str(row["exit"])) for row in rows) and 1


if __name__ == "__main__":
    sys.exit(main())
