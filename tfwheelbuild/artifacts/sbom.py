"""A CycloneDX 1.5 SBOM of the wheel, written into its `.dist-info/sboms/` beside auditwheel's own.

auditwheel (6.x) writes `auditwheel.cdx.json` only for grafted libraries a system package manager
owns; TensorFlow's libraries come from a sysroot (/dt10) that none owns, so for our builds it often
writes nothing. Ours keeps every component auditwheel named and adds:

* each grafted library as the wheel carries it (file name and sha256),
* the Bazel external repositories the build target depends on (name, repository rule, URLs and
  sha256 where the rule has them): their code is compiled into the wheel,
* the builder image's Debian packages, with scope "excluded": they built the wheel, they are not in it.

The document goes into the wheel, so it holds nothing that varies between two builds of one build key
(no time, no serial number, no build id): those are in the provenance beside the wheel.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tfwheelbuild.util.digests import sha256_stream

SBOM_FILE = "sboms/tfwheelbuild.cdx.json"  # under <name>-<version>.dist-info/
AUDITWHEEL_SBOM = "sboms/auditwheel.cdx.json"
SPEC_VERSION = "1.5"
ROLE = "tfwheelbuild:role"


@dataclass(frozen=True, kw_only=True)
class BazelRepo:
    name: str
    rule: str
    urls: tuple[str, ...] = ()
    sha256: str = ""


@dataclass(frozen=True, kw_only=True)
class DebPackage:
    name: str
    version: str
    arch: str


def parse_dpkg(lines: list[str]) -> list[DebPackage]:
    """`dpkg-query -W -f '${Package}\\t${Version}\\t${Architecture}\\n'` output."""
    found = []
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3 and all(parts):
            found.append(DebPackage(name=parts[0], version=parts[1], arch=parts[2]))
    return sorted(set(found), key=lambda p: (p.name, p.arch, p.version))


_REPO_LABEL = re.compile(r"^@{1,2}([A-Za-z0-9_.~+-]+)//")


def repos_in_deps(lines: list[str]) -> set[str]:
    """Repository names in `bazel query 'deps(T)' --output=package` lines (`@zlib//`, `@@rules_cc~//cc`)."""
    return {m.group(1) for line in lines if (m := _REPO_LABEL.match(line.strip()))}


_RULE_START = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\($")
_STRING_ATTR = re.compile(r'^\s+(name|sha256|url) = "([^"]*)",?$')
_LIST_ATTR = re.compile(r"^\s+urls = \[(.*)\],?$")


def parse_query_build(lines: list[str]) -> list[BazelRepo]:
    """Repository rules as `bazel query //external:... --output=build` prints them."""
    repos: list[BazelRepo] = []
    rule = ""
    attrs: dict[str, str] = {}
    urls: list[str] = []
    for line in lines:
        start = _RULE_START.match(line.rstrip())
        if start:
            rule, attrs, urls = start.group(1), {}, []
            continue
        if not rule:
            continue
        if line.rstrip() == ")":
            if attrs.get("name"):
                all_urls = ([attrs["url"]] if attrs.get("url") else []) + urls
                repos.append(BazelRepo(name=attrs["name"], rule=rule, urls=tuple(all_urls),
                                       sha256=attrs.get("sha256", "")))
            rule = ""
            continue
        string = _STRING_ATTR.match(line.rstrip())
        if string:
            attrs[string.group(1)] = string.group(2)
        listed = _LIST_ATTR.match(line.rstrip())
        if listed:
            urls = re.findall(r'"([^"]+)"', listed.group(1))
    return sorted(repos, key=lambda r: r.name)


def grafted_libraries(wheel: Path) -> list[tuple[str, str]]:
    """(member, sha256) of every library auditwheel grafted into `<pkg>.libs/`."""
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for entry in archive.infolist():
            top, _, rest = entry.filename.partition("/")
            if top.endswith(".libs") and rest and not entry.is_dir():
                with archive.open(entry) as member:
                    found.append((entry.filename, sha256_stream(member).hexdigest()))
    return sorted(found)


def wheel_purl(name: str, version: str, filename: str) -> str:
    # As auditwheel writes it, so its components' dependency on the wheel still resolves.
    return f"pkg:pypi/{quote(name, safe='')}@{quote(version, safe='')}?file_name={quote(filename, safe='')}"


def compose(*, wheel_filename: str, name: str, version: str, tool_version: str, auditwheel: dict[str, Any] | None,
            grafted: list[tuple[str, str]], repos: list[BazelRepo], packages: list[DebPackage],
            distro: str = "debian", repos_note: str = "") -> dict[str, Any]:
    """The SBOM: auditwheel's components kept as they are, ours added; every bom-ref unique."""
    purl = wheel_purl(name, version, wheel_filename)
    wheel = {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl}
    components: list[dict[str, Any]] = []
    refs: set[str] = {purl}
    direct: list[str] = []

    def add(component: dict[str, Any], *, in_wheel: bool) -> None:
        if component["bom-ref"] in refs:
            return
        refs.add(component["bom-ref"])
        components.append(component)
        if in_wheel:
            direct.append(component["bom-ref"])

    for component in (auditwheel or {}).get("components", []):
        if component.get("bom-ref") != purl and component.get("name") != name:
            add({**component, "properties": [*component.get("properties", []),
                                             {"name": ROLE, "value": "grafted (auditwheel)"}]}, in_wheel=True)
    for member, sha256 in grafted:
        add({"type": "library", "bom-ref": f"file:{member}", "name": member.rsplit("/", 1)[-1],
             "hashes": [{"alg": "SHA-256", "content": sha256}],
             "properties": [{"name": ROLE, "value": "grafted"}, {"name": "tfwheelbuild:path", "value": member}]},
            in_wheel=True)
    for repo in repos:
        entry: dict[str, Any] = {
            "type": "library", "bom-ref": f"bazel:@{repo.name}", "name": repo.name, "scope": "required",
            "properties": [{"name": ROLE, "value": "bazel external repository"},
                           {"name": "tfwheelbuild:bazel:rule", "value": repo.rule}]}
        if repo.urls:
            entry["externalReferences"] = [{"type": "distribution", "url": u} for u in repo.urls]
        if repo.sha256:
            entry["hashes"] = [{"alg": "SHA-256", "content": repo.sha256}]
        add(entry, in_wheel=True)
    for package in packages:
        ref = f"pkg:deb/{distro}/{quote(package.name, safe='')}@{quote(package.version, safe='')}?arch={package.arch}"
        add({"type": "library", "bom-ref": ref, "name": package.name, "version": package.version, "purl": ref,
             "scope": "excluded", "properties": [{"name": ROLE, "value": "builder image package"}]}, in_wheel=False)
    tools = [{"type": "application", "name": "tfwheelbuild", "version": tool_version}]
    for tool in ((auditwheel or {}).get("metadata", {}).get("tools") or []):
        if isinstance(tool, dict) and tool.get("name"):
            tools.append({"type": "application", "name": str(tool["name"]), "version": str(tool.get("version", ""))})
    metadata: dict[str, Any] = {"component": wheel, "tools": {"components": tools}}
    if repos_note:
        metadata["properties"] = [{"name": "tfwheelbuild:bazel:repositories", "value": repos_note}]
    return {
        "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION, "version": 1, "metadata": metadata,
        "components": components,
        "dependencies": [{"ref": purl, "dependsOn": direct}, *({"ref": r} for r in direct)],
    }


def to_bytes(sbom: dict[str, Any]) -> bytes:
    return (json.dumps(sbom, indent=2, sort_keys=True) + "\n").encode()
