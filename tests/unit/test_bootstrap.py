"""host_mirror: the host's Debian mirror from deb822 or one-line apt sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.engine.bootstrap import base_tag, debootstrap_default_mirror, host_mirror

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def _files(tmp_path: Path, deb822: str | None = None, one_line: str | None = None) -> tuple[Path, Path]:
    sources = tmp_path / "debian.sources"
    sources_list = tmp_path / "sources.list"
    if deb822 is not None:
        sources.write_text(deb822)
    if one_line is not None:
        sources_list.write_text(one_line)
    return sources, sources_list


def test_base_tag() -> None:
    assert base_tag("bookworm") == "tfwheelbuild/base:bookworm-arm64"


def test_deb822_uris(tmp_path: Path) -> None:
    assert host_mirror(*_files(tmp_path, deb822=DEB822)) == "http://mirror.example/debian"


def test_deb822_skips_security(tmp_path: Path) -> None:
    text = ("Types: deb\nURIs: http://security.example.invalid/debian-security\nSuites: bookworm-security\n\n"
            "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n")
    assert host_mirror(*_files(tmp_path, deb822=text)) == "http://mirror.example/debian"


def test_deb822_several_uris_on_one_line(tmp_path: Path) -> None:
    text = "Types: deb\nURIs: http://security.example.invalid/debian-security http://mirror.example/debian\n"
    assert host_mirror(*_files(tmp_path, deb822=text)) == "http://mirror.example/debian"


def test_deb822_wins_over_sources_list(tmp_path: Path) -> None:
    files = _files(tmp_path, deb822=DEB822, one_line="deb http://other.example/debian bookworm main\n")
    assert host_mirror(*files) == "http://mirror.example/debian"


def test_deb822_only_security_falls_through_to_sources_list(tmp_path: Path) -> None:
    files = _files(tmp_path, deb822="Types: deb\nURIs: http://security.example.invalid/debian-security\n",
                   one_line="deb http://other.example/debian bookworm main\n")
    assert host_mirror(*files) == "http://other.example/debian"


def test_one_line_sources_list(tmp_path: Path) -> None:
    text = ("# deb http://commented.example/debian bookworm main\n"
            "deb-src http://src.example/debian bookworm main\n"
            "deb http://security.example.invalid/debian-security bookworm-security main\n"
            "deb http://mirror.example/debian bookworm main contrib\n")
    assert host_mirror(*_files(tmp_path, one_line=text)) == "http://mirror.example/debian"


def test_one_line_with_an_option(tmp_path: Path) -> None:
    text = "deb [arch=arm64] http://mirror.example/debian bookworm main\n"
    assert host_mirror(*_files(tmp_path, one_line=text)) == "http://mirror.example/debian"


def test_one_line_with_several_options(tmp_path: Path) -> None:
    text = "deb [arch=arm64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian bookworm main\n"
    assert host_mirror(*_files(tmp_path, one_line=text)) == "http://mirror.example/debian"


def test_one_line_with_options_skips_security(tmp_path: Path) -> None:
    text = ("deb [trusted=yes] http://security.example.invalid/debian-security bookworm-security main\n"
            "deb [trusted=yes] http://mirror.example/debian bookworm main\n")
    assert host_mirror(*_files(tmp_path, one_line=text)) == "http://mirror.example/debian"


def _debootstrap(tmp_path: Path) -> Path:
    script = tmp_path / "debootstrap"
    script.write_text('#!/bin/sh\nset -e\nDEF_MIRROR="http://default.example.invalid/debian"\nDEF_HTTPS_MIRROR="x"\n')
    return script


@pytest.mark.parametrize("one_line", [None, "", "# nothing here\n", "deb-src http://src.example/debian x main\n",
                                      "deb http://security.example.invalid/debian-security bookworm-security main\n"])
def test_fallback_is_debootstraps_own_default(tmp_path: Path, one_line: str | None) -> None:
    # No Debian apt sources on the host: the mirror debootstrap itself would use, read from debootstrap
    # (the tool writes no registry's name of its own).
    files = _files(tmp_path, one_line=one_line)
    assert host_mirror(*files, _debootstrap(tmp_path)) == "http://default.example.invalid/debian"


def test_fallback_with_no_files_at_all(tmp_path: Path) -> None:
    assert host_mirror(tmp_path / "none.sources", tmp_path / "none.list", _debootstrap(tmp_path)) == \
        debootstrap_default_mirror(_debootstrap(tmp_path))
    # Nor debootstrap: "" (bootstrapping then asks for --mirror, in one line).
    assert host_mirror(tmp_path / "none.sources", tmp_path / "none.list", tmp_path / "no-debootstrap") == ""


@pytest.mark.parametrize(("suite", "checked"), [("sid", False), ("bookworm", True)])
def test_a_rolling_suite_base_lets_apt_read_an_expired_release(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                suite: str, checked: bool) -> None:
    """Before: a sid base from a mirror snapshot a week old could not `apt-get update` ("Release file ...
    is expired"), so the runtime image for its python3.14 failed with exit 32."""
    from tfwheelbuild.engine import bootstrap

    seen: dict[str, bool] = {}

    def fake_run(cmd: list[str], log: object) -> None:
        if cmd[0] == "debootstrap":
            Path(cmd[-2], "etc", "apt").mkdir(parents=True)
        elif cmd[0] == "tar":
            rootfs = Path(cmd[cmd.index("-C") + 1])
            seen["conf"] = (rootfs / "etc/apt/apt.conf.d/99tfwb-check-valid-until").exists()
            Path(cmd[cmd.index("-czf") + 1]).write_bytes(b"")

    class FakeEngine:
        def build_image(self, *args: object, **kw: object) -> str:
            return "sha256:" + "0" * 64

    class FakeLog:
        def say(self, line: str) -> None:
            pass

        def line(self, text: str) -> None:
            pass

    monkeypatch.setattr(bootstrap, "_run", fake_run)
    monkeypatch.setattr("tfwheelbuild.engine.bootstrap.shutil.which", lambda name: "/usr/sbin/" + name)
    monkeypatch.setattr("tfwheelbuild.engine.bootstrap.os.geteuid", lambda: 0)
    bootstrap.bootstrap_base(FakeEngine(), suite, "http://mirror.example.invalid/debian", FakeLog(),  # type: ignore[arg-type]
                             arch="amd64")
    assert seen["conf"] is not checked
