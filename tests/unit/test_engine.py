"""The engine adapter: every SDK failure of every public method mapped to the tool's errors (fake clients
that raise what the SDK raises), run_once's waits and timeouts, best-effort cleanup, refused removals.
Streamed output, container errors and engine addresses: test_engine_basics.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests.exceptions
import urllib3.exceptions

from tfwheelbuild.engine.client import Engine, Mount
from tfwheelbuild.errors import EngineError, ImageError, PushError

# ---- every public Engine method turns the SDK's failures into EngineError (exit 34) ----------------

FAILURES = {
    "api": lambda: docker.errors.APIError("500 Server Error: Internal Server Error (\"driver failed\")"),
    "gone": lambda: requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())"),
}


class Raising:
    """A client on which every call, at any depth (client.images.get(...), client.api.build(...)), raises."""

    def __init__(self, make: Callable[[], Exception]) -> None:
        self._make = make

    def __getattr__(self, name: str) -> Raising:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._make()


def _sink(_line: str) -> None:
    pass


CALLS: dict[str, Callable[[Engine, Path], object]] = {
    "info": lambda e, _t: e.info(),
    "image_id": lambda e, _t: e.image_id("img:1"),
    "images_labelled": lambda e, _t: e.images_labelled("org.tfwheelbuild.role"),
    "image_arch": lambda e, _t: e.image_arch("img:1"),
    "image_labels": lambda e, _t: e.image_labels("img:1"),
    "image_size": lambda e, _t: e.image_size("img:1"),
    "ensure_volume": lambda e, _t: e.ensure_volume("tfwb-cache", {"org.tfwheelbuild": "1"}),
    "tool_images": lambda e, _t: e.tool_images(),
    "tool_volumes": lambda e, _t: e.tool_volumes(),
    "tool_containers": lambda e, _t: e.tool_containers(),
    "remove_image": lambda e, _t: e.remove_image("img:1"),
    "remove_volume": lambda e, _t: e.remove_volume("tfwb-cache"),
    "remove_container": lambda e, _t: e.remove_container("abc123"),
    "start": lambda e, _t: e.start("img:1", mounts=[Mount(source="v", target="/v")], labels={}),
    "exec": lambda e, _t: e.exec("abc123", ["true"], sink=_sink),
    "own_volumes": lambda e, _t: e.own_volumes("abc123", ["/v"], _sink),
    "put_files": lambda e, _t: e.put_files("abc123", "/in", {"a.txt": b"a"}),
    "get_files": lambda e, t: e.get_files("abc123", "/out", t / "got"),
    "build_containers": lambda e, _t: e.build_containers(),
    "run_once": lambda e, _t: e.run_once("img:1", ["uname", "-m"]),
    "check_arm64": lambda e, _t: e.check_arm64("img:1"),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
@pytest.mark.parametrize("method", sorted(CALLS))
def test_engine_method_failure_is_an_engine_error(method: str, kind: str, tmp_path: Path) -> None:
    engine = Engine(Raising(FAILURES[kind]))
    with pytest.raises(EngineError) as caught:
        CALLS[method](engine, tmp_path)
    assert caught.value.exit_code in (34, 31)  # 31: a container that cannot start as arm64
    if kind == "gone":
        assert "stopped answering" in caught.value.message


def test_every_public_engine_method_has_a_failure_test() -> None:
    public = {n for n in dir(Engine) if not n.startswith("_") and callable(getattr(Engine, n))}  # with its mixins
    # connect: its own test below; pull, build_image, push: their own; remove, remove_all, keep: best effort.
    assert public - set(CALLS) == {"connect", "pull", "build_image", "push", "remove", "remove_all", "keep"}


class PodmanVolumes:
    """Podman 4.3.1's compatible service: the volume list filters by label, /system/df gives no labels."""

    class _Volume:
        def __init__(self, name: str) -> None:
            self.name = name
            self.attrs = {"Name": name, "CreatedAt": "2026-12-05T11:34:24Z", "Labels": {"org.tfwheelbuild": "1"}}

    def __init__(self) -> None:
        self.volumes = self

    def list(self, filters: dict[str, str]) -> list[PodmanVolumes._Volume]:
        assert filters == {"label": "org.tfwheelbuild"}
        return [self._Volume("tfwb-bazel-dc41"), self._Volume("tfwb-uv")]

    def df(self) -> dict[str, Any]:
        return {"Volumes": [{"Name": n, "Labels": {}, "UsageData": {"RefCount": 0, "Size": size}}
                            for n, size in (("tfwb-bazel-dc41", 1097545), ("tfwb-uv", 58315762), ("theirs", 9))]}


def test_tool_volumes_come_from_the_label_filter_not_from_disk_usage_labels() -> None:
    volumes = Engine(PodmanVolumes()).tool_volumes()
    assert [(v.name, v.size, v.created) for v in volumes] == [
        ("tfwb-bazel-dc41", 1097545, "2026-12-05T11:34:24Z"), ("tfwb-uv", 58315762, "2026-12-05T11:34:24Z")]


