"""The build service: one matrix entry's work, the one path `build` and `nightly` both take.

Recipe (written, `--recipe FILE`, or inferred from the checkout), the release's Python range, the
options, then build or skip by key, publish and verify, record, image. The pieces that touch the
engine or the index come in as functions (`attempt`, `record`), so the order and the recording
policy are unit-tested without either.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from packaging.utils import parse_wheel_filename

from tfwheelbuild.core.config import Settings
from tfwheelbuild.errors import TfwbError
from tfwheelbuild.index.publish import index_files
from tfwheelbuild.index.simple import LocalIndex
from tfwheelbuild.index.target import IndexTarget
from tfwheelbuild.plan import BuildOptions, PatchFile
from tfwheelbuild.recipes import Recipe
from tfwheelbuild.results import BuildResult, EntryResult, Published
from tfwheelbuild.runs.entry import EntryRecord
from tfwheelbuild.runs.history import History, now_iso

Say = Callable[[str], None]

# The two flags of a request that `build` and `nightly` both take, with one help text.
RECIPE_HELP = ("TOML recipe overrides, or `infer`: derive the recipe from the checkout (the default for a release "
               "with no recipe).")
ALLOW_UNSUPPORTED_HELP = "Build a Python outside the release's range."


@dataclass(frozen=True, kw_only=True)
class BuildRequest:
    """What the command line asked of one entry (the settings cascade comes separately)."""

    tf_version: str
    python: str
    recipe_file: Path | None = None  # a TOML override file, or `infer`
    allow_unsupported_python: bool = False
    nightly_date: str = ""
    force: bool = False
    quiet: bool = False
    verbose: bool = False
    keep_container: bool = False
    retest: bool = False
    publish: bool = False
    verify: bool = True
    image_tag: str = ""
    push_image: bool = False
    registry_auth: Path | None = None

    @property
    def identifier(self) -> str:
        return f"{self.tf_version}-py{self.python}"


@dataclass(frozen=True, kw_only=True)
class Prepared:
    opts: BuildOptions
    recipe: Recipe
    patches: tuple[PatchFile, ...]


class Attempt(Protocol):
    def __call__(self, prepared: Prepared, request: BuildRequest, settings: Settings, *, target: IndexTarget | None,
                 history: History | None, say: Say) -> tuple[BuildResult, Published | None]: ...


class Recorder(Protocol):
    def __call__(self, entry: EntryRecord, *, started: str, report_dir: Path) -> Path: ...


def choose_recipe(request: BuildRequest) -> tuple[Recipe | None, Callable[[str, str], Recipe] | None]:
    """The written recipe, checked against the release's Pythons now; an inferred one is checked in `prepare`."""
    from tfwheelbuild.recipes import check_python
    from tfwheelbuild.recipes.infer import wanted_recipe

    recipe, infer = wanted_recipe(request.tf_version, request.recipe_file)
    if recipe is not None and not infer:
        check_python(recipe, request.python, allow_unsupported=request.allow_unsupported_python)
    return recipe, infer


def prepare(request: BuildRequest, settings: Settings, *, explain: Say | None, probe: bool = True,
            chosen: tuple[Recipe | None, Callable[[str, str], Recipe] | None] | None = None) -> Prepared:
    """Options, recipe and patches, every input refused here that would fail the build later.

    `explain` hears what inference found; `probe` asks a --bazel-mirror whether it answers; `chosen` is
    `choose_recipe`'s answer when the caller asked it first.
    """
    from tfwheelbuild.buildopts import build_options
    from tfwheelbuild.core.patchset import find_patches
    from tfwheelbuild.plan import check_mode, nightly_repo_env
    from tfwheelbuild.recipes import check_python
    from tfwheelbuild.recipes.infer import inference_lines

    recipe, infer = chosen or choose_recipe(request)
    opts = build_options(request.tf_version, request.python, settings, nightly_date=request.nightly_date)
    if infer:  # no written recipe, or --recipe infer: the checkout says how it builds
        recipe = infer(opts.source, opts.ref)
        check_python(recipe, request.python, allow_unsupported=request.allow_unsupported_python)
        if explain is not None:
            for line in inference_lines(recipe):
                explain(line)
    assert recipe is not None
    nightly_repo_env(recipe, opts.nightly_date)  # bad dates and pre-2.20 releases fail before any work
    check_mode(opts, recipe)  # before the engine is asked: with no engine, the user's real mistake comes first
    if opts.deps is not None:  # another release's or Python's bundle, or a corrupt one: refused before any work
        from tfwheelbuild.artifacts.deps import check_bundle

        check_bundle(opts.deps, opts.tf_version, opts.python)
    elif opts.bazel_mirror and probe:
        from tfwheelbuild.artifacts.deps import probe_mirror

        probe_mirror(opts.bazel_mirror)
    patches = find_patches(recipe.release, opts.patch_dirs, include_default=opts.default_patches)
    return Prepared(opts=opts, recipe=recipe, patches=tuple(patches))


