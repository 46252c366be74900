"""Recipe inference: what a TensorFlow checkout itself says about how to build it.

A release nobody wrote a recipe for (its first day out, a nightly) still carries most of its recipe
in its own files: `.bazelversion`, the wheel target in `tensorflow/tools/pip_package/BUILD`, the
release and cross configs in `.bazelrc`, the variables its Python and wheel rules read
(HERMETIC_PYTHON_VERSION / TF_PYTHON_VERSION, USE_PYWRAP_RULES, ML_WHEEL_TYPE), the
`requirements_lock_3_N.txt` files (one per Python it supports), the clang major its toolchains name
(`/usr/lib/llvm-N`), and `MODULE.bazel` (bzlmod). This module reads those facts from any `Checkout`
(a directory, or one commit of a git repository read on the host) and lays them over a recipe: the
written one when there is one (the checkout wins where they disagree, and says so), else the newest
written recipe not newer than the release, with every fact not read from the checkout marked uncertain.

Pure: no Docker; `GitCheckout` only runs host git.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tfwheelbuild.errors import InferenceError, SourceError
from tfwheelbuild.recipes import PROVENANCE_FIELDS, Recipe, recipe_from_values, release_sort_key
from tfwheelbuild.redact import redact

__all__ = [
    "INFERRED_KEYS",
    "Checkout",
    "DirCheckout",
    "Fact",
    "GitCheckout",
    "Inference",
    "apply_inference",
    "git_checkout",
    "infer_facts",
    "infer_recipe",
    "inference_lines",
    "inference_record",
    "recipe_from_source",
]

# The recipe keys a checkout can settle, in the order they are reported.
INFERRED_KEYS = ("bazel", "target", "pythons", "python_env", "repo_env", "wheel_type_env", "cross_config",
                 "release_config", "compiler", "compiler_version", "cross_clang")
# Without these a build cannot even be planned; the rest fall back to the nearest written recipe.
_ESSENTIAL = ("bazel", "target", "pythons")
# What settles each essential fact when the checkout cannot.
_SETTLES = {
    "bazel": "recipe key 'bazel' (or USE_BAZEL_VERSION)",
    "target": "recipe key 'target' (build_pip_package or wheel)",
    "pythons": "recipe key 'pythons' (the Pythons the release supports)",
}

PIP_PACKAGE_BUILD = "tensorflow/tools/pip_package/BUILD"
CROSS_CC_BUILD = "tensorflow/tools/toolchains/cross_compile/cc/BUILD"
# Where TensorFlow's Python and wheel rules live (2.14 to 2.22 and the bzlmod layout).
_RULE_DIRS = ("third_party/py", "third_party/extensions", "tensorflow/tools/pip_package/utils",
              "third_party/xla/third_party/py", "third_party/xla/third_party/extensions")
_LOCK_RE = re.compile(r"^requirements_lock_3_([0-9]+)\.txt$")
_LLVM_RE = re.compile(r"/usr/lib/llvm-([0-9]+)/")
_CLASSIFIER_RE = re.compile(r"Programming Language :: Python :: (3\.[0-9]+)['\"]")
_RELEASE_CONFIG = "release_arm64_linux"
_CROSS_CONFIG = "cross_compile_linux_arm64"


class Checkout(Protocol):
    """Read-only access to a source tree at one commit."""

    def read(self, path: str) -> str | None:
        """The text of a file, or None when there is no such file."""

    def names(self, directory: str) -> tuple[str, ...]:
        """The entries directly inside a directory ("" = the root), sorted; () when it does not exist."""


@dataclass(frozen=True)
class DirCheckout:
    root: Path

    def read(self, path: str) -> str | None:
        try:
            return (self.root / path).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def names(self, directory: str) -> tuple[str, ...]:
        try:
            return tuple(sorted(os.listdir(self.root / directory)))
        except (FileNotFoundError, NotADirectoryError):
            return ()


@dataclass(frozen=True)
class GitCheckout:
    git_dir: Path
    commit: str

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "--git-dir", str(self.git_dir), *args], capture_output=True, text=True,
                              errors="replace", timeout=300, check=False,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})

    def read(self, path: str) -> str | None:
        result = self._git("cat-file", "blob", f"{self.commit}:{path}")
        return result.stdout if result.returncode == 0 else None

    def names(self, directory: str) -> tuple[str, ...]:
        spec = f"{self.commit}:{directory}" if directory else f"{self.commit}^{{tree}}"
        result = self._git("ls-tree", "--name-only", spec)
        return tuple(sorted(result.stdout.split("\n")[:-1])) if result.returncode == 0 else ()


@contextmanager
def git_checkout(source: str, ref: str) -> Iterator[GitCheckout]:
    """One commit of `source` (a git URL or a local repository) read on the host, in a throwaway bare
    repository. Remote sources are fetched without file contents (blobs come on demand): the few files
    inference reads, not TensorFlow's whole tree."""
    local = "://" not in source.replace("file://", "") and not source.startswith("git@")
    with tempfile.TemporaryDirectory(prefix="tfwb-infer-") as tmp:
        git_dir = Path(tmp) / "src.git"
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True, capture_output=True, env=env)
        fetch = ["git", "--git-dir", str(git_dir), "fetch", "-q", "--depth", "1", "--no-tags"]
        if not local:
            fetch.append("--filter=blob:none")
        result = subprocess.run([*fetch, source, f"+{ref}:refs/tfwb/infer"], capture_output=True, text=True,
                                timeout=600, check=False, env=env)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise SourceError(f"cannot read {ref} of {redact(source)} to infer its recipe: "
                              f"{redact(lines[-1]) if lines else 'git fetch failed'}")
        if not local:
            # Later reads fetch blobs from the promisor remote by name, not by the URL given above.
            subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.url", source],
                           check=True, capture_output=True, env=env)
            subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.promisor", "true"],
                           check=True, capture_output=True, env=env)
            subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.partialclonefilter",
                            "blob:none"], check=True, capture_output=True, env=env)
        yield GitCheckout(git_dir=git_dir, commit="refs/tfwb/infer")


