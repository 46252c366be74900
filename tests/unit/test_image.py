"""`tfwheelbuild image`: the tag, the Python, the labels, the registry's answer and credentials, all
checked before any engine is asked (pure logic, a loopback HTTP server for the registry probe)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfwheelbuild.artifacts.wheelinfo import WheelInfo
from tfwheelbuild.errors import (
    ImageError,
    ImagePythonError,
    ImageTagError,
    RegistryCredentialsError,
    RegistryUnreachableError,
)
from tfwheelbuild.userimage.image import (
    DEFAULT_REGISTRY,
    explain_install,
    image_python,
    oci_labels,
    parse_tag,
    render,
    uv_image_tag,
)
from tfwheelbuild.userimage.registry import check_push, registry_credentials


def wheel(name: str = "tensorflow-2.16.1-cp311-cp311-manylinux_2_17_aarch64.whl", pythons: tuple[str, ...] = ("cp311",),
          ) -> WheelInfo:
    return WheelInfo(path=Path("/dist") / name, name=name.split("-")[0], version=name.split("-")[1], build_tag="",
                     pythons=pythons, platforms=("manylinux_2_17_aarch64",), sha256="ab" * 32, size=1, grafted=())


@pytest.mark.parametrize(("text", "registry", "repository", "tag"), [
    ("127.0.0.1:5000/tfwb/tf:2.16.1", "127.0.0.1:5000", "127.0.0.1:5000/tfwb/tf", "2.16.1"),
    ("registry.internal/ml/tensorflow:2.16.1-py3.11", "registry.internal", "registry.internal/ml/tensorflow",
     "2.16.1-py3.11"),
    ("localhost/tf:1", "localhost", "localhost/tf", "1"),
    ("me/tensorflow:2.16.1", DEFAULT_REGISTRY, "me/tensorflow", "2.16.1"),
    ("tensorflow:latest", DEFAULT_REGISTRY, "tensorflow", "latest"),
])
def test_image_tags_accepted(text: str, registry: str, repository: str, tag: str) -> None:
    ref = parse_tag(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert ref.ref == f"{repository}:{tag}"


@pytest.mark.parametrize(("text", "why"), [
    ("registry.internal/ML/TensorFlow:1", "lowercase"),
    ("registry.internal/tf", "no tag"),
    ("registry.internal/tf:", "not an image reference"),
    ("registry.internal/tf:" + "x" * 129, "not an image reference"),
    ("registry.internal/tf:1@sha256:" + "a" * 64, "digest"),
    ("registry.internal//tf:1", "not an image reference"),
    ("tf:-1", "not an image reference"),
    ("", "no tag"),
])
def test_invalid_image_tags_are_refused_with_exit_50(text: str, why: str) -> None:
    with pytest.raises(ImageTagError, match=why) as caught:
        parse_tag(text)
    assert caught.value.exit_code == 50


def test_image_python_comes_from_the_wheel_or_must_match_it() -> None:
    assert image_python([wheel()], "") == "3.11"
    assert image_python([wheel()], "3.11") == "3.11"
    # A pure-Python companion wheel fits any image.
    assert image_python([wheel(), wheel("extra-1.0-py3-none-any.whl", ("py3",))], "") == "3.11"
    with pytest.raises(ImagePythonError, match=r"built for Python 3\.11; the image's Python is 3\.12") as caught:
        image_python([wheel()], "3.12")
    assert caught.value.exit_code == 53
    with pytest.raises(ImagePythonError, match=r"plugin-1\.0-cp312.* is built for Python 3\.12"):
        image_python([wheel(), wheel("plugin-1.0-cp312-cp312-manylinux_2_17_aarch64.whl", ("cp312",))], "")
    with pytest.raises(ImagePythonError):
        image_python([wheel("extra-1.0-py3-none-any.whl", ("py3",))], "")


def test_oci_labels_from_the_manifest_and_source_date_epoch() -> None:
    manifest = {"source": {"url": "https://git.example.invalid/tf.git", "commit": "c0ffee"}, "build_key": "k" * 64}
    labels = oci_labels(wheel(), manifest, epoch="1700000000", base="tfwheelbuild/runtime:py3.11-x")
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert labels["org.opencontainers.image.source"] == "https://git.example.invalid/tf.git"
    assert labels["org.opencontainers.image.revision"] == "c0ffee"
    assert labels["org.opencontainers.image.version"] == "2.16.1"
    assert labels["org.tfwheelbuild.wheel.sha256"] == "ab" * 32
    assert labels["org.tfwheelbuild.build-key"] == "k" * 64
    assert labels["org.tfwheelbuild.role"] == "image"  # never pruned as one of the tool's images
    bare = oci_labels(wheel(), {}, epoch="", base="b")
    assert "org.opencontainers.image.source" not in bare and "org.tfwheelbuild.build-key" not in bare


def test_the_image_recipe_keeps_the_wheel_out_of_the_final_image_and_runs_as_a_user(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"CA")
    files = render("tfwheelbuild/runtime:py3.11-x", "3.11", ["tensorflow-2.16.1-cp311.whl"], ca)
    text = files["Dockerfile"].decode()
    assert files["ca-bundle.pem"] == b"CA"
    final = text.split("FROM tfwheelbuild/runtime:py3.11-x\n", 1)[1]
    assert "wheels" not in final and "ca-bundle" not in final
    assert "COPY --from=install /opt/venv /opt/venv" in final and "USER tfwb" in final
    assert "python3.11 -m venv /opt/venv" in text and "/wheels/tensorflow-2.16.1-cp311.whl" in text
    assert "{{" not in text
    assert render("r", "3.11", ["w.whl"])["ca-bundle.pem"] == b""


def test_with_uv_the_install_stage_runs_the_pinned_binary_and_the_final_image_holds_neither() -> None:
    files = render("tfwheelbuild/runtime:py3.11-x", "3.11", ["tensorflow-2.16.1-cp311.whl"], None,
                   uv_image_tag())
    text = files["Dockerfile"].decode()
    assert set(files) == {"Dockerfile", "ca-bundle.pem"}  # the binary comes from its image, not the context
    install, final = text.split("FROM tfwheelbuild/runtime:py3.11-x\n", 1)
    assert f"COPY --from={uv_image_tag()} /uv /wheels/tools/uv" in install
    assert uv_image_tag().startswith("tfwheelbuild/uv:0.13.9-")
    assert "/wheels/tools/uv venv --seed --python python3.11 /opt/venv" in install  # pip in the venv, as `venv`
    assert "/wheels/tools/uv pip install --python /opt/venv/bin/python /wheels/tensorflow-2.16.1-cp311.whl" in install
    assert "UV_PYTHON_DOWNLOADS=never" in install and "UV_NO_CACHE=1" in install  # no cache left in the layer
    # The index the user gave is a build argument of the install stage only, read by pip or handed to uv.
    assert 'ARG PIP_INDEX_URL=""' in install and 'UV_DEFAULT_INDEX="$PIP_INDEX_URL"' in install
    assert "tools" not in final and "PIP_INDEX_URL" not in final
    pip = render("r", "3.11", ["w.whl"])["Dockerfile"].decode()
    assert "COPY --from" not in pip.split("FROM r\n", 1)[0] and "-m pip install" in pip


def test_uv_error_line_names_a_failed_install() -> None:
    output = ["Step 6/12 : RUN …", "Using CPython 3.11.2 interpreter at: /usr/bin/python3.11",
              "  × No solution found when resolving dependencies:",
              "  ╰─▶ Because nosuchpkg was not found in the package registry and tensorflow==2.16.1 depends on "
              "nosuchpkg, we can conclude that tensorflow==2.16.1 cannot be used.",
              "The command '/bin/sh -c …' returned a non-zero code: 1"]
    error = explain_install(ImageError("building x failed"), output)
    assert error.message.startswith("installing the wheel into the image failed: No solution found when resolving")
    assert "nosuchpkg was not found in the package registry" in error.message
    plain = explain_install(ImageError("b"), ["error: Failed to fetch: `http://127.0.0.1:1/simple/numpy/`"])
    assert plain.message.endswith("Failed to fetch: `http://127.0.0.1:1/simple/numpy/`")


def test_pip_error_line_names_a_failed_install() -> None:
    exc = explain_install(ImageError("building x failed: The command ... returned a non-zero code: 1"),
                          ["Collecting numpy", "\x1b[91mERROR: No matching distribution found for numpy>=1.23.5\n"])
    assert exc.message == "installing the wheel into the image failed: No matching distribution found for numpy>=1.23.5"


# ---- the registry ------------------------------------------------------------------------------
class Registry(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture()
def registry() -> Iterator[tuple[str, type[Registry]]]:
    handler = type("Handler", (Registry,), {"status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


def config(tmp_path: Path, auths: dict[str, object]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths}))
    return path


def test_an_open_registry_needs_no_credentials(registry: tuple[str, type[Registry]], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    assert check_push(parse_tag(f"{registry[0]}/tf:1"), None) is None


def test_a_registry_asking_for_credentials_without_any_is_exit_51(registry: tuple[str, type[Registry]],
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    host, handler = registry
    handler.status = 401
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    with pytest.raises(RegistryCredentialsError, match=f"{host} asks for credentials") as caught:
        check_push(parse_tag(f"{host}/tf:1"), None)
    assert caught.value.exit_code == 51
    other = config(tmp_path, {"other.example.invalid": {"auth": base64.b64encode(b"u:p").decode()}})
    with pytest.raises(RegistryCredentialsError):
        check_push(parse_tag(f"{host}/tf:1"), other)


def test_credentials_from_the_engine_config_or_a_file(registry: tuple[str, type[Registry]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    host, handler = registry
    handler.status = 401
    (tmp_path / "docker").mkdir()
    config(tmp_path / "docker", {f"http://{host}": {"auth": base64.b64encode(b"ci:s3cret").decode()}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    assert check_push(parse_tag(f"{host}/tf:1"), None) == {"username": "ci", "password": "s3cret",
                                                           "serveraddress": f"http://{host}"}
    given = config(tmp_path, {host: {"username": "bot", "password": "pw"}})
    assert registry_credentials(parse_tag(f"{host}/tf:1"), given) == {"username": "bot", "password": "pw",
                                                                      "serveraddress": host}
    hub = config(tmp_path, {"https://index.example.invalid/v1/": {"auth": base64.b64encode(b"me:tok").decode()}})
    assert registry_credentials(parse_tag("me/tf:1"), hub) == {"username": "me", "password": "tok",
                                                               "serveraddress": "https://index.example.invalid/v1/"}


def test_an_unreadable_or_missing_auth_file_is_exit_51(tmp_path: Path) -> None:
    with pytest.raises(RegistryCredentialsError, match="no such file"):
        check_push(parse_tag("127.0.0.1:1/tf:1"), tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(RegistryCredentialsError, match="cannot read"):
        registry_credentials(parse_tag("127.0.0.1:1/tf:1"), bad)


def test_an_unreachable_registry_is_exit_52(registry: tuple[str, type[Registry]]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        with pytest.raises(RegistryUnreachableError, match=f"cannot reach the registry 127.0.0.1:{port}") as caught:
            check_push(parse_tag(f"127.0.0.1:{port}/tf:1"), None)
    assert caught.value.exit_code == 52
    host, handler = registry
    handler.status = 404  # something answers, but not a registry's API
    with pytest.raises(RegistryUnreachableError, match="is no registry"):
        check_push(parse_tag(f"{host}/tf:1"), None)


def test_nightly_image_keys_resolve_and_a_bad_repository_is_refused_before_any_build() -> None:
    from tfwheelbuild.core.config import resolve
    from tfwheelbuild.errors import ConfigError
    from tfwheelbuild.userimage.job import check_build_image

    settings = resolve({}, {"TFWHEELBUILD_IMAGE": "registry.example.invalid/ml/tensorflow",
                            "TFWHEELBUILD_IMAGE_PUSH": "false"}, None)
    assert settings["image"] == "registry.example.invalid/ml/tensorflow" and settings["image-push"] is False
    assert resolve({}, {}, None)["image"] == ""  # no images unless asked
    with pytest.raises(ConfigError):
        resolve({}, {"TFWHEELBUILD_IMAGE": "Registry/TF"}, None)
    # As nightly composes each entry's tag: checked (no push: no registry asked) before the entry builds.
    request = check_build_image("registry.example.invalid/ml/tensorflow:2.16.1-py3.11", python="3.11", push=False,
                                registry_auth=None)
    assert request is not None and request.ref.tag == "2.16.1-py3.11" and request.creds is None
    assert check_build_image("", python="3.11", push=False, registry_auth=None) is None
    from tfwheelbuild.errors import UsageError

    with pytest.raises(UsageError, match="need --image"):
        check_build_image("", python="3.11", push=True, registry_auth=None)
    with pytest.raises(ImageTagError):
        check_build_image("registry.example.invalid/ml/tensorflow:x:2.16.1-py3.11", python="3.11", push=False,
                          registry_auth=None)
