"""What a built wheel carries for those who must trust it, end to end on the fixture (cross builds):
SLSA provenance beside it and a CycloneDX SBOM inside it, both checked against their published schemas;
a member linked for 4 KiB pages refused; a size limit that trips."""

from __future__ import annotations

import difflib
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import FIXTURE_PATCHES, CliResult, tfwheelbuild

pytestmark = pytest.mark.engine
PYWRAP = "tensorflow/python/_pywrap_tensorflow_internal.so"


def cross_build(fixture_repo: Path, work_dir: Path, out: Path, *args: str) -> CliResult:
    return tfwheelbuild("build", "--tf", "2.16.1", "--py", "3.11", "--source", str(fixture_repo), "--patches",
                        str(FIXTURE_PATCHES), "--output", str(out), "--work-dir", str(work_dir), "--mode", "cross",
                        "--json", *args)


def validate_statement(document: dict[str, Any]) -> None:
    """in-toto's own bindings: the Statement v1 and SLSA provenance v1 messages, parsed strictly (an unknown
    field, a wrong type or a malformed timestamp is an error), then each check the bindings carry."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    pb = json_format.ParseDict(document, statement_pb2.Statement())
    Statement.copy_from_pb(pb).validate()
    predicate = json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())
    # SLSA v1's required fields (the protobuf has no notion of required)
    assert predicate.build_definition.build_type and predicate.run_details.builder.id
    assert predicate.build_definition.external_parameters.fields
    for dep in predicate.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dep).validate()


def validate_sbom(data: bytes) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(data.decode())
    assert errors is None, errors


def test_a_cross_build_writes_provenance_and_sbom_that_validate(fixture_repo: Path, work_dir: Path,
                                                                 tmp_path: Path) -> None:
    result = cross_build(fixture_repo, work_dir, tmp_path)
    assert result.code == 0, result.stderr[-3000:]
    wheel = Path(str(result.json()["wheel"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [wheel.name, wheel.name + ".manifest.json", wheel.name + ".intoto.json"])
    manifest = json.loads((tmp_path / (wheel.name + ".manifest.json")).read_text())
    raw = (tmp_path / (wheel.name + ".intoto.json")).read_bytes()
    assert manifest["provenance"]["file"] == wheel.name + ".intoto.json"
    assert manifest["provenance"]["sha256"] == hashlib.sha256(raw).hexdigest()

    # The provenance: valid, and about this wheel, this commit, these patches and images.
    statement = json.loads(raw)
    validate_statement(statement)
    assert statement["subject"] == [{"name": wheel.name, "digest": {"sha256": hashlib.sha256(wheel.read_bytes())
                                                                    .hexdigest()}}]
    definition = statement["predicate"]["buildDefinition"]
    assert definition["externalParameters"]["tensorflow"] == "2.16.1"
    assert definition["externalParameters"]["python"] == "3.11"
    assert definition["externalParameters"]["options"]["mode"] == "cross"
    assert definition["internalParameters"]["recipe_version"] == manifest["tool"]["recipe_version"]
    deps = {d["name"]: d for d in definition["resolvedDependencies"]}
    commit = subprocess.run(["git", "-C", str(fixture_repo), "rev-parse", "v2.16.1^{commit}"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert deps["source"]["digest"] == {"gitCommit": commit}
    patch = FIXTURE_PATCHES / "2.16" / manifest["patches"][0]["name"]
    assert deps[f"patch:{patch.name}"]["digest"] == {"sha256": hashlib.sha256(patch.read_bytes()).hexdigest()}
    assert deps["image:builder"]["digest"]["sha256"] == manifest["images"]["builder_id"].removeprefix("sha256:")
    assert deps["bazel"]["uri"] == "pkg:generic/bazel@4.2.3"
    run = statement["predicate"]["runDetails"]
    assert run["metadata"]["invocationId"] == manifest["build_id"]
    assert run["metadata"]["startedOn"] <= run["metadata"]["finishedOn"]

    # The SBOM, inside the wheel (so it travels with it) and named in the provenance with its digest.
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/sboms/tfwheelbuild.cdx.json"))
        data = archive.read(name)
        libgomp = next(n for n in archive.namelist() if n.startswith("tensorflow.libs/libgomp"))
        libgomp_sha = hashlib.sha256(archive.read(libgomp)).hexdigest()
    validate_sbom(data)
    assert run["byproducts"] == [{"name": name, "digest": {"sha256": hashlib.sha256(data).hexdigest()},
                                  "mediaType": "application/vnd.cyclonedx+json"}]
    bom = json.loads(data)
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    assert by_ref[f"file:{libgomp}"]["hashes"] == [{"alg": "SHA-256", "content": libgomp_sha}]
    # The fixture's Bazel externals are local repository rules (it downloads nothing): named, no URL.
    assert "bazel:@local_config_python" in by_ref, sorted(by_ref)
    assert by_ref["bazel:@local_config_python"]["scope"] == "required"
    builder = [c for c in bom["components"] if c.get("scope") == "excluded"]
    assert any(c["name"] == "clang-17" or c["name"].startswith("clang") for c in builder), len(builder)
    assert all(c["purl"].startswith("pkg:deb/debian/") for c in builder)
    assert manifest["sbom"]["sha256"] == hashlib.sha256(data).hexdigest()


def _pywrap_4k_patch(tmp_path: Path) -> Path:
    """A patch series linking the fixture's Python extension for 4 KiB pages only (lld's flag), so its
    LOAD segments are aligned to 4096: what a toolchain or a flag forcing small pages leaves."""
    rel = "tensorflow/python/BUILD"
    original = (Path(__file__).parents[1] / "fixtures" / "tfshaped" / rel).read_text()
    changed = original.replace('linkopts = ["-Wl,-rpath,$$ORIGIN/.."],',
                               'linkopts = ["-Wl,-rpath,$$ORIGIN/..", "-Wl,-z,max-page-size=4096"],')
    assert changed != original
    series = tmp_path / "pages" / "2.16"
    series.mkdir(parents=True)
    diff = difflib.unified_diff(original.splitlines(keepends=True), changed.splitlines(keepends=True),
                                f"a/{rel}", f"b/{rel}")
    (series / "0001-pywrap-4k-pages.patch").write_text("".join(diff))
    (series / "series").write_text("0001-pywrap-4k-pages.patch\n")
    return tmp_path / "pages"


def test_a_member_linked_for_4k_pages_is_refused_by_name(fixture_repo: Path, work_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cross_build(fixture_repo, work_dir, out, "--patches", str(_pywrap_4k_patch(tmp_path)))
    assert result.code == 55, result.stderr[-3000:]
    error = next(ln for ln in result.stderr.splitlines() if ln.startswith("error:"))
    assert f"{PYWRAP} has LOAD segments aligned to 4 KiB, below 64 KiB pages" in error, error
    assert "--allow-4k-pages" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_wheel_over_the_size_limit_names_its_size_and_largest_members(fixture_repo: Path, work_dir: Path,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cross_build(fixture_repo, work_dir, out, "--max-wheel-size", "100K")
    assert result.code == 56, result.stderr[-3000:]
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, errors
    assert "over the 100.0 KiB limit; largest members: tensorflow.libs/libgomp" in errors[0], errors
    assert "libtensorflow_framework.so.2" in errors[0] and "--max-wheel-size" in result.stderr
    assert not out.exists() or not any(out.iterdir())