@dataclass(frozen=True)
class Fact:
    key: str  # a recipe key
    value: object  # as recipes.py holds it: str, bool, tuple of str, or tuple of (name, value) pairs
    source: str  # where in the checkout it was read

    def shown(self) -> str:
        return _show(self.key, self.value)


@dataclass(frozen=True)
class Inference:
    facts: tuple[Fact, ...]
    undecided: tuple[tuple[str, str], ...]  # (recipe key, why the checkout does not settle it)
    bzlmod: bool  # the checkout has a MODULE.bazel

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)


def _show(key: str, value: object) -> str:
    if key == "repo_env" and isinstance(value, tuple):
        return "{" + ", ".join(f"{k}={v}" for k, v in value) + "}"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '""'


def _code(text: str) -> str:
    """Starlark without docstrings and comments: a variable named in prose is not a variable read."""
    text = re.sub(r'"""(?:.|\n)*?"""', "", text)
    text = re.sub(r"'''(?:.|\n)*?'''", "", text)
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def _rule_sources(checkout: Checkout) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for directory in _RULE_DIRS:
        for name in checkout.names(directory):
            if name.endswith(".bzl"):
                text = checkout.read(f"{directory}/{name}")
                if text is not None:
                    out.append((f"{directory}/{name}", _code(text)))
    return out


def _reads(sources: list[tuple[str, str]], var: str) -> str:
    """The first rule file that names `var` as a string in its code, or ""."""
    return next((path for path, code in sources if f'"{var}"' in code or f"'{var}'" in code), "")


