"""Jinja2 rendering: one template per section (`templates/{id}.html.j2`) and the page around them.

Autoescape is on for every template, so any text from data files, error messages or user input is
escaped; the only unescaped inserts are the package's own stylesheet (`static/report.css`, inlined so
the page stays one file) and sections already rendered by these templates.
"""
from __future__ import annotations

import datetime as _dt
from importlib import resources

from infercast.errors import InfercastError
from infercast.report.view import Footnotes

_ENV = None


def environment():
    """The report's Jinja2 environment (autoescape on, undefined variables are errors)."""
    global _ENV
    if _ENV is None:
        try:
            import matplotlib  # noqa: F401 - the figures; checked here so a missing extra fails before any work
            from jinja2 import Environment, PackageLoader, StrictUndefined
        except ImportError as e:  # the report is an extra
            raise InfercastError("the report needs Jinja2 and matplotlib: pip install 'infercast[report]'") from e
        _ENV = Environment(loader=PackageLoader("infercast.report", "templates"), autoescape=True,
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return _ENV


def stylesheet():
    """The page's CSS (a package file), marked safe for the template's style element."""
    from markupsafe import Markup

    return Markup(resources.files("infercast.report").joinpath("static/report.css").read_text(encoding="utf-8"))


def render_section(template: str, context: dict, notes: Footnotes, sources=()):
    """One section's HTML. The footnotes its values cite, then `sources` (cited by the section as a whole),
    are numbered in `notes`; all of them are rolled back if rendering fails."""
    from markupsafe import Markup

    mark = notes.mark()
    try:
        html = Markup(environment().get_template(template).render(**context, footnote=notes.number))
        for s in sources:
            notes.number(s)
        return html
    except Exception:
        notes.rollback(mark)
        raise


def render_page(*, intro, sections: list[dict], notes: Footnotes, quick: bool, seconds: float) -> str:
    """The whole page: `intro` and each section's `html` come from `render_section`."""
    from infercast import __version__
    from infercast import format as F

    return environment().get_template("page.html.j2").render(
        css=stylesheet(), date=_dt.date.today().isoformat(), quick=quick, intro=intro,
        sections=sections, footnotes=notes.listing(), version=__version__, seconds=F.seconds(seconds))


__all__ = ["environment", "stylesheet", "render_section", "render_page"]
