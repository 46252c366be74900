"""What `images`, `clean` and `shell` see of the engine: the tool's images, volumes and containers."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors

from tfwheelbuild.engine.failures import ENGINE_FAILURES, first_line, in_use
from tfwheelbuild.engine.records import (
    BUILD_LABEL,
    LABEL,
    USER_IMAGE_ROLE,
    BuildContainer,
    Resource,
    ToolContainer,
)
from tfwheelbuild.errors import (
    EngineError,
)


class EngineHousekeeping:
    """Mixed into Engine, whose client it uses."""

    _client: Any

    def tool_images(self) -> list[Resource]:
        """Images this tool built or bootstrapped (labelled with their role)."""
        try:
            images = self._client.images.list(filters={"label": "org.tfwheelbuild.role"})
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing images: {first_line(exc)}") from exc
        # A user's image (`tfwheelbuild image`) inherits the label from the runtime image under it; it is
        # their product, not a cache of ours, so `images --prune` must never see it.
        return [Resource(name=(i.tags or [i.short_id])[0], size=int(i.attrs.get("Size", 0)),
                         created=str(i.attrs.get("Created", "")),
                         kind=str((i.labels or {}).get("org.tfwheelbuild.role", "")), id=str(i.id)) for i in images
                if (i.labels or {}).get("org.tfwheelbuild.role") != USER_IMAGE_ROLE]

    def tool_volumes(self) -> list[Resource]:
        """The tool's cache volumes with their sizes (the engine's own disk-usage accounting).

        Which volumes are ours comes from the volume list's label filter, not from /system/df's entries:
        Podman's compatible service answers /system/df with every volume's `Labels` empty (4.3.1).
        """
        try:
            ours = self._client.volumes.list(filters={"label": LABEL})
            usage = self._client.df().get("Volumes") or []
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error reading disk usage: {first_line(exc)}") from exc
        sizes = {str(v.get("Name")): max(0, int((v.get("UsageData") or {}).get("Size", 0))) for v in usage}
        return [Resource(name=str(v.name), size=sizes.get(str(v.name), 0), created=str(v.attrs.get("CreatedAt", "")),
                         kind="volume", id=str(v.name)) for v in ours]

    def remove_image(self, ref: str) -> bool:
        """Remove an image; False when a container still uses it (the engine refuses: 409)."""
        try:
            self._client.images.remove(ref)
        except ENGINE_FAILURES as exc:
            if in_use(exc):
                return False
            raise EngineError(f"cannot remove image {ref}: {first_line(exc)}") from exc
        return True

    def remove_volume(self, name: str) -> bool:
        """Remove a volume; False when a container (a running build) still uses it."""
        try:
            self._client.volumes.get(name).remove()
        except ENGINE_FAILURES as exc:
            if in_use(exc):
                return False
            raise EngineError(f"cannot remove volume {name}: {first_line(exc)}") from exc
        return True

    def tool_containers(self) -> list[ToolContainer]:
        """Every container carrying the tool's label, running or not (what `clean` chooses from)."""
        found = self._containers_labelled(LABEL)
        return [ToolContainer(id=str(c.id), name=str(c.name), status=str(c.status),
                              labels={str(k): str(v) for k, v in (c.labels or {}).items()}) for c in found]

    def remove_container(self, container_id: str) -> bool:
        """Force-remove one container; False when it was already gone (its run removed it meanwhile)."""
        try:
            self._client.containers.get(container_id).remove(force=True)
        except docker.errors.NotFound:
            return False
        except ENGINE_FAILURES as exc:
            raise EngineError(f"cannot remove container {container_id[:12]}: {first_line(exc)}") from exc
        return True

    def build_containers(self) -> list[BuildContainer]:
        """Build containers (of running builds, or kept after a failure), newest first."""
        found = self._containers_labelled(BUILD_LABEL)
        rows = [BuildContainer(name=str(c.name), build_id=str(c.labels.get(BUILD_LABEL, "")),
                               status=str(c.status), created=str(c.attrs.get("Created", ""))) for c in found]
        return sorted(rows, key=lambda r: r.created, reverse=True)

    def _containers_labelled(self, label: str) -> list[Any]:
        """The SDK's containers carrying `label`, running or not."""
        try:
            return list(self._client.containers.list(all=True, filters={"label": label}))
        except ENGINE_FAILURES as exc:
            raise EngineError(f"engine error listing containers: {first_line(exc)}") from exc