def infer_facts(checkout: Checkout) -> Inference:
    facts: list[Fact] = []
    undecided: list[tuple[str, str]] = []
    root = checkout.names("")

    bazelversion = checkout.read(".bazelversion")
    version = next((ln.strip() for ln in (bazelversion or "").splitlines()
                    if ln.strip() and not ln.lstrip().startswith("#")), "")
    if version:
        facts.append(Fact("bazel", version, ".bazelversion"))
    else:
        undecided.append(("bazel", "the checkout has no .bazelversion"))

    pip_build = checkout.read(PIP_PACKAGE_BUILD)
    if pip_build is not None and re.search(r'name\s*=\s*"wheel"', pip_build):
        facts.append(Fact("target", "wheel", f"{PIP_PACKAGE_BUILD} defines :wheel"))
    elif pip_build is not None and re.search(r'name\s*=\s*"build_pip_package"', pip_build):
        facts.append(Fact("target", "build_pip_package", f"{PIP_PACKAGE_BUILD} defines :build_pip_package"))
    else:
        undecided.append(("target", f"{PIP_PACKAGE_BUILD} defines neither :wheel nor :build_pip_package"))

    locks = sorted(int(m.group(1)) for n in root if (m := _LOCK_RE.match(n)))
    if locks:
        facts.append(Fact("pythons", tuple(f"3.{n}" for n in locks), "requirements_lock_3_*.txt"))
    else:
        setup = checkout.read("tensorflow/tools/pip_package/setup.py") or ""
        classified = sorted(set(_CLASSIFIER_RE.findall(setup)), key=lambda p: int(p.split(".")[1]))
        if classified:
            facts.append(Fact("pythons", tuple(classified), "tensorflow/tools/pip_package/setup.py classifiers"))
        else:
            undecided.append(("pythons", "the checkout has no requirements_lock_3_N.txt and its setup.py no "
                                         "Python classifiers"))

    rules = _rule_sources(checkout)
    hermetic = next(((var, path) for var in ("HERMETIC_PYTHON_VERSION", "TF_PYTHON_VERSION")
                     if (path := _reads(rules, var))), None)
    if hermetic:
        facts.append(Fact("python_env", hermetic[0], f"{hermetic[1]} reads {hermetic[0]}"))
    elif rules:
        facts.append(Fact("python_env", "", "no Python rule reads HERMETIC_PYTHON_VERSION or TF_PYTHON_VERSION"))
    pywrap = _reads(rules, "USE_PYWRAP_RULES")
    if rules:
        facts.append(Fact("repo_env", (("USE_PYWRAP_RULES", "1"),) if pywrap else (),
                          f"{pywrap} reads USE_PYWRAP_RULES" if pywrap else "no rule reads USE_PYWRAP_RULES"))
        wheel_type = _reads(rules, "ML_WHEEL_TYPE")
        facts.append(Fact("wheel_type_env", bool(wheel_type),
                          f"{wheel_type} reads ML_WHEEL_TYPE" if wheel_type else "no rule reads ML_WHEEL_TYPE"))

    bazelrc = checkout.read(".bazelrc")
    if bazelrc is not None:
        for key, config in (("cross_config", _CROSS_CONFIG), ("release_config", _RELEASE_CONFIG)):
            defined = re.search(rf"^build:{config}\s", bazelrc, re.MULTILINE) is not None
            facts.append(Fact(key, config if defined else "",
                              f".bazelrc {'defines' if defined else 'has no'} {config}"))

    # The release config's compiler first (what builds the official wheel), then the cross toolchain's.
    release_cc = re.search(r'^build:release_linux_base\s.*--repo_env=CC="?/usr/lib/llvm-([0-9]+)/',
                           bazelrc or "", re.MULTILINE)
    cross_cc = _LLVM_RE.search(checkout.read(CROSS_CC_BUILD) or "")
    if release_cc:
        facts += [Fact("compiler", "clang", ".bazelrc release_linux_base CC"),
                  Fact("compiler_version", release_cc.group(1), ".bazelrc release_linux_base CC")]
        if cross_cc:
            # Upstream's 2.18+ cross toolchain still names llvm-17 while the release config builds with 18:
            # the cross builder must answer at both ("" = the compiler's own major).
            other = cross_cc.group(1) if cross_cc.group(1) != release_cc.group(1) else ""
            facts.append(Fact("cross_clang", other, f"{CROSS_CC_BUILD} names /usr/lib/llvm-{cross_cc.group(1)}"))
    elif cross_cc:
        facts += [Fact("compiler", "clang", f"{CROSS_CC_BUILD} (/usr/lib/llvm-N)"),
                  Fact("compiler_version", cross_cc.group(1), f"{CROSS_CC_BUILD} (/usr/lib/llvm-N)")]
    elif bazelrc is not None:
        # No clang toolchain anywhere: TF's own aarch64 wheels of such releases were GCC builds.
        facts.append(Fact("compiler", "gcc", "no clang toolchain in .bazelrc or cross_compile/cc/BUILD"))
    return Inference(facts=tuple(facts), undecided=tuple(undecided), bzlmod="MODULE.bazel" in root)