def run_entry(prepared: Prepared, request: BuildRequest, settings: Settings, *, target: IndexTarget | None = None,
              history: History | None = None, say: Say, record: Recorder | None = None,
              attempt: Attempt | None = None) -> EntryResult:
    """Build (or skip) one prepared entry, publish it when asked, record it when `record` is given, image it.

    With `request.publish` and no `target`, the index comes from the settings; without `history` the
    service opens the run history for the index's records itself.
    """
    from tfwheelbuild.index.target import resolve_index
    from tfwheelbuild.userimage.job import check_build_image, image_after_build

    image_request = check_build_image(request.image_tag, python=request.python, push=request.push_image,
                                      registry_auth=request.registry_auth)
    if request.publish and target is None:
        target = resolve_index(settings["index"])  # a bad --index fails before the build
    started = now_iso()

    def keep(entry: EntryRecord, build_dir: Path) -> str:
        # Best effort: a history that cannot be written must not fail a build that succeeded.
        assert record is not None
        try:
            return str(record(entry, started=started, report_dir=build_dir))
        except TfwbError as exc:
            say(f"warning: not recorded in the run history: {exc.message}")
            return ""

    try:
        build, published = (attempt or build_and_publish)(prepared, request, settings, target=target,
                                                          history=history, say=say)
    except TfwbError as exc:
        if record is not None and exc.log_path:  # it got as far as a build directory
            keep(failed_record(request.tf_version, request.python, exc), Path(exc.log_path).parent)
        raise
    result = EntryResult(build=build, published=published)
    if record is not None and build.log:
        result = EntryResult(build=build, published=published,
                             report=keep(entry_record(result, request.tf_version, request.python),
                                         Path(build.log).parent))
    wheel = Path(build.wheel)
    if image_request is not None and wheel.is_file():
        image = image_after_build(image_request, wheel, base_image=settings["base-image"], mirror=settings["mirror"],
                                  work_dir=settings["work-dir"], verbose=request.verbose,
                                  installer=settings["installer"], index_url=settings["index-url"])
        result = EntryResult(build=build, published=published, report=result.report, image=image)
    elif image_request is not None:
        say(f"no image: the wheel is on the index, not in the output dir ({wheel.name})")
    return result


def build_and_publish(prepared: Prepared, request: BuildRequest, settings: Settings, *, target: IndexTarget | None,
                      history: History | None, say: Say) -> tuple[BuildResult, Published | None]:
    """The engine's part: pin the source, build or skip by key (in the output dir, and on the index when
    publishing), then publish a wheel the index lacks and install it back."""
    from tfwheelbuild.artifacts.manifest import check_writable
    from tfwheelbuild.pipeline.run import run_build

    check_writable(prepared.opts.output)
    opts, commit = pin_source(prepared.opts, prepared.recipe, say)

    def build(in_index: Callable[[str], str | None] | None) -> BuildResult:
        return run_build(opts, prepared.recipe, prepared.patches, commit=commit, force=request.force,
                         quiet=request.quiet, verbose=request.verbose, in_index=in_index,
                         keep_container=request.keep_container, retest=request.retest)

    if target is None:
        return build(None), None
    with ExitStack() as stack:
        records = history if history is not None else stack.enter_context(History())
        result = build(index_lookup(target, records))
        if result.where == "index":  # a wheel in the output dir was tested when it was built
            return result, None
        wheel = Path(result.wheel)
        say(f"▶ publish {wheel.name} to {target.display}")
        return result, publish_and_verify(wheel, result.build_key, target, records, verify=request.verify,
                                          settings=settings, verbose=request.verbose)


