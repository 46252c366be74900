"""Pure parts of publishing: index resolution, URL redaction, twine failure classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.errors import CredentialsError, PublishError, VersionConflictError
from tfwheelbuild.index.publish import _Links, _twine_error
from tfwheelbuild.index.target import resolve_index, simple_url_for
from tfwheelbuild.util.redact import redact


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
    from tfwheelbuild.index.publish import _credentials

    target = resolve_index("https://ci:s3cret@pypi.corp/")
    assert "s3cret" not in target.display + target.simple_url
    assert _credentials(target, {}, None) == ("ci", "s3cret")
    assert _credentials(target, {"TWINE_USERNAME": "u", "TWINE_PASSWORD": "p"}, None) == ("u", "p")


@pytest.mark.parametrize(("value", "says"), [
    ("ftp://files.example.invalid/wheels", "unknown scheme 'ftp://'"),
    ("htps://pypi.example.invalid/", "unknown scheme 'htps://'; did you mean 'https://'?"),
    ("s3://bucket/wheels", "unknown scheme 's3://'"),
    ("internl", "index 'internl' is neither a repository in ~/.pypirc nor an existing directory; did you mean "
                "'internal'?"),
    ("wheelhouse", "neither a repository in ~/.pypirc nor an existing directory"),
    ("pypi.example.invalid/simple", "neither a repository in ~/.pypirc nor an existing directory"),
    ("http:///simple", "has no host name"),
])
def test_unrecognised_index_values_are_refused_and_create_nothing(value: str, says: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rc = tmp_path / ".pypirc"
    rc.write_text("[distutils]\nindex-servers = internal\n[internal]\nrepository = https://pypi.example.invalid/\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(PublishError) as caught:
        resolve_index(value, pypirc=rc)
    assert says in caught.value.message
    assert "./" in caught.value.remedy or "http(s)" in caught.value.remedy
    assert not any(work.iterdir())


def test_pypirc_repository_that_is_not_http_is_refused(tmp_path: Path) -> None:
    rc = tmp_path / ".pypirc"
    rc.write_text("[internal]\nrepository = ftp://files.example.invalid/\n")
    with pytest.raises(PublishError, match="not an http"):
        resolve_index("internal", pypirc=rc)


def test_plainly_written_paths_make_directory_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "existing").mkdir()
    for value, where in [("./new", tmp_path / "new"), ("../up", tmp_path.parent / "up"),
                         ("~/idx", tmp_path / "home" / "idx"), (str(tmp_path / "abs"), tmp_path / "abs"),
                         ((tmp_path / "f").as_uri(), tmp_path / "f"), ("existing", tmp_path / "existing")]:
        target = resolve_index(value)
        assert (target.kind, target.location) == ("local", str(where)), value
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(PublishError, match="is a file, not a directory index"):
        resolve_index("a-file")


def test_a_failed_verify_withdraws_the_file_from_a_directory_index(tmp_path: Path) -> None:
    from tests.unit.conftest import write_wheel
    from tfwheelbuild.errors import RuntimeTestError
    from tfwheelbuild.index.publish import publish, verify_published

    target = resolve_index(str(tmp_path / "index"))
    wheel = write_wheel(tmp_path)
    result = publish([wheel], target)[0]

    def failing() -> dict[str, object]:
        raise RuntimeTestError("runtime test step `python smoke_test.py` failed (exit 1): ImportError")

    with pytest.raises(RuntimeTestError) as caught:
        verify_published(result, target, failing)
    assert "does not install from it" in caught.value.message and "withdrawn" in caught.value.message
    assert "quarantined" not in caught.value.remedy
    assert not list((tmp_path / "index" / "packages").rglob("*.whl"))
    assert wheel.name not in (tmp_path / "index" / "simple" / "demo-pkg" / "index.html").read_text()
    # The fixed wheel under the same name is now taken, not refused as a conflict.
    (tmp_path / "fixed").mkdir()
    fixed = write_wheel(tmp_path / "fixed", extra={"demo_pkg/fix.py": b"FIXED = 1\n"})
    assert publish([fixed], target)[0].status == "uploaded"


def test_an_engine_failure_in_verify_withdraws_nothing(tmp_path: Path) -> None:
    from tests.unit.conftest import write_wheel
    from tfwheelbuild.errors import EngineError
    from tfwheelbuild.index.publish import publish, verify_published

    target = resolve_index(str(tmp_path / "index"))
    result = publish([write_wheel(tmp_path)], target)[0]

    def engine_gone() -> dict[str, object]:
        raise EngineError("the Docker engine stopped answering")

    with pytest.raises(EngineError):
        verify_published(result, target, engine_gone)
    assert len(list((tmp_path / "index" / "packages").rglob("*.whl"))) == 1


def test_a_failed_verify_on_a_remote_index_names_the_file_to_delete(static_server: tuple[str, Path]) -> None:
    from tfwheelbuild.errors import RuntimeTestError
    from tfwheelbuild.index.publish import PublishResult, verify_published

    url, served = static_server
    name = "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl"
    (served / "simple" / "tensorflow").mkdir(parents=True)
    (served / "simple" / "tensorflow" / "index.html").write_text(
        f'<a href="../../packages/{name}#sha256={"a" * 64}">{name}</a>')
    target = resolve_index(url + "/")
    result = PublishResult(name, "uploaded", target.display, target.simple_url, "a" * 64)

    def failing() -> dict[str, object]:
        raise RuntimeTestError("runtime test step failed")

    with pytest.raises(RuntimeTestError) as caught:
        verify_published(result, target, failing, env={})
    assert f"it is still listed: delete {url}/packages/{name} on the index" in caught.value.message
    assert f"delete {url}/packages/{name}" in caught.value.remedy
