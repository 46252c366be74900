"""Per-release build recipes: what each TensorFlow minor release needs to build an aarch64 wheel.

The facts live in the packaged `recipes.toml` (one table per minor release, data only); this module
loads and validates them, resolves a TensorFlow version such as "2.16.1" to its minor's recipe,
merges a user's override file over it, and renders the `tfwheelbuild versions` table.

Override files hold tables named after minor releases (quoted: ["2.16"]) or "default" (applied to
every release first), each with any subset of RECIPE_KEYS. Lists and scalars replace the packaged
value; the two tables (repo_env, configure_env) are merged key by key. A table for a release the
package does not know adds it, provided it (with "default") gives every required key.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from tfwheelbuild.errors import UnknownReleaseError, UnsupportedPythonError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "OPTIONAL_KEYS",
    "RECIPE_KEYS",
    "REQUIRED_KEYS",
    "TARGETS",
    "Recipe",
    "check_python",
    "format_versions_table",
    "load_recipes",
    "merge_overrides",
    "recipe_for",
    "recipe_from_values",
    "release_of",
    "release_sort_key",
    "versions_rows",
]

TARGETS = ("build_pip_package", "wheel")
PROVENANCE_FIELDS = ("inferred", "checkout_differs", "inferred_from", "bzlmod")
PIP_PACKAGE = "//tensorflow/tools/pip_package"

# Key -> kind. Kinds: "str", "bool", "list" (of strings), "table" (string -> string).
_KINDS: dict[str, str] = {
    "bazel": "str",
    "pythons": "list",
    "target": "str",
    "python_env": "str",
    "repo_env": "table",
    "wheel_type_env": "bool",
    "configure_env": "table",
    "bazel_configs": "list",
    "copts": "list",
    "build_pip": "list",
    "manylinux": "str",
    "wheel_name": "str",
    "cross_config": "str",
    # How upstream builds the official aarch64 wheel (tf-releases.md §1, §3, §8): compiler family and
    # exact version, linker, the aarch64 sysroot its toolchain names, and its own release config.
    "compiler": "str",
    "compiler_version": "str",
    "linker": "str",
    "sysroot": "str",
    "release_config": "str",
    # The clang major the release's cross toolchain (tensorflow/tools/toolchains/cross_compile/cc/BUILD)
    # names, where it differs from the compiler's: upstream's 2.19-2.21 file names llvm-17 while its
    # release config builds with llvm-18.
    "cross_clang": "str",
    "uncertain": "list",
}
RECIPE_KEYS: tuple[str, ...] = tuple(_KINDS)
# Keys a release may leave out, with the value that means "not applicable".
_DEFAULTS: dict[str, object] = {
    "python_env": "",
    "repo_env": {},
    "wheel_type_env": False,
    "cross_config": "",
    "release_config": "",
    "cross_clang": "",
    # A release added by an override file without these is built like the newest packaged ones.
    "compiler": "clang",
    "compiler_version": "18.1.8",
    "linker": "lld",
    "sysroot": "/dt10",
    "uncertain": [],
    "wheel_name": "tensorflow",
}
OPTIONAL_KEYS: tuple[str, ...] = tuple(k for k in RECIPE_KEYS if k in _DEFAULTS)
REQUIRED_KEYS: tuple[str, ...] = tuple(k for k in RECIPE_KEYS if k not in _DEFAULTS)

COMPILERS = ("gcc", "clang")
LINKERS = ("ld", "lld")
_COMPILER_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){0,2}$")
_PY_RE = re.compile(r"^[0-9]+\.[0-9]+$")
_RELEASE_RE = re.compile(r"^[0-9]+\.[0-9]+$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WHEEL_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """One minor release's build recipe. Hashable and immutable: it goes into build keys."""

    release: str  # "2.16"
    bazel: str
    pythons: tuple[str, ...]
    target: str  # "build_pip_package" or "wheel"
    python_env: str  # "" = configure's host Python (PYTHON_BIN_PATH); else the --repo_env name
    repo_env: tuple[tuple[str, str], ...]  # sorted (name, value) pairs
    wheel_type_env: bool
    configure_env: tuple[tuple[str, str], ...]  # sorted (name, value) pairs
    bazel_configs: tuple[str, ...]
    copts: tuple[str, ...]
    build_pip: tuple[str, ...]
    manylinux: str
    wheel_name: str
    cross_config: str  # "" = no cross-compile config known for this release
    compiler: str  # upstream's compiler family for the official wheel: "gcc" or "clang"
    compiler_version: str  # its version, e.g. "17.0.6" (the major picks /usr/lib/llvm-N)
    linker: str  # "ld" (GNU, through GCC) or "lld"
    sysroot: str  # the aarch64 sysroot upstream's toolchain names, e.g. "/dt10"
    release_config: str  # upstream's own release config (e.g. release_arm64_linux); "" = none known
    cross_clang: str  # the clang major the cross toolchain names; "" = the compiler's own
    uncertain: tuple[str, ...]  # keys whose values are inferred, not checked
    recipe_version: int
    # Provenance when the recipe was inferred from a checkout (infer.py); not recipe keys, and not in
    # to_dict (so not in the build key): the values themselves are.
    inferred: tuple[tuple[str, str], ...] = ()  # (recipe key, where in the checkout it was read)
    checkout_differs: tuple[str, ...] = ()  # where the written recipe and the checkout disagreed
    inferred_from: str = ""  # the written recipe that stood in for facts the checkout does not state
    bzlmod: bool = False  # the checkout has a MODULE.bazel

    @property
    def hermetic_python(self) -> bool:
        """True when Bazel fetches its own interpreter (selected by `python_env`)."""
        return bool(self.python_env)

    @property
    def compiler_major(self) -> str:
        return self.compiler_version.split(".")[0]

    @property
    def clang_majors(self) -> tuple[str, ...]:
        """Every clang major a build's own files name, the compiler's first; () for GCC releases."""
        if self.compiler != "clang":
            return ()
        cross = self.cross_clang if self.cross_config else ""
        return (self.compiler_major,) + ((cross,) if cross and cross != self.compiler_major else ())

    @property
    def clang_path(self) -> str:
        """Where upstream's files expect clang (configure's default, the toolchains, .bazelrc): "" for GCC."""
        return f"/usr/lib/llvm-{self.compiler_major}/bin/clang" if self.compiler == "clang" else ""

    @property
    def bazel_target(self) -> str:
        """The Bazel label that builds the wheel (or the packaging script, for build_pip_package)."""
        return f"{PIP_PACKAGE}:{self.target}"

    def configure_env_dict(self) -> dict[str, str]:
        return dict(self.configure_env)

    def repo_env_dict(self) -> dict[str, str]:
        return dict(self.repo_env)

    def supports_python(self, py: str) -> bool:
        return py in self.pythons

    def is_uncertain(self, key: str) -> bool:
        return key in self.uncertain

    def python_repo_env(self, py: str) -> tuple[tuple[str, str], ...]:
        """The --repo_env pairs that select Python `py` for a hermetic-Python build.

        With HERMETIC_PYTHON_VERSION, TF_PYTHON_VERSION (the legacy alias python_repo.bzl still
        reads) is passed as well: which release introduced the new name is not certain.
        """
        if not self.python_env:
            return ()
        pairs = [(self.python_env, py)]
        if self.python_env == "HERMETIC_PYTHON_VERSION":
            pairs.append(("TF_PYTHON_VERSION", py))
        return tuple(pairs)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (tables as objects, tuples as lists)."""
        out: dict[str, object] = {}
        for f in fields(self):
            if f.name in PROVENANCE_FIELDS:
                continue
            value = getattr(self, f.name)
            if f.name in ("repo_env", "configure_env"):
                out[f.name] = dict(value)
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out


# --------------------------------------------------------------------------- parsing and checks


def release_sort_key(release: str) -> tuple[int, ...]:
    return tuple(int(p) for p in release.split("."))


_release_sort_key = release_sort_key


def _suggest(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; valid keys: " + ", ".join(choices)


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _read_toml(path: Path | None, text: str | None = None) -> dict[str, Any]:
    where = str(path) if path is not None else "the packaged recipes.toml"
    try:
        if text is None:
            assert path is not None
            text = path.read_text(encoding="utf-8")
        data: dict[str, Any] = tomllib.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read recipe file {where}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"recipe file {where} is not valid TOML: {exc}") from exc
    return data


def _release_tables(data: Mapping[str, Any], *, where: str, allow_default: bool) -> dict[str, dict[str, Any]]:
    """The release tables of a parsed file, with names checked. Accepts unquoted [2.16] too."""
    tables: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if name == "recipe_version":
            continue
        if not isinstance(value, dict):
            raise UsageError(f"{where}: top-level key '{name}' must be a table like [\"2.16\"]")
        if name.isdigit() and value and all(k.isdigit() and isinstance(v, dict) for k, v in value.items()):
            # [2.16] without quotes parses as the dotted key 2 -> 16.
            for minor, table in value.items():
                tables[f"{name}.{minor}"] = table
            continue
        if name == "default" and allow_default:
            tables[name] = value
            continue
        if not _RELEASE_RE.match(name):
            hint = " or 'default'" if allow_default else ""
            raise UsageError(f"{where}: table [{name}] is not a TensorFlow minor release like \"2.16\"{hint}")
        tables[name] = value
    return tables


def _check_value(release: str, key: str, value: object) -> object:
    """Validate one key's value and return it normalised (lists as tuples, tables as sorted pairs)."""
    if key not in _KINDS:
        raise UsageError(f"unknown recipe key '{key}' in {release}{_suggest(key, RECIPE_KEYS)}")
    kind = _KINDS[key]
    if kind == "str":
        if not isinstance(value, str):
            raise UsageError(f"recipe key '{key}' in {release} must be a string, got {_describe(value)}")
        _check_str(release, key, value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"recipe key '{key}' in {release} must be true or false, got {_describe(value)}")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(
                f"recipe key '{key}' in {release} must be a list of strings, got {_describe(value)}"
            )
        items = tuple(value)
        _check_list(release, key, items)
        return items
    # kind == "table"
    if not isinstance(value, dict):
        raise UsageError(
            f"recipe key '{key}' in {release} must be a table of NAME = \"value\", got {_describe(value)}"
        )
    pairs: dict[str, str] = {}
    for name, v in value.items():
        if not _ENV_NAME_RE.match(name):
            raise UsageError(f"recipe key '{key}' in {release}: '{name}' is not a valid variable name")
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise UsageError(
                f"recipe key '{key}' in {release}: {name} must be a string, e.g. {name} = \"1\", "
                f"got {_describe(v)}"
            )
        pairs[name] = str(v)
    return tuple(sorted(pairs.items()))


