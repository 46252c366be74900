"""A Python the hermetic release ships no lock for: the plan marks it, the lock is written from pip's own
installation report, and Bazel gets upstream's four HERMETIC_* variables (issue 16, item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfwheelbuild.errors import CustomPythonError
from tfwheelbuild.pipeline.stages import custom_python
from tfwheelbuild.plan import BuildOptions, make_plan
from tfwheelbuild.recipes import recipe_for

# Trimmed from a real `pip install --dry-run --report` (pip 23) for absl-py and packaging, Python 3.14.
REPORT = {"version": "1", "install": [
    {"metadata": {"name": "packaging", "version": "26.4"},
     "download_info": {"url": "https://files.example.invalid/packaging-26.4-py3-none-any.whl",
                       "archive_info": {"hashes": {"sha256": "8" * 64}}}},
    {"metadata": {"name": "absl_py", "version": "2.5.1"},
     "download_info": {"url": "https://files.example.invalid/absl_py-2.5.1-py3-none-any.whl",
                       "archive_info": {"hash": "sha256=" + "7" * 64, "hashes": {"sha256": "7" * 64}}}},
]}


def test_the_lock_pins_every_requirement_with_the_hash_of_the_file_pip_chose() -> None:
    lock = custom_python.lock_text(REPORT, "3.14")
    body = [line for line in lock.splitlines() if not line.startswith("#")]
    assert body == ["absl-py==2.5.1 \\", f"    --hash=sha256:{'7' * 64}",
                    "packaging==26.4 \\", f"    --hash=sha256:{'8' * 64}"]
    assert custom_python.REQUIREMENTS_IN in lock.splitlines()[0]


def test_a_requirement_without_a_hash_is_refused() -> None:
    report = {"install": [{"metadata": {"name": "absl-py", "version": "2.5.1"},
                           "download_info": {"url": "https://x.invalid/a.whl", "archive_info": {}}}]}
    with pytest.raises(CustomPythonError, match=r"no sha256 for absl-py 2\.5\.1"):
        custom_python.lock_text(report, "3.14")


def test_bazel_gets_upstreams_variables_for_the_interpreter_and_the_lock() -> None:
    assert custom_python.bazel_flags("3.11", "a" * 64) == [
        "--repo_env=HERMETIC_PYTHON_URL=file:///tfwb/out/python/python-3.11.tar",
        f"--repo_env=HERMETIC_PYTHON_SHA256={'a' * 64}", "--repo_env=HERMETIC_PYTHON_PREFIX=python",
        "--repo_env=HERMETIC_REQUIREMENTS_LOCK=/tfwb/out/python/requirements_lock_3_11.txt"]


def test_the_resolver_targets_that_python_on_aarch64_and_the_given_index() -> None:
    cmd = custom_python.resolve_command("3.14", "http://127.0.0.1:8080/simple")
    assert cmd[:4] == ["/opt/tfwb/py/bin/python3", "-m", "pip", "install"]
    assert "--dry-run" in cmd and "--only-binary=:all:" in cmd
    assert cmd[cmd.index("--python-version") + 1] == "3.14"
    assert cmd[cmd.index("--platform") + 1] == "manylinux_2_31_aarch64"
    assert cmd[cmd.index("--index-url") + 1] == "http://127.0.0.1:8080/simple"
    assert cmd[-1] == f"/tfwb/src/{custom_python.REQUIREMENTS_IN}"
    assert "--index-url" not in custom_python.resolve_command("3.14", "")


def test_the_archive_is_deterministic_and_carries_the_multiarch_headers() -> None:
    script = custom_python.package_script("3.11")
    assert "--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --exclude=__pycache__" in script
    assert "/usr/include/$t/python3.11" in script and script.rstrip().endswith("python-3.11.tar")


@pytest.mark.parametrize(("release", "python", "custom"), [
    ("2.17.0", "3.11", ""),  # listed: the release's own lock and interpreter
    ("2.17.0", "3.14", "3.14"),  # hermetic, not listed: a custom interpreter and a generated lock
    ("2.13.0", "3.14", ""),  # not hermetic: configure's host Python, nothing to hand Bazel
])
def test_only_a_hermetic_release_and_an_unlisted_python_get_a_custom_interpreter(
        release: str, python: str, custom: str, tmp_path: Path) -> None:
    opts = BuildOptions(tf_version=release, python=python, output=tmp_path, index_url="http://127.0.0.1:1/simple")
    plan = make_plan(opts, recipe_for(release), patches=(), engine_cpus=2, engine_mem=8 << 30, engine_emulated=True,
                     engine_arch="aarch64")
    assert plan.compile.custom_python == custom
    assert plan.compile.index_url == "http://127.0.0.1:1/simple"