def _same(key: str, written: object, inferred: object, recipe: Recipe) -> bool:
    if key == "compiler_version":
        return str(written).split(".")[0] == str(inferred)
    if key == "repo_env":
        # Only USE_PYWRAP_RULES is read from the checkout; other pairs are the recipe's own.
        return dict(recipe.repo_env).get("USE_PYWRAP_RULES") == dict(inferred if isinstance(inferred, tuple)
                                                                      else ()).get("USE_PYWRAP_RULES")
    return written == inferred


def _merged_value(key: str, recipe: Recipe, inferred: object, *, written: bool) -> object:
    if key == "compiler_version" and written and str(recipe.compiler_version).split(".")[0] == str(inferred):
        return recipe.compiler_version  # the written full version of the same major is more precise
    if key == "repo_env":
        pairs = {k: v for k, v in recipe.repo_env if k != "USE_PYWRAP_RULES"}
        pairs.update(dict(inferred) if isinstance(inferred, tuple) else {})
        return tuple(sorted(pairs.items()))
    return inferred


def apply_inference(inference: Inference, *, release: str, written: Recipe | None,
                    known: Mapping[str, Recipe]) -> Recipe:
    """The recipe to build `release` with: `written` (or the nearest known recipe) with every fact the
    checkout settles laid over it. With no written recipe, a fact the checkout cannot settle and no
    recipe can stand in for is an InferenceError; the facts taken over from another release are marked
    uncertain."""
    if written is None:
        for key, why in inference.undecided:
            if key in _ESSENTIAL:
                raise InferenceError(
                    f"cannot infer '{key}' for TensorFlow {release}: {why}",
                    remedy=f"set {_SETTLES[key]} in a table [\"{release}\"] of a --recipe FILE "
                           "(with the other keys `tfwheelbuild versions` lists)")
    base = written or _nearest(release, known)
    values: dict[str, object] = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)
                                 if f.name not in ("release", "recipe_version", *PROVENANCE_FIELDS)}
    differs: list[str] = []
    inferred: list[tuple[str, str]] = []
    for fact in inference.facts:
        if written is not None and not _same(fact.key, getattr(written, fact.key), fact.value, written):
            differs.append(f"{fact.key}: the recipe for {written.release} says "
                           f"{_show(fact.key, getattr(written, fact.key))}, the checkout {fact.shown()} "
                           f"({fact.source}): using the checkout's")
        values[fact.key] = _merged_value(fact.key, base, fact.value, written=written is not None)
        inferred.append((fact.key, fact.source))
    if values.get("compiler") == "gcc" and (written is None or written.compiler != "gcc"):
        values["compiler_version"], values["linker"] = "10.2.1", "ld"  # devtoolset-10, as 2.10-2.14 shipped
    settled = {k for k, _ in inferred}
    if written is None:
        taken = [k for k in values if k not in settled and k not in ("uncertain",)]
        values["uncertain"] = tuple(sorted({*base.uncertain, *taken} - settled))
    else:
        values["uncertain"] = tuple(k for k in written.uncertain if k not in settled)
    recipe = recipe_from_values(release, values, base.recipe_version,
                                where=f"the recipe inferred for {release}")
    return dataclasses.replace(recipe, inferred=tuple(inferred), checkout_differs=tuple(differs),
                               inferred_from="" if written else base.release, bzlmod=inference.bzlmod)


def _nearest(release: str, known: Mapping[str, Recipe]) -> Recipe:
    """The newest written recipe not newer than `release` (else the oldest): the best stand-in for the
    facts a checkout does not state (configure answers, build-time pip packages, manylinux policy)."""
    ordered = sorted(known, key=release_sort_key)
    older = [r for r in ordered if release_sort_key(r) <= release_sort_key(release)]
    return known[older[-1] if older else ordered[0]]


