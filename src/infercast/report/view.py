"""What a section hands its template: formatted values with their provenance, figures, footnotes.

A `Val` is one number as the reader sees it: the text from `infercast.format`, the hover text saying
how it was computed, the sources it cites (footnotes, numbered when the page renders, in reading
order), a dim note beside it (e.g. the interactivity of a throughput figure) and the raw value.
No markup here: the templates (`templates/macros.html.j2`) decide how each part is shown.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from infercast import format as F


@dataclass(frozen=True)
class Val:
    text: str
    tip: str = ""  # hover: how the number was computed
    refs: tuple[str, ...] = ()  # source texts, shown as [n] footnote links
    note: str = ""  # dim text under the value (its interactivity, a ratio, a date)
    strong: bool = False
    raw: float | None = None
    missing: bool = False  # a cell that explains why there is no number


def val(x: float | None, fmt: Callable[[float], str] = F.num, *, tip: str = "", refs: tuple[str, ...] | list[str] = (),
        note: str = "", strong: bool = False) -> Val:
    """A number rendered through the one formatter (`infercast.format`)."""
    return Val(text=fmt(x), tip=tip, refs=tuple(refs), note=note, strong=strong,
               raw=None if x is None else float(x))


def text(s: str, *, tip: str = "", refs: tuple[str, ...] | list[str] = (), note: str = "", strong: bool = False) -> Val:
    """A word or label cell (a chip name, a shape) with the same provenance fields as a number."""
    return Val(text=str(s), tip=tip, refs=tuple(refs), note=note, strong=strong)


def missing(s: str, why: str = "") -> Val:
    """No number here, and why (shown on hover)."""
    return Val(text=s, tip=why, missing=True)


BLANK = Val(text="")


def per_user(tps: float | None) -> str:
    """The interactivity note every realistic throughput carries (issue #15)."""
    return f"at {F.num(tps)} tok/s per user"


@dataclass(frozen=True)
class Figure:
    """A PNG written beside the page and embedded in it as a data URI (the page stays one file)."""

    name: str
    path: Path
    alt: str
    caption: str

    @property
    def src(self) -> str:
        return "data:image/png;base64," + base64.b64encode(Path(self.path).read_bytes()).decode("ascii")

    @property
    def file(self) -> str:
        return Path(self.path).name


_URL = re.compile(r"https?://[^\s;,)]+")


def link_parts(s: str) -> list[tuple[str, str | None]]:
    """Split a source text into (text, None) and (url, url) parts so URLs can be shown as links."""
    out: list[tuple[str, str | None]] = []
    last = 0
    for m in _URL.finditer(s):
        url = m.group(0).rstrip(".")
        if m.start() > last:
            out.append((s[last:m.start()], None))
        out.append((url, url))
        last = m.start() + len(url)
    if last < len(s):
        out.append((s[last:], None))
    return out


@dataclass
class Footnotes:
    """Sources numbered in order of first use; each distinct text gets one number."""

    items: list[str] = field(default_factory=list)
    _idx: dict[str, int] = field(default_factory=dict)

    def number(self, s: str) -> int:
        s = str(s).strip()
        if s not in self._idx:
            self.items.append(s)
            self._idx[s] = len(self.items)
        return self._idx[s]

    def mark(self) -> int:
        return len(self.items)

    def rollback(self, mark: int) -> None:
        """Forget footnotes added after `mark` (a section whose template failed to render)."""
        for s in self.items[mark:]:
            del self._idx[s]
        del self.items[mark:]

    def listing(self) -> list[dict]:
        return [{"n": i, "text": s, "parts": link_parts(s)} for i, s in enumerate(self.items, 1)]


__all__ = ["Val", "val", "text", "missing", "BLANK", "per_user", "Figure", "Footnotes", "link_parts"]
