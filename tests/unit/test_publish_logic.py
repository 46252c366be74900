"""Pure parts of publishing: index resolution, URL redaction, twine failure classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.errors import CredentialsError, PublishError, VersionConflictError
from tfwheelbuild.publish import _Links, _twine_error, redact, resolve_index, simple_url_for


@pytest.mark.parametrize(("value", "upload", "simple"), [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/simple/"),
    ("http://127.0.0.1:8080/simple/", "http://127.0.0.1:8080", "http://127.0.0.1:8080/simple/"),
    ("https://nexus.example/repository/pypi-internal/", "https://nexus.example/repository/pypi-internal",
     "https://nexus.example/repository/pypi-internal/simple/"),
    ("https://devpi.example/ci/nightly", "https://devpi.example/ci/nightly", "https://devpi.example/ci/nightly/+simple/"),
])
def test_remote_indexes(value: str, upload: str, simple: str) -> None:
    target = resolve_index(value)
    assert (target.kind, target.location, target.simple_url) == ("remote", upload, simple)


def test_directory_and_file_url_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_index(str(tmp_path / "idx")).simple_url == (tmp_path / "idx").as_uri() + "/simple/"
    assert resolve_index((tmp_path / "idx").as_uri()).location == str(tmp_path / "idx")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    default = resolve_index("")
    assert default.kind == "local" and default.location == str(tmp_path / "data" / "tfwheelbuild" / "index")


def test_pypirc_repository_name(tmp_path: Path) -> None:
    rc = tmp_path / ".pypirc"
    rc.write_text("[distutils]\nindex-servers = internal\n[internal]\nrepository = https://pypi.corp/\n"
                  "username = ci\npassword = hunter2\n")
    target = resolve_index("internal", pypirc=rc)
    assert (target.kind, target.repository, target.simple_url) == ("remote", "internal", "https://pypi.corp/simple/")
    assert "hunter2" not in repr(target)


def test_redact_removes_userinfo() -> None:
    assert redact("https://ci:pw@pypi.corp:8443/x/") == "https://pypi.corp:8443/x/"
    assert redact("https://pypi.corp/x/") == "https://pypi.corp/x/"
    assert "pw" not in resolve_index("https://ci:pw@pypi.corp/").display


@pytest.mark.parametrize(("output", "error"), [
    ("HTTPError: 403 Forbidden from http://x/", CredentialsError),
    ("ERROR HTTPError: 401 Unauthorized", CredentialsError),
    ("ERROR    NonInteractive: Credential not found for username.", CredentialsError),
    ("ERROR HTTPError: 409 Conflict from http://x/", VersionConflictError),
    ("ERROR ConnectionError: Max retries exceeded", PublishError),
])
def test_twine_failures_are_classified(output: str, error: type[Exception]) -> None:
    target = resolve_index("http://127.0.0.1:1/")
    exc = _twine_error(output + " password=s3cret", target, {"TWINE_PASSWORD": "s3cret"})
    assert type(exc) is error
    assert "s3cret" not in str(exc)


def test_simple_page_links() -> None:
    parser = _Links("http://x/simple/tensorflow/")
    parser.feed('<a href="../../packages/tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl#sha256=abc">t</a>'
                '<a href="/p/tensorflow-2.17.0.tar.gz">s</a>')
    assert parser.links == {
        "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl":
            ("http://x/packages/tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl", "abc"),
        "tensorflow-2.17.0.tar.gz": ("http://x/p/tensorflow-2.17.0.tar.gz", ""),
    }


def test_simple_url_for_keeps_explicit_simple() -> None:
    assert simple_url_for("http://h/simple") == "http://h/simple/"


def test_credentials_in_the_index_url_never_reach_argv_or_results() -> None:
    from tfwheelbuild.publish import _credentials

    target = resolve_index("https://ci:s3cret@pypi.corp/")
    assert "s3cret" not in target.display + target.simple_url
    assert _credentials(target, {}, None) == ("ci", "s3cret")
    assert _credentials(target, {"TWINE_USERNAME": "u", "TWINE_PASSWORD": "p"}, None) == ("u", "p")
