"""Values that would reach Docker (an image tag, a volume name, auditwheel's flags, a git tag) are checked
where they enter, in every layer: on the command line (exit 2), from TFWHEELBUILD_* (exit 21, naming
the variable) and from the config file (exit 21, naming the file); before the engine is asked, with
nothing written. `--tf` is normalised to the release and the tag TensorFlow gives it; the matrix is
checked against the recipes as `build` checks one entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.conftest import WheelMaker
from tests.unit.helpers_refusal import assert_refused, build, tfwheelbuild
from tfwheelbuild.core import validate
from tfwheelbuild.errors import ConfigError, UnknownReleaseError, UnsupportedPythonError, UsageError

# ------------------------------------------------------------------------------------- pure checks


@pytest.mark.parametrize(("given", "release", "tag"), [
    ("2.16.1", "2.16.1", "v2.16.1"),
    ("v2.16.1", "2.16.1", "v2.16.1"),
    (" 2.16.1 ", "2.16.1", "v2.16.1"),
    ("2.16.1rc0", "2.16.1rc0", "v2.16.1-rc0"),
    ("v2.17.0-rc1", "2.17.0rc1", "v2.17.0-rc1"),
])
def test_release_is_normalised_to_the_version_and_the_tag_tensorflow_uses(given: str, release: str,
                                                                            tag: str) -> None:
    assert validate.release(given) == release
    assert validate.release_tag(release) == tag


@pytest.mark.parametrize(("check", "value"), [
    (validate.release, "2.16"), (validate.release, "vv2.16.1"), (validate.release, "2.16.1.dev1"),
    (validate.python, "3"), (validate.python, "3.x"),
    (validate.plat, "manylinux_2_17_x86_64"), (validate.plat, "manylinux_2_5_aarch64"),
    (validate.plat, "musllinux_1_2_aarch64"),
    (validate.build_tag, "abc"), (validate.build_tag, "1-2"),
    (validate.cache_namespace, "../a b"), (validate.cache_namespace, "-x"),
    (validate.nightly_date, "20261345"), (validate.nightly_date, "2026-12-04"), (validate.nightly_date, "19991231"),
    (validate.image, "Ubuntu 22.04"), (validate.image, "../x"),
    (validate.url, "ftp://mirror.example.invalid/debian"), (validate.url, "mirror"),
    (validate.configure_key, "A B"), (validate.memory_limit, "1k"),
])
def test_checks_refuse_what_docker_would(check: object, value: str) -> None:
    with pytest.raises(ValueError):
        check(value)  # type: ignore[operator]


@pytest.mark.parametrize(("check", "value", "out"), [
    (validate.plat, "auto", "auto"), (validate.plat, "manylinux_2_28_aarch64", "manylinux_2_28_aarch64"),
    (validate.plat, "manylinux2014_aarch64", "manylinux2014_aarch64"), (validate.build_tag, "2_internal", "2_internal"),
    (validate.cache_namespace, "team-a.v2", "team-a.v2"), (validate.nightly_date, "20240229", "20240229"),
    (validate.image, "registry.example.invalid:5000/base:arm64", "registry.example.invalid:5000/base:arm64"),
    (validate.image, "tfwheelbuild/base:bookworm-arm64", "tfwheelbuild/base:bookworm-arm64"),
    (validate.url, "file:///srv/debian", "file:///srv/debian"),
])
def test_checks_accept_good_values(check: object, value: str, out: str) -> None:
    assert check(value) == out  # type: ignore[operator]


# ------------------------------------------------------------------------------ build: each layer


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--plat", "manylinux_2_17_x86_64", ("--plat 'manylinux_2_17_x86_64'", "not an aarch64 policy")),
    ("--build-tag", "abc", ("--build-tag 'abc'", "start with a digit")),
    ("--cache-namespace", "../a b", ("--cache-namespace '../a b'", "cannot name a Docker volume")),
    ("--nightly-date", "20261345", ("'20261345'", "not a date")),
    ("--tf", "2.16", ("'2.16'", "give the full X.Y.Z")),
    ("--tf", "vv2.16.1", ("'vv2.16.1'", "not a TensorFlow release")),
    ("--py", "3.x", ("'3.x'", "not a Python version")),
    ("--base-image", "Ubuntu 22.04", ("--base-image 'Ubuntu 22.04'", "not a Docker image reference")),
    # a tag alone could move under a build key that says it did not
    ("--builder-image", "registry.example.invalid/ml-build-arm64:latest",
     ("--builder-image 'registry.example.invalid/ml-build-arm64:latest'", "not pinned by digest")),
    ("--mirror", "deb.example.invalid/debian", ("--mirror 'deb.example.invalid/debian'", "URL")),
    ("--index-url", "pypi example", ("--index-url 'pypi example'", "URL")),
    ("--configure", "TF NEED=1", ("--configure 'TF NEED=1'", "not an environment variable name")),
    ("--source", "--upload-pack=touch /tmp/tfwb-x://", ("--source '--upload-pack=", "not a git URL or path")),
], ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.allow_subprocess
def test_build_options_docker_would_refuse_are_usage_errors(home: Path, dist: Path, tagged_repo: Path, option: str,
                                                           value: str, words: tuple[str, ...]) -> None:
    # not --dry-run, and a source that passes: the value is refused before the (absent) engine is asked
    args = ["--source", str(tagged_repo)]
    if option in ("--tf", "--py"):
        run = tfwheelbuild(home, "build", "--output", str(dist), *args,
                           *(["--py", "3.11"] if option == "--tf" else ["--tf", "2.16.1"]), option, value)
    else:
        run = build(home, dist, *args, option, value)
    line = assert_refused(run, UsageError, *words, out=dist, home=home)
    assert "COMMAND" not in run.stderr, line


@pytest.mark.parametrize(("variable", "value", "key"), [
    ("TFWHEELBUILD_PLAT", "manylinux_2_17_x86_64", "plat"),
    ("TFWHEELBUILD_BUILD_TAG", "abc", "build-tag"),
    ("TFWHEELBUILD_CACHE_NAMESPACE", "../a b", "cache-namespace"),
    ("TFWHEELBUILD_BASE_IMAGE", "Ubuntu 22.04", "base-image"),
    ("TFWHEELBUILD_MEMORY", "1k", "memory"),
    ("TFWHEELBUILD_CONFIGURE", "TF NEED=1", "configure"),
    ("TFWHEELBUILD_RELEASES", "2.16", "releases"),
])
@pytest.mark.allow_subprocess
def test_the_same_values_from_the_environment_name_the_variable(home: Path, dist: Path, tagged_repo: Path,
                                                                 variable: str, value: str, key: str) -> None:
    if key == "releases":  # only the matrix commands read releases
        run = tfwheelbuild(home, "matrix", "--py", "3.11", **{variable: value})
        dist = home / "no-output"
    else:
        run = build(home, dist, "--source", str(tagged_repo), **{variable: value})
    line = assert_refused(run, ConfigError, f"'{key}'", variable, out=dist, home=home)
    assert f"fix: fix or unset {variable}" in run.stderr, line  # not "--memory": the variable is what to fix


@pytest.mark.allow_subprocess
def test_the_same_values_from_the_config_file_name_the_file(home: Path, dist: Path, tagged_repo: Path) -> None:
    for text, key in (('plat = "manylinux_2_17_x86_64"\n', "plat"), ('build-tag = "abc"\n', "build-tag"),
                      ('[[overrides]]\nselect = "2.16.*"\ncache-namespace = "../a b"\n', "cache-namespace")):
        (home / "tfwheelbuild.toml").write_text(text)
        run = build(home, dist, "--source", str(tagged_repo))
        assert_refused(run, ConfigError, f"'{key}'", "tfwheelbuild.toml", out=dist, home=home)


# ------------------------------------------------------------------------------ --tf normalisation


@pytest.mark.parametrize(("given", "version", "tag"), [
    ("v2.16.1", "2.16.1", "v2.16.1"), (" 2.16.1", "2.16.1", "v2.16.1"), ("2.16.1rc0", "2.16.1rc0", "v2.16.1-rc0"),
])
@pytest.mark.allow_subprocess
def test_dry_run_shows_the_normalised_release_and_its_tag(home: Path, dist: Path, given: str, version: str,
                                                          tag: str) -> None:
    run = tfwheelbuild(home, "build", "--tf", given, "--py", "3.11", "--dry-run")
    assert run.code == 0, run.stderr
    assert f"TensorFlow {version} for Python 3.11" in run.stdout
    assert f" @ {tag}\n" in run.stdout and "vv" not in run.stdout


@pytest.mark.allow_subprocess
def test_plat_auto_means_no_demanded_policy(home: Path) -> None:
    run = tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.11", "--dry-run", "--plat", "auto")
    assert run.code == 0, run.stderr
    repair = next(line for line in run.stdout.splitlines() if line.startswith("repair:"))
    assert "auditwheel repair -w" in repair and "--plat" not in repair


@pytest.mark.allow_subprocess
def test_unknown_release_hint_names_full_releases(home: Path) -> None:
    run = tfwheelbuild(home, "build", "--tf", "2.9.0", "--py", "3.11", "--dry-run")
    line = assert_refused(run, UnknownReleaseError, "2.16.x")
    assert "2.16," not in line and "e.g. --tf 2.16.1" in run.stderr


# --------------------------------------------------------------------------- repair, test, publish


@pytest.mark.parametrize(("command", "args", "words"), [
    ("repair", ["--plat", "manylinux_2_17_x86_64"], ("'--plat'", "not an aarch64 policy")),
    ("repair", ["--build-tag", "abc"], ("'--build-tag'", "start with a digit")),
    ("repair", ["--base-image", "Bad Image"], ("'--base-image'", "not a Docker image reference")),
    ("test", ["--py", "3.x"], ("'--py'", "not a Python version")),
    ("test", ["--index-url", "pypi example"], ("'--index-url'", "URL")),
    ("test", ["--mirror", "ftp://deb.example.invalid/"], ("'--mirror'", "URL")),
    ("publish", ["--simple-url", "not a url", "--no-verify"], ("'--simple-url'", "URL")),
], ids=["repair-plat", "repair-build-tag", "repair-base-image", "test-py", "test-index-url", "test-mirror",
        "publish-simple-url"])
@pytest.mark.allow_subprocess
def test_wheel_commands_check_their_options_before_any_container(home: Path, make_wheel: WheelMaker, command: str,
                                                                 args: list[str], words: tuple[str, ...]) -> None:
    wheel = make_wheel(name="tensorflow", version="2.16.1")
    run = tfwheelbuild(home, command, str(wheel), *args)
    assert_refused(run, UsageError, *words, home=home)
    assert f"tfwheelbuild {command} --help`" in run.stderr  # the command run, not COMMAND


# ---------------------------------------------------------------------------------- matrix, nightly


@pytest.mark.parametrize(("args", "error", "words"), [
    (["--tf", "2.9.0", "--py", "3.11"], UnknownReleaseError, ("TensorFlow 2.9 has no recipe",)),
    (["--tf", "2.16.1", "--py", "3.13"], UnsupportedPythonError, ("3.13",)),
    (["--tf", "2.16", "--py", "3.11"], UsageError, ("--tf '2.16'", "full X.Y.Z")),
    (["--tf", "2.16.1", "--py", "3.x"], UsageError, ("--py '3.x'",)),
])
@pytest.mark.parametrize("command", ["matrix", "nightly"])
@pytest.mark.allow_subprocess
def test_matrix_and_nightly_refuse_entries_build_would(home: Path, command: str, args: list[str],
                                                       error: type[UsageError], words: tuple[str, ...]) -> None:
    run = tfwheelbuild(home, command, *args)
    assert_refused(run, error, *words, home=home)
    assert "--allow-unsupported-python" not in run.stderr or "tfwheelbuild build" in run.stderr  # not its option
    assert not (home / ".data").exists()  # nightly: no run history started, no index made


@pytest.mark.allow_subprocess
def test_matrix_normalises_the_configured_releases(home: Path) -> None:
    (home / "tfwheelbuild.toml").write_text('releases = [" v2.16.1", "2.17.0rc1"]\npythons = ["3.11"]\n')
    run = tfwheelbuild(home, "matrix", "--format", "json")
    assert run.code == 0, run.stderr
    assert [e["id"] for e in json.loads(run.stdout)] == ["2.16.1-py3.11", "2.17.0rc1-py3.11"]


@pytest.mark.allow_subprocess
def test_build_docker_host_from_the_command_line_and_the_environment_is_checked(home: Path) -> None:
    # Before: `build --docker-host bogus://` went on to the source check and failed there.
    run = tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.11", "--docker-host", "bogus://x")
    assert run.code == 2 and "--docker-host" in run.stderr and "Traceback" not in run.stderr
    run = tfwheelbuild(home, "build", "--tf", "2.16.1", "--py", "3.11", TFWHEELBUILD_DOCKER_HOST="bogus")
    assert run.code == 21 and "TFWHEELBUILD_DOCKER_HOST" in run.stderr


@pytest.mark.allow_subprocess
def test_matrix_takes_a_release_newer_than_every_recipe_to_infer_when_its_job_runs(home: Path) -> None:
    # Before: `matrix --tf 2.23.0` exited 10 ("no recipe") though `build` infers the recipe from the checkout.
    run = tfwheelbuild(home, "matrix", "--tf", "2.23.0", "--py", "3.14", "--format", "json")
    assert run.code == 0, run.stderr
    assert [e["id"] for e in json.loads(run.stdout)] == ["2.23.0-py3.14"]
    run = tfwheelbuild(home, "matrix", "--tf", "2.9.0", "--py", "3.11")
    assert run.code == 10, run.stderr