def infer_recipe(checkout: Checkout, *, release: str, written: Recipe | None,
                 known: Mapping[str, Recipe]) -> Recipe:
    return apply_inference(infer_facts(checkout), release=release, written=written, known=known)


def recipe_from_source(source: str, ref: str, *, release: str, written: Recipe | None,
                       known: Mapping[str, Recipe]) -> Recipe:
    """Infer the recipe of `ref` in `source` (a tag name, or a full ref) from its files, read on the host.

    It runs before the plan because the plan (builder image, Bazel command, build key) follows from the
    recipe; the build's own source stage then checks out the same commit.
    """
    from tfwheelbuild.preflight import resolve_ref

    if shutil.which("git") is None:
        raise InferenceError(f"TensorFlow {release}'s recipe must be read from its checkout, and that needs git "
                             "on this host", remedy="install git, or give the recipe in a --recipe FILE")
    full, _ = resolve_ref(source, ref)
    with git_checkout(source, full) as checkout:
        return infer_recipe(checkout, release=release, written=written, known=known)


def describe(recipe: Recipe, say: Callable[[str], None]) -> None:
    """The lines a person reads about an inferred recipe (the dry-run and the build log say the same)."""
    for line in inference_lines(recipe):
        say(line)


def inference_record(recipe: Recipe) -> dict[str, object]:
    """The manifest's account of an inferred recipe: each fact with where it was read, what stood in for
    the rest, and where a written recipe disagreed."""
    return {"release": recipe.release, "over_recipe": recipe.inferred_from or recipe.release,
            "inferred": {key: {"value": recipe.to_dict()[key], "from": source} for key, source in recipe.inferred},
            "uncertain": list(recipe.uncertain), "bzlmod": recipe.bzlmod,
            "checkout_differs": list(recipe.checkout_differs)}


def inference_lines(recipe: Recipe) -> list[str]:
    if not recipe.inferred:
        return []
    lines = ["recipe:        inferred from the checkout" + (f" over the recipe for {recipe.inferred_from} "
                                                             "(facts the checkout does not state, marked uncertain)"
                                                             if recipe.inferred_from else "")]
    lines += [f"  inferred:    {key} = {_show(key, getattr(recipe, key))}  ({source})"
              for key, source in recipe.inferred]
    if recipe.inferred_from:
        lines.append(f"  uncertain:   {', '.join(recipe.uncertain)}  (the recipe for {recipe.inferred_from}'s; "
                     "override them with --recipe FILE)")
    lines.append(f"  inferred:    bzlmod = {'true (MODULE.bazel)' if recipe.bzlmod else 'false (no MODULE.bazel)'}")
    lines += [f"  differs:     {d}" for d in recipe.checkout_differs]
    return lines


INFER = "infer"  # --recipe infer


def wanted_recipe(tf_version: str, recipe_option: Path | None) -> tuple[Recipe | None, Callable[[str, str], Recipe]
                                                                        | None]:
    """(the written recipe, or None; how to infer one from (source, ref), or None when none is needed).

    Inference is wanted for `--recipe infer` (over the written recipe, the checkout winning) and for a
    release no recipe covers (over the nearest written one); an override file still applies to both.
    """
    from tfwheelbuild.errors import UnknownReleaseError
    from tfwheelbuild.recipes import load_recipes, merge_overrides, recipe_for, release_of
    from tfwheelbuild.validate import release_tag

    asked = recipe_option is not None and str(recipe_option) == INFER
    overrides = None if asked else recipe_option
    release = release_of(tf_version)
    known = load_recipes() if overrides is None else merge_overrides(load_recipes(), overrides)
    try:
        written: Recipe | None = recipe_for(tf_version, overrides_file=overrides)
    except UnknownReleaseError:
        # Older than every recipe: no written recipe is a fair stand-in for what the checkout leaves
        # unsaid (before 2.10 TensorFlow made no aarch64 wheels of its own), so that stays refused.
        if release_sort_key(release) < release_sort_key(min(known, key=release_sort_key)):
            raise
        written = None
    if written is not None and not asked:
        return written, None

    def infer(source: str, ref: str) -> Recipe:
        return recipe_from_source(source, ref or release_tag(tf_version), release=release, written=written,
                                  known=known)

    return written, infer
