"""`base bootstrap`'s inputs: suite names debootstrap knows, mirrors that serve them, mirror URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.engine.bootstrap import check_mirror, check_suite, check_suite_on_mirror, debian_suites, mirror_serves
from tfwheelbuild.errors import UsageError


def _scripts(tmp_path: Path) -> Path:
    """A debootstrap scripts dir: Debian suites link to sid, Ubuntu's to gutsy."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("sid", "gutsy", "debian-common"):
        (scripts / name).write_text("")
    for name in ("bookworm", "trixie", "stable"):
        (scripts / name).symlink_to("sid")
    (scripts / "jammy").symlink_to("gutsy")
    return scripts


def test_debian_suites_are_those_of_sids_script(tmp_path: Path) -> None:
    assert debian_suites(_scripts(tmp_path)) == ["bookworm", "sid", "stable", "trixie"]
    assert debian_suites(tmp_path / "no-debootstrap") == []


def test_unknown_suite_names_the_ones_to_choose(tmp_path: Path) -> None:
    scripts = _scripts(tmp_path)
    assert check_suite("bookworm", scripts) == "bookworm"
    with pytest.raises(UsageError, match="debootstrap knows no suite 'foo'") as caught:
        check_suite("foo", scripts)
    assert caught.value.remedy.startswith("choose a Debian suite: bullseye, bookworm, trixie")
    assert "sid, stable" in caught.value.remedy and "jammy" not in caught.value.remedy
    assert "install debootstrap" not in caught.value.remedy


@pytest.mark.parametrize("suite", ["Book Worm", "../x", "", "bookworm;rm"])
def test_suite_that_is_no_name(suite: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a Debian suite name"):
        check_suite(suite, tmp_path / "no-debootstrap")


def test_without_debootstrap_any_wellformed_suite_passes(tmp_path: Path) -> None:
    assert check_suite("foo", tmp_path / "no-debootstrap") == "foo"  # bootstrap_base then says debootstrap is missing


@pytest.mark.parametrize("mirror", ["http://mirror.example.invalid/debian", "https://m.example.invalid/d",
                                    "file:/srv/mirror/debian", "file:///srv/mirror/debian"])
def test_mirrors_accepted(mirror: str) -> None:
    assert check_mirror(mirror) == mirror


@pytest.mark.parametrize("mirror", ["mirror.example.invalid/debian", "ftp//x", "htp://x/debian", "http://"])
def test_mirrors_refused(mirror: str) -> None:
    with pytest.raises(UsageError, match="is not an apt mirror URL"):
        check_mirror(mirror)


def test_mirror_that_does_not_serve_the_suite(static_server: tuple[str, Path]) -> None:
    url, root = static_server
    (root / "dists" / "bookworm").mkdir(parents=True)
    (root / "dists" / "bookworm" / "Release").write_text("Suite: stable\n")
    assert mirror_serves(url, "bookworm") is True
    assert mirror_serves(url, "foo") is False
    assert mirror_serves("http://127.0.0.1:9/debian", "foo", timeout=2) is None  # unreachable: debootstrap says
    assert mirror_serves("file:/srv/mirror", "foo") is None
    check_suite_on_mirror("bookworm", url)
    with pytest.raises(UsageError, match=r"serves no suite 'foo' \(it has no dists/foo/Release\)"):
        check_suite_on_mirror("foo", url)