def _check_str(release: str, key: str, value: str) -> None:
    if key == "target" and value not in TARGETS:
        raise UsageError(
            f"recipe key 'target' in {release} must be one of {', '.join(TARGETS)}, got '{value}'"
        )
    if key == "python_env" and value and not _ENV_NAME_RE.match(value):
        raise UsageError(f"recipe key 'python_env' in {release}: '{value}' is not a variable name")
    if key == "compiler" and value not in COMPILERS:
        raise UsageError(f"recipe key 'compiler' in {release} must be one of {', '.join(COMPILERS)}, got '{value}'")
    if key == "linker" and value not in LINKERS:
        raise UsageError(f"recipe key 'linker' in {release} must be one of {', '.join(LINKERS)}, got '{value}'")
    if key == "compiler_version" and not _COMPILER_VERSION_RE.match(value):
        raise UsageError(f"recipe key 'compiler_version' in {release}: '{value}' is not a version like \"17.0.6\"")
    if key == "sysroot" and not value.startswith("/"):
        raise UsageError(f"recipe key 'sysroot' in {release}: '{value}' is not an absolute path like \"/dt10\"")
    if key == "cross_clang" and value and not value.isdigit():
        raise UsageError(f"recipe key 'cross_clang' in {release}: '{value}' is not a clang major like \"17\"")
    if key == "release_config" and value and not re.fullmatch(r"[A-Za-z0-9_]+", value):
        raise UsageError(f"recipe key 'release_config' in {release}: '{value}' is not a config name")
    if key == "manylinux" and value.strip() and not re.fullmatch(r"manylinux(2014|_2_[0-9]+)_aarch64", value):
        raise UsageError(f"recipe key 'manylinux' in {release}: '{value}' is not an aarch64 manylinux policy "
                         "like manylinux2014_aarch64 or manylinux_2_27_aarch64")
    if key in ("bazel", "manylinux") and not value.strip():
        raise UsageError(f"recipe key '{key}' in {release} must not be empty")
    if key == "wheel_name" and not _WHEEL_NAME_RE.match(value):
        raise UsageError(f"recipe key 'wheel_name' in {release}: '{value}' is not a valid project name")


