"""Option cascade and the nightly matrix: command line > environment > config file > defaults.

Pure logic, like cibuildwheel's options: the only I/O is reading the config file. Every option is
described once, in OPTIONS, so parsing, validation and README's reference table come from one place.
Values are checked where they enter, so an error names the key and the layer it came from.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from tfwheelbuild import validate
from tfwheelbuild.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

Kind = Literal["str", "path", "list", "bool", "int", "table"]
CLI = "command line"
DEFAULT = "default"
ENV_PREFIX = "TFWHEELBUILD_"
# The matrix itself and the nightly loop's policy are global: an entry cannot change them.
NOT_OVERRIDABLE = frozenset({"releases", "pythons", "retries"})


@dataclass(frozen=True)
class OptionDef:
    name: str
    kind: Kind
    default: Any
    help: str
    env: str = ""  # derived from name when empty
    minimum: int | None = None  # for "int"
    choices: tuple[str, ...] = ()  # for "str"
    paths: bool = False  # "list" items are paths, relative to the config file that sets them
    # For "str": the value as used, or ValueError with the reason (validate.py); in every layer alike, so
    # nothing reaches Docker unchecked whether it was typed, exported or written in the file.
    check: Callable[[str], Any] | None = None

    def __post_init__(self) -> None:
        if not self.env:
            object.__setattr__(self, "env", ENV_PREFIX + self.name.upper().replace("-", "_"))


OPTIONS: tuple[OptionDef, ...] = (
    OptionDef("releases", "list", (), "TensorFlow releases to build, e.g. [\"2.16.1\", \"2.17.0\"]."),
    OptionDef("pythons", "list", (), "Python versions of the wheels, e.g. [\"3.11\"]."),
    OptionDef("source", "str", "https://github.com/tensorflow/tensorflow.git",
              "Git URL, local path or file:// URL of the TensorFlow source.", check=validate.source),
    OptionDef("ref", "str", "", "Git ref to build instead of tag `v<tf>`."),
    OptionDef("output", "path", Path("dist"), "Directory the wheels are written to."),
    OptionDef("index", "str", "", "Where to publish: an upload URL, a repository named in `~/.pypirc`, or a "
              "directory; empty means the embedded local directory index."),
    OptionDef("index-url", "str", "", "Package index pip uses for test dependencies (empty: pip's default).",
              check=validate.url),
    OptionDef("base-image", "str", "", "arm64 base image (empty: ubuntu:22.04, falling back to debootstrap).",
              check=validate.image),
    OptionDef("builder-image", "str", "", "An arm64 build image in upstream's shape (its ml-build-arm64, or "
              "your copy), pinned by digest: the tool layers only its helpers on it and uses its clang and sysroot "
              "(empty: the tool's own builder).", check=validate.pinned_image),
    OptionDef("mirror", "str", "", "apt mirror for the debootstrap fallback (empty: the host's).",
              check=validate.url),
    OptionDef("work-dir", "path", None, "Logs and staging (unset: `~/.cache/tfwheelbuild`)."),
    OptionDef("patches", "list", (), "Extra patch series directories, applied after the tool's own.", paths=True),
    OptionDef("default-patches", "bool", True, "Apply the tool's own `patches/<minor>/series`."),
    OptionDef("configure", "table", (), "Answers for configure.py, KEY=VALUE, e.g. TF_NEED_CLANG=1."),
    OptionDef("bazel-args", "list", (), "Extra bazel build arguments."),
    OptionDef("jobs", "int", None, "Bazel --jobs (unset: from the engine's CPUs and RAM).", minimum=1),
    OptionDef("ram-mb", "int", None, "Bazel --local_ram_resources in MB (unset: 80% of the engine's RAM).",
              minimum=512),
    OptionDef("memory", "str", "", "Memory limit of the build container, e.g. `6g` or `3500m` (empty: none); "
              "`--jobs` and `--ram-mb` defaults then follow from it, and an out-of-memory kill is reported as such.",
              check=validate.memory_limit),
    OptionDef("plat", "str", "", "Demand this manylinux policy, e.g. manylinux2014_aarch64; `auto`: the best "
              "auditwheel finds (empty: the release's own policy where the builder's sysroot reaches it, else the "
              "sysroot's floor, manylinux_2_31_aarch64; `auto` for GCC releases and cross builds).",
              check=validate.plat),
    OptionDef("exclude", "list", (), "Libraries auditwheel must not graft into the wheel."),
    OptionDef("project-name", "str", "", "Distribution name, e.g. tensorflow-aarch64-internal."),
    OptionDef("build-tag", "str", "", "Wheel build tag, e.g. 1.",
              check=validate.build_tag),
    OptionDef("mode", "str", "auto", "How the aarch64 code is compiled: `cross` (natively in an amd64 builder with "
              "clang at upstream's paths and the /dt9, /dt10 sysroots, through the release's "
              "`cross_compile_linux_arm64` config; 2.16+), `emulated` (the arm64 builder under qemu) or `auto` "
              "(natively on an arm64 engine; cross on an x86_64 one where the release has a cross config; else "
              "emulated).",
              choices=("auto", "emulated", "cross")),
    OptionDef("test-command", "str", "", "Extra command run in the test venv."),
    OptionDef("retries", "int", 1, "How many times nightly retries an entry that failed with an "
              "infrastructure error.", minimum=0),
    OptionDef("publish", "bool", True, "Nightly publishes the wheels it built to the index."),
    OptionDef("remote-cache", "str", "", "Bazel remote cache: http(s):// (bazel-remote, nginx WebDAV, S3/GCS "
              "gateways) or grpc(s):// (REAPI: BuildGrid, bazel-remote, BuildBuddy). Credentials in the URL or "
              "the header file stay out of logs, manifests and process lists."),
    OptionDef("remote-cache-readonly", "bool", False, "Read the remote cache but never write to it "
              "(`--remote_upload_local_results=false`): for consumers, so only trusted builders write."),
    OptionDef("remote-cache-required", "bool", False, "Fail before building when the remote cache does not "
              "answer (default: warn once and build locally, Bazel's own fallback)."),
    OptionDef("remote-header-file", "path", None, "File of `Name: value` lines sent to the remote cache/executor "
              "(e.g. `Authorization: Bearer …`); never logged."),
    OptionDef("remote-executor", "str", "", "Bazel remote execution endpoint (grpc[s]://); its platform must "
              "match the builder's toolchain."),
    OptionDef("remote-instance-name", "str", "", "REAPI instance name for the remote cache/executor."),
    OptionDef("docker-host", "str", "", "Docker engine to build on, e.g. ssh://builder@arm64-box or "
              "tcp://10.0.0.5:2376 (empty: DOCKER_HOST or the local socket). An arm64 engine builds natively.",
              check=validate.docker_host),
    OptionDef("cache-namespace", "str", "", "Name prefix for this build's cache volumes, to keep sets of "
              "caches apart (empty: the shared ones).",
              check=validate.cache_namespace),
    OptionDef("allow-4k-pages", "bool", False, "Accept a wheel whose ELF files load only on 4 KiB-page kernels "
              "(default: refused at repair, naming the file, since 64 KiB-page aarch64 kernels cannot map them)."),
    OptionDef("max-wheel-size", "str", "240M", "Refuse a repaired wheel over this size (K, M, G: powers of 1024; "
              "`0`: no limit); the default is upstream's arm64 CI limit.", check=validate.wheel_size),
    OptionDef("bazel-mirror", "str", "", "Internal mirror for Bazel's external downloads (an Artifactory/Nexus "
              "generic remote or a static server laid out as MIRROR/<host>/<path>); credentials from ~/.netrc only."),
    OptionDef("deps", "path", None, "Deps bundle from `tfwheelbuild fetch`: Bazel's external archives, used as "
              "the repository cache while the compile runs with the network off."),
    OptionDef("image", "str", "", "Nightly: after an entry passed, build an arm64 image of its wheel as "
              "`<image>:<tf>-py<py>`, e.g. registry.internal/ml/tensorflow (empty: no images). "
              "See `tfwheelbuild image`.", check=validate.image),
    OptionDef("image-push", "bool", False, "Nightly: push those images (credentials from the engine's own "
              "~/.docker/config.json; the registry is checked before the entry builds)."),
)
BY_NAME: Mapping[str, OptionDef] = MappingProxyType({o.name: o for o in OPTIONS})
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def normalize_key(key: str) -> str:
    return key.replace("_", "-")


def _error(where: str, message: str) -> ConfigError | UsageError:
    # A bad flag is a usage mistake (exit 2); a bad file or variable is configuration (exit 21).
    if where.startswith("environment "):  # the file's remedy would send the user to the wrong place
        return ConfigError(message, remedy=f"fix or unset {where.removeprefix('environment ')}")
    return UsageError(message) if where == CLI else ConfigError(message)


def _items(raw: str, separators: str = r"[,\s]+") -> list[str]:
    return [item.strip() for item in re.split(separators, raw) if item.strip()]


def convert(opt: OptionDef, raw: Any, where: str, base: Path | None = None) -> Any:
    """`raw` (a TOML value, a string from the environment, or a click value) as the option's type.

    `base` is the config file's directory: relative paths written in a file mean relative to it.
    """

    def bad(expected: str) -> ConfigError | UsageError:
        return _error(where, f"invalid value for '{opt.name}' from {where}: expected {expected}, got {raw!r}")

    def as_path(value: Any) -> Path:
        if not isinstance(value, str | Path) or not str(value):
            raise bad("a path")
        path = Path(value)
        return base / path if base is not None and not path.is_absolute() else path

    if opt.kind == "str":
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise bad("a string")
        if opt.choices and str(raw) not in opt.choices:
            raise bad("one of " + ", ".join(opt.choices))
        if opt.check is None:
            return str(raw)
        try:
            return opt.check(str(raw))
        except ValueError as exc:
            raise _invalid(opt.name, str(raw), where, str(exc)) from None
    if opt.kind == "path":
        return as_path(raw)
    if opt.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, str | int) else ""
        if text not in _TRUE + _FALSE:
            raise bad("a boolean (1/0, true/false, yes/no)")
        return text in _TRUE
    if opt.kind == "int":
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int):
                raise ValueError
            number = int(raw)
        except ValueError:
            raise bad("an integer") from None
        if opt.minimum is not None and number < opt.minimum:
            raise bad(f"an integer ≥ {opt.minimum}")
        return number
    if opt.kind == "list":
        items = _items(raw) if isinstance(raw, str) else raw
        # A TOML float (pythons = [3.10]) would silently become 3.1: only strings are accepted.
        if not isinstance(items, list | tuple) or not all(isinstance(i, str | Path) for i in items):
            raise bad("a list of strings (quote versions: \"3.10\")")
        return tuple(as_path(i) for i in items) if opt.paths else tuple(str(i) for i in items)
    # "table": a TOML table, "K=V,K=V", or a sequence of "K=V" strings / (K, V) pairs. Only commas
    # separate, so a value may hold spaces: CC_OPT_FLAGS=-march=armv8-a -O3.
    entries = list(raw.items()) if isinstance(raw, Mapping) else _items(raw, ",") if isinstance(raw, str) else raw
    if not isinstance(entries, list | tuple):
        raise bad("a table of KEY=VALUE")
    pairs: list[tuple[str, str]] = []
    for entry in entries:
        shown = entry if isinstance(entry, str) else "=".join(map(str, entry)) if isinstance(entry, tuple | list) \
            else str(entry)
        if isinstance(entry, str):
            key, sep, value = entry.partition("=")
            entry = (key.strip(), value) if sep else ("", "")
        # Name the one entry that is wrong, not the whole collection (a tuple repr from click's multiple=True).
        if not isinstance(entry, tuple | list) or len(entry) != 2 or not entry[0]:
            raise _invalid(opt.name, shown, where, "not KEY=VALUE, e.g. TF_NEED_CLANG=1")
        key, value = entry
        if isinstance(value, bool):
            value = "1" if value else "0"  # configure.py answers TF_NEED_X with 1/0
        elif not isinstance(value, str | int):
            raise _invalid(opt.name, shown, where, "not KEY=VALUE with a string, number or boolean value")
        try:
            validate.configure_key(str(key))
        except ValueError as exc:
            raise _invalid(opt.name, shown, where, str(exc)) from None
        pairs.append((str(key), str(value)))
    return tuple(pairs)


def _invalid(name: str, value: str, where: str, reason: str) -> ConfigError | UsageError:
    """One wording for a value a check refused: the flag as typed, or the key and the layer it came from."""
    if where == CLI:
        return _error(where, f"--{name} {value!r}: {reason}")
    return _error(where, f"invalid value for '{name}' from {where}: {value!r}: {reason}")


# ------------------------------------------------------------------------------------- config file


@dataclass(frozen=True)
class Override:
    """One [[overrides]] table: option values for the matrix entries `select` matches."""

    select: tuple[str, ...]
    settings: Mapping[str, Any]
    where: str  # e.g. "tfwheelbuild.toml [[overrides]] #2 (select '2.17.*')"

    def matches(self, tf_version: str, python: str) -> bool:
        ident = identifier(tf_version, python)
        return any(fnmatch.fnmatchcase(ident if "-py" in pattern else tf_version, pattern)
                   for pattern in self.select)


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    settings: Mapping[str, Any]  # already converted to each option's type
    overrides: tuple[Override, ...] = ()


def identifier(tf_version: str, python: str) -> str:
    return f"{tf_version}-py{python}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def find_config(cwd: Path, explicit: Path | None) -> Path | None:
    if explicit is not None:
        path = cwd / explicit
        if not path.is_file():
            what = ("is a directory, not a file" if path.is_dir() else "is not a regular file" if path.exists()
                    else "does not exist")
            raise ConfigError(f"config file {explicit} {what}",
                              remedy="give --config the path of a .toml file, or drop it to use ./tfwheelbuild.toml")
        return path
    if (cwd / "tfwheelbuild.toml").is_file():
        return cwd / "tfwheelbuild.toml"
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool")
        if isinstance(tool, dict) and "tfwheelbuild" in tool:
            return pyproject
    return None


def _check_keys(table: Mapping[str, Any], where: str, allowed: set[str], hints: set[str]) -> dict[str, Any]:
    """`table` with dashed keys; an unknown key fails with the closest of `hints`."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = normalize_key(key)
        if name not in allowed:
            if name in BY_NAME:
                raise ConfigError(f"'{key}' cannot be set in {where}: it applies to the whole matrix")
            close = difflib.get_close_matches(name, sorted(hints), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown key '{key}' in {where}{hint}")
        if name in out:
            raise ConfigError(f"'{name}' is set twice in {where} (as '-' and '_' spellings)")
        out[name] = value
    return out


def _section(doc: dict[str, Any], path: Path) -> tuple[dict[str, Any], str]:
    tool = doc.pop("tool", {})
    ours = tool.get("tfwheelbuild") if isinstance(tool, dict) else None
    if path.name == "pyproject.toml":
        if not isinstance(ours, dict):
            raise ConfigError(f"{path} has no [tool.tfwheelbuild] table")
        return ours, f"{path} [tool.tfwheelbuild]"
    # tfwheelbuild.toml: settings at the top, or (for files copied from a pyproject) in [tool.tfwheelbuild].
    if not isinstance(tool, dict) or set(tool) - {"tfwheelbuild"} or not isinstance(ours, dict | None):
        raise ConfigError(f"unknown key 'tool' in {path}; only a [tool.tfwheelbuild] table is allowed there")
    ours = dict(ours or {})
    overrides = [*_override_list(doc.pop("overrides", []), path), *_override_list(ours.pop("overrides", []), path)]
    clash = sorted(set(map(normalize_key, doc)) & set(map(normalize_key, ours)))
    if clash:
        raise ConfigError(f"'{clash[0]}' is set both at the top of {path} and in its [tool.tfwheelbuild]")
    return {**doc, **ours, **({"overrides": overrides} if overrides else {})}, str(path)


def _override_list(value: Any, where: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(o, dict) for o in value):
        raise ConfigError(f"'overrides' in {where} must be an array of tables: [[overrides]]")
    return value


def load_config(path: Path) -> ConfigFile:
    table, where = _section(_read_toml(path), path)
    raw_overrides = _override_list(table.pop("overrides", []), where)
    base = path.parent
    names = set(BY_NAME)
    settings = {name: convert(BY_NAME[name], value, str(path), base)
                for name, value in _check_keys(table, where, names, names | {"overrides"}).items()}
    overrides = []
    for number, raw in enumerate(raw_overrides, 1):
        select = raw.pop("select", None)
        label = f"{where} [[overrides]] #{number}"
        if not isinstance(select, str) or not select.split():
            raise ConfigError(f"{label} needs select = \"PATTERN ...\", e.g. select = \"2.17.*\"")
        label += f" (select '{select}')"
        values = {name: convert(BY_NAME[name], value, label, base)
                  for name, value in _check_keys(raw, label, names - NOT_OVERRIDABLE, names).items()}
        overrides.append(Override(select=tuple(select.split()), settings=MappingProxyType(values), where=label))
    return ConfigFile(path=path, settings=MappingProxyType(settings), overrides=tuple(overrides))


# ------------------------------------------------------------------------------------------ cascade


@dataclass(frozen=True)
class Settings:
    """Every option's value and the layer it came from."""

    values: Mapping[str, Any]
    origins: Mapping[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.values[normalize_key(key)]

    def origin(self, key: str) -> str:
        return self.origins[normalize_key(key)]

    def describe(self) -> list[str]:
        """`key = value  (origin)` lines, for showing where each setting came from."""
        return [f"{name} = {json.dumps(_jsonable(name, value))}  ({self.origins[name]})"
                for name, value in self.values.items()]


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, tuple | list | dict) and not value)


