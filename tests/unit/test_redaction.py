"""Credentials in a URL the user gives (--source https://user:token@host/tf.git, an index URL) never
appear in what the tool prints, logs or records: errors (git's stderr included), the dry run, --json,
the manifest, the build log, the CI summary and `doctor`. One function redacts: tfwheelbuild.util.redact."""

from __future__ import annotations

import functools
import http.server
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.helpers_refusal import assert_refused, build, free_port, tfwheelbuild
from tfwheelbuild.artifacts.manifest import write_manifest
from tfwheelbuild.core.remote import redact as remote_redact
from tfwheelbuild.engine.doctor import source_check, url_check
from tfwheelbuild.errors import SourceError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.plan import BuildOptions, make_plan
from tfwheelbuild.recipes import recipe_for
from tfwheelbuild.util.ci import step_summary
from tfwheelbuild.util.redact import redact, redact_all

SECRET = "s3cr3t-t0ken"


@pytest.mark.parametrize(("text", "shown"), [
    ("https://user:s3cr3t-t0ken@example.invalid/tf.git", "https://example.invalid/tf.git"),
    ("https://s3cr3t-t0ken@example.invalid/tf.git", "https://example.invalid/tf.git"),  # a token alone
    ("http://ci:p@ss@example.invalid:8080/x/", "http://example.invalid:8080/x/"),  # an unescaped '@'
    ("fatal: unable to access 'https://u:s3cr3t-t0ken@example.invalid/tf.git/': refused",
     "fatal: unable to access 'https://example.invalid/tf.git/': refused"),
    ("ssh://git@example.invalid/tf.git", "ssh://git@example.invalid/tf.git"),  # a bare ssh user is an address
    ("ssh://git:s3cr3t-t0ken@example.invalid/tf.git", "ssh://example.invalid/tf.git"),
    ("git@example.invalid:tensorflow/tensorflow.git", "git@example.invalid:tensorflow/tensorflow.git"),
    ("https://example.invalid/a@b", "https://example.invalid/a@b"),  # '@' in the path is no userinfo
    ("/srv/tensorflow", "/srv/tensorflow"),
])
def test_redact_takes_userinfo_out_of_every_url_in_a_text(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert remote_redact is redact  # the index and remote-cache code use the same function


def test_redact_all_walks_json_like_data() -> None:
    data = {"a": ["https://u:s3cr3t-t0ken@example.invalid/x", 3, None], "b": ("file:///x",)}
    assert redact_all(data) == {"a": ["https://example.invalid/x", 3, None], "b": ["file:///x"]}


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text


# ------------------------------------------------------------------------------------ the command line


@pytest.mark.allow_subprocess
def test_source_credentials_are_not_in_the_unreachable_source_error(home: Path, dist: Path) -> None:
    port = free_port()
    run = build(home, dist, "--source", f"http://ci:{SECRET}@127.0.0.1:{port}/tensorflow.git")
    assert_refused(run, SourceError, f"cannot read source http://127.0.0.1:{port}/tensorflow.git", out=dist,
                   home=home)
    _no_secret(run.stderr, run.stdout)


@pytest.fixture
def served_repo(tmp_path: Path) -> Iterator[str]:
    """A git repository over git's dumb HTTP protocol on loopback, tagged v0.0.1 only; its URL with
    credentials in it (the server ignores them)."""
    repo = tmp_path / "served" / "tf.git"
    work = tmp_path / "work"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    subprocess.run([*git, "-C", str(work), "tag", "v0.0.1"], check=True)
    subprocess.run([*git, "clone", "-q", "--bare", str(work), str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "update-server-info"], check=True)
    handler = functools.partial(_Quiet, directory=str(repo.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://ci:{SECRET}@127.0.0.1:{server.server_address[1]}/tf.git"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.allow_subprocess
def test_source_credentials_are_not_in_the_missing_tag_error(home: Path, dist: Path, served_repo: str) -> None:
    run = build(home, dist, "--source", served_repo, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    assert_refused(run, SourceError, "tag v2.16.1 does not exist in http://127.0.0.1:", out=dist, home=home)
    _no_secret(run.stderr, run.stdout)


@pytest.mark.allow_subprocess
def test_source_credentials_are_not_in_the_dry_run_nor_its_json(home: Path, dist: Path) -> None:
    url = f"https://ci:{SECRET}@git.example.invalid/tensorflow.git"
    index = f"https://ci:{SECRET}@pypi.example.invalid/simple/"
    run = build(home, dist, "--dry-run", "--source", url, "--index-url", index)
    assert run.code == 0, run.stderr
    assert "source:        https://git.example.invalid/tensorflow.git @ v2.16.1" in run.stdout
    _no_secret(run.stdout, run.stderr)
    run = build(home, dist, "--dry-run", "--json", TFWHEELBUILD_SOURCE=url, TFWHEELBUILD_INDEX_URL=index)
    assert run.code == 0, run.stderr
    plan = json.loads(run.stdout)
    assert plan["source"]["url"] == "https://git.example.invalid/tensorflow.git"
    _no_secret(run.stdout, run.stderr)


# ------------------------------------------------------------------------ plan, manifest, log, summaries


def _options(**kw: Any) -> BuildOptions:
    return BuildOptions(tf_version="2.16.1", python="3.11", mirror="http://deb.example.invalid/debian", **kw)


def test_the_plan_shows_the_source_without_credentials_but_fetches_with_them() -> None:
    url = f"https://ci:{SECRET}@git.example.invalid/tensorflow.git"
    plan = make_plan(_options(source=url), recipe_for("2.16.1"), patches=(), engine_cpus=4, engine_mem=16 * 2**30)
    assert plan.source.url == "https://git.example.invalid/tensorflow.git"
    assert plan.source.fetch_url == url  # git in the builder still needs them
    _no_secret(*plan.describe())


def test_the_manifest_is_written_without_credentials(tmp_path: Path) -> None:
    path = tmp_path / "x.whl.manifest.json"
    write_manifest(path, {"source": {"url": f"https://ci:{SECRET}@git.example.invalid/tf.git"},
                          "test": {"index": f"https://u:{SECRET}@pypi.example.invalid/simple/"}})
    text = path.read_text()
    _no_secret(text)
    assert json.loads(text)["source"]["url"] == "https://git.example.invalid/tf.git"


def test_the_build_log_is_written_without_credentials(tmp_path: Path) -> None:
    log = BuildLog(tmp_path / "build.log", quiet=True)
    log.line(f"fatal: repository 'https://ci:{SECRET}@git.example.invalid/tf.git/' not found")
    log.say(f"source https://ci:{SECRET}@git.example.invalid/tf.git @ v2.16.1")
    log.command(["git", "fetch", f"https://ci:{SECRET}@git.example.invalid/tf.git"], "builder")
    log.close()
    text = (tmp_path / "build.log").read_text()
    _no_secret(text)
    assert "https://git.example.invalid/tf.git" in text


class _RecordingEngine:
    """Stands in for the engine in the source stage: records what would be exec'd, answers like git."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def exec(self, container: str, cmd: list[str], *, sink: Any, env: dict[str, str] | None = None,
             workdir: str | None = None) -> int:
        self.calls.append((cmd, dict(env or {})))
        sink("0123456789abcdef0123456789abcdef01234567 1700000000")
        return 0


def test_the_source_stage_passes_the_url_in_the_environment_not_the_logged_command(tmp_path: Path) -> None:
    from tfwheelbuild.pipeline.context import BuildContext
    from tfwheelbuild.pipeline.stages import source

    url = f"https://ci:{SECRET}@git.example.invalid/tensorflow.git"
    plan = make_plan(_options(source=url, ref="v2.16.1;touch${IFS}/tmp/x"), recipe_for("2.16.1"), patches=(),
                     engine_cpus=4, engine_mem=16 * 2**30)
    engine = _RecordingEngine()
    log = BuildLog(tmp_path / "build.log", quiet=True)
    ctx = BuildContext(plan=plan, engine=engine, info=None, log=log, build_dir=tmp_path,  # type: ignore[arg-type]
                       build_id="b", container="c")
    facts = source.run(ctx)
    log.close()
    (cmd, env), = engine.calls
    assert env["TFWB_SOURCE_URL"] == url
    _no_secret(" ".join(cmd), (tmp_path / "build.log").read_text(), json.dumps(facts))
    # the ref is one word to the shell, whatever it holds
    assert "'+refs/tags/v2.16.1;touch${IFS}/tmp/x:refs/tags/v2.16.1;touch${IFS}/tmp/x'" in cmd[2]


def test_the_ci_step_summary_has_no_credentials() -> None:
    text = step_summary("t", [("source", 1.0, True)], {"source": f"https://ci:{SECRET}@git.example.invalid/x"})
    _no_secret(text)


# ------------------------------------------------------------------------------------------------ doctor


@pytest.mark.allow_subprocess
def test_doctor_checks_show_no_credentials() -> None:
    port = free_port()
    check = source_check(f"http://ci:{SECRET}@127.0.0.1:{port}/tf.git", required=True)
    assert check.status == "fail" and f"http://127.0.0.1:{port}/tf.git" in check.detail
    _no_secret(check.detail, check.remedy)
    check = url_check("package index", f"http://ci:{SECRET}@127.0.0.1:{port}/simple/", "fix it",
                      ssl.create_default_context())
    assert check.status == "warn"
    _no_secret(check.detail)


@pytest.mark.allow_subprocess
def test_doctor_command_shows_no_credentials(home: Path) -> None:
    port = free_port()
    run = tfwheelbuild(home, "doctor", "--source", f"http://ci:{SECRET}@127.0.0.1:{port}/tf.git",
                       "--mirror", f"http://ci:{SECRET}@127.0.0.1:{port}/debian",
                       PIP_INDEX_URL=f"http://ci:{SECRET}@127.0.0.1:{port}/simple/",
                       BAZELISK_BASE_URL=f"http://127.0.0.1:{port}/bazel")
    assert run.code == 1, run.stdout + run.stderr  # no engine here: a build could not work
    assert f"http://127.0.0.1:{port}/tf.git" in run.stdout
    _no_secret(run.stdout, run.stderr)
