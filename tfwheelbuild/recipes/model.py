"""The recipe record: one minor release's build facts, and the key set every other module derives from.

The `Recipe` fields are the one declaration of the recipe keys: `RECIPE_KEYS` (what recipes.toml and
an override file may set) and each key's kind (how it is checked and normalised) follow from their
names and types, so a new key is a new field and nothing else.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

__all__ = [
    "KINDS",
    "PIP_PACKAGE",
    "PROVENANCE_FIELDS",
    "RECIPE_KEYS",
    "TABLE_KEYS",
    "TARGETS",
    "Recipe",
    "release_sort_key",
]

TARGETS = ("build_pip_package", "wheel")
PIP_PACKAGE = "//tensorflow/tools/pip_package"


def release_sort_key(release: str) -> tuple[int, ...]:
    """Orders minor releases numerically ("2.9" before "2.10")."""
    return tuple(int(p) for p in release.split("."))


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
    # How upstream builds the official aarch64 wheel (tf-releases.md §1, §3, §8): compiler family and
    # exact version, linker, the aarch64 sysroot its toolchain names, and its own release config.
    compiler: str  # upstream's compiler family for the official wheel: "gcc" or "clang"
    compiler_version: str  # its version, e.g. "17.0.6" (the major picks /usr/lib/llvm-N)
    linker: str  # "ld" (GNU, through GCC) or "lld"
    sysroot: str  # the aarch64 sysroot upstream's toolchain names, e.g. "/dt10"
    release_config: str  # upstream's own release config (e.g. release_arm64_linux); "" = none known
    # The clang major the release's cross toolchain (tensorflow/tools/toolchains/cross_compile/cc/BUILD)
    # names, where it differs from the compiler's: upstream's 2.19-2.21 file names llvm-17 while its
    # release config builds with llvm-18. "" = the compiler's own.
    cross_clang: str
    uncertain: tuple[str, ...]  # keys whose values are inferred, not checked
    recipe_version: int
    # Provenance when the recipe was inferred from a checkout (infer.py); not recipe keys, and not in
    # to_dict (so not in the build key): the values themselves are. They alone have defaults.
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

    def key_values(self) -> dict[str, object]:
        """The recipe keys' values as the record holds them (tuples), in RECIPE_KEYS order."""
        return {key: getattr(self, key) for key in RECIPE_KEYS}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (tables as objects, tuples as lists)."""
        out: dict[str, object] = {"release": self.release}
        for key in RECIPE_KEYS:
            value = getattr(self, key)
            if key in TABLE_KEYS:
                out[key] = dict(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        out["recipe_version"] = self.recipe_version
        return out


_FIELDS = dataclasses.fields(Recipe)
PROVENANCE_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELDS if f.default is not dataclasses.MISSING)
RECIPE_KEYS: tuple[str, ...] = tuple(
    f.name for f in _FIELDS if f.name not in ("release", "recipe_version", *PROVENANCE_FIELDS)
)

# Kinds: "str", "bool", "list" (of strings), "table" (string -> string), read off the field types.
_KIND_OF_TYPE: dict[object, str] = {
    str: "str",
    bool: "bool",
    tuple[str, ...]: "list",
    tuple[tuple[str, str], ...]: "table",
}
_HINTS = typing.get_type_hints(Recipe)
KINDS: dict[str, str] = {key: _KIND_OF_TYPE[_HINTS[key]] for key in RECIPE_KEYS}
TABLE_KEYS: tuple[str, ...] = tuple(key for key, kind in KINDS.items() if kind == "table")
