"""The report of one run: report.json for machines, report.html for people.

The HTML is one self-contained file (inline CSS and SVG, no script, no external URL) so it opens
from a CI artifact or a file:// link as is. Ids and classes are stable: tests render the page in a
headless browser and find the table, rows and charts by them.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.request import pathname2url

from tfwheelbuild.artifacts.manifest import atomic_write_bytes
from tfwheelbuild.runs.entry import REPORT_FIELDS, EntryRecord, view

REPORT_VERSION = 1
Trend = list[tuple[str, float]]  # (run start, seconds), oldest first

CHART_WIDTH = 600.0
CHART_HEIGHT = 22.0
TREND_WIDTH = 180.0
TREND_HEIGHT = 40.0
TREND_PAD = 4.0
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac", "#e15759")

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td.error { font-family: monospace; color: #b00020; white-space: pre-wrap; }
.status { font-weight: 600; }
.status-built, .status-published, .status-ok { color: #1b7f3b; }
.status-failed { color: #b00020; }
.status-skipped { color: #777; }
.entry-charts { margin: 1em 0; }
.entry-charts h2 { font-size: 1em; margin: 0.3em 0; }
rect.stage[data-status="failed"] { stroke: #b00020; stroke-width: 2; }
polyline.trend { fill: none; stroke: #4e79a7; stroke-width: 1.5; }
circle.trend-point { fill: #4e79a7; }
ul.legend { list-style: none; padding: 0; margin: 0.2em 0; display: flex; flex-wrap: wrap; gap: 0.8em; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; }
"""


@dataclass(frozen=True, kw_only=True)
class RunReport:
    kind: str  # build | nightly
    started: str  # ISO 8601
    finished: str
    status: str
    entries: tuple[EntryRecord, ...] = ()


def write_report(directory: Path, run: RunReport,
                 trends: Mapping[str, Trend] | None = None) -> tuple[Path, Path]:
    """Write report.json and report.html into `directory`; returns (json path, html path)."""
    trends = trends or {}
    json_path, html_path = directory / "report.json", directory / "report.html"
    atomic_write_bytes(json_path, (json.dumps(report_data(run, trends), indent=2, sort_keys=True) + "\n").encode())
    atomic_write_bytes(html_path, render_html(run, trends, directory).encode())
    return json_path, html_path


def report_data(run: RunReport, trends: Mapping[str, Trend]) -> dict[str, object]:
    data: dict[str, object] = {"kind": run.kind, "started": run.started, "finished": run.finished,
                               "status": run.status, "entries": [
                                   {**view(entry, REPORT_FIELDS), "stages": [
                                       {"name": n, "seconds": s, "status": st} for n, s, st in entry.stages]}
                                   for entry in run.entries]}
    data["trends"] = {key: [[started, seconds] for started, seconds in points] for key, points in trends.items()}
    data["report_version"] = REPORT_VERSION
    return data


