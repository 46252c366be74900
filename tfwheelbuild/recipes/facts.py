"""What a TensorFlow checkout itself says about how to build it: each fact with where it was read.

A release nobody wrote a recipe for (its first day out, a nightly) still carries most of its recipe
in its own files: `.bazelversion`, the wheel target in `tensorflow/tools/pip_package/BUILD`, the
release and cross configs in `.bazelrc`, the variables its Python and wheel rules read
(HERMETIC_PYTHON_VERSION / TF_PYTHON_VERSION, USE_PYWRAP_RULES, ML_WHEEL_TYPE), the
`requirements_lock_3_N.txt` files (one per Python it supports), the clang major its toolchains name
(`/usr/lib/llvm-N`), and `MODULE.bazel` (bzlmod). Pure: reads only through a `Checkout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tfwheelbuild.recipes.checkout import Checkout
from tfwheelbuild.recipes.model import PIP_PACKAGE, TARGETS

__all__ = ["INFERRED_KEYS", "Fact", "Inference", "infer_facts", "show_value"]

# The recipe keys a checkout can settle, in the order they are reported.
INFERRED_KEYS = ("bazel", "target", "pythons", "python_env", "repo_env", "wheel_type_env", "cross_config",
                 "release_config", "compiler", "compiler_version", "cross_clang")

PIP_PACKAGE_BUILD = f"{PIP_PACKAGE.removeprefix('//')}/BUILD"
CROSS_CC_BUILD = "tensorflow/tools/toolchains/cross_compile/cc/BUILD"
# Where TensorFlow's Python and wheel rules live (2.14 to 2.22 and the bzlmod layout).
_RULE_DIRS = ("third_party/py", "third_party/extensions", "tensorflow/tools/pip_package/utils",
              "third_party/xla/third_party/py", "third_party/xla/third_party/extensions")
_LOCK_RE = re.compile(r"^requirements_lock_3_([0-9]+)\.txt$")
_LLVM_RE = re.compile(r"/usr/lib/llvm-([0-9]+)/")
_CLASSIFIER_RE = re.compile(r"Programming Language :: Python :: (3\.[0-9]+)['\"]")
_RELEASE_CONFIG = "release_arm64_linux"
_CROSS_CONFIG = "cross_compile_linux_arm64"


@dataclass(frozen=True)
class Fact:
    key: str  # a recipe key
    value: object  # as recipes.py holds it: str, bool, tuple of str, or tuple of (name, value) pairs
    source: str  # where in the checkout it was read

    def shown(self) -> str:
        return show_value(self.key, self.value)


@dataclass(frozen=True)
class Inference:
    facts: tuple[Fact, ...]
    undecided: tuple[tuple[str, str], ...]  # (recipe key, why the checkout does not settle it)
    bzlmod: bool  # the checkout has a MODULE.bazel

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)


def show_value(key: str, value: object) -> str:
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

    pip_build = checkout.read(PIP_PACKAGE_BUILD) or ""
    # TARGETS lists the styles oldest first; a BUILD that defines the newer one builds with it.
    newest_first = tuple(reversed(TARGETS))
    target = next((t for t in newest_first if re.search(rf'name\s*=\s*"{t}"', pip_build)), None)
    if target:
        facts.append(Fact("target", target, f"{PIP_PACKAGE_BUILD} defines :{target}"))
    else:
        labels = " nor ".join(f":{t}" for t in newest_first)
        undecided.append(("target", f"{PIP_PACKAGE_BUILD} defines neither {labels}"))

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
