"""Every option the tool takes, declared once: config keys, environment names, flags, BuildOptions fields,
README's reference and the config file's JSON schema are all derived from OPTIONS.

Pure data and the few derivations that need nothing else; conversion and the cascade are in config.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from tfwheelbuild.core import validate

Kind = Literal["str", "path", "list", "bool", "int", "table"]
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
    # The flag: `--<name>` unless the flag reads better otherwise (one --bazel-arg per argument).
    flag: str = ""
    short: str = ""
    metavar: str | None = None
    flag_help: str = ""  # a shorter text for --help where the reference's would crowd it
    # False: not among the flags every building command shares (the matrix and nightly's own policy).
    shared_flag: bool = True
    # The BuildOptions field it fills: derived from name when empty; None when a build does not read it.
    field: str | None = ""

    def __post_init__(self) -> None:
        if not self.env:
            object.__setattr__(self, "env", ENV_PREFIX + self.name.upper().replace("-", "_"))
        if not self.flag:
            object.__setattr__(self, "flag", "--" + self.name)
        if self.field == "":
            object.__setattr__(self, "field", self.name.replace("-", "_"))

    @property
    def flag_text(self) -> str:
        return self.flag_help or self.help


OPTIONS: tuple[OptionDef, ...] = (
    OptionDef("releases", "list", (), "TensorFlow releases to build, e.g. [\"2.16.1\", \"2.17.0\"].",
              shared_flag=False, field=None),
    OptionDef("pythons", "list", (), "Python versions of the wheels, e.g. [\"3.11\"].",
              shared_flag=False, field=None),
    OptionDef("source", "str", "https://github.com/tensorflow/tensorflow.git",
              "Git URL, local path or file:// URL of the TensorFlow source.", check=validate.source,
              flag_help="Git URL, local path or file:// URL of the TensorFlow source "
              "[default: https://github.com/tensorflow/tensorflow.git]."),
    OptionDef("ref", "str", "", "Git ref to build instead of tag `v<tf>`.",
              flag_help="Git ref to build instead of tag v<tf>."),
    OptionDef("output", "path", Path("dist"), "Directory the wheels are written to.",
              short="-o", flag_help="Output directory [default: dist]."),
    OptionDef("index", "str", "", "Where to publish: an upload URL, a repository named in `~/.pypirc`, or a "
              "directory; empty means the embedded local directory index.",
              field=None, flag_help="Publish target: upload URL, ~/.pypirc name or directory "
              "[default: the local index under the user's data dir]."),
    OptionDef("index-url", "str", "", "Package index pip uses for test dependencies (empty: pip's default).",
              check=validate.url,
              flag_help="Package index for test dependencies [default: pip's]."),
    OptionDef("base-image", "str", "", "arm64 base image (empty: ubuntu:22.04, falling back to debootstrap).",
              check=validate.image,
              flag_help="arm64 base image [default: ubuntu:22.04, falling back to a debootstrapped Debian base "
              "when no registry answers]."),
    OptionDef("builder-image", "str", "", "An arm64 build image in upstream's shape (its ml-build-arm64, or "
              "your copy), pinned by digest: the tool layers only its helpers on it and uses its clang and sysroot "
              "(empty: the tool's own builder).", check=validate.pinned_image,
              flag_help="arm64 build image in upstream's shape (ml-build-arm64 or your copy), pinned: "
              "NAME@sha256:... or a local image id; only the tool's helpers are layered on it."),
    OptionDef("mirror", "str", "", "apt mirror for the debootstrap fallback (empty: the host's).",
              check=validate.url,
              flag_help="apt mirror for the debootstrap fallback [default: the host's]."),
    OptionDef("work-dir", "path", None, "Logs and staging (unset: `~/.cache/tfwheelbuild`).",
              field="work_root", flag_help="Logs and staging [default: ~/.cache/tfwheelbuild]."),
    OptionDef("patches", "list", (), "Extra patch series directories, applied after the tool's own.", paths=True,
              field="patch_dirs", flag_help="Extra patch series dir (repeatable), applied after the tool's own."),
    OptionDef("default-patches", "bool", True, "Apply the tool's own `patches/<minor>/series`.",
              flag="--no-default-patches", flag_help="Skip the tool's patches/<minor>/series."),
    OptionDef("configure", "table", (), "Answers for configure.py, KEY=VALUE, e.g. TF_NEED_CLANG=1.",
              metavar="KEY=VALUE", flag_help="Answer for configure.py (repeatable), e.g. TF_NEED_CLANG=1."),
    OptionDef("bazel-args", "list", (), "Extra bazel build arguments.",
              flag="--bazel-arg", flag_help="Extra bazel build argument (repeatable)."),
    OptionDef("jobs", "int", None, "Bazel --jobs (unset: from the engine's CPUs and RAM).", minimum=1,
              flag_help="Bazel --jobs [default: from engine CPUs/RAM]."),
    OptionDef("ram-mb", "int", None, "Bazel --local_ram_resources in MB (unset: 80% of the engine's RAM).",
              minimum=512,
              flag_help="Bazel --local_ram_resources in MB."),
    OptionDef("memory", "str", "", "Memory limit of the build container, e.g. `6g` or `3500m` (empty: none); "
              "`--jobs` and `--ram-mb` defaults then follow from it, and an out-of-memory kill is reported as such.",
              check=validate.memory_limit,
              flag_help="Memory limit of the build container, e.g. 6g [default: none]."),
    OptionDef("plat", "str", "", "Demand this manylinux policy, e.g. manylinux2014_aarch64; `auto`: the best "
              "auditwheel finds (empty: the release's own policy where the builder's sysroot reaches it, else the "
              "sysroot's floor, manylinux_2_31_aarch64; `auto` for GCC releases and cross builds).",
              check=validate.plat,
              flag_help="Demand this manylinux policy, e.g. manylinux2014_aarch64; auto: auditwheel's choice "
              "[default: the release's policy, or the builder sysroot's floor]."),
    OptionDef("exclude", "list", (), "Libraries auditwheel must not graft into the wheel.",
              flag_help="Library auditwheel must not graft (repeatable)."),
    OptionDef("project-name", "str", "", "Distribution name, e.g. tensorflow-aarch64-internal."),
    OptionDef("build-tag", "str", "", "Wheel build tag, e.g. 1.",
              check=validate.build_tag),
    OptionDef("mode", "str", "auto", "How the aarch64 code is compiled: `cross` (natively in an amd64 builder with "
              "clang at upstream's paths and the /dt9, /dt10 sysroots, through the release's "
              "`cross_compile_linux_arm64` config; 2.16+), `emulated` (the arm64 builder under qemu) or `auto` "
              "(natively on an arm64 engine; cross on an x86_64 one where the release has a cross config; else "
              "emulated).",
              choices=("auto", "emulated", "cross"),
              flag_help="cross: compile natively with an aarch64 cross toolchain (2.16+); emulated: the arm64 builder "
              "under qemu; auto: native on arm64 engines, cross on x86_64 ones where the release has a cross config, "
              "else emulated [default: auto]."),
    OptionDef("test-command", "str", "", "Extra command run in the test venv."),
    OptionDef("installer", "str", "auto", "What installs the wheel into the runtime test's venv and the image's "
              "(`image`, `build --image`): `auto` (uv, a "
              "pinned aarch64 binary fetched once with the host's pip and cached; pip where it cannot be had) or "
              "`pip`.", choices=("auto", "pip"),
              flag_help="Installer for the runtime test: auto (uv where it can be had, else pip) or pip."),
    OptionDef("retries", "int", 1, "How many times nightly retries an entry that failed with an "
              "infrastructure error.", minimum=0,
              shared_flag=False, field=None),
    OptionDef("publish", "bool", True, "Nightly publishes the wheels it built to the index.",
              shared_flag=False, field=None),
    OptionDef("remote-cache", "str", "", "Bazel remote cache: http(s):// (bazel-remote, nginx WebDAV, S3/GCS "
              "gateways) or grpc(s):// (REAPI: BuildGrid, bazel-remote, BuildBuddy). Credentials in the URL or "
              "the header file stay out of logs, manifests and process lists.",
              flag_help="Bazel remote cache URL: http(s)://… or grpc(s)://… (credentials in the URL stay out of "
              "logs and Bazel's command line; give such a URL through TFWHEELBUILD_REMOTE_CACHE, since any user can "
              "read this process's argv)."),
    OptionDef("remote-cache-readonly", "bool", False, "Read the remote cache but never write to it "
              "(`--remote_upload_local_results=false`): for consumers, so only trusted builders write.",
              flag_help="Read the remote cache, never write."),
    OptionDef("remote-cache-required", "bool", False, "Fail before building when the remote cache does not "
              "answer (default: warn once and build locally, Bazel's own fallback).",
              flag_help="Fail when the remote cache does not answer [default: warn, build locally]."),
    OptionDef("remote-header-file", "path", None, "File of `Name: value` lines sent to the remote cache/executor "
              "(e.g. `Authorization: Bearer …`); never logged.",
              flag_help="File of `Name: value` headers for the remote cache/executor (e.g. Authorization)."),
    OptionDef("remote-executor", "str", "", "Bazel remote execution endpoint (grpc[s]://); its platform must "
              "match the builder's toolchain.",
              flag_help="Bazel remote execution endpoint, grpc(s)://…"),
    OptionDef("remote-instance-name", "str", "", "REAPI instance name for the remote cache/executor.",
              flag_help="REAPI instance name."),
    OptionDef("docker-host", "str", "", "Docker engine to build on, e.g. ssh://builder@arm64-box or "
              "tcp://10.0.0.5:2376 (empty: DOCKER_HOST or the local socket). An arm64 engine builds natively.",
              check=validate.docker_host,
              field=None, flag_help="Engine to build on: ssh://user@arm64-box, tcp://… [default: DOCKER_HOST]."),
    OptionDef("cache-namespace", "str", "", "Name prefix for this build's cache volumes, to keep sets of "
              "caches apart (empty: the shared ones).",
              check=validate.cache_namespace,
              flag_help="Prefix for this build's own cache volumes [default: shared]."),
    OptionDef("allow-4k-pages", "bool", False, "Accept a wheel whose ELF files load only on 4 KiB-page kernels "
              "(default: refused at repair, naming the file, since 64 KiB-page aarch64 kernels cannot map them).",
              flag_help="Accept ELF files that load only on 4 KiB-page kernels [default: refused at repair]."),
    OptionDef("max-wheel-size", "str", "240M", "Refuse a repaired wheel over this size (K, M, G: powers of 1024; "
              "`0`: no limit); the default is upstream's arm64 CI limit.", check=validate.wheel_size,
              flag_help="Refuse a repaired wheel over this size, e.g. 240M; 0: no limit "
              "[default: 240M, upstream's arm64 limit]."),
    OptionDef("bazel-mirror", "str", "", "Internal mirror for Bazel's external downloads (an Artifactory/Nexus "
              "generic remote or a static server laid out as MIRROR/<host>/<path>); credentials from ~/.netrc only.",
              flag_help="Rewrite every Bazel download to this mirror (MIRROR/<host>/<path>); credentials from "
              "~/.netrc only."),
    OptionDef("bazel-pip-index", "str", "", "Package index for the pip that Bazel's repository rules run "
              "(rules_python's pip_parse of the release's requirements lock, which upstream runs --isolated "
              "against PyPI); empty: `index-url`, and with neither, upstream's PyPI. `fetch` downloads the lock's "
              "wheels from it.",
              check=validate.url,
              flag_help="Package index for Bazel's own pip (the release's requirements lock) [default: --index-url, "
              "else upstream's PyPI]."),
    OptionDef("deps", "path", None, "Deps bundle from `tfwheelbuild fetch`: Bazel's external archives, used as "
              "the repository cache while the compile runs with the network off.",
              flag_help="Deps bundle from `tfwheelbuild fetch`: build offline, the network off for the whole compile."),
    OptionDef("image", "str", "", "Nightly: after an entry passed, build an arm64 image of its wheel as "
              "`<image>:<tf>-py<py>`, e.g. registry.internal/ml/tensorflow (empty: no images). "
              "See `tfwheelbuild image`.", check=validate.image,
              shared_flag=False, field=None),
    OptionDef("image-push", "bool", False, "Nightly: push those images (credentials from the engine's own "
              "~/.docker/config.json; the registry is checked before the entry builds).",
              shared_flag=False, field=None),
)
BY_NAME: Mapping[str, OptionDef] = MappingProxyType({o.name: o for o in OPTIONS})
# The declared options a build reads, by BuildOptions field.
BY_FIELD: Mapping[str, OptionDef] = MappingProxyType({o.field: o for o in OPTIONS if o.field is not None})


def default(name: str) -> Any:
    """Option `name`'s declared default, for a dataclass field that holds it (BuildOptions)."""
    return BY_NAME[name].default


def normalize_key(key: str) -> str:
    return key.replace("_", "-")


def jsonable(name: str, value: Any) -> Any:
    """A value of option `name` as JSON shows it (a table as an object, paths as strings)."""
    if BY_NAME[name].kind == "table":
        return dict(value)
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return str(value) if isinstance(value, Path) else value

