"""What the option declaration documents: README's reference table and the config file's JSON schema."""

from __future__ import annotations

import json
from typing import Any

from tfwheelbuild.core.options import NOT_OVERRIDABLE, OPTIONS, OptionDef, jsonable


def _type_text(opt: OptionDef) -> str:
    if opt.choices:
        return "one of " + ", ".join(f"`{c}`" for c in opt.choices)
    if opt.kind == "int":
        return f"integer ≥ {opt.minimum}" if opt.minimum is not None else "integer"
    if opt.paths:
        return "list of paths"
    return {"str": "string", "path": "path", "list": "list of strings", "bool": "bool",
            "table": "table KEY=VALUE"}[opt.kind]


def _default_text(opt: OptionDef) -> str:
    return "unset" if opt.default is None else f"`{json.dumps(jsonable(opt.name, opt.default))}`"


def reference_markdown() -> str:
    """README's configuration reference, generated so it cannot drift from OPTIONS."""
    lines = ["| Key | Environment variable | Type | Default | Description |", "|---|---|---|---|---|"]
    for opt in OPTIONS:
        note = " Not allowed in `[[overrides]]`." if opt.name in NOT_OVERRIDABLE else ""
        text = (opt.help + note).replace("|", "\\|")
        lines.append(f"| `{opt.name}` | `{opt.env}` | {_type_text(opt)} | {_default_text(opt)} | {text} |")
    return "\n".join(lines) + "\n"


def _value_schema(opt: OptionDef) -> dict[str, Any]:
    """What a config file may write for `opt`: the shapes convert() accepts from a file."""
    strings = {"type": "array", "items": {"type": "string"}}
    schema: dict[str, Any]
    if opt.kind == "str":
        schema = {"type": "string", "enum": list(opt.choices)} if opt.choices else {"type": ["string", "integer"]}
    elif opt.kind == "path":
        schema = {"type": "string", "minLength": 1}
    elif opt.kind == "bool":
        schema = {"type": "boolean"}
    elif opt.kind == "int":
        schema = {"type": "integer", **({"minimum": opt.minimum} if opt.minimum is not None else {})}
    elif opt.kind == "list":
        schema = {"anyOf": [strings, {"type": "string"}]}  # a string is split at commas and spaces
    else:
        table = {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}}
        schema = {"anyOf": [table, strings, {"type": "string"}]}  # or KEY=VALUE strings
    schema["description"] = opt.help
    if opt.default is not None:
        schema["default"] = jsonable(opt.name, opt.default)
    return schema


def _properties(names: list[OptionDef]) -> dict[str, Any]:
    # Keys may be written with '_' as well as '-' (config.normalize_key).
    spellings = {spelling: _value_schema(opt) for opt in names
                 for spelling in dict.fromkeys((opt.name, opt.name.replace("-", "_")))}
    return dict(sorted(spellings.items()))


def json_schema() -> dict[str, Any]:
    """The config file (tfwheelbuild.toml, or pyproject's [tool.tfwheelbuild]) as a JSON schema, for editors."""
    override = {"type": "object", "required": ["select"], "additionalProperties": False,
                "properties": {"select": {"type": "string", "pattern": "\\S",
                                          "description": "Space-separated patterns: a release (2.17.*) or an "
                                          "identifier (2.17.*-py3.12)."},
                               **_properties([o for o in OPTIONS if o.name not in NOT_OVERRIDABLE])}}
    settings = {**_properties(list(OPTIONS)),
                "overrides": {"type": "array", "items": {"$ref": "#/$defs/override"},
                              "description": "Option values for the matrix entries `select` matches; later wins."}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "tfwheelbuild.schema.json",
        "title": "tfwheelbuild configuration",
        "description": "tfwheelbuild.toml, or the [tool.tfwheelbuild] table of pyproject.toml.",
        "type": "object",
        "additionalProperties": False,
        "properties": {**settings, "tool": {"type": "object", "additionalProperties": False, "properties": {
            "tfwheelbuild": {"$ref": "#/$defs/settings"}}}},
        "$defs": {"settings": {"type": "object", "additionalProperties": False, "properties": settings},
                  "override": override},
    }


def schema_json() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
