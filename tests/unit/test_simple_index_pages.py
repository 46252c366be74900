"""LocalIndex: the PEP 503 pages it writes, and pip installing from them for real."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tests.unit.helpers_index import build_wheel, links
from tfwheelbuild.index.simple import LocalIndex


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir", "--isolated", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def test_pages_follow_pep503(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "in", name="Demo_Pkg", requires_python=">=3.8,<4")
    index = LocalIndex(tmp_path / "idx")
    result = index.add(wheel, None)
    assert result.status == "added"
    assert result.project == "demo-pkg"
    assert result.manifest is None
    assert result.file.path == tmp_path / "idx" / "packages" / "demo-pkg" / wheel.name
    assert result.file.path.read_bytes() == wheel.read_bytes()

    root_links = links(tmp_path / "idx" / "simple" / "index.html")
    assert [(a["href"], text) for a, text in root_links] == [("demo-pkg/", "demo-pkg")]

    page = tmp_path / "idx" / "simple" / "demo-pkg" / "index.html"
    assert "&gt;=3.8,&lt;4" in page.read_text()  # escaped in the raw HTML, not just tolerated by a parser
    [(attrs, text)] = links(page)
    assert text == wheel.name
    assert attrs["data-requires-python"] == ">=3.8,<4"
    href = attrs["href"]
    assert href is not None and not urlsplit(href).scheme  # relative, so any static server can host it
    target, fragment = urljoin(page.as_uri(), href).split("#")
    assert Path(unquote(urlsplit(target).path)) == result.file.path
    assert fragment == f"sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}"
    assert result.file.sha256 == fragment.split("=")[1]


def test_no_requires_python_no_attribute(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    index.add(build_wheel(tmp_path / "in"), None)
    [(attrs, _)] = links(tmp_path / "idx" / "simple" / "demo-pkg" / "index.html")
    assert "data-requires-python" not in attrs


@pytest.mark.allow_subprocess
def test_pip_installs_from_file_url(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "idx")
    index.add(build_wheel(tmp_path / "in1", version="1.0", requires_python=">=3.8", body="VALUE = 1\n"), None)
    # Newer, but for a Python pip is not running: pip must skip it through data-requires-python.
    index.add(build_wheel(tmp_path / "in2", version="2.0", requires_python="<3", body="VALUE = 2\n"), None)
    target = tmp_path / "site"
    result = pip("install", "--no-deps", "--index-url", index.url, "--target", str(target), "Demo.PKG")
    assert result.returncode == 0, result.stderr
    assert (target / "demo_pkg" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (target / "demo_pkg-1.0.dist-info").is_dir()
    check = subprocess.run([sys.executable, "-c", "import demo_pkg; print(demo_pkg.VALUE)"], cwd=target,
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "1"


@pytest.mark.allow_subprocess
def test_pip_downloads_aarch64_wheel(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "in", name="tensorflow", version="2.17.0",
                        tag="cp311-cp311-manylinux_2_17_aarch64", requires_python=">=3.9")
    index = LocalIndex(tmp_path / "idx")
    index.add(wheel, None)
    dest = tmp_path / "dl"
    result = pip("download", "--no-deps", "--only-binary=:all:", "--platform", "manylinux_2_17_aarch64",
                 "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                 "--index-url", index.url, "-d", str(dest), "tensorflow==2.17.0")
    assert result.returncode == 0, result.stderr
    assert (dest / wheel.name).read_bytes() == wheel.read_bytes()


@pytest.mark.allow_subprocess
def test_pip_rejects_a_tampered_file(tmp_path: Path) -> None:
    """The #sha256 fragment is really checked: proves the links carry the right hash."""
    index = LocalIndex(tmp_path / "idx")
    added = index.add(build_wheel(tmp_path / "in"), None)
    added.file.path.write_bytes(build_wheel(tmp_path / "other", body="VALUE = 666\n").read_bytes())
    result = pip("install", "--no-deps", "--index-url", index.url, "--target", str(tmp_path / "site"), "demo-pkg")
    assert result.returncode != 0
    assert "hash" in result.stderr.lower()
