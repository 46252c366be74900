"""Can the cross builder serve this checkout's cross toolchain? Pure parsing; the compile stage asks
the container which of the named paths exist.

A release's `cross_compile_linux_arm64` config points Bazel at a C++ toolchain that names absolute
paths: compilers, a linker, sysroots, include directories. TensorFlow's own names clang-17/18 under
/usr/lib/llvm-N and glibc-2.17 sysroots at /dt9 and /dt10, which exist only in TensorFlow's CI
images; a builder without them fails deep inside Bazel (a missing clang, an "undeclared inclusion")
after the analysis phase. Checking the paths first turns that into one clear line.
"""

from __future__ import annotations

import re
import shlex

# Where TensorFlow (2.16+) keeps the cross toolchains its .bazelrc's cross configs select.
TOOLCHAIN_BUILD = "tensorflow/tools/toolchains/cross_compile/cc/BUILD"
# The toolchains a Linux aarch64 cross build uses: the target's and the exec (x86_64) one.
LINUX_CPUS = ("aarch64", "k8")

_BLOCK = re.compile(r"\bcc_toolchain_config\s*\(")
_CPU = re.compile(r"\bcpu\s*=\s*\"([^\"]+)\"")
_STRING = re.compile(r"\"([^\"]*)\"")
# An absolute path alone ("/usr/lib/llvm-17/bin/clang") or as a flag's value ("--ld-path=/…").
_PATH = re.compile(r"(?:^|=)(/[^\s=]*)")


def _blocks(text: str) -> list[str]:
    """The argument text of each cc_toolchain_config(...) call."""
    starts = [m.end() for m in _BLOCK.finditer(text)]
    blocks = []
    for start in starts:
        depth, end = 1, start
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        blocks.append(text[start:end])
    return blocks


def toolchain_paths(build_text: str, cpus: tuple[str, ...] = LINUX_CPUS) -> list[str]:
    """The absolute paths the Linux cross toolchains of a BUILD file name, in order, once each.

    A path may be a prefix (a GNU `tool_prefix` such as /usr/bin/aarch64-linux-gnu-): the check
    accepts anything that starts with it.
    """
    found: list[str] = []
    for block in _blocks(build_text):
        cpu = _CPU.search(block)
        if cpu is None or cpu[1] not in cpus:
            continue
        for literal in _STRING.findall(block):
            for match in _PATH.finditer(literal):
                path = match[1].rstrip("/") or "/"
                if path not in found:
                    found.append(path)
    return found


def missing_paths_script(paths: list[str]) -> str:
    """A sh script printing each path that neither exists nor prefixes an existing one."""
    checks = [f'[ -e {shlex.quote(p)} ] || ls -d {shlex.quote(p)}* >/dev/null 2>&1 || echo "missing: "{shlex.quote(p)}'
              for p in paths]
    return "\n".join(checks) + "\ntrue\n"


def parse_missing(lines: list[str]) -> list[str]:
    return [ln.removeprefix("missing: ").strip() for ln in lines if ln.startswith("missing: ")]