def entry_record(result: EntryResult, tf_version: str, python: str) -> EntryRecord:
    """A build (built or skipped, maybe published) as the history's, report's and nightly's record."""
    build = result.build
    wheel = Path(build.wheel)
    published = result.published
    return EntryRecord(identifier=f"{tf_version}-py{python}", tf_version=tf_version, python=python,
                       status=build.status, where=build.where,
                       published=published.status if published else "",
                       verified=published is not None and published.verified is not None, seconds=build.seconds,
                       wheel=wheel.name, wheel_size=wheel.stat().st_size if wheel.is_file() else 0,
                       build_key=build.build_key, log_path=build.log, manifest_path=build.manifest,
                       stages=tuple((name, float(sec), "passed") for name, sec in build.stages))


def failed_record(tf_version: str, python: str, error: TfwbError) -> EntryRecord:
    return EntryRecord(identifier=f"{tf_version}-py{python}", tf_version=tf_version, python=python,
                       status="failed", error=error.message, exit_code=error.exit_code, log_path=error.log_path)


def pin_source(opts: BuildOptions, recipe: Recipe, say: Callable[[str], None]) -> tuple[BuildOptions, str]:
    """Resolve the ref on the host (and check the remote cache): (options naming the full ref, its commit).

    A branch (tracking `r2.20` or `master`) builds its newest commit with a nightly version stamp,
    through the release's own ML_WHEEL_TYPE where it has one (2.20+), as tf-nightly does.
    """
    from tfwheelbuild.core.remote import remote_plan
    from tfwheelbuild.core.validate import release_tag
    from tfwheelbuild.engine.preflight import check_remote, resolve_ref

    check_remote(remote_plan(opts), say)
    full, commit = resolve_ref(opts.source, opts.ref or release_tag(opts.tf_version))
    if full.startswith("refs/heads/") and not opts.nightly_date:
        if recipe.wheel_type_env:
            opts = replace(opts, nightly_date=today())
            say(f"branch {full.removeprefix('refs/heads/')} @ {commit[:12]}: stamping {opts.tf_version}.dev"
                f"{opts.nightly_date}")
        else:
            say(f"note: TensorFlow {recipe.release} has no ML_WHEEL_TYPE, so branch builds carry the plain "
                f"version {opts.tf_version} (an index refuses a second, different file under it)")
    return replace(opts, ref=full), commit


def today() -> str:
    return time.strftime("%Y%m%d", time.gmtime())


def index_lookup(target: IndexTarget, history: History) -> Callable[[str], str | None]:
    """build key -> the file name the index holds for it, or None.

    A directory index is asked directly (manifests beside its wheels carry the key). A remote
    index only lists files, so the history's record of what was published there under the key is
    checked against the index's own listing: a wheel deleted from the index is built again.
    """

    def lookup(key: str) -> str | None:
        if target.kind == "local":
            found = LocalIndex(Path(target.location)).find_build_key(key)
            return found.filename if found else None
        record = history.published(key, target.display)
        if record is None:
            return None
        wheel, sha256 = record
        listed = index_files(target, str(parse_wheel_filename(wheel)[0]), env=os.environ)
        return wheel if wheel in listed and listed[wheel] in ("", sha256) else None

    return lookup


def publish_and_verify(wheel: Path, build_key: str, target: IndexTarget, history: History, *, verify: bool,
                       settings: Settings, verbose: bool = False) -> Published:
    """Publish a tested wheel, record it under its key, then install it back from the index."""
    from tfwheelbuild.index.publish import publish, verify_published
    from tfwheelbuild.index.verify import verify_from_index

    result = publish([wheel], target)[0]
    history.record_published(build_key, target.display, wheel.name, result.sha256)
    verified = verify_published(result, target, lambda: verify_from_index(
        wheel, target, base_image=settings["base-image"], mirror=settings["mirror"],
        index_url=settings["index-url"], work_dir=settings["work-dir"], verbose=verbose)) if verify else None
    return Published(status=result.status, index=result.index, simple_url=result.simple_url, verified=verified)