def _check_list(release: str, key: str, items: tuple[str, ...]) -> None:
    if key == "pythons":
        if not items:
            raise UsageError(f"recipe key 'pythons' in {release} must list at least one Python")
        for py in items:
            if not _PY_RE.match(py):
                raise UsageError(f"recipe key 'pythons' in {release}: '{py}' is not a version like \"3.11\"")
    elif key == "build_pip":
        for req in items:
            try:
                Requirement(req)
            except InvalidRequirement as exc:
                raise UsageError(
                    f"recipe key 'build_pip' in {release}: '{req}' is not a pip requirement: {exc}"
                ) from exc
    elif key == "uncertain":
        for name in items:
            if name not in _KINDS:
                raise UsageError(
                    f"recipe key 'uncertain' in {release} names unknown key '{name}'"
                    f"{_suggest(name, RECIPE_KEYS)}"
                )


def _check_table(release: str, table: Mapping[str, Any], *, where: str) -> dict[str, object]:
    """Validate every key of one (possibly partial) release table; return normalised values."""
    try:
        return {key: _check_value(release, key, value) for key, value in table.items()}
    except UsageError as exc:
        raise UsageError(exc.message, remedy=f"fix it in {where}") from None


def _build(release: str, values: Mapping[str, object], recipe_version: int, *, where: str) -> Recipe:
    missing = [k for k in REQUIRED_KEYS if k not in values]
    if missing:
        raise UsageError(
            f"{where}: recipe {release} is missing required key(s): {', '.join(missing)}",
            remedy=f"a recipe must give {', '.join(REQUIRED_KEYS)}; "
            f"optional: {', '.join(OPTIONAL_KEYS)}",
        )
    full = {k: values[k] if k in values else _check_value(release, k, _DEFAULTS[k]) for k in RECIPE_KEYS}

    def s(key: str) -> str:
        value = full[key]
        assert isinstance(value, str)
        return value

    def t(key: str) -> tuple[str, ...]:
        value = full[key]
        assert isinstance(value, tuple)
        return tuple(str(v) for v in value)

    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        value = full[key]
        assert isinstance(value, tuple)
        return tuple((str(k), str(v)) for k, v in value)

    wheel_type_env = full["wheel_type_env"]
    assert isinstance(wheel_type_env, bool)
    return Recipe(
        release=release, bazel=s("bazel"), pythons=t("pythons"), target=s("target"),
        python_env=s("python_env"), repo_env=pairs("repo_env"), wheel_type_env=wheel_type_env,
        configure_env=pairs("configure_env"), bazel_configs=t("bazel_configs"), copts=t("copts"),
        build_pip=t("build_pip"), manylinux=s("manylinux"), wheel_name=s("wheel_name"),
        cross_config=s("cross_config"), compiler=s("compiler"), compiler_version=s("compiler_version"),
        linker=s("linker"), sysroot=s("sysroot"), release_config=s("release_config"),
        cross_clang=s("cross_clang"), uncertain=t("uncertain"), recipe_version=recipe_version,
    )