def resolve(cli: Mapping[str, Any], env: Mapping[str, str], config: ConfigFile | None) -> Settings:
    """Command line > environment (TFWHEELBUILD_*) > config file > defaults, per key."""
    cli = {normalize_key(k): v for k, v in cli.items()}
    unknown = set(cli) - set(BY_NAME)
    if unknown:
        raise ValueError(f"not options: {', '.join(sorted(unknown))}")  # a wiring bug, not a user error
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for opt in OPTIONS:
        # An empty variable counts as unset: CI templates expand missing inputs to "".
        if _given(cli.get(opt.name)):
            origin, value = CLI, convert(opt, cli[opt.name], CLI)
        elif env.get(opt.env, "").strip():
            origin = f"environment {opt.env}"
            value = convert(opt, env[opt.env].strip(), origin)
        elif config is not None and opt.name in config.settings:
            origin, value = str(config.path), config.settings[opt.name]
        else:
            origin, value = DEFAULT, opt.default
        values[opt.name], origins[opt.name] = value, origin
    return Settings(values=MappingProxyType(values), origins=MappingProxyType(origins))


# ------------------------------------------------------------------------------------------- matrix


@dataclass(frozen=True)
class MatrixEntry:
    tf_version: str
    python: str
    identifier: str
    settings: Settings  # after this entry's overrides
    overridden: tuple[str, ...] = ()  # keys whose value an override changed for this entry


