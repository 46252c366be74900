"""GitHub Actions folding and step summary."""

from __future__ import annotations

from pathlib import Path

from tfwheelbuild.util.ci import endgroup, github_actions, group, step_summary, write_step_summary


def test_detection() -> None:
    assert github_actions({"GITHUB_ACTIONS": "true"}) and not github_actions({})


def test_workflow_commands() -> None:
    assert group("compile") == "::group::compile" and endgroup() == "::endgroup::"


def test_summary_table_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    md = step_summary("tfwheelbuild: TensorFlow 2.16.1", [("images", 1.25, True), ("compile", 60.0, False)],
                      {"wheel": "dist/tf.whl", "build key": ""})
    write_step_summary(md, {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.startswith("earlier step\n### tfwheelbuild: TensorFlow 2.16.1")
    assert "| images | 1.2 s | ✅ |" in text and "| compile | 60.0 s | ❌ |" in text
    assert "`dist/tf.whl`" in text and "build key" not in text  # empty facts are left out


def test_no_summary_file_no_write(tmp_path: Path) -> None:
    write_step_summary("x", {})  # outside Actions: nothing to do, no error
