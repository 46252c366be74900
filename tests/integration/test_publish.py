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

from tests.integration.conftest import IndexServer, _free_port, tfwheelbuild


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