def recipe_from_values(release: str, values: Mapping[str, object], recipe_version: int, *, where: str) -> Recipe:
    """A recipe from already-normalised values (as a Recipe holds them), checked like a file's."""
    raw: dict[str, object] = {}
    for key, value in values.items():
        if key not in _KINDS:
            continue
        kind = _KINDS[key]
        if kind == "table":
            raw[key] = dict(value) if isinstance(value, tuple) else value
        elif kind == "list":
            raw[key] = list(value) if isinstance(value, tuple) else value
        else:
            raw[key] = value
    return _build(release, _check_table(release, raw, where=where), recipe_version, where=where)


# --------------------------------------------------------------------------- loading


def _parse_recipes(data: Mapping[str, Any], *, where: str) -> dict[str, Recipe]:
    recipe_version = data.get("recipe_version")
    if isinstance(recipe_version, bool) or not isinstance(recipe_version, int):
        raise UsageError(
            f"{where}: top-level 'recipe_version' must be an integer, got {_describe(recipe_version)}"
        )
    recipes: dict[str, Recipe] = {}
    for release, table in _release_tables(data, where=where, allow_default=False).items():
        values = _check_table(release, table, where=where)
        recipes[release] = _build(release, values, recipe_version, where=where)
    if not recipes:
        raise UsageError(f"{where}: no release tables")
    return {r: recipes[r] for r in sorted(recipes, key=_release_sort_key)}


