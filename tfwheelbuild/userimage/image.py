"""Ready-to-run arm64 images for users: the clean runtime image, the wheel in a venv, a non-root user.

`tfwheelbuild image WHEEL… --tag REG/NAME:TAG [--push]` and `build … --image TAG`. The tag and the
wheels' Python are checked here (the registry's answer and credentials in registry.py) before the engine
builds anything; the functions above `build_user_image` are pure or read only the host.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfwheelbuild.artifacts.wheelinfo import WheelInfo
from tfwheelbuild.engine.client import USER_IMAGE_ROLE
from tfwheelbuild.engine.records import TOOLS_ROLE
from tfwheelbuild.errors import (
    ImageError,
    ImagePythonError,
    ImageTagError,
    PushError,
)
from tfwheelbuild.util import resources

# A reference with no registry names the engine's default one: the engine alone knows where that is (the
# tool writes no registry's host name), so it is probed by the push itself, and its credentials are the
# config.json entry the docker CLI keys by that index's URL (https://HOST/v1/).
DEFAULT_REGISTRY = ""
VENV = "/opt/venv"

# The distribution spec's grammar (reference.go): a path of lowercase components, a tag of at most 128.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d+)?"
_TAG = r"[\w][\w.-]{0,127}"
_REFERENCE = re.compile(rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*):(?P<tag>{_TAG})")


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    registry: str  # host[:port] as written, or DEFAULT_REGISTRY
    repository: str  # the path, with the registry when one was written
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def loopback(self) -> bool:
        host = self.registry.rsplit(":", 1)[0] if not self.registry.startswith("[") else self.registry
        return host in ("localhost", "127.0.0.1", "[::1]") or host.startswith("127.")


def parse_tag(text: str) -> ImageRef:
    """`--tag` as the engine and a registry will take it, else ImageTagError (exit 50) naming why."""
    value = text.strip()
    if "@" in value:
        raise ImageTagError(f"--tag {text!r}: a digest names an image that exists; give a tag (NAME:TAG)")
    if ":" not in value.rsplit("/", 1)[-1]:
        raise ImageTagError(f"--tag {text!r} has no tag: give NAME:TAG, e.g. {value or 'NAME'}:2.16.1 "
                            "(an implicit `latest` would be overwritten by the next image)")
    match = _REFERENCE.fullmatch(value)
    if match is None:
        lower = value.lower() != value and _REFERENCE.fullmatch(_lower_path(value))
        why = "repository names are lowercase" if lower else "not an image reference"
        raise ImageTagError(f"--tag {text!r}: {why} ([REGISTRY[:PORT]/]PATH:TAG; path components of a-z 0-9 "
                            "and . _ -; a tag of at most 128 letters, digits, _ . -)")
    domain = match["domain"] or ""
    # As the engine reads it: a first component with no dot, no port and not localhost is a Hub path.
    if domain and not ("." in domain or ":" in domain or domain == "localhost"):
        if domain.lower() != domain:
            raise ImageTagError(f"--tag {text!r}: repository names are lowercase")
        return ImageRef(registry=DEFAULT_REGISTRY, repository=f"{domain}/{match['path']}", tag=match["tag"])
    return ImageRef(registry=domain or DEFAULT_REGISTRY,
                    repository=f"{domain}/{match['path']}" if domain else match["path"], tag=match["tag"])


def _lower_path(value: str) -> str:
    head, _, tail = value.rpartition(":")
    return head.lower() + ":" + tail


def image_python(wheels: list[WheelInfo], python: str) -> str:
    """The image's Python: `python` ("3.11") or the first wheel's CPython tag; every wheel must fit it.

    Checked before anything is built: pip inside the image would refuse such a wheel only after the
    runtime base and a venv were made.
    """
    chosen = python
    for info in wheels:
        cps = [t for t in info.pythons if t.startswith("cp") and t[2:].isdigit()]
        if not chosen and cps:
            chosen = f"{cps[0][2]}.{cps[0][3:]}"
        if chosen and cps and f"cp{chosen.replace('.', '')}" not in cps:
            found = ", ".join(f"{t[2]}.{t[3:]}" for t in cps)
            raise ImagePythonError(f"{info.path.name} is built for Python {found}; the image's Python is {chosen}")
    if not chosen:
        raise ImagePythonError("none of the wheels names a CPython version (cpXY): cannot choose the image's Python",
                               remedy="pass --py, e.g. --py 3.11")
    return chosen


def oci_labels(main: WheelInfo, manifest: dict[str, Any], *, epoch: str, base: str) -> dict[str, str]:
    """OCI annotations and our own: where the wheel came from (its manifest, when it sits beside it)."""
    source = dict(manifest.get("source") or {})
    created = (datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch
               else datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {
        "org.opencontainers.image.title": main.name,
        "org.opencontainers.image.version": main.version,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.base.name": base,
        "org.tfwheelbuild.role": USER_IMAGE_ROLE,
        "org.tfwheelbuild.wheel": main.path.name,
        "org.tfwheelbuild.wheel.sha256": main.sha256,
    }
    if source.get("url"):
        labels["org.opencontainers.image.source"] = str(source["url"])
    if source.get("commit"):
        labels["org.opencontainers.image.revision"] = str(source["commit"])
    if manifest.get("build_key"):
        labels["org.tfwheelbuild.build-key"] = str(manifest["build_key"])
    return labels


def wheel_manifest(wheel: Path) -> dict[str, Any]:
    """The provenance record the build wrote beside the wheel, or {} (a wheel from elsewhere)."""
    path = wheel.with_name(wheel.name + ".manifest.json")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def install_command(python: str, wheels: list[str], *, uv: bool) -> str:
    """The install stage's shell command: a venv from the image's own Python, then the wheels and their
    dependencies from the index. With uv (issue 17: pip's own Python under emulation is most of the time)
    the venv is seeded with pip, as `python -m venv` makes it, so users can add packages on top."""
    paths = " ".join(f"/wheels/{w}" for w in wheels)
    if not uv:
        return (f"python{python} -m venv {VENV} && {VENV}/bin/python -m pip install --no-cache-dir "
                f"--disable-pip-version-check --progress-bar off {paths}")
    from tfwheelbuild.engine.installer import UV_SETTINGS

    settings = " ".join(f"{k}={v}" for k, v in {**UV_SETTINGS, "UV_NO_CACHE": "1"}.items())  # no cache in a layer
    return (f"export {settings} "
            '&& if [ -n "$PIP_INDEX_URL" ]; then export UV_DEFAULT_INDEX="$PIP_INDEX_URL"; fi '
            f"&& /wheels/tools/uv venv --seed --python python{python} {VENV} "
            f"&& /wheels/tools/uv pip install --python {VENV}/bin/python {paths}")


def uv_image_tag() -> str:
    """The tool's one-file image of the pinned uv binary: the install stage copies uv from it, so a warm
    image build sends only the wheels as its context (the binary is 40 MB), and the layer cache keys it
    by the image's id."""
    from tfwheelbuild.engine.installer import UV_VERSION, UV_WHEEL_SHA256

    return f"tfwheelbuild/uv:{UV_VERSION}-{UV_WHEEL_SHA256[:12]}"


def render(runtime: str, python: str, wheels: list[str], ca_bundle: Path | None = None,
           uv_image: str = "") -> dict[str, bytes]:
    """The image's build context: its Dockerfile (the wheels are added by the caller). Pure but for reading
    the CA bundle. `uv_image`: install with uv, copied from that image; "": with pip."""
    text = resources.buildenv("image.Dockerfile").read_text()
    values = {"RUNTIME": runtime, "PY": python, "VENV": VENV,
              "TOOLS": f"COPY --from={uv_image} /uv /wheels/tools/uv" if uv_image else "",
              "INSTALL": install_command(python, wheels, uv=bool(uv_image))}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    ca = ca_bundle.read_bytes() if ca_bundle and ca_bundle.is_file() else b""
    return {"Dockerfile": text.encode(), "ca-bundle.pem": ca}


def ensure_uv_image(engine: Any, log: Any, uv: Path) -> str:
    """The one-file uv image, built once from the cached binary (FROM scratch); its tag."""
    import tempfile

    tag = uv_image_tag()
    if engine.image_id(tag) is None:
        with tempfile.TemporaryDirectory(prefix="tfwb-uv-image-") as tmp:
            context = Path(tmp)
            (context / "Dockerfile").write_text("FROM scratch\nCOPY uv /uv\n")
            (context / "uv").write_bytes(uv.read_bytes())
            (context / "uv").chmod(0o755)
            engine.build_image(context, tag, sink=log.line, labels={"org.tfwheelbuild.role": TOOLS_ROLE})
    return tag


# ---- building and pushing -----------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ImageResult:
    tag: str
    image_id: str
    size: int
    seconds: float
    labels: dict[str, str]
    pushed: str = ""  # the digest the registry answered


def build_user_image(engine: Any, log: Any, *, runtime: str, python: str, wheels: list[WheelInfo],
                     ref: ImageRef, labels: dict[str, str], build_args: dict[str, str],
                     ca_bundle: Path | None, uv: Path | None = None) -> ImageResult:
    import tempfile

    started = time.monotonic()
    files = render(runtime, python, [w.path.name for w in wheels], ca_bundle,
                   ensure_uv_image(engine, log, uv) if uv is not None else "")
    with tempfile.TemporaryDirectory(prefix="tfwb-image-") as tmp:
        context = Path(tmp)
        (context / "wheels").mkdir()
        for name, data in files.items():
            (context / name).write_bytes(data)
        for info in wheels:
            # A hard link where the file system allows it: a TensorFlow wheel is hundreds of MB.
            target = context / "wheels" / info.path.name
            try:
                os.link(info.path, target)
            except OSError:
                import shutil

                shutil.copyfile(info.path, target)
        log.say(f"building image {ref.ref} from {runtime} (the wheel installs under emulation: minutes for TensorFlow)")
        mark = log.mark()
        try:
            image_id = engine.build_image(context, ref.ref, sink=log.line, labels=labels, build_args=build_args)
        except ImageError as exc:
            raise explain_install(exc, log.since(mark)) from exc
    size = engine.image_size(ref.ref)
    return ImageResult(tag=ref.ref, image_id=image_id, size=size, seconds=round(time.monotonic() - started, 1),
                       labels=labels)


def explain_install(exc: ImageError, output: list[str]) -> ImageError:
    """The installer's own last error line (a dependency the index lacks, a wheel it refuses), not the shell's:
    pip's `ERROR: …`, uv's `error: …` (or `× …` with its reason on the lines after)."""
    clean = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in output]
    errors = [line.split("ERROR:", 1)[1].strip() for line in clean if "ERROR:" in line]
    errors += [line.split("error:", 1)[1].strip() for line in clean if line.startswith("error:")]
    for at, line in enumerate(clean):
        if line.startswith("× ") or line.startswith("x "):
            errors.append(" ".join([line[2:].strip(), *(ln.lstrip("╰─▶ ").strip() for ln in clean[at + 1:at + 3]
                                                          if ln.startswith("╰─▶"))]))
    if not errors:
        return exc
    return ImageError(f"installing the wheel into the image failed: {errors[-1]}",
                      remedy="the wheel's dependencies must resolve from the package index (PIP_INDEX_URL, a proxy's "
                             "CA in /etc/ssl/certs): `tfwheelbuild test WHEEL` shows the same install step")


def push_user_image(engine: Any, log: Any, ref: ImageRef, creds: dict[str, str] | None) -> str:
    """Push; a refusal keeps the local image and says so (exit 54)."""
    log.say(f"pushing {ref.ref}")
    try:
        return str(engine.push(ref.ref, auth=creds, sink=log.line))
    except PushError as exc:
        exc.message = f"{exc.message}; the image {ref.ref} is kept on the local engine"
        raise
