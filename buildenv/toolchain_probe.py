"""Run inside a build image given with --builder-image (upstream's ml-build-arm64 shape), at image build time.

Writes what the image really carries, in the shape of the tool's own builders' /opt/tfwb/toolchain.json:
the clang at /usr/lib/llvm-<wanted> (and every other /usr/lib/llvm-N), lld, and each devtoolset-style
sysroot (/dt9, /dt10) with the glibc its headers declare. Stdlib only: the image's python3 runs it.
Exits 1 with one `error:` line when the wanted clang is missing, so the image build names the cause.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys


def version(binary: str, pattern: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return ""
    match = re.search(pattern, out)
    return match[1] if match else ""


def glibc(root: str) -> str:
    """The glibc a sysroot's headers declare (features.h), e.g. "2.17"."""
    try:
        with open(os.path.join(root, "usr/include/features.h")) as f:
            text = f.read()
    except OSError:
        return ""
    major = re.search(r"#define\s+__GLIBC__\s+(\d+)", text)
    minor = re.search(r"#define\s+__GLIBC_MINOR__\s+(\d+)", text)
    return f"{major[1]}.{minor[1]}" if major and minor else ""


def main(wanted: str, out: str) -> int:
    clangs = {}
    for path in sorted(glob.glob("/usr/lib/llvm-*/bin/clang")):
        major = path.split("/")[3].removeprefix("llvm-")
        clangs[major] = {"clang": version(path, r"clang version ([0-9][0-9.]*)"),
                         "real_path": os.path.realpath(os.path.dirname(os.path.dirname(path)))}
    record: dict[str, object]
    if wanted:
        if wanted not in clangs:
            print(f"error: the builder image has no clang at /usr/lib/llvm-{wanted}/bin/clang "
                  f"(it has: {', '.join('llvm-' + m for m in clangs) or 'none'})", file=sys.stderr)
            return 1
        prefix = f"/usr/lib/llvm-{wanted}"
        record = {"compiler": "clang", "clang": clangs[wanted]["clang"], "clang_wanted": wanted,
                  "answers_as": prefix, "real_path": clangs[wanted]["real_path"],
                  "linker": "lld " + version(f"{prefix}/bin/ld.lld", r"LLD ([0-9][0-9.]*)"),
                  "also": {m: {**c, "answers_as": f"/usr/lib/llvm-{m}"} for m, c in clangs.items() if m != wanted}}
    else:
        record = {"compiler": "gcc", "gcc": version("gcc", r"\) ([0-9][0-9.]*)"), "clang": None}
    record["sysroots"] = {root: {"glibc": glibc(root), "origin": "the given builder image"}
                          for root in ("/dt9", "/dt10") if os.path.isdir(root)}
    record["builder_image"] = "given (--builder-image)"
    with open(out, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(record, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2] if len(sys.argv) > 2 else
                  "/opt/tfwb/toolchain.json"))
