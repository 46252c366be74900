"""Which base image a build stands on, and what it says about it: a registry is still tried for the
default (ubuntu:22.04) but, with the Debian fallback already here, its failure is one brief line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tfwheelbuild.engine import imagebuild as images
from tfwheelbuild.errors import ImageError
from tfwheelbuild.pipeline.buildlog import BuildLog
from tfwheelbuild.plan import base_plan


class Engine:
    def __init__(self, local: dict[str, str], registry: bool) -> None:
        self.local = dict(local)  # ref -> id
        self.registry = registry
        self.pulls: list[str] = []

    def image_id(self, ref: str) -> str | None:
        return self.local.get(ref)

    def pull(self, ref: str, platform: str) -> str:
        self.pulls.append(ref)
        if not self.registry:
            raise ImageError(f"cannot pull {ref} for {platform}: dial tcp: lookup registry: no such host")
        self.local[ref] = f"sha256:{ref}"
        return self.local[ref]

    def image_arch(self, _ref: str) -> str:
        return "arm64"


def _choose(engine: Engine, tmp_path: Path) -> tuple[tuple[str, str], list[str]]:
    out = io.StringIO()
    log = BuildLog(tmp_path / "build.log", stream=out)
    try:
        plan = base_plan("", "http://mirror.example.invalid/debian", "3.11")
        chosen = images.ensure_base(engine, log, plan, "3.11")  # type: ignore[arg-type]
    finally:
        log.close()
    return chosen, out.getvalue().splitlines()


def test_local_fallback_without_a_registry_is_one_line(tmp_path: Path) -> None:
    engine = Engine({"tfwheelbuild/base:bookworm-arm64": "sha256:deb"}, registry=False)
    (ref, image_id), said = _choose(engine, tmp_path)
    assert (ref, image_id) == ("tfwheelbuild/base:bookworm-arm64", "sha256:deb")
    assert engine.pulls == ["ubuntu:22.04"]  # still asked: the default wins once a registry answers
    assert said == ["base: tfwheelbuild/base:bookworm-arm64 (ubuntu:22.04 cannot be pulled here; "
                    "--base-image chooses)"]
    assert "no such host" in (tmp_path / "build.log").read_text()  # the reason is in the log


def test_a_registry_that_answers_still_gives_the_default(tmp_path: Path) -> None:
    engine = Engine({"tfwheelbuild/base:bookworm-arm64": "sha256:deb"}, registry=True)
    (ref, _), said = _choose(engine, tmp_path)
    assert ref == "ubuntu:22.04"
    assert said == ["base: pulled ubuntu:22.04 (a registry answers now; it is used instead of "
                    "tfwheelbuild/base:bookworm-arm64)"]


def test_no_fallback_yet_says_it_pulls_then_bootstraps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "bootstrap_base", lambda *_a, **_kw: "sha256:new")
    (ref, image_id), said = _choose(Engine({}, registry=False), tmp_path)
    assert (ref, image_id) == ("tfwheelbuild/base:bookworm-arm64", "sha256:new")
    assert said[0] == "pulling ubuntu:22.04 (linux/arm64)" and said[1].startswith("cannot pull ubuntu:22.04: falling")
