"""The HTML report: builds quickly, is one self-contained page, has every section and a row per chip."""
import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from infercast.cli import app
from infercast.report import REPORT_CHIPS, SECTIONS, build_report
from infercast.specs.hardware import get_chip


class _Parse(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []  # (tag, attr, value) for src/href
        self.headings = []
        self._h = None
        self.tables = []  # list of rows (list of cell texts)
        self._cell = None

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href"):
                self.refs.append((tag, k, v or ""))
        if tag in ("h1", "h2", "h3"):
            self._h = ""
        if tag == "table":
            self.tables.append([])
        if tag == "tr" and self.tables:
            self.tables[-1].append([])
        if tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3") and self._h is not None:
            self.headings.append(self._h.strip())
            self._h = None
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._h is not None:
            self._h += data
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    res = build_report(out, quick=True, progress=False)
    text = res.path.read_text(encoding="utf-8")
    p = _Parse()
    p.feed(text)
    return res, text, p


def test_index_written_with_every_section(quick):
    res, text, p = quick
    assert res.path.name == "index.html" and res.path.is_file()
    for _, title, _ in SECTIONS:
        assert title in p.headings, title
    assert "Sources" in p.headings
    assert "How many LLM forward passes can you do with them?" in text  # the essay's question, quoted
    assert "How to read this" in text
    assert res.seconds < 60


def test_self_contained(quick):
    _, text, p = quick
    for tag, attr, val in p.refs:
        if tag in ("img", "script", "link", "iframe", "source"):
            assert not val.startswith(("http://", "https://", "//")), (tag, val)
    assert "<script" not in text.lower()
    assert not re.search(r"<link[^>]+stylesheet", text, re.I)
    assert "@import" not in text
    # at least one figure embedded; footnote links to sources are fine
    assert sum(1 for tag, attr, v in p.refs if tag == "img" and v.startswith("data:image/png;base64,")) >= 4


def test_essay_table_has_a_row_per_chip_with_numbers(quick):
    res, _, p = quick
    essay = p.tables[0]
    assert essay[0][0] == "chip" and any("upper" in h for h in essay[0]) and any("lower" in h for h in essay[0])
    body = essay[1:]
    assert len(body) == len(REPORT_CHIPS)
    for cid, row in zip(REPORT_CHIPS, body):
        assert get_chip(cid).name in row[0]
        nums = [c for c in row[2:8] if re.fullmatch(r"[\d,]+(\.\d+)?\s*(\[\d+\])*%?", c)]
        assert len(nums) == 6, row  # upper, lower, prefill, decode, mixed, mixed/upper
    assert {r.chip for r in res.essay_table.rows} == set(REPORT_CHIPS)
    for r in res.essay_table.rows:
        assert r.lower < r.realistic_mixed < r.upper


def test_figures_exist_and_are_not_empty(quick):
    res, _, _ = quick
    out = res.path.parent
    for name in ("frontier-llama-3.1-8b", "frontier-llama-3.1-70b", "frontier-deepseek-v3", "precision",
                 "validation", "forecast"):
        f = out / f"{name}.png"
        assert f.is_file() and f.stat().st_size > 5000, name
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report.json").stat().st_size > 1000


def test_sources_and_cost(quick):
    res, text, _ = quick
    assert 'id="fn1"' in text and "glennklockwood.com" in text  # datasheet sources as footnotes
    assert "observed 2026" in text or "observed 20" in text  # dated price
    assert "efficiency fractions" in text and "median |error|" in text
    assert "$ / M input" in text and "$ / M output" in text
    assert not res.unavailable, res.unavailable


def test_failing_optional_sections_say_not_available(tmp_path, monkeypatch):
    import infercast.analyses.claims as C
    import infercast.analyses.forecast as F
    import infercast.analyses.validate as V

    def boom(*a, **k):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(F, "run_forecast", boom)
    monkeypatch.setattr(C, "fp8_doubling", boom)
    monkeypatch.setattr(V, "default_data_path", boom)
    res = build_report(tmp_path, quick=True, progress=False)
    text = res.path.read_text(encoding="utf-8")
    assert "forecast" in res.unavailable and "simulated failure" in res.unavailable["forecast"]
    assert "not available: RuntimeError: simulated failure" in text
    assert "Plot unavailable" in text and "validation_summary.json" in text  # packaged summary instead
    assert "7. The essay" in text and "H200" in text  # other claims still render


def test_cli_report_quick_json(tmp_path):
    import json

    r = CliRunner().invoke(app, ["report", "--quick", "--out", str(tmp_path / "r"), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["path"].endswith("index.html") and (tmp_path / "r" / "index.html").is_file()
