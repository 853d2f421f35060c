"""Orchestration: compute the shared inputs, build each section, render the templates, write the files.

`build_report(out, quick=False, progress=True)` writes `out/index.html` (one self-contained page,
figures embedded), the figures as PNG beside it and `out/report.json` (every number shown), and
returns a `ReportResult` for the terminal summary. A section that raises, or whose template fails,
is shown "not available: REASON" and listed in `unavailable`; the rest of the page still builds.
`INFERCAST_DEBUG=1` prints the traceback.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from infercast.report import render
from infercast.report.inputs import Inputs, steps
from infercast.report.sections import SECTIONS, Section, intro
from infercast.report.settings import settings
from infercast.report.view import Footnotes


@dataclass
class ReportResult:
    path: Path
    seconds: float
    quick: bool
    essay_table: Any  # analyses.table.Table or None
    unavailable: dict[str, str]
    model_error: dict
    data: dict
    headline: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "seconds": self.seconds, "quick": self.quick,
                "unavailable": self.unavailable, "model_error": self.model_error, "headline": self.headline,
                "essay_table": self.essay_table.as_dict() if self.essay_table else None}


@dataclass
class Page:
    """The built sections: rendered HTML per section (or why not), report.json content, the essay table."""

    sections: list[dict]
    intro: Any
    notes: Footnotes
    numbers: dict
    unavailable: dict[str, str]
    essay_table: Any = None


def _reason(e: BaseException) -> str:
    if os.environ.get("INFERCAST_DEBUG"):
        traceback.print_exc()
    return f"{type(e).__name__}: {e}"


def assemble(inp: Inputs, sections: tuple[Section, ...] = SECTIONS,
             tick: Callable[[str], None] = lambda label: None) -> Page:
    """Build every section's data on its own (a failure stays in its section), then render the intro and the
    sections in reading order, so footnotes are numbered as the reader meets them."""
    numbers: dict = {}
    unavailable: dict[str, str] = {}
    views: dict[str, Any] = {}
    essay = None
    for sec in sections:
        tick(f"section: {sec.title}")
        try:
            views[sec.id] = sec.build(inp)
            numbers.update(views[sec.id].numbers)
            if sec.id == "table":
                essay = views[sec.id].result
        except Exception as e:  # noqa: BLE001 - a failing section must not stop the report
            unavailable[sec.id] = _reason(e)
    notes = Footnotes()
    try:
        intro_html = render.render_section("intro.html.j2", intro.build(inp, numbers), notes)
    except Exception as e:  # noqa: BLE001
        intro_html = None
        unavailable["intro"] = _reason(e)
    built: list[dict] = []
    for sec in sections:
        entry = {"id": sec.id, "title": sec.title, "html": None, "error": unavailable.get(sec.id)}
        if sec.id in views:
            v = views[sec.id]
            try:
                entry["html"] = render.render_section(sec.template, v.context, notes, v.sources)
            except Exception as e:  # noqa: BLE001 - a template error stays in its section too
                entry["error"] = unavailable[sec.id] = _reason(e)
        built.append(entry)
    return Page(sections=built, intro=intro_html, notes=notes, numbers=numbers, unavailable=unavailable,
                essay_table=essay)


def build_report(out: str | Path = "report", quick: bool = False, progress: bool = True) -> ReportResult:
    """Compute every section and write `out/index.html` (+ PNGs, report.json)."""
    from infercast.cli.kit import dumps

    render.environment()  # fail early, with the install hint, when the 'report' extra is missing
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    inp = Inputs(s=settings(quick), out=out)
    work = steps(inp)
    with _progress(progress) as prog:
        task = prog.add_task("report", total=len(work) + len(SECTIONS) + 1)
        for label, fn in work:
            prog.update(task, description=label)
            fn()
            prog.advance(task)

        def tick(label: str) -> None:
            prog.update(task, description=label)
            prog.advance(task)

        page = assemble(inp, tick=tick)
        prog.update(task, description="writing index.html")
        path = out / "index.html"
        path.write_text(render.render_page(intro=page.intro, sections=page.sections, notes=page.notes, quick=quick,
                                           seconds=time.perf_counter() - t0), encoding="utf-8")
        data = page.numbers | {"unavailable": page.unavailable}
        (out / "report.json").write_text(dumps(data), encoding="utf-8")
        prog.advance(task)
    return ReportResult(path=path, seconds=time.perf_counter() - t0, quick=quick, essay_table=page.essay_table,
                        unavailable=page.unavailable, model_error=inp.model_error, data=data,
                        headline=intro.terminal_lines(inp))


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def add_task(self, *a, **k):
        return 0

    def update(self, *a, **k):
        pass

    def advance(self, *a, **k):
        pass


def _progress(show: bool):
    if not show:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description:44}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)


__all__ = ["build_report", "assemble", "ReportResult", "Page"]
