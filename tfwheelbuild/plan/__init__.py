"""The build plan: pure data in, data out. No Docker, no filesystem writes, no network.

`make_plan` turns validated options and a release recipe into a frozen BuildPlan that every stage
reads from; `--dry-run` prints it. Values that only exist once an image is built (the builder's
image id) appear as the BUILDER_ID token and are filled in by the stage that knows them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tfwheelbuild.core.options import default
from tfwheelbuild.core.remote import LOOPBACK_HOSTS, RemotePlan, remote_flags, remote_plan
from tfwheelbuild.core.toolchain import ToolchainPlan, configure_answers, toolchain_plan
from tfwheelbuild.core.validate import release_tag
from tfwheelbuild.errors import CustomPythonError, UsageError
from tfwheelbuild.plan.describe import describe_plan
from tfwheelbuild.plan.images import (
    auto_cross,
    base_plan,
    builder_python,
    builder_recipe,
    cross_builder_has,
    is_custom_python,
    layered_builder_recipe,
    runtime_recipe,
)
from tfwheelbuild.plan.inputs import (
    MACOS_ONLY_PROJECTS,
    check_project_name,
    default_jobs,
    nightly_repo_env,
    parse_memory,
    parse_size,
    parse_source_date_epoch,
    wheel_distribution_name,
)
from tfwheelbuild.plan.layout import (
    BAZEL_OUTPUT,
    BUILD_PYTHON,
    BUILDER_ID,
    CA_IN_CONTAINER,
    CACHE,
    CROSS_SUITE,
    DEBIAN_SUITE_FOR_PYTHON,
    DEFAULT_BASE_IMAGE,
    DEFAULT_CROSS_BASE,
    DEFAULT_MAX_WHEEL_SIZE,
    DEPS_CACHE,
    DEPS_IN_CONTAINER,
    EMULATED_JVM,
    GIB,
    GIT_CACHE,
    ORIGIN,
    OUT,
    PATCH_DIR,
    RAW_WHEELS,
    SRC,
    python_route,
)
from tfwheelbuild.plan.parts import (
    BasePlan,
    CompilePlan,
    ImageRecipe,
    PatchFile,
    RepairPlan,
    SourcePlan,
    TestPlan,
)
from tfwheelbuild.recipes import Recipe
from tfwheelbuild.util.redact import redact

# What `from tfwheelbuild.plan import …` offered before the plan's parts got modules of their own.
__all__ = [
    "BAZEL_OUTPUT", "BUILDER_ID", "BUILD_PYTHON", "CACHE", "CA_IN_CONTAINER", "DEBIAN_SUITE_FOR_PYTHON",
    "DEFAULT_BASE_IMAGE", "DEFAULT_CROSS_BASE", "DEFAULT_MAX_WHEEL_SIZE", "DEPS_CACHE", "DEPS_IN_CONTAINER",
    "EMULATED_JVM", "GIB", "GIT_CACHE", "MACOS_ONLY_PROJECTS", "ORIGIN", "OUT", "PATCH_DIR", "RAW_WHEELS", "SRC",
    "BasePlan", "BuildOptions", "BuildPlan", "CompilePlan", "ImageRecipe", "PatchFile", "RepairPlan", "SourcePlan",
    "TestPlan", "auto_cross", "base_plan", "builder_python", "builder_recipe", "check_mode", "check_project_name",
    "default_jobs", "layered_builder_recipe", "make_plan", "nightly_repo_env", "parse_memory", "parse_size",
    "parse_source_date_epoch", "python_route", "runtime_recipe", "wheel_distribution_name",
]


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
    installer: str = default("installer")
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
    bazel_pip_index: str = default("bazel-pip-index")  # for rules_python's pip in Bazel ("" = index_url)
    deps: Path | None = default("deps")  # a deps bundle (tfwheelbuild fetch): repository cache, network off



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
        return describe_plan(self)


def check_mode(opts: BuildOptions, recipe: Recipe) -> None:
    """The --mode the user asked for, against the release and the other options. Pure, so that callers run it
    before the engine is asked; `--mode auto` only picks cross where none of these can fail."""
    py = opts.python
    if opts.mode not in ("auto", "emulated", "cross"):
        raise UsageError(f"--mode {opts.mode!r}: choose auto, emulated or cross")
    if opts.mode != "cross":
        return
    if opts.builder_image:
        raise UsageError("--builder-image is an arm64 build image: it builds natively or under emulation, not cross",
                         remedy="use --mode emulated (or auto), or drop --builder-image")
    if is_custom_python(recipe, py) and not cross_builder_has(py):
        raise CustomPythonError(
            f"TensorFlow {recipe.release} ships no requirements lock for Python {py}, and the cross builder "
            f"(Debian {CROSS_SUITE}, amd64) has no python{py} to hand Bazel as the interpreter",
            remedy=f"build under emulation on an arm64 base that has python{py}: --mode emulated (or auto) "
                   "--base-image IMAGE (for 3.14: `tfwheelbuild base bootstrap --suite sid`, then "
                   "--base-image tfwheelbuild/base:sid-arm64)")
    if not recipe.cross_config:
        raise UsageError(f"TensorFlow {recipe.release} has no cross-compile config (TF ships "
                         "cross_compile_linux_arm64 from 2.16)", remedy="use --mode emulated for this release")
    if opts.plat.strip() not in ("", "auto"):
        # auditwheel only accepts another architecture's policies on that architecture.
        raise UsageError("--plat cannot be demanded in cross mode: repair runs on the amd64 builder, where "
                         "auditwheel picks the aarch64 policy itself", remedy="drop --plat, or use --mode emulated")


def make_plan(opts: BuildOptions, recipe: Recipe, *, patches: tuple[PatchFile, ...],
              engine_cpus: int, engine_mem: int, engine_emulated: bool = False,
              engine_arch: str = "") -> BuildPlan:
    py = opts.python
    base = base_plan(opts.base_image, opts.mirror, py)
    check_mode(opts, recipe)
    # auto never picks cross against an explicit --plat, which only the arm64 builder's auditwheel can honour.
    cross = opts.mode == "cross" or (opts.mode == "auto" and opts.plat.strip() in ("", "auto")
                                     and not opts.builder_image and auto_cross(recipe, engine_arch, py))
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
    pip_index = opts.bazel_pip_index or opts.index_url
    compile_plan = CompilePlan(
        bazel_startup=(f"--output_user_root={CACHE}/bazel/root",
                       *(EMULATED_JVM if engine_emulated and not cross else ())),
        bazel_build=tuple(build_args), target=target, package_cmd=package_cmd,
        # Cross builds take the release's cross config instead (upstream's release config is for native ones).
        env=(*opts.bazel_env, *opts.proxy_env), release_config="" if cross else toolchain.release_config,
        release_equivalent=toolchain.equivalent, jobs=jobs, ram_mb=ram_mb, memory_bytes=memory_bytes,
        bazel_mirror=opts.bazel_mirror, deps=opts.deps,
        custom_python=py if is_custom_python(recipe, py) else "", index_url=opts.index_url,
        pip_index=pip_index,
        # A mirror or an index on the engine host's loopback is reachable from the host's network only.
        mirror_loopback=any(urlsplit(url).hostname in LOOPBACK_HOSTS for url in (opts.bazel_mirror, pip_index,
                                                                                 opts.index_url) if url),
    )
    return BuildPlan(
        tf_version=opts.tf_version, python=py, recipe=recipe, base=base, builder=builder,
        runtime=runtime, source=source, configure_env=tuple(sorted(configure_env.items())),
        patches=patches, compile=compile_plan,
        repair=RepairPlan(plat=toolchain.plat, exclude=opts.exclude, build_tag=opts.build_tag,
                          allow_4k_pages=opts.allow_4k_pages, max_wheel_size=parse_size(opts.max_wheel_size)),
        test=TestPlan(index_url=opts.index_url, test_command=opts.test_command, installer=opts.installer,
                      ca_bundle=opts.ca_bundle, proxy_env=opts.proxy_env),
        wheel_name=wheel_distribution_name(project),
        wheel_version=f"{opts.tf_version}.dev{opts.nightly_date}" if opts.nightly_date else opts.tf_version,
        output=opts.output, work_root=opts.work_root,
        volumes={f"tfwb-{ns}bazel-{BUILDER_ID}": CACHE, f"tfwb-{ns}git": GIT_CACHE},
        remote=remote, toolchain=toolchain,
        cross_base=BasePlan(image=DEFAULT_CROSS_BASE, bootstrap_suite=CROSS_SUITE,
                            mirror=opts.mirror, user_chosen=False, arch="amd64") if cross else None,
        builder_base=BasePlan(image=opts.builder_image, bootstrap_suite="", mirror="", user_chosen=True)
        if opts.builder_image else None,
        source_date_epoch=parse_source_date_epoch(opts.source_date_epoch),
    )



def _local_source(source: str) -> Path | None:
    if source.startswith("file://"):
        return Path(source[len("file://"):])
    if "://" in source or source.startswith("git@"):
        return None
    return Path(source)