def test_push_refusal_is_a_push_error_but_a_gone_engine_is_an_engine_error() -> None:
    with pytest.raises(PushError) as refused:
        Engine(Raising(FAILURES["api"])).push("127.0.0.1:5000/tf:1", auth=None, sink=_sink)
    assert refused.value.exit_code == 54
    with pytest.raises(EngineError) as gone:
        Engine(Raising(FAILURES["gone"])).push("127.0.0.1:5000/tf:1", auth=None, sink=_sink)
    assert gone.value.exit_code == 34


class PushStream:
    """An SDK client whose push streams what a registry that refuses the upload streams."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.api = self
        self._chunks = chunks

    def push(self, *_args: Any, **_kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self._chunks


def test_an_error_inside_the_push_stream_is_a_push_error() -> None:
    # The daemon answers 200 and reports the registry's refusal in the stream: it must not pass as pushed.
    engine = Engine(PushStream([{"status": "The push refers to repository [127.0.0.1:5000/tf]"},
                                {"errorDetail": {"message": "unauthorized"},
                                 "error": "unauthorized: authentication required"}]))
    with pytest.raises(PushError, match="unauthorized"):
        engine.push("127.0.0.1:5000/tf:1", auth=None, sink=_sink)
    ok = Engine(PushStream([{"status": "1: digest: sha256:abc size: 1"},
                            {"aux": {"Tag": "1", "Digest": "sha256:abc"}}]))
    assert ok.push("127.0.0.1:5000/tf:1", auth=None, sink=_sink) == "sha256:abc"


@pytest.mark.parametrize("method", ["pull", "build_image"])
def test_image_refusal_is_an_image_error_but_a_gone_engine_is_an_engine_error(method: str, tmp_path: Path) -> None:
    def call(engine: Engine) -> object:
        if method == "pull":
            return engine.pull("ubuntu:22.04")
        return engine.build_image(tmp_path, "tfwheelbuild/x:1", sink=_sink)

    with pytest.raises(ImageError):
        call(Engine(Raising(FAILURES["api"])))
    with pytest.raises(EngineError) as caught:
        call(Engine(Raising(FAILURES["gone"])))
    assert caught.value.exit_code == 34


def test_image_arch_of_an_image_removed_meanwhile_is_an_image_error() -> None:
    engine = Engine(Raising(lambda: docker.errors.ImageNotFound("No such image: img:1")))
    with pytest.raises(ImageError, match="not on the engine"):
        engine.image_arch("img:1")


def test_ensure_volume_creation_refused_is_an_engine_error() -> None:
    class Volumes:
        def get(self, name: str) -> None:
            raise docker.errors.NotFound(f"no such volume {name}")

        def create(self, **_kw: Any) -> None:
            raise docker.errors.APIError("500 Server Error: no space left on device")

    class Client:
        volumes = Volumes()

    with pytest.raises(EngineError, match="no space left"):
        Engine(Client()).ensure_volume("tfwb-cache", {})


class _Container:
    """A container that starts, then fails on `wait` with `error`; records its removal."""

    def __init__(self, error: Exception) -> None:
        self.id = "c1"
        self.removed = False
        self._error = error

    def wait(self, timeout: int) -> dict[str, int]:
        raise self._error

    def logs(self) -> bytes:
        return b""

    def remove(self, force: bool) -> None:
        self.removed = True


def _engine_with(container: _Container) -> Engine:
    class Containers:
        def run(self, *_a: Any, **_kw: Any) -> _Container:
            return container

        def get(self, _id: str) -> _Container:
            return container

    class Client:
        containers = Containers()

    return Engine(Client())


@pytest.mark.parametrize("error", [
    docker.errors.APIError("500 Server Error: container wait failed"),
    requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())"),
])
def test_run_once_wait_failure_is_an_engine_error_and_the_container_goes(error: Exception) -> None:
    container = _Container(error)
    with pytest.raises(EngineError):
        _engine_with(container).run_once("img:1", ["uname", "-m"])
    assert container.removed


@pytest.mark.parametrize("error", [
    requests.exceptions.ReadTimeout("read timed out"),
    requests.exceptions.ConnectionError(urllib3.exceptions.ReadTimeoutError(None, "/wait", "read timed out")),  # type: ignore[arg-type]
])
def test_run_once_timeout_says_it_timed_out(error: Exception) -> None:
    container = _Container(error)
    with pytest.raises(EngineError, match="did not finish within 300 s"):
        _engine_with(container).run_once("img:1", ["uname", "-m"])
    assert container.removed


@pytest.mark.parametrize("method", ["remove", "remove_all"])
def test_best_effort_cleanup_never_raises(method: str) -> None:
    engine = Engine(Raising(FAILURES["gone"]))
    engine.labels["org.tfwheelbuild.build"] = "b1"
    engine.remove("abc") if method == "remove" else engine.remove_all()


class _Conflict(docker.errors.APIError):
    """What the engine answers when a container still uses the image or volume."""

    def __init__(self) -> None:
        super().__init__("409 Client Error: Conflict (\"volume is in use - [3f2a]\")")

    @property
    def status_code(self) -> int:
        return 409


@pytest.mark.parametrize("method", ["remove_image", "remove_volume"])
def test_removing_what_a_container_uses_is_refused_not_fatal(method: str) -> None:
    engine = Engine(Raising(_Conflict))
    assert getattr(engine, method)("tfwb-cache") is False
