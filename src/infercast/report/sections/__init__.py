"""One module per section of the report; each `build(inputs) -> View` shapes library results for its template.

A section module calls library functions (`analyses`, `engine`, `specs`) and returns the values its
template (`templates/{id}.html.j2`) shows, already formatted by `infercast.format`, with the raw
numbers for `report.json` and the sources it cites. It holds no markup and no formula of its own
beyond arithmetic on library results, each with a comment naming where it comes from. Apart from
writing its figure files into the output folder, a section has no side effects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class View:
    context: dict  # the template's variables
    numbers: dict = field(default_factory=dict)  # merged into report.json
    sources: tuple[str, ...] = ()  # footnotes cited by the section as a whole (not by one number)
    result: Any = None  # a library object the caller wants back (the essay Table for the terminal)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    build: Callable[..., View]

    @property
    def template(self) -> str:
        return f"{self.id}.html.j2"


def _registry() -> tuple[Section, ...]:
    from infercast.report.sections import (claims, cost, forecast, frontier, methods, precision, table, validation,
                                           world)

    return (
        Section("table", "1. Per chip: the essay's estimates, today", table.build),
        Section("frontier", "2. Throughput vs interactivity", frontier.build),
        Section("cost", "3. Cost per million tokens", cost.build),
        Section("precision", "4. 16-bit vs FP8 vs FP4", precision.build),
        Section("validation", "5. How accurate is infercast? Predicted vs measured", validation.build),
        Section("forecast", "6. Forecast to 2030", forecast.build),
        Section("claims", "7. The essay's three claims, checked", claims.build),
        Section("world", "8. World capacity, the overhang and margins", world.build),
        Section("methods", "9. Methods", methods.build),
    )


SECTIONS: tuple[Section, ...] = _registry()

__all__ = ["View", "Section", "SECTIONS"]
