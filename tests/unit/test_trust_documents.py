"""The SBOM and the provenance as pure functions, checked against the published schemas (CycloneDX 1.5
with cyclonedx-python-lib's validator; in-toto Statement v1 and SLSA provenance v1 with in-toto's bindings)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tfwheelbuild.artifacts import provenance, sbom

AUDITWHEEL_SBOM = {  # what auditwheel 6.8's create_sbom_for_wheel writes when dpkg owns a grafted library
    "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
    "metadata": {"component": {"type": "library", "bom-ref": "pkg:pypi/tensorflow@2.16.1?file_name=t.whl",
                               "name": "tensorflow", "version": "2.16.1",
                               "purl": "pkg:pypi/tensorflow@2.16.1?file_name=t.whl"},
                 "tools": [{"name": "auditwheel", "version": "6.8.2"}]},
    "components": [{"type": "library", "bom-ref": "pkg:pypi/tensorflow@2.16.1?file_name=t.whl", "name": "tensorflow",
                    "version": "2.16.1", "purl": "pkg:pypi/tensorflow@2.16.1?file_name=t.whl"},
                   {"type": "library", "bom-ref": "pkg:deb/debian/libgomp1@12.2.0-14?arch=arm64#abc",
                    "name": "libgomp1", "version": "12.2.0-14",
                    "purl": "pkg:deb/debian/libgomp1@12.2.0-14?arch=arm64"}],
    "dependencies": [{"ref": "pkg:pypi/tensorflow@2.16.1?file_name=t.whl",
                      "dependsOn": ["pkg:deb/debian/libgomp1@12.2.0-14?arch=arm64#abc"]},
                     {"ref": "pkg:deb/debian/libgomp1@12.2.0-14?arch=arm64#abc"}],
}

QUERY_BUILD = """\
# /tfwb/src/WORKSPACE:6:17
python_configure(
  name = "local_config_python",
)
# /tfwb/src/tensorflow/workspace2.bzl:120:20
tf_http_archive(
  name = "zlib",
  build_file = "//third_party:zlib.BUILD",
  sha256 = "9a93b2b7dfdac77ceba5a558a580e74667dd6fede4585b91eefb60f03b72df23",
  strip_prefix = "zlib-1.3.1",
  urls = ["https://example.invalid/mirror/zlib-1.3.1.tar.gz", "https://example.invalid/zlib-1.3.1.tar.gz"],
)
http_file(
  name = "single",
  url = "https://example.invalid/one.bin",
)
""".splitlines()


def validate_sbom(document: dict[str, Any]) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document))
    assert errors is None, errors


def test_query_output_gives_names_rules_urls_and_sha256() -> None:
    repos = sbom.parse_query_build(QUERY_BUILD)
    assert [r.name for r in repos] == ["local_config_python", "single", "zlib"]
    zlib = repos[2]
    assert zlib.rule == "tf_http_archive" and zlib.sha256.startswith("9a93b2b7")
    assert zlib.urls == ("https://example.invalid/mirror/zlib-1.3.1.tar.gz", "https://example.invalid/zlib-1.3.1.tar.gz")
    assert repos[1].urls == ("https://example.invalid/one.bin",) and repos[0].urls == ()


def test_repositories_in_deps_come_from_external_labels_only() -> None:
    lines = ["tensorflow/core", "@local_config_python//", "@zlib//contrib", "@@rules_cc~//cc",
             "Loading: 0 packages loaded", "INFO: Invocation ID: 1234"]
    assert sbom.repos_in_deps(lines) == {"local_config_python", "zlib", "rules_cc~"}


def test_dpkg_lines_become_packages() -> None:
    lines = ["adduser\t3.134\tall", "libc6\t2.36-9\tamd64", "libc6\t2.36-9\tarm64", "broken line", ""]
    assert [(p.name, p.arch) for p in sbom.parse_dpkg(lines)] == [("adduser", "all"), ("libc6", "amd64"),
                                                                  ("libc6", "arm64")]


def _bom(auditwheel: dict[str, Any] | None) -> dict[str, Any]:
    return sbom.compose(wheel_filename="t.whl", name="tensorflow", version="2.16.1", tool_version="0.1.0",
                        auditwheel=auditwheel, grafted=[("tensorflow.libs/libgomp-d1.so.1.0.0", "ab" * 32)],
                        repos=sbom.parse_query_build(QUERY_BUILD),
                        packages=sbom.parse_dpkg(["libc6\t2.36-9\tamd64", "libc6\t2.36-9\tarm64"]))


@pytest.mark.parametrize("auditwheel", [AUDITWHEEL_SBOM, None], ids=["with-auditwheel", "without"])
def test_the_sbom_keeps_auditwheels_components_adds_ours_and_validates(auditwheel: dict[str, Any] | None) -> None:
    bom = _bom(auditwheel)
    validate_sbom(bom)
    refs = [c["bom-ref"] for c in bom["components"]]
    assert len(refs) == len(set(refs))
    if auditwheel:
        assert refs[0] == "pkg:deb/debian/libgomp1@12.2.0-14?arch=arm64#abc"  # kept as auditwheel wrote it
        tools = bom["metadata"]["tools"]["components"]
        assert {"name": "auditwheel", "type": "application", "version": "6.8.2"} in tools
    assert "file:tensorflow.libs/libgomp-d1.so.1.0.0" in refs and "bazel:@zlib" in refs
    zlib = next(c for c in bom["components"] if c["bom-ref"] == "bazel:@zlib")
    assert zlib["hashes"] == [{"alg": "SHA-256", "content": sbom.parse_query_build(QUERY_BUILD)[2].sha256}]
    assert zlib["externalReferences"][0]["url"] == "https://example.invalid/mirror/zlib-1.3.1.tar.gz"
    builder = [c for c in bom["components"] if c.get("scope") == "excluded"]
    assert [c["purl"] for c in builder] == ["pkg:deb/debian/libc6@2.36-9?arch=amd64",
                                            "pkg:deb/debian/libc6@2.36-9?arch=arm64"]
    # What is in the wheel depends from it; the builder's packages do not.
    wheel_deps = bom["dependencies"][0]
    assert wheel_deps["ref"] == bom["metadata"]["component"]["bom-ref"]
    assert "bazel:@zlib" in wheel_deps["dependsOn"] and not any("libc6" in d for d in wheel_deps["dependsOn"])


def test_the_sbom_is_the_same_bytes_for_the_same_inputs() -> None:
    # It goes into the wheel: one build key, one wheel, byte for byte (no time, no serial number).
    assert sbom.to_bytes(_bom(AUDITWHEEL_SBOM)) == sbom.to_bytes(_bom(AUDITWHEEL_SBOM))
    assert "serialNumber" not in _bom(None) and "timestamp" not in _bom(None)["metadata"]


MANIFEST: dict[str, Any] = {
    "tool": {"name": "tfwheelbuild", "version": "0.1.0", "recipe_version": 7},
    "build_id": "20261204-190000-tf2.16.1-py3.11-abcd", "build_key": "k" * 64, "tensorflow": "2.16.1",
    "version": "2.16.1", "python": "3.11", "mode": "cross", "recipe": {"release": "2.16", "bazel": "6.5.0"},
    "source": {"url": "https://example.invalid/tensorflow.git", "ref": "v2.16.1", "commit": "c" * 40},
    "source_date_epoch": {"value": 1700000000, "from": "commit"},
    "configure": {"TF_NEED_CUDA": "0"}, "toolchain": {"compiler": "clang 17"},
    "patches": [{"name": "0001-a.patch", "sha256": "a" * 64}],
    "bazel": {"version": "6.5.0", "argv": ["bazel", "build", "//tensorflow/tools/pip_package:wheel"]},
    "images": {"base": "ubuntu:22.04", "base_id": "sha256:" + "1" * 64, "builder": "tfwheelbuild/builder-cross:x",
               "builder_id": "sha256:" + "2" * 64, "runtime": "tfwheelbuild/runtime:y", "runtime_id": ""},
    "repair": {"plat_requested": "auto", "excluded": []},
    "engine": {"version": "26.1.4", "arch": "x86_64", "emulated": True},
    "wheel": {"file": "tensorflow-2.16.1-cp311-cp311-manylinux_2_24_aarch64.whl", "sha256": "f" * 64,
              "name": "tensorflow", "build_tag": ""},
}


def validate_statement(document: dict[str, Any]) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    Statement.copy_from_pb(json_format.ParseDict(document, statement_pb2.Statement())).validate()
    predicate = json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())
    assert predicate.build_definition.build_type and predicate.run_details.builder.id
    for dep in predicate.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dep).validate()


def test_the_provenance_is_a_valid_statement_about_the_wheel() -> None:
    document = json.loads(provenance.to_bytes(provenance.statement(MANIFEST, started=1764874800.0,
                                                                   finished=1764874860.5)))
    validate_statement(document)
    assert document["subject"] == [{"name": MANIFEST["wheel"]["file"], "digest": {"sha256": "f" * 64}}]
    definition = document["predicate"]["buildDefinition"]
    assert definition["externalParameters"]["options"]["mode"] == "cross"
    assert definition["internalParameters"]["recipe"] == {"release": "2.16", "bazel": "6.5.0"}
    deps = {d["name"]: d for d in definition["resolvedDependencies"]}
    assert deps["source"] == {"name": "source", "uri": "git+https://example.invalid/tensorflow.git@v2.16.1",
                              "digest": {"gitCommit": "c" * 40}}
    assert deps["patch:0001-a.patch"]["digest"] == {"sha256": "a" * 64}
    assert deps["image:builder"]["digest"] == {"sha256": "2" * 64}
    assert "digest" not in deps["image:runtime"]  # an id not known is left out, not written empty
    assert deps["bazel"]["uri"] == "pkg:generic/bazel@6.5.0"
    meta = document["predicate"]["runDetails"]["metadata"]
    assert meta == {"invocationId": MANIFEST["build_id"], "startedOn": "2025-12-04T19:00:00Z",
                    "finishedOn": "2025-12-04T19:01:00Z"}


def test_a_deps_bundle_in_the_manifest_is_a_resolved_dependency_each() -> None:
    manifest = {**MANIFEST, "deps": {"entries": [{"name": "zlib-1.3.1.tar.gz", "url": "https://example.invalid/z",
                                                  "sha256": "9" * 64}]}}
    document = provenance.statement(manifest, started=0, finished=1)
    validate_statement(document)
    deps = {d["name"]: d for d in document["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert deps["deps:zlib-1.3.1.tar.gz"] == {"name": "deps:zlib-1.3.1.tar.gz", "uri": "https://example.invalid/z",
                                              "digest": {"sha256": "9" * 64}}


def test_a_statement_with_a_bad_field_is_refused_by_the_validator() -> None:
    # The check is a real one: a field SLSA v1 does not have fails it.
    from google.protobuf.json_format import ParseError

    document = provenance.statement(MANIFEST, started=0, finished=1)
    document["predicate"]["buildDefinition"]["buildConfig"] = {}  # SLSA v0.2's name
    with pytest.raises(ParseError):
        validate_statement(document)