@functools.cache
def _packaged_recipes() -> dict[str, Recipe]:
    text = resources.files("tfwheelbuild").joinpath("recipes.toml").read_text(encoding="utf-8")
    return _parse_recipes(_read_toml(None, text), where="the packaged recipes.toml")


def load_recipes(path: Path | None = None) -> dict[str, Recipe]:
    """All recipes of a complete recipe file (the packaged one when `path` is None), in release order."""
    if path is None:
        return dict(_packaged_recipes())
    return _parse_recipes(_read_toml(path), where=str(path))


def merge_overrides(recipes: Mapping[str, Recipe], overrides_file: Path) -> dict[str, Recipe]:
    """`recipes` with a user's override file merged over them (see the module docstring)."""
    where = str(overrides_file)
    data = _read_toml(overrides_file)
    if "recipe_version" in data:
        raise UsageError(f"{where}: 'recipe_version' belongs to the packaged recipes, not an override file")
    tables = _release_tables(data, where=where, allow_default=True)
    default = _check_table("default", tables.pop("default", {}), where=where)
    per_release = {release: _check_table(release, t, where=where) for release, t in tables.items()}
    recipe_version = next(iter(recipes.values())).recipe_version if recipes else 0

    merged: dict[str, Recipe] = {}
    for release in sorted({*recipes, *per_release}, key=_release_sort_key):
        specific = per_release.get(release, {})
        base = recipes.get(release)
        if base is None:
            values = {**default, **specific}
            for key in ("repo_env", "configure_env"):
                if key in default and key in specific:
                    values[key] = _merge_pairs(default[key], specific[key])
            merged[release] = _build(release, values, recipe_version, where=where)
            continue
        merged[release] = _apply(_apply(base, default), specific)
    return merged


def _merge_pairs(old: object, new: object) -> tuple[tuple[str, str], ...]:
    assert isinstance(old, tuple) and isinstance(new, tuple)
    return tuple(sorted({**dict(old), **dict(new)}.items()))


def _apply(recipe: Recipe, values: Mapping[str, object]) -> Recipe:
    if not values:
        return recipe
    changed: dict[str, object] = {}
    for key, value in values.items():
        if key in ("repo_env", "configure_env"):
            changed[key] = _merge_pairs(getattr(recipe, key), value)
        else:
            changed[key] = value
    if "uncertain" not in values:
        # What the user set is their call, no longer our guess.
        changed["uncertain"] = tuple(k for k in recipe.uncertain if k not in values)
    merged = {key: getattr(recipe, key) for key in RECIPE_KEYS}
    merged.update(changed)
    return _build(recipe.release, merged, recipe.recipe_version, where=f"recipe {recipe.release}")


# --------------------------------------------------------------------------- lookup


def release_of(tf_version: str) -> str:
    """The minor release ("2.16") of a TensorFlow version ("2.16.1", "2.16", "2.16.0rc1")."""
    try:
        version = Version(tf_version.strip())
    except InvalidVersion as exc:
        raise UsageError(
            f"'{tf_version}' is not a TensorFlow version", remedy="give a full release X.Y.Z, e.g. 2.16.1"
        ) from exc
    if len(version.release) < 2:
        raise UsageError(
            f"'{tf_version}' does not name a minor release", remedy="give a full release X.Y.Z, e.g. 2.16.1"
        )
    return f"{version.release[0]}.{version.release[1]}"


