"""write_report: report.json's data, and report.html parsed back into elements (rows, bars, trends)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.request import url2pathname

import pytest

from tfwheelbuild.runs.entry import EntryRecord as ReportEntry
from tfwheelbuild.runs.report import RunReport, human_duration, human_size, write_report

VOID = {"meta", "br", "link", "img", "input", "hr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = [self] if self.tag == tag and (cls is None or cls in self.attrs.get("class", "").split()) else []
        for child in self.children:
            found.extend(child.find_all(tag, cls))
        return found

    def by_id(self, ident: str) -> Node | None:
        if self.attrs.get("id") == ident:
            return self
        for child in self.children:
            hit = child.by_id(ident)
            if hit is not None:
                return hit
        return None


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse(path: Path) -> Node:
    tree = Tree()
    tree.feed(path.read_text())
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


def by_id(root: Node, ident: str) -> Node:
    node = root.by_id(ident)
    assert node is not None, f"no element with id {ident!r}"
    return node


def cells_of(row: Node) -> dict[str, Node]:
    """Cells by their role class ("duration", "log", ...), skipping the styling ones."""
    return {next(c for c in td.attrs["class"].split() if c != "num"): td for td in row.find_all("td")}


@pytest.fixture
def run(tmp_path: Path) -> RunReport:
    logs = tmp_path / "out" / "logs"
    logs.mkdir(parents=True)
    (logs / "2.17.0-py3.11.log").write_text("log")
    (tmp_path / "out" / "wheels").mkdir()
    manifest = tmp_path / "out" / "wheels" / "tf.whl.manifest.json"
    manifest.write_text("{}")
    built = ReportEntry(identifier="2.17.0-py3.11", tf_version="2.17.0", python="3.11", status="built",
                        seconds=3600.0, wheel="tensorflow-2.17.0-cp311-cp311-manylinux_2_17_aarch64.whl",
                        wheel_size=250_000_000, build_key="0123456789abcdef0123",
                        log_path=str(logs / "2.17.0-py3.11.log"), manifest_path=str(manifest),
                        stages=(("source", 100.0, "ok"), ("compile", 3200.0, "ok"), ("repair", 300.0, "ok")))
    failed = ReportEntry(identifier="2.16.1-py3.12", tf_version="2.16.1", python="3.12", status="failed",
                         seconds=45.5, error='ERROR: <missing> "header" & more',
                         stages=(("source", 40.0, "ok"), ("compile", 5.5, "failed")))
    skipped = ReportEntry(identifier="2.15.0-py3.11", tf_version="2.15.0", python="3.11", status="skipped")
    return RunReport(kind="nightly", started="2024-07-01T02:00:00+00:00", finished="2024-07-01T03:01:00+00:00",
                     status="failed", entries=(built, failed, skipped))


TRENDS = {"2.17.0-py3.11": [("2024-06-29T02:00:00+00:00", 3500.0), ("2024-06-30T02:00:00+00:00", 3900.0),
                            ("2024-07-01T02:00:00+00:00", 3600.0)],
          "2.16.1-py3.12": [("2024-06-30T02:00:00+00:00", 1000.0)]}


def test_json_has_the_same_data(tmp_path: Path, run: RunReport) -> None:
    json_path, html_path = write_report(tmp_path / "report", run, TRENDS)
    assert (json_path, html_path) == (tmp_path / "report" / "report.json", tmp_path / "report" / "report.html")
    text = json_path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert (data["kind"], data["status"], data["started"]) == ("nightly", "failed", "2024-07-01T02:00:00+00:00")
    assert [e["identifier"] for e in data["entries"]] == ["2.17.0-py3.11", "2.16.1-py3.12", "2.15.0-py3.11"]
    first = data["entries"][0]
    assert first["wheel_size"] == 250_000_000 and first["build_key"] == "0123456789abcdef0123"
    assert first["stages"][1] == {"name": "compile", "seconds": 3200.0, "status": "ok"}
    assert data["entries"][1]["error"] == 'ERROR: <missing> "header" & more'
    assert data["trends"]["2.17.0-py3.11"][1] == ["2024-06-30T02:00:00+00:00", 3900.0]
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["report.html", "report.json"]


def test_table_rows(tmp_path: Path, run: RunReport) -> None:
    directory = tmp_path / "out" / "report"
    _, html_path = write_report(directory, run, TRENDS)
    root = parse(html_path)
    table = by_id(root, "entries")
    assert table.tag == "table"
    rows = table.find_all("tr", "entry")
    assert [(r.attrs["id"], r.attrs["data-status"]) for r in rows] == [
        ("entry-2.17.0-py3.11", "built"), ("entry-2.16.1-py3.12", "failed"), ("entry-2.15.0-py3.11", "skipped")]

    cells = cells_of(rows[0])
    assert cells["status"].all_text() == "built"
    assert cells["duration"].all_text() == "1 h 00 min"
    assert cells["size"].all_text() == "238.4 MiB"
    assert cells["wheel"].all_text() == run.entries[0].wheel
    assert cells["build-key"].attrs["title"] == "0123456789abcdef0123"
    for name, target in (("log", run.entries[0].log_path), ("manifest", run.entries[0].manifest_path)):
        [link] = cells[name].find_all("a")
        href = link.attrs["href"]
        assert not os.path.isabs(href) and ":" not in href
        assert os.path.normpath(directory / url2pathname(href)) == target
        assert Path(target).exists()

    failed_cells = cells_of(rows[1])
    assert failed_cells["error"].all_text() == 'ERROR: <missing> "header" & more'
    assert failed_cells["duration"].all_text() == "45.5 s"
    assert failed_cells["log"].find_all("a") == [] and failed_cells["size"].all_text() == ""


def test_stage_bars(tmp_path: Path, run: RunReport) -> None:
    root = parse(write_report(tmp_path, run, TRENDS)[1])
    chart = by_id(root, "chart-2.17.0-py3.11")
    assert chart.tag == "svg"
    rects = chart.find_all("rect")
    assert [r.attrs["class"] for r in rects] == ["stage stage-source", "stage stage-compile", "stage stage-repair"]
    assert [r.find_all("title")[0].all_text() for r in rects] == [
        "source: 100.0 s", "compile: 3200.0 s", "repair: 300.0 s"]
    widths = [float(r.attrs["width"]) for r in rects]
    xs = [float(r.attrs["x"]) for r in rects]
    total_width = float(chart.attrs["width"])
    assert sum(widths) == pytest.approx(total_width, abs=0.05)
    assert widths[1] / widths[0] == pytest.approx(32.0, rel=0.01)  # stacked in proportion to seconds
    assert xs == pytest.approx([0.0, widths[0], widths[0] + widths[1]], abs=0.02)
    # The same stage has the same color in every bar.
    failed_rects = by_id(root, "chart-2.16.1-py3.12").find_all("rect")
    assert failed_rects[1].attrs["fill"] == rects[1].attrs["fill"] != rects[0].attrs["fill"]
    assert failed_rects[1].attrs["data-status"] == "failed"
    assert by_id(root, "chart-2.15.0-py3.11").find_all("rect") == []


def test_trend_lines_only_with_two_points(tmp_path: Path, run: RunReport) -> None:
    root = parse(write_report(tmp_path, run, TRENDS)[1])
    [line] = by_id(root, "charts-2.17.0-py3.11").find_all("polyline", "trend")
    points = [tuple(float(v) for v in pair.split(",")) for pair in line.attrs["points"].split()]
    assert len(points) == 3
    assert points[0][0] < points[1][0] < points[2][0]
    assert points[1][1] < points[2][1] < points[0][1]  # 3900 s highest (smallest y), 3500 s lowest
    assert by_id(root, "charts-2.16.1-py3.12").find_all("polyline") == []  # one point is no trend
    assert by_id(root, "charts-2.15.0-py3.11").find_all("polyline") == []


def test_text_is_escaped_and_page_self_contained(tmp_path: Path) -> None:
    nasty = ReportEntry(identifier='<img src=x onerror="1">', tf_version="<b>", python="3.11", status="failed",
                        error="</td></tr><script>alert(1)</script>", stages=(('<x"y>', 1.0, "ok"),))
    report = RunReport(kind="build", started="<now>", finished="&", status="failed", entries=(nasty,))
    html_path = write_report(tmp_path, report, {})[1]
    text = html_path.read_text()
    assert "<script" not in text and "<img" not in text
    for forbidden in ("http://", "https://", "src=\"", "<link"):
        assert forbidden not in text
    assert "<style>" in text
    root = parse(html_path)
    [row] = root.find_all("tr", "entry")
    assert row.attrs["data-identifier"] == '<img src=x onerror="1">'
    assert [td.all_text() for td in row.find_all("td", "error")] == ["</td></tr><script>alert(1)</script>"]
    [rect] = root.find_all("rect", "stage")
    assert rect.find_all("title")[0].all_text() == '<x"y>: 1.0 s'
    assert rect.attrs["class"] == "stage stage--x-y-"


def test_duplicate_identifiers_get_distinct_ids(tmp_path: Path) -> None:
    entry = ReportEntry(identifier="2.17.0-py3.11", tf_version="2.17.0", python="3.11", status="built")
    root = parse(write_report(tmp_path, RunReport(kind="build", started="a", finished="b", status="ok",
                                                   entries=(entry, entry)), {})[1])
    assert [r.attrs["id"] for r in root.find_all("tr", "entry")] == ["entry-2.17.0-py3.11", "entry-2.17.0-py3.11-2"]
    assert by_id(root, "chart-2.17.0-py3.11-2").tag == "svg"


def test_rewrite_replaces_old_report(tmp_path: Path, run: RunReport) -> None:
    directory = tmp_path / "r"
    write_report(directory, run, TRENDS)
    smaller = RunReport(kind="build", started="s", finished="f", status="ok", entries=run.entries[:1])
    _, html_path = write_report(directory, smaller, {})
    assert len(parse(html_path).find_all("tr", "entry")) == 1
    assert json.loads((directory / "report.json").read_text())["kind"] == "build"
    assert sorted(p.name for p in directory.iterdir()) == ["report.html", "report.json"]  # no temp files left


def test_human_units() -> None:
    assert [human_size(n) for n in (0, 1023, 1536, 250_000_000, 5 << 30)] == [
        "0 B", "1023 B", "1.5 KiB", "238.4 MiB", "5.0 GiB"]
    assert [human_duration(s) for s in (0.0, 12.34, 65.0, 3725.0)] == ["0.0 s", "12.3 s", "1 min 05 s", "1 h 02 min"]
