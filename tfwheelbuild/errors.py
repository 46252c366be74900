"""One error hierarchy for the whole tool, caught once at the CLI edge.

Every class carries a distinct exit code and a remedy, so a user sees one line saying what went
wrong and one saying what to do, never a traceback (cibuildwheel's FatalError idea).
"""

from __future__ import annotations


class TfwbError(Exception):
    """Base class. `exit_code` is what the process returns; `remedy` is the one-line fix."""

    exit_code = 1
    remedy = ""

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if remedy is not None:
            self.remedy = remedy
        self.log_path = ""  # set by whoever wrote a log for the failed work
        self.details: list[str] = []  # the first error block of that log


class UsageError(TfwbError):
    exit_code = 2
    remedy = "see `tfwheelbuild COMMAND --help`"


class UnknownReleaseError(TfwbError):
    exit_code = 10
    remedy = ("run `tfwheelbuild versions` for the releases with recipes, then give a full release X.Y.Z of one "
              "(e.g. --tf 2.16.1); or pass --recipe FILE for your own")


class UnsupportedPythonError(TfwbError):
    exit_code = 11
    remedy = "choose a supported --py, or pass --allow-unsupported-python to force it"


class SourceError(TfwbError):
    exit_code = 12
    remedy = "check --source (a git URL, a local path or file:// URL) and that the tag exists"


class PatchError(TfwbError):
    exit_code = 13
    remedy = "rebase the patch onto this release, or drop it from the series"


class ConfigureError(TfwbError):
    exit_code = 14
    remedy = "set the missing answer with --configure KEY=VALUE"


class BazelVersionError(TfwbError):
    exit_code = 15
    remedy = "set USE_BAZEL_VERSION, or point BAZELISK_BASE_URL at a mirror that has that Bazel"


class CompileError(TfwbError):
    exit_code = 16
    remedy = "read the error block above; the full log is in the build directory"


class OutOfMemoryError(CompileError):
    """The kernel's OOM killer ended a compile action (the build container's cgroup counted it)."""

    exit_code = 27
    remedy = "lower --jobs / --ram-mb, or give the build more memory (--memory, or a bigger engine)"


class CrossToolchainError(CompileError):
    """The checkout's cross toolchain names compilers or sysroots the cross builder does not have."""

    exit_code = 28
    remedy = ("use --mode emulated (or an arm64 engine): the cross builder carries clang at /usr/lib/llvm-N "
              "for the release's major and the /dt9, /dt10 sysroots, not what this toolchain names; or patch it")


class ToolchainError(TfwbError):
    """The builder lacks the compiler the release's recipe builds with, at the path upstream names."""

    exit_code = 35
    remedy = ("use the tool's own builder (drop --base-image/--builder-image), or one that has clang at "
              "/usr/lib/llvm-N as upstream's ml-build-arm64 image does; or --configure TF_NEED_CLANG=0 for GCC")


class ChecksumError(TfwbError):
    """A download is not the file its checksum names, or no checksum could be had for it."""

    exit_code = 29
    remedy = "check the URL and the --sha256 (or the SHA256SUMS beside the file); nothing was imported"


class RepairError(TfwbError):
    exit_code = 17
    remedy = "choose a --plat the build can reach, or --exclude the library auditwheel cannot graft"


class PageAlignmentError(RepairError):
    """An ELF file in the wheel cannot be mapped on a 64 KiB-page kernel (Grace, some Graviton/Ampere images)."""

    exit_code = 55
    remedy = ("link with -Wl,-z,max-page-size=65536 (GNU ld and lld default to it on aarch64; a flag or linker "
              "script forcing 4096 does not), or accept 4K-page-only systems with --allow-4k-pages")


class WheelTooLargeError(RepairError):
    """The repaired wheel is over the size limit (upstream's CI refuses arm64 wheels over its own)."""

    exit_code = 56
    remedy = "shrink the wheel (strip debug info, drop the largest members), or raise --max-wheel-size"


class RuntimeTestError(TfwbError):
    exit_code = 18
    remedy = "read the failing step above and the log; fix the wheel, its dependencies or the test command"


class WheelInputError(TfwbError):
    exit_code = 19
    remedy = "give a .whl file built for linux aarch64"


class OutputError(TfwbError):
    exit_code = 20
    remedy = "choose an --output directory you can write to"


class ConfigError(TfwbError):
    exit_code = 21
    remedy = "fix tfwheelbuild.toml (or [tool.tfwheelbuild] in pyproject.toml); README lists every key"


class PublishError(TfwbError):
    """The index could not take the upload (unreachable, refused, server error)."""

    exit_code = 22
    remedy = "check --index (URL or directory) and that the server is up; nothing was half-uploaded"


class CredentialsError(TfwbError):
    exit_code = 23
    remedy = "set TWINE_USERNAME/TWINE_PASSWORD, a keyring entry or ~/.pypirc for this index"


class VersionConflictError(TfwbError):
    exit_code = 24
    remedy = "the index already has a different file under this name; add --build-tag N or a local version"


