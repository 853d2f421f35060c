"""Section 9: how the model works (prose in the template) and links to the docs, relative to the output folder."""
from __future__ import annotations

import os
from pathlib import Path

from infercast.report.inputs import Inputs
from infercast.report.sections import View

DOCS = (("ARCHITECTURE.md", "how infercast is built"), ("report.md", "this report: methods and choices"),
        ("calibration.md", "measuring your own GPU"), ("fleet.md", "cost, energy and fleets"),
        ("forecast.md", "forecast and uncertainty"))


def docs_dir() -> Path | None:
    """The repository's docs folder when running from a checkout; None in an installed package."""
    d = Path(__file__).resolve().parents[4] / "docs"
    return d if d.is_dir() else None


def build(inp: Inputs) -> View:
    d = docs_dir()
    links = []
    for name, what in DOCS:
        href = os.path.relpath(d / name, inp.out.resolve()) if d and (d / name).is_file() else None
        links.append({"name": f"docs/{name}", "what": what, "href": href})
    return View(context={"docs": links})


__all__ = ["build", "DOCS"]