def render_html(run: RunReport, trends: Mapping[str, Trend], directory: Path) -> str:
    ids = _unique_ids([entry.identifier for entry in run.entries])
    colors = _stage_colors(run)
    counts: dict[str, int] = {}
    for entry in run.entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no entries"
    title = f"tfwheelbuild {run.kind} run {run.started}"
    rows = "\n".join(_row(entry, slug, directory) for entry, slug in zip(run.entries, ids, strict=True))
    charts = "\n".join(_charts(entry, slug, colors, trends.get(entry.identifier, []))
                       for entry, slug in zip(run.entries, ids, strict=True))
    legend = "".join(f'<li><span class="swatch" style="background:{color}"></span>{_e(name)}</li>'
                     for name, color in colors.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header id="summary" data-status="{_e(run.status)}">
<h1>{_e(title)}</h1>
<p>Status <span class="status status-{_cls(run.status)}">{_e(run.status)}</span> · started {_e(run.started)}
· finished {_e(run.finished)} · <span id="counts">{_e(summary)}</span></p>
</header>
<table id="entries">
<thead><tr><th>Build</th><th>Status</th><th>Published</th><th>Duration</th><th>Wheel</th><th>Size</th><th>Build key</th>
<th>Log</th><th>Manifest</th><th>Error</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<section id="charts">
<h2>Stage durations</h2>
<ul class="legend" id="legend">{legend}</ul>
{charts}
</section>
</body>
</html>
"""


def _row(entry: EntryRecord, slug: str, directory: Path) -> str:
    key = entry.build_key
    cells = [
        f'<td class="identifier">{_e(entry.identifier)}</td>',
        f'<td class="status status-{_cls(entry.status)}">{_e(entry.status)}'
        f'{_e(" (in the " + entry.where + ")") if entry.where else ""}</td>',
        f'<td class="published" data-published="{_e(entry.published)}">'
        f'{_e({"uploaded": "published", "exists": "already there"}.get(entry.published, ""))}</td>',
        f'<td class="num duration" data-seconds="{entry.seconds:.3f}">{_e(human_duration(entry.seconds))}</td>',
        f'<td class="wheel">{_e(entry.wheel)}</td>',
        f'<td class="num size" data-bytes="{entry.wheel_size}">'
        f"{_e(human_size(entry.wheel_size)) if entry.wheel else ''}</td>",
        f'<td class="build-key" title="{_e(key)}"><code>{_e(key[:12])}</code></td>',
        f'<td class="log">{_link(entry.log_path, "log", directory)}</td>',
        f'<td class="manifest">{_link(entry.manifest_path, "manifest", directory)}</td>',
        f'<td class="error">{_e(entry.error)}</td>',
    ]
    return (f'<tr class="entry" id="entry-{_e(slug)}" data-identifier="{_e(entry.identifier)}" '
            f'data-status="{_e(entry.status)}">' + "".join(cells) + "</tr>")


def _charts(entry: EntryRecord, slug: str, colors: Mapping[str, str], trend: Trend) -> str:
    parts = [f'<div class="entry-charts" id="charts-{_e(slug)}">', f"<h2>{_e(entry.identifier)}</h2>",
             _stage_chart(entry, slug, colors)]
    if len(trend) >= 2:
        parts.append(_trend_chart(trend, slug))
    parts.append("</div>")
    return "\n".join(parts)


def _stage_chart(entry: EntryRecord, slug: str, colors: Mapping[str, str]) -> str:
    total = sum(max(seconds, 0.0) for _, seconds, _ in entry.stages)
    label = f"{entry.identifier}: {human_duration(total)} over {len(entry.stages)} stages"
    rects, x = [], 0.0
    for name, seconds, status in entry.stages:
        width = CHART_WIDTH * max(seconds, 0.0) / total if total > 0 else 0.0
        rects.append(f'<rect class="stage stage-{_cls(name)}" data-stage="{_e(name)}" data-status="{_e(status)}" '
                     f'data-seconds="{seconds:.3f}" x="{x:.2f}" y="0" width="{width:.2f}" height="{CHART_HEIGHT:g}" '
                     f'fill="{colors[name]}"><title>{_e(f"{name}: {seconds:.1f} s")}</title></rect>')
        x += width
    if not rects:
        rects.append(f'<text x="0" y="{CHART_HEIGHT - 6:g}" fill="#777">no stage timings</text>')
    return (f'<svg id="chart-{_e(slug)}" class="stage-chart" role="img" aria-label="{_e(label)}" '
            f'width="{CHART_WIDTH:g}" height="{CHART_HEIGHT:g}" viewBox="0 0 {CHART_WIDTH:g} {CHART_HEIGHT:g}">'
            + "".join(rects) + "</svg>")


def _trend_chart(trend: Trend, slug: str) -> str:
    values = [seconds for _, seconds in trend]
    low, high = min(values), max(values)
    span_x = (TREND_WIDTH - 2 * TREND_PAD) / (len(values) - 1)
    span_y = TREND_HEIGHT - 2 * TREND_PAD

    def y_of(value: float) -> float:
        # A flat history draws a flat line through the middle, not a division by zero.
        return TREND_HEIGHT / 2 if high == low else TREND_PAD + (high - value) / (high - low) * span_y

    points = [(TREND_PAD + i * span_x, y_of(value)) for i, value in enumerate(values)]
    label = (f"build time over the last {len(values)} builds: "
             f"{human_duration(values[0])} to {human_duration(values[-1])}")
    dots = "".join(f'<circle class="trend-point" cx="{px:.2f}" cy="{py:.2f}" r="2">'
                   f"<title>{_e(f'{started}: {seconds:.1f} s')}</title></circle>"
                   for (px, py), (started, seconds) in zip(points, trend, strict=True))
    coords = " ".join(f"{px:.2f},{py:.2f}" for px, py in points)
    return (f'<svg id="trend-{_e(slug)}" class="trend-chart" role="img" aria-label="{_e(label)}" '
            f'width="{TREND_WIDTH:g}" height="{TREND_HEIGHT:g}" viewBox="0 0 {TREND_WIDTH:g} {TREND_HEIGHT:g}">'
            f"<title>{_e(label)}</title><polyline class=\"trend\" points=\"{coords}\"/>{dots}</svg>")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _link(path: str, text: str, directory: Path) -> str:
    if not path:
        return ""
    # Relative, so the report still works after the whole output tree is copied or archived.
    href = pathname2url(os.path.relpath(Path(path).absolute(), directory.absolute()))
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def _stage_colors(run: RunReport) -> dict[str, str]:
    """One color per stage name for the whole page, so 'compile' looks the same in every bar."""
    colors: dict[str, str] = {}
    for entry in run.entries:
        for name, _, _ in entry.stages:
            colors.setdefault(name, PALETTE[len(colors) % len(PALETTE)])
    return colors


def _unique_ids(identifiers: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for identifier in identifiers:
        base = re.sub(r"[^A-Za-z0-9._-]", "-", identifier) or "entry"
        slug, n = base, 2
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        result.append(slug)
    return result


def _cls(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", name) or "unnamed"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
