"""`tfwheelbuild versions`: one row per release (its JSON form) and the plain-text table of them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from tfwheelbuild.recipes.model import Recipe, release_sort_key

__all__ = ["format_versions_table", "versions_rows"]

_PYTHON_SELECTION_HOST = "host (configure)"
_COLUMNS = (
    ("release", "release", ""),
    ("bazel", "Bazel", "bazel"),
    ("pythons", "Pythons", "pythons"),
    ("target", "target style", "target"),
    ("python_selection", "Python selection", "python_env"),
    ("toolchain", "upstream toolchain", "compiler"),
    ("release_config", "release config", "release_config"),
    ("manylinux", "manylinux", "manylinux"),
)


def versions_rows(recipes: Mapping[str, Recipe]) -> list[dict[str, object]]:
    """One JSON-ready row per release, in release order (what `versions --json` prints)."""
    rows: list[dict[str, object]] = []
    for release in sorted(recipes, key=release_sort_key):
        r = recipes[release]
        rows.append({
            "release": r.release,
            "bazel": r.bazel,
            "pythons": list(r.pythons),
            "target": r.target,
            "python_selection": r.python_env or _PYTHON_SELECTION_HOST,
            "toolchain": f"{r.compiler} {r.compiler_version} + {r.linker}, sysroot {r.sysroot}",
            "compiler": r.compiler,
            "compiler_version": r.compiler_version,
            "linker": r.linker,
            "sysroot": r.sysroot,
            "release_config": r.release_config or "-",
            "manylinux": r.manylinux,
            "wheel_name": r.wheel_name,
            "cross_config": r.cross_config,
            "cross_clang": (r.cross_clang or r.compiler_major) if r.compiler == "clang" else "",
            "uncertain": list(r.uncertain),
            "recipe_version": r.recipe_version,
        })
    return rows


def _python_span(pythons: list[str]) -> str:
    """'3.9-3.12' for a contiguous run of 3.X versions, else the list."""
    try:
        parts = [tuple(int(n) for n in p.split(".")) for p in pythons]
    except ValueError:
        return ", ".join(pythons)
    contiguous = len(parts) > 1 and all(
        b[0] == a[0] and b[1] == a[1] + 1 for a, b in itertools.pairwise(parts)
    )
    return f"{pythons[0]}-{pythons[-1]}" if contiguous else ", ".join(pythons)


def _cell(row: Mapping[str, object], key: str) -> str:
    value = row.get(key, "")
    if key == "pythons" and isinstance(value, list):
        return _python_span([str(v) for v in value])
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def format_versions_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of `versions_rows`; '*' marks an uncertain (overridable) value."""
    header = [title for _, title, _ in _COLUMNS]
    body: list[list[str]] = []
    any_uncertain = False
    for row in rows:
        uncertain_raw = row.get("uncertain", [])
        uncertain = {str(u) for u in uncertain_raw} if isinstance(uncertain_raw, list | tuple) else set()
        cells = []
        for key, _, recipe_key in _COLUMNS:
            cell = _cell(row, key)
            if recipe_key and recipe_key in uncertain:
                cell += "*"
                any_uncertain = True
            cells.append(cell)
        body.append(cells)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(c) for c in body)]
    if any_uncertain:
        lines.append("")
        lines.append("* uncertain (inferred, not checked against a primary source); "
                     "override it with --recipe FILE")
    return "\n".join(lines)
