"""README's configuration reference is generated from the option definitions: it must not drift."""

from __future__ import annotations

import re
from pathlib import Path

from tfwheelbuild.core.option_docs import reference_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_reference_matches_the_options() -> None:
    text = README.read_text()
    found = re.search(r"<!-- config-reference:start -->\n(.*?)\n<!-- config-reference:end -->", text, re.DOTALL)
    assert found, "README.md lost its config-reference markers"
    assert found.group(1).strip() == reference_markdown().strip(), (
        "README's configuration reference is stale: paste the output of "
        "`python -c 'from tfwheelbuild.core.option_docs import reference_markdown; print(reference_markdown())'`")