def resolve_matrix(settings: Settings, config: ConfigFile | None) -> tuple[MatrixEntry, ...]:
    """releases × pythons in declared order, duplicates dropped, overrides applied (later wins).

    Overrides belong to the file layer: a key given on the command line or in the environment
    keeps that value for every entry, as in cibuildwheel.
    """
    for key, flag in (("releases", "--tf"), ("pythons", "--py")):
        if not settings[key]:
            env = BY_NAME[key].env
            raise ConfigError(f"no {key} to build: the matrix is empty",
                              remedy=f"set {key} = [...] in tfwheelbuild.toml, {env}, or pass {flag}")
    releases = [_checked(validate.release, "releases", tf, settings.origin("releases"), "--tf")
                for tf in settings["releases"]]
    pythons = [_checked(validate.python, "pythons", py, settings.origin("pythons"), "--py")
               for py in settings["pythons"]]
    entries: dict[str, MatrixEntry] = {}
    for tf in releases:
        for py in pythons:
            ident = identifier(tf, py)  # a repeat overwrites its first entry in place: same result
            values, origins = dict(settings.values), dict(settings.origins)
            for override in config.overrides if config is not None else ():
                if not override.matches(tf, py):
                    continue
                for key, value in override.settings.items():
                    if _file_layer(settings.origin(key)):
                        values[key], origins[key] = value, override.where
            changed = tuple(k for k in BY_NAME if values[k] != settings.values[k])
            entries[ident] = MatrixEntry(tf_version=tf, python=py, identifier=ident, overridden=changed,
                                         settings=Settings(MappingProxyType(values), MappingProxyType(origins)))
    return tuple(entries.values())


