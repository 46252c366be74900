"""The engine's images: look up, inspect, pull, build (classic builder) and push."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors

from tfwheelbuild.engine.failures import ENGINE_FAILURES, engine_gone, engine_setup_problem, first_line
from tfwheelbuild.engine.records import (
    ARM64,
    LineSink,
)
from tfwheelbuild.errors import (
    EngineError,
    ImageError,
    PushError,
)


class EngineImages:
    """Mixed into Engine, whose client it uses."""

    _client: Any

    def image_id(self, ref: str) -> str | None:
        try:
            return str(self._client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            return None
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error looking up image {ref}: {first_line(exc)}") from exc

    def images_labelled(self, label: str) -> list[tuple[str, str]]:
        """(first tag, architecture) of local images carrying `label` (key or key=value)."""
        try:
            images = self._client.images.list(filters={"label": label})
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing images: {first_line(exc)}") from exc
        return [(str(i.tags[0]), str(i.attrs.get("Architecture", "?"))) for i in images if i.tags]

    def image_arch(self, ref: str) -> str:
        return str(self._image_attrs(ref).get("Architecture", "?"))

    def image_labels(self, ref: str) -> dict[str, str]:
        labels = (self._image_attrs(ref).get("Config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def _image_attrs(self, ref: str) -> dict[str, Any]:
        try:
            return dict(self._client.images.get(ref).attrs)
        except docker.errors.ImageNotFound as exc:
            # Asked for right after it was made or found: gone means someone removed it meanwhile.
            raise ImageError(f"image {ref} is not on the engine (removed while this run used it?)") from exc
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error inspecting image {ref}: {first_line(exc)}") from exc

    def pull(self, ref: str, platform: str = ARM64) -> str:
        repo, _, tag = ref.partition(":")
        try:
            image = self._client.images.pull(repo, tag=tag or "latest", platform=platform)
        except ENGINE_FAILURES as exc:
            raise engine_gone(exc, f"pulling {ref}") or ImageError(
                f"cannot pull {ref} for {platform}: {first_line(exc)}") from exc
        return str(image.id)

    def build_image(self, context: Path, tag: str, *, sink: LineSink, platform: str = ARM64,
                    labels: Mapping[str, str] | None = None, nocache: bool = False,
                    build_args: Mapping[str, str] | None = None) -> str:
        """Build with the classic builder, which records the requested platform correctly.

        `nocache`: its layer cache ignores the platform, so the same rootfs ADDed for another
        architecture earlier would come back with that architecture recorded.
        """
        api = self._client.api
        image_id = ""
        error = ""
        try:
            for chunk in api.build(path=str(context), tag=tag, platform=platform, rm=True, nocache=nocache,
                                   forcerm=True, decode=True, labels=dict(labels or {}),
                                   buildargs=dict(build_args or {})):
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        if line.strip():
                            sink(line)
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    sink(error)
                aux = chunk.get("aux")
                if isinstance(aux, dict) and "ID" in aux:
                    image_id = str(aux["ID"])
        except ENGINE_FAILURES as exc:
            raise engine_gone(exc, f"building {tag}") or engine_setup_problem(first_line(exc)) or ImageError(
                f"building {tag} failed: {first_line(exc)}") from exc
        if error:  # a RUN step the engine could not start is the engine's setup, not the Dockerfile's
            raise engine_setup_problem(error) or ImageError(f"building {tag} failed: {error}")
        if image_id:
            return image_id
        found = self.image_id(tag)
        if found is None:
            raise ImageError(f"building {tag} reported success but the engine has no such image")
        return found

    def image_size(self, ref: str) -> int:
        return int(self._image_attrs(ref).get("Size", 0))

    def push(self, ref: str, *, auth: Mapping[str, str] | None, sink: LineSink) -> str:
        """Push `ref`; the digest the registry answered. A refusal (credentials, the registry's
        errors, which arrive inside the stream) is PushError; a daemon gone mid-push is EngineError."""
        repo, _, tag = ref.rpartition(":")
        digest = ""
        try:
            for chunk in self._client.api.push(repo, tag=tag, stream=True, decode=True,
                                               auth_config=dict(auth) if auth else None):
                if "error" in chunk:
                    raise PushError(f"pushing {ref} failed: {str(chunk['error']).strip()}")
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                status = chunk.get("status")
                if status and not chunk.get("progressDetail"):
                    sink(f"{chunk.get('id', '')} {status}".strip())
        except ENGINE_FAILURES as exc:
            raise engine_gone(exc, f"pushing {ref}") or PushError(
                f"pushing {ref} failed: {first_line(exc)}") from exc
        return digest