class RemoteCacheError(TfwbError):
    exit_code = 25
    remedy = "check --remote-cache and that the server answers, or drop --remote-cache-required to build locally"


class ProjectNameError(TfwbError):
    """A distribution name no Linux aarch64 build can honour: not a valid name, or a macOS-only project."""

    exit_code = 26
    remedy = ("drop --project-name to build `tensorflow`, or name your own distribution, "
              "e.g. --project-name tensorflow-aarch64-internal")


class EngineUnavailableError(TfwbError):
    exit_code = 30
    remedy = "start Docker (scripts/setup-host.sh does it on Debian/Ubuntu) or set DOCKER_HOST"


class EmulationMissingError(TfwbError):
    exit_code = 31
    remedy = (
        "install arm64 emulation: apt-get install qemu-user-static binfmt-support && "
        "update-binfmts --enable qemu-aarch64 (or run scripts/setup-host.sh)"
    )


class ImageError(TfwbError):
    exit_code = 32
    remedy = "check the base image and the mirror; the image build log is in the build directory"


class BaseBootstrapError(TfwbError):
    exit_code = 33
    remedy = "install debootstrap and run as root, or pass --base-image with an arm64 image you have"


class EngineError(TfwbError):
    """The engine failed under us (daemon gone, disk full): infrastructure, worth a retry."""

    exit_code = 34
    remedy = "check `docker info` and free disk space, then rerun (caches are kept)"


class EngineSetupError(TfwbError):
    """The engine answers but cannot start containers as it is set up (Podman without its init binary, a
    host that forbids the resource limits it asks for): the host's configuration, not worth a retry."""

    exit_code = 37
    remedy = "fix the engine's configuration (README, Podman), then rerun"


class DiskFullError(EngineError):
    """No space left where the build writes: a cache volume, the engine's storage, the output dir."""

    exit_code = 36
    remedy = ("free space: `tfwheelbuild cache --prune --older-than 30d`, `tfwheelbuild images --prune`, "
              "`docker system df`; then rerun (nothing half-written was kept)")


class InferenceError(TfwbError):
    """A release with no written recipe whose checkout does not settle a fact the build needs."""

    exit_code = 45
    remedy = "give the fact in a --recipe FILE table for the release"


class CustomPythonError(TfwbError):
    """A Python the hermetic release ships no lock for, which the builder cannot supply: no interpreter of
    that version, no requirements input to lock, or a lock that does not resolve from the index."""

    exit_code = 46
    remedy = ("build for a Python the release lists (`tfwheelbuild versions`), or use a builder base that has "
              "that Python (--base-image; `base bootstrap --suite sid` has python3.14)")


class Interrupted(TfwbError):
    exit_code = 130
    remedy = "rerun the same command: it resumes from the caches"


class DepsMismatchError(TfwbError):
    """A deps bundle made for another release, Python or Bazel (or not a bundle at all)."""

    exit_code = 40
    remedy = "fetch a bundle for this build on a connected host: `tfwheelbuild fetch --tf X.Y.Z --py 3.N --out PATH`"


class DepsCorruptError(TfwbError):
    """A bundle file whose bytes do not match the sha256 the manifest (and its cache path) names."""

    exit_code = 41
    remedy = "copy the bundle again, or rerun `tfwheelbuild fetch` into it (it replaces what does not match)"


class DepsMissingError(TfwbError):
    """The offline build needed an archive the bundle lacks."""

    exit_code = 42
    remedy = "add it on a connected host with `tfwheelbuild fetch` for this release and Python, then copy the bundle"


class MirrorError(TfwbError):
    """--bazel-mirror does not answer, refuses our credentials, or is not a URL."""

    exit_code = 43
    remedy = ("check --bazel-mirror (http(s)://host[:port]/path) and that it answers; put credentials in "
              "~/.netrc (machine HOST login USER password SECRET), never in the URL")
# ---- images for users (`tfwheelbuild image`, `build --image`): exit codes 50-54 ------------------------
class ImageTagError(TfwbError):
    """--tag is no reference the engine and a registry would accept."""

    exit_code = 50
    remedy = "give REGISTRY/NAME:TAG in lowercase, e.g. registry.internal:5000/ml/tensorflow:2.16.1-py3.11"


class RegistryCredentialsError(TfwbError):
    """The registry asks for credentials and none are known for it."""

    exit_code = 51
    remedy = ("`docker login REGISTRY` (the engine's own ~/.docker/config.json), or --registry-auth FILE with a "
              "config.json-style `auths` entry for it; never a password on the command line")


class RegistryUnreachableError(TfwbError):
    exit_code = 52
    remedy = "check the registry's host and port in --tag and that it answers (GET /v2/), then rerun"


class ImagePythonError(TfwbError):
    """A wheel built for another Python than the image's interpreter."""

    exit_code = 53
    remedy = "give a wheel built for the image's Python, or --py with the wheel's Python (cp311 is --py 3.11)"


class PushError(TfwbError):
    """The registry refused or dropped the push; the image stays on the local engine."""

    exit_code = 54
    remedy = "the image is kept locally: fix the registry or its credentials, then `docker push` it (or rerun)"