def _checked(check: Callable[[str], str], key: str, value: str, origin: str, flag: str) -> str:
    """One release or Python of the matrix, normalised (' v2.16.1' -> 2.16.1), or the error of its layer."""
    try:
        return check(value)
    except ValueError as exc:
        if origin == CLI:
            raise UsageError(f"{flag} {value!r}: {exc}", remedy="run `tfwheelbuild versions` for the releases and "
                             "Pythons with recipes") from None
        raise _invalid(key, value, origin, str(exc)) from None


def _file_layer(origin: str) -> bool:
    return origin != CLI and not origin.startswith("environment ")


def _jsonable(name: str, value: Any) -> Any:
    if BY_NAME[name].kind == "table":
        return dict(value)
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def format_matrix_table(entries: tuple[MatrixEntry, ...]) -> str:
    rows = [("ID", "TF", "PYTHON", "OVERRIDES")]
    for e in entries:
        changed = ", ".join(f"{k}={json.dumps(_jsonable(k, e.settings[k]))}" for k in e.overridden)
        rows.append((e.identifier, e.tf_version, e.python, changed or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
                   for row in rows)


def format_github_matrix(entries: tuple[MatrixEntry, ...]) -> str:
    """`{"include": [...]}` for `strategy.matrix: ${{ fromJSON(...) }}`; only overridden keys are added."""
    include = [{"id": e.identifier, "tf": e.tf_version, "py": e.python,
                **{k: _jsonable(k, e.settings[k]) for k in e.overridden}} for e in entries]
    return json.dumps({"include": include}, separators=(",", ":"))


# ---------------------------------------------------------------------------------------- reference


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
    return "unset" if opt.default is None else f"`{json.dumps(_jsonable(opt.name, opt.default))}`"


def reference_markdown() -> str:
    """README's configuration reference, generated so it cannot drift from OPTIONS."""
    lines = ["| Key | Environment variable | Type | Default | Description |", "|---|---|---|---|---|"]
    for opt in OPTIONS:
        note = " Not allowed in `[[overrides]]`." if opt.name in NOT_OVERRIDABLE else ""
        text = (opt.help + note).replace("|", "\\|")
        lines.append(f"| `{opt.name}` | `{opt.env}` | {_type_text(opt)} | {_default_text(opt)} | {text} |")
    return "\n".join(lines) + "\n"
