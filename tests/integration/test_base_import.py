"""`base import`: a base image from a rootfs tarball served over HTTP, imported only when its checksum holds.

The tarball is the debootstrapped Debian base exported from the engine, served on loopback with a
SHA256SUMS beside it, as Ubuntu publishes its ubuntu-base tarballs.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.integration.harness import tfwheelbuild

pytestmark = pytest.mark.engine
NAMES = ("tfwbtest-imported", "tfwbtest-badsum", "tfwbtest-nosums", "tfwbtest-wrongarch")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def rootfs_server(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(URL of release/debian-bookworm-arm64.tar.gz, its sha256); release/SHA256SUMS lists it."""
    made = tfwheelbuild("base", "bootstrap", "--suite", "bookworm")  # idempotent: the suite's tests need it anyway
    assert made.code == 0, made.stderr[-2000:]
    root = tmp_path_factory.mktemp("rootfs")
    (root / "release").mkdir()
    (root / "unlisted").mkdir()
    tarball = root / "release" / "debian-bookworm-arm64.tar.gz"
    container = subprocess.run(["docker", "create", "--platform", "linux/arm64", "tfwheelbuild/base:bookworm-arm64"],
                               capture_output=True, text=True, check=True).stdout.strip()
    try:
        with tarball.open("wb") as out:
            export = subprocess.Popen(["docker", "export", container], stdout=subprocess.PIPE)
            subprocess.run(["gzip", "-1"], stdin=export.stdout, stdout=out, check=True)
            assert export.wait() == 0
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (root / "release" / "SHA256SUMS").write_text(f"{'0' * 64} *something-else.tar.gz\n{digest} *{tarball.name}\n")
    (root / "unlisted" / tarball.name).symlink_to(tarball)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/release/{tarball.name}", digest
    finally:
        server.shutdown()
        for name in NAMES:
            tags = [f"tfwheelbuild/base:{name}-{arch}" for arch in ("arm64", "amd64")]
            subprocess.run(["docker", "rmi", "-f", *tags], capture_output=True, check=False)


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode == 0


def test_import_checks_the_published_sums_and_makes_an_arm64_base(rootfs_server: tuple[str, str]) -> None:
    url, digest = rootfs_server
    result = tfwheelbuild("base", "import", url, "--name", NAMES[0])
    assert result.code == 0, result.stderr[-3000:]
    tag = result.stdout.strip()
    assert tag == f"tfwheelbuild/base:{NAMES[0]}-arm64"
    assert f"sha256 {digest} matches" in result.stderr
    inspect = subprocess.run(["docker", "image", "inspect", "--format",
                              '{{.Architecture}} {{index .Config.Labels "org.tfwheelbuild.rootfs-sha256"}}', tag],
                             capture_output=True, text=True, check=True).stdout.split()
    assert inspect == ["arm64", digest]
    ran = subprocess.run(["docker", "run", "--rm", "--platform", "linux/arm64", tag, "cat", "/etc/debian_version"],
                         capture_output=True, text=True, check=True)
    assert ran.stdout.startswith("12.")
    again = tfwheelbuild("base", "import", url, "--name", NAMES[0])  # the same rootfs: nothing to do
    assert again.code == 0 and "reused" in again.stderr and again.stdout.strip() == tag


def test_a_download_that_does_not_match_its_checksum_is_not_imported(rootfs_server: tuple[str, str]) -> None:
    url, digest = rootfs_server
    wrong = ("1" if digest[0] != "1" else "2") + digest[1:]
    result = tfwheelbuild("base", "import", url, "--name", NAMES[1], "--sha256", wrong)
    assert result.code == 29, result.stderr[-2000:]
    error = next(ln for ln in result.stderr.splitlines() if ln.startswith("error:"))
    assert f"has sha256 {digest}, not {wrong}: not imported" in error
    assert "Traceback" not in result.stderr
    assert not image_exists(f"tfwheelbuild/base:{NAMES[1]}-arm64")


def test_a_url_without_any_checksum_is_refused(rootfs_server: tuple[str, str]) -> None:
    url, _ = rootfs_server
    result = tfwheelbuild("base", "import", url.replace("/release/", "/unlisted/"), "--name", NAMES[2])
    assert result.code == 29, result.stderr[-2000:]
    assert "no checksum for" in result.stderr and "pass --sha256" in result.stderr
    assert not image_exists(f"tfwheelbuild/base:{NAMES[2]}-arm64")


def test_a_rootfs_of_another_architecture_is_taken_back(rootfs_server: tuple[str, str]) -> None:
    # arm64 programs named amd64: they still run here (qemu's binfmt handler does not ask), and
    # uname -m tells.
    url, _ = rootfs_server
    result = tfwheelbuild("base", "import", url, "--name", NAMES[3], "--arch", "amd64")
    assert result.code == 32, result.stderr[-2000:]
    assert "are not amd64" in result.stderr and "aarch64" in result.stderr
    assert not image_exists(f"tfwheelbuild/base:{NAMES[3]}-amd64")
