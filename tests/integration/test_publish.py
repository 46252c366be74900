"""Publishing against a real pypiserver on loopback, through twine: no fake index.

These need no Docker engine (verification in the runtime image is covered by the nightly test),
so they pass --no-verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.integration.harness import tfwheelbuild
from tests.integration.servers import IndexServer, _free_port


def make_wheel(directory: Path, *, version: str = "2.16.1", plat: str = "manylinux_2_17_aarch64",
               payload: str = "x = 1\n") -> Path:
    """A small but valid wheel (METADATA, WHEEL, RECORD), as twine and pip expect."""
    dist = f"tensorflow-{version}.dist-info"
    files = {
        "tensorflow/__init__.py": payload.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: tensorflow\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp311-cp311-{plat}\n"
                         .encode(),
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()) + f"{dist}/RECORD,,\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"tensorflow-{version}-cp311-cp311-{plat}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{dist}/RECORD", record)
    return path


def publish(index: str, *wheels: Path, env: dict[str, str]) -> tuple[int, str, str]:
    result = tfwheelbuild("publish", *map(str, wheels), "--index", index, "--no-verify", "--json", env=env)
    return result.code, result.stdout, result.stderr


def test_upload_then_skip_existing_then_refuse_a_different_file(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a")
    code, out, err = publish(index_server.url, wheel, env=index_server.env())
    assert code == 0, err
    assert json.loads(out)["published"][0]["status"] == "uploaded"
    assert (index_server.packages / wheel.name).read_bytes() == wheel.read_bytes()

    code, out, err = publish(index_server.url, wheel, env=index_server.env())
    assert code == 0, err
    assert json.loads(out)["published"][0]["status"] == "exists"

    other = make_wheel(tmp_path / "b", payload="x = 2\n")  # same name, different bytes
    code, out, err = publish(index_server.url, other, env=index_server.env())
    assert code == 24, err
    assert "already has a different" in err and "Traceback" not in err
    assert (index_server.packages / wheel.name).read_bytes() == wheel.read_bytes()  # nothing overwritten


def test_pip_installs_what_was_published(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", plat="linux_aarch64")
    assert publish(index_server.url, wheel, env=index_server.env())[0] == 0
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--index-url",
                           index_server.simple_url, "--platform", "linux_aarch64", "--only-binary=:all:",
                           "--python-version", "3.11", "-d", str(tmp_path / "dl"), "tensorflow==2.16.1"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "dl" / wheel.name).read_bytes() == wheel.read_bytes()


def test_wrong_password_is_refused_without_leaking_it(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    code, out, err = publish(index_server.url, wheel, env=index_server.env(TWINE_PASSWORD="not-the-pw-9876"))
    assert code == 23, err
    assert "not-the-pw-9876" not in out + err and index_server.password not in out + err
    assert "Traceback" not in err and not any(index_server.packages.iterdir())


def test_missing_credentials(index_server: IndexServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
    code, _, err = publish(index_server.url, make_wheel(tmp_path), env={**env, "HOME": str(tmp_path)})
    assert code == 23, err
    assert not any(index_server.packages.iterdir())


def test_unreachable_index(tmp_path: Path) -> None:
    code, _, err = publish(f"http://127.0.0.1:{_free_port()}/", make_wheel(tmp_path), env=dict(os.environ))
    assert code == 22, err
    assert "unreachable" in err and "Traceback" not in err


def test_bad_wheels_upload_nothing(index_server: IndexServer, tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "good")
    x86 = make_wheel(tmp_path / "x86", plat="manylinux_2_17_x86_64")
    code, _, err = publish(index_server.url, good, x86, env=index_server.env())
    assert code == 19, err
    assert "x86_64" in err and not any(index_server.packages.iterdir())  # the good one was not sent either

    corrupt = tmp_path / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl"
    corrupt.write_bytes(b"not a zip")
    code, _, err = publish(index_server.url, corrupt, env=index_server.env())
    assert code == 19 and "zip" in err

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, _, err = publish(index_server.url, text, env=index_server.env())
    assert code == 19 and "not a wheel" in err


def test_directory_index_is_installable_with_pip(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", plat="linux_aarch64")
    root = tmp_path / "index"
    code, out, err = publish(str(root), wheel, env=dict(os.environ))
    assert code == 0, err
    simple = json.loads(out)["published"][0]["simple_url"]
    assert simple == root.resolve().as_uri() + "/simple/"
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--index-url", simple,
                           "--platform", "linux_aarch64", "--only-binary=:all:", "--python-version", "3.11",
                           "-d", str(tmp_path / "dl"), "tensorflow==2.16.1"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert publish(str(root), wheel, env=dict(os.environ))[1].count('"exists"') == 1


def broken_wheels(directory: Path) -> dict[str, Path]:
    """Aarch64-named files that are not publishable aarch64 wheels, each for another reason."""
    directory.mkdir(parents=True, exist_ok=True)
    no_dist_info = directory / "no-dist-info" / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl"
    no_dist_info.parent.mkdir()
    with zipfile.ZipFile(no_dist_info, "w") as archive:
        archive.writestr("tensorflow/__init__.py", "x = 1\n")
    x86 = make_wheel(directory / "x86-tag", plat="manylinux_2_17_x86_64")
    renamed = x86.rename(x86.with_name(x86.name.replace("x86_64", "aarch64")))
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 11 + (62).to_bytes(2, "little") + b"\0" * 40
    x86_so = make_wheel(directory / "x86-so")
    with zipfile.ZipFile(x86_so, "a") as archive:
        archive.writestr("tensorflow/_ext.cpython-311-aarch64-linux-gnu.so", elf)
    return {"dist-info/WHEEL (dist-info found: none)": no_dist_info, "WHEEL file says": renamed,
            "holds x86_64 code": x86_so}


def test_broken_wheels_never_reach_a_directory_index_or_a_server(index_server: IndexServer, tmp_path: Path) -> None:
    root = tmp_path / "index"
    for says, wheel in broken_wheels(tmp_path / "w").items():
        for index, env in ((str(root), dict(os.environ)), (index_server.url, index_server.env())):
            code, _, err = publish(index, wheel, env=env)
            assert code == 19, (says, err)
            assert says in err and "Traceback" not in err, err
    assert not root.exists() and not any(index_server.packages.iterdir())


def test_index_values_that_are_neither_url_repository_nor_path_create_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pypirc").write_text("[distutils]\nindex-servers = internal\n[internal]\n"
                                  "repository = http://127.0.0.1:9/\n")
    work = tmp_path / "work"
    work.mkdir()
    wheel = make_wheel(tmp_path / "w")
    env = {**os.environ, "HOME": str(home)}
    for value, says in [("ftp://files.example.invalid/x", "unknown scheme 'ftp://'"),
                        ("htps://pypi.example.invalid/", "did you mean 'https://'?"),
                        ("internl", "did you mean 'internal'?")]:
        result = tfwheelbuild("publish", str(wheel), "--index", value, "--no-verify", env=env, cwd=work)
        assert result.code == 22, result.stderr
        assert says in result.stderr and "fix: " in result.stderr and "Traceback" not in result.stderr
        assert "published" not in result.stdout
        # The same value from the environment goes through the same resolver (build --publish, nightly).
        result = tfwheelbuild("nightly", "--tf", "2.16.1", "--py", "3.11", env={**env, "TFWHEELBUILD_INDEX": value},
                              cwd=work)
        assert result.code == 22 and says in result.stderr, result.stderr
        result = tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(tmp_path / "no-source"),
                              "--output", str(work / "dist"), "--publish", "--index", value, env=env, cwd=work)
        assert result.code == 22 and says in result.stderr, result.stderr  # before the source is even looked at
    assert not any(work.iterdir())


@pytest.mark.engine
def test_a_wheel_failing_its_verify_is_withdrawn_and_its_fix_is_taken(tmp_path: Path, work_dir: Path) -> None:
    # Installs, but is no TensorFlow (no __version__): the smoke test in the runtime image fails.
    root = tmp_path / "index"
    wheel = make_wheel(tmp_path / "a", plat="linux_aarch64")
    result = tfwheelbuild("publish", str(wheel), "--index", str(root), "--work-dir", str(work_dir))
    assert result.code == 18, result.stderr[-3000:]
    assert "does not install from it" in result.stderr and "withdrawn" in result.stderr
    assert not list(root.rglob("*.whl"))
    assert wheel.name not in (root / "simple" / "tensorflow" / "index.html").read_text()
    fixed = make_wheel(tmp_path / "b", plat="linux_aarch64", payload="x = 2\n")  # same name, other bytes
    code, out, err = publish(str(root), fixed, env=dict(os.environ))
    assert code == 0, err
    assert json.loads(out)["published"][0]["status"] == "uploaded"


@pytest.mark.engine
def test_a_wheel_failing_its_verify_on_a_server_names_the_file_to_delete(index_server: IndexServer, tmp_path: Path,
                                                                         work_dir: Path) -> None:
    wheel = make_wheel(tmp_path / "a", plat="linux_aarch64")
    result = tfwheelbuild("publish", str(wheel), "--index", index_server.url, "--work-dir", str(work_dir),
                          env=index_server.env())
    assert result.code == 18, result.stderr[-3000:]
    assert f"delete {index_server.url}/packages/{wheel.name}" in result.stderr
    assert index_server.password not in result.stderr
