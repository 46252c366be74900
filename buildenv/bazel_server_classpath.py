#!/usr/bin/env python3
"""Mend Debian's Bazel where its server jar cannot extract a tar. Runs once in the builder image (Python
standard library only), after Debian's bazel-bootstrap is registered for bazelisk-py.

Debian trixie's bazel-bootstrap 4.2.3+ds-11 bundles into its server jar a commons-compress that loads
org.apache.commons.io.Charsets, but leaves commons-io out of the jar and out of its class path: the first
tar a repository rule extracts (ctx.extract, download_and_extract: TF's hermetic Python, every http_archive
of a .tar.gz) kills the Bazel server with NoClassDefFoundError (measured 2026-12-05; bookworm's 4.2.3+ds-9
is whole). The package itself depends on libcommons-io-java, so the jar is on disk: appending it to the
server JVM's boot class path mends it. That is a startup line in the rc file bazelisk-py hands this Bazel
(`/opt/tfwb/bazel/bazel-<v>.bazelrc`), so it reaches every Bazel command the tool runs and no other Bazel.

Usage: bazel_server_classpath.py [BAZEL_DIR [SERVER_JAR [COMMONS_IO_JAR]]]; exit 0 whether or not it mended.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

BAZEL_DIR = Path("/opt/tfwb/bazel")
SERVER_JAR = Path("/usr/share/bazel/A-server.jar")  # Debian's bazel-bootstrap
COMMONS_IO_JAR = Path("/usr/share/java/commons-io.jar")  # Debian's libcommons-io-java
NEEDED_CLASS = b"org/apache/commons/io/Charsets"


def lacks_commons_io(server_jar: Path) -> bool:
    """True when the jar's commons-compress refers to commons-io's Charsets and the jar carries no commons-io."""
    with zipfile.ZipFile(server_jar) as jar:
        names = jar.namelist()
        if any(name.startswith("org/apache/commons/io/") for name in names):
            return False
        compress = (n for n in names if n.startswith("org/apache/commons/compress/") and n.endswith(".class"))
        return any(NEEDED_CLASS in jar.read(name) for name in compress)


def startup_line(commons_io_jar: Path) -> str:
    return f"startup --host_jvm_args=-Xbootclasspath/a:{commons_io_jar}\n"


def mend(bazel_dir: Path, server_jar: Path, commons_io_jar: Path) -> list[Path]:
    """Append the startup line to each registered distribution Bazel's rc file; return the files changed."""
    if not server_jar.is_file() or not lacks_commons_io(server_jar):
        return []
    if not commons_io_jar.is_file():
        print(f"warning: {server_jar} needs commons-io and {commons_io_jar} is missing: "
              "repository rules that extract a tar will fail", file=sys.stderr)
        return []
    changed = []
    for rc in sorted(bazel_dir.glob("bazel-*.bazelrc")):
        if startup_line(commons_io_jar) not in rc.read_text().splitlines(keepends=True):
            with rc.open("a") as out:
                out.write(startup_line(commons_io_jar))
            changed.append(rc)
    return changed


def main(argv: list[str]) -> int:
    defaults = [BAZEL_DIR, SERVER_JAR, COMMONS_IO_JAR]
    paths = [Path(a) for a in argv] + defaults[len(argv):]
    for rc in mend(*paths[:3]):
        print(f"{rc}: the server's class path gains {paths[2]} (its commons-compress needs commons-io)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
