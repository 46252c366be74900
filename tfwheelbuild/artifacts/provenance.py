"""SLSA provenance v1 of a built wheel, as an in-toto Statement v1 written beside it.

Made from the manifest (the tool's own record, which says more) so the two never disagree: the
Statement is the part of it that SLSA and in-toto tools read (slsa-verifier, witness, GUAC).
Unsigned: sign it with the key your release process holds (e.g. `cosign attest-blob` or an in-toto
DSSE envelope); the README shows how to check a wheel against it.
"""

from __future__ import annotations

import json
import time
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
# Ours: what the parameters below mean is documented in the README ("What the provenance holds").
BUILD_TYPE = "urn:tfwheelbuild:buildtype:wheel:v1"
BUILDER_ID = "urn:tfwheelbuild:builder:docker"
SUFFIX = ".intoto.json"


def rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _digest(value: str) -> dict[str, str]:
    """An image id or a bare hex digest as an in-toto DigestSet ({"sha256": hex})."""
    algo, _, hexdigest = value.rpartition(":")
    return {algo or "sha256": hexdigest} if hexdigest else {}


def resolved_dependencies(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything the build took from outside, each with what pins it (a commit, a digest, a version)."""
    deps: list[dict[str, Any]] = []
    source = manifest.get("source", {})
    if source.get("url"):
        deps.append({"name": "source", "uri": f"git+{source['url']}@{source.get('ref', '')}",
                     "digest": {"gitCommit": source.get("commit", "")}})
    deps += [{"name": f"patch:{p['name']}", "digest": {"sha256": p["sha256"]}} for p in manifest.get("patches", [])]
    images = manifest.get("images", {})
    for role in ("base", "builder", "runtime"):
        image_id = images.get(f"{role}_id") or ""
        entry: dict[str, Any] = {"name": f"image:{role}"}
        if images.get(role):
            entry["uri"] = f"docker-image:{images[role]}"
        if _digest(image_id):
            entry["digest"] = _digest(image_id)
        if len(entry) > 1:
            deps.append(entry)
    bazel = manifest.get("bazel", {}).get("version")
    if bazel:
        deps.append({"name": "bazel", "uri": f"pkg:generic/bazel@{bazel}"})
    # The dependency bundle (`build --deps`): each entry as the manifest's "deps" section lists it.
    for entry in manifest.get("deps", {}).get("entries", []) if isinstance(manifest.get("deps"), dict) else []:
        item: dict[str, Any] = {"name": f"deps:{entry.get('name', '')}"}
        if entry.get("url"):
            item["uri"] = entry["url"]
        if entry.get("sha256"):
            item["digest"] = {"sha256": entry["sha256"]}
        deps.append(item)
    return deps


def statement(manifest: dict[str, Any], *, started: float, finished: float,
              byproducts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The in-toto Statement of the wheel `manifest` describes (its "wheel" section names the file)."""
    wheel = manifest["wheel"]
    repair = manifest.get("repair", {})
    tool = manifest.get("tool", {})
    external = {
        "tensorflow": manifest.get("tensorflow", ""),
        "version": manifest.get("version", ""),
        "python": manifest.get("python", ""),
        "source": {"url": manifest.get("source", {}).get("url", ""), "ref": manifest.get("source", {}).get("ref", "")},
        "options": {
            "project_name": wheel.get("name", ""),
            "build_tag": wheel.get("build_tag", ""),
            "plat": repair.get("plat_requested", ""),
            "exclude": list(repair.get("excluded", [])),
            "configure": dict(manifest.get("configure", {})),
            "mode": manifest.get("mode", ""),
            "source_date_epoch": manifest.get("source_date_epoch", {}),
        },
    }
    internal = {
        "recipe": manifest.get("recipe", {}),
        "recipe_version": tool.get("recipe_version"),
        "build_key": manifest.get("build_key", ""),
        "bazel_argv": list(manifest.get("bazel", {}).get("argv", [])),
        "toolchain": manifest.get("toolchain", {}),
    }
    run_details: dict[str, Any] = {
        "builder": {"id": BUILDER_ID,
                    "version": {"tfwheelbuild": str(tool.get("version", "")),
                                # The engine by its own name: docker, podman or docker-desktop.
                                str(manifest.get("engine", {}).get("kind", "docker")):
                                    str(manifest.get("engine", {}).get("version", ""))}},
        "metadata": {"invocationId": str(manifest.get("build_id", "")), "startedOn": rfc3339(started),
                     "finishedOn": rfc3339(finished)},
    }
    if byproducts:
        run_details["byproducts"] = byproducts
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": wheel["file"], "digest": {"sha256": wheel["sha256"]}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {"buildType": BUILD_TYPE, "externalParameters": external,
                                "internalParameters": internal,
                                "resolvedDependencies": resolved_dependencies(manifest)},
            "runDetails": run_details,
        },
    }


def to_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, default=str) + "\n").encode()