def recipe_for(tf_version: str, *, overrides_file: Path | None = None) -> Recipe:
    """The recipe that builds `tf_version`; patch releases and pre-releases use their minor's."""
    release = release_of(tf_version)
    recipes = load_recipes()
    if overrides_file is not None:
        recipes = merge_overrides(recipes, overrides_file)
    recipe = recipes.get(release)
    if recipe is None:
        raise UnknownReleaseError(
            f"TensorFlow {release} has no recipe; recipes cover {', '.join(f'{r}.x' for r in recipes)}"
        )
    return recipe


def check_python(recipe: Recipe, py: str, *, allow_unsupported: bool) -> None:
    """Refuse a Python outside the release's documented range unless forced."""
    if not _PY_RE.match(py):
        raise UsageError(f"'{py}' is not a Python version like 3.11", remedy="pass --py 3.X, e.g. --py 3.11")
    if py in recipe.pythons or allow_unsupported:
        return
    raise UnsupportedPythonError(
        f"TensorFlow {recipe.release} supports Python {', '.join(recipe.pythons)}; you asked for {py}"
    )


# --------------------------------------------------------------------------- `tfwheelbuild versions`

_PYTHON_SELECTION_HOST = "host (configure)"
_COLUMNS = (
    ("release", "release", ""),
    ("bazel", "Bazel", "bazel"),
    ("pythons", "Pythons", "pythons"),
    ("target", "target style", "target"),
    ("python_selection", "Python selection", "python_env"),
    ("toolchain", "upstream toolchain", "compiler"),
    ("release_config", "release config", "release_config"),
    ("manylinux", "manylinux", "manylinux"),
)


def versions_rows(recipes: Mapping[str, Recipe]) -> list[dict[str, object]]:
    """One JSON-ready row per release, in release order (what `versions --json` prints)."""
    rows: list[dict[str, object]] = []
    for release in sorted(recipes, key=_release_sort_key):
        r = recipes[release]
        rows.append({
            "release": r.release,
            "bazel": r.bazel,
            "pythons": list(r.pythons),
            "target": r.target,
            "python_selection": r.python_env or _PYTHON_SELECTION_HOST,
            "toolchain": f"{r.compiler} {r.compiler_version} + {r.linker}, sysroot {r.sysroot}",
            "compiler": r.compiler,
            "compiler_version": r.compiler_version,
            "linker": r.linker,
            "sysroot": r.sysroot,
            "release_config": r.release_config or "-",
            "manylinux": r.manylinux,
            "wheel_name": r.wheel_name,
            "cross_config": r.cross_config,
            "cross_clang": (r.cross_clang or r.compiler_major) if r.compiler == "clang" else "",
            "uncertain": list(r.uncertain),
            "recipe_version": r.recipe_version,
        })
    return rows


def _python_span(pythons: list[str]) -> str:
    """'3.9-3.12' for a contiguous run of 3.X versions, else the list."""
    try:
        parts = [tuple(int(n) for n in p.split(".")) for p in pythons]
    except ValueError:
        return ", ".join(pythons)
    contiguous = len(parts) > 1 and all(
        b[0] == a[0] and b[1] == a[1] + 1 for a, b in itertools.pairwise(parts)
    )
    return f"{pythons[0]}-{pythons[-1]}" if contiguous else ", ".join(pythons)


def _cell(row: Mapping[str, object], key: str) -> str:
    value = row.get(key, "")
    if key == "pythons" and isinstance(value, list):
        return _python_span([str(v) for v in value])
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def format_versions_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of `versions_rows`; '*' marks an uncertain (overridable) value."""
    header = [title for _, title, _ in _COLUMNS]
    body: list[list[str]] = []
    any_uncertain = False
    for row in rows:
        uncertain_raw = row.get("uncertain", [])
        uncertain = {str(u) for u in uncertain_raw} if isinstance(uncertain_raw, list | tuple) else set()
        cells = []
        for key, _, recipe_key in _COLUMNS:
            cell = _cell(row, key)
            if recipe_key and recipe_key in uncertain:
                cell += "*"
                any_uncertain = True
            cells.append(cell)
        body.append(cells)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(c) for c in body)]
    if any_uncertain:
        lines.append("")
        lines.append("* uncertain (inferred, not checked against a primary source); "
                     "override it with --recipe FILE")
    return "\n".join(lines)
