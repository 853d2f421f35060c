"""AI-worker equivalents: tokens per day divided by tokens per human workday, an explicit parameter.

The conversion is data/world/ai_worker.json's suggested default, an output-side human workday:
low 21,280 (words actually spoken in a day, Mehl et al. 2007, x 1.33 tokens/word), central 95,760
(speaking at 150 words/min for 8 h, x 1.33), high 242,592 (Epoch's 380 words/min 'thought-speed'
anchor for 8 h). An AI running all day produces `output tokens/day`; one human workday is
`tokens_per_workday`; so workers = output tokens/day / tokens_per_workday (a human works one
workday per day). The range of workers runs the other way: the high worker count goes with the
low tokens per workday. A value given by the user (`tokens_per_workday`) replaces the default and
is shown as given. Never a hidden constant: every result carries the basis, formula and source.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from infercast.analyses.world_data import worker_data
from infercast.errors import DamagedInstallError
from infercast.vocabulary import check_number


@dataclass(frozen=True)
class Conversion:
    tokens_per_workday: float  # central
    low: float  # tokens per workday, low end of the range
    high: float
    basis: str  # what one workday of tokens means
    derivation: str
    source: str

    def as_dict(self) -> dict:
        return asdict(self)


def default_conversion() -> Conversion:
    """ai_worker.json's suggested default (output-side human workday), with its range and source."""
    d = worker_data()["suggested_default"]
    t = d.get("tokens_per_workday") or {}
    try:
        lo, mid, hi = (float(t[k]) for k in ("low", "central", "high"))
    except (KeyError, TypeError, ValueError):
        raise DamagedInstallError("world/ai_worker.json", "suggested_default.tokens_per_workday needs low, central, "
                                                          "high") from None
    if not 0 < lo <= mid <= hi:
        raise DamagedInstallError("world/ai_worker.json", "tokens_per_workday must satisfy 0 < low <= central <= high")
    return Conversion(tokens_per_workday=mid, low=lo, high=hi, basis=str(d.get("name", "output-side human workday")),
                      derivation=str(d.get("derivation", "")),
                      source="data/world/ai_worker.json, suggested default: " + str(d.get("derivation", "")))


def conversion(tokens_per_workday: float | None = None) -> Conversion:
    """The user's tokens per workday (a fixed value, no range), else the sourced default."""
    if tokens_per_workday is None:
        return default_conversion()
    v = check_number("tokens_per_workday", tokens_per_workday, allow_none=False)
    return Conversion(tokens_per_workday=v, low=v, high=v, basis="given", derivation="given by the user",
                      source="given")


def ai_workers(output_tokens_per_day: float, conv: Conversion) -> dict:
    """Human-workday equivalents of `output_tokens_per_day`, with the conversion that produced them."""
    d = float(output_tokens_per_day)
    return {"workers": d / conv.tokens_per_workday,
            "workers_low": d / conv.high,  # more tokens per workday: fewer workers
            "workers_high": d / conv.low,
            "output_tokens_per_day": d,
            "tokens_per_workday": conv.tokens_per_workday,
            "tokens_per_workday_low": conv.low,
            "tokens_per_workday_high": conv.high,
            "basis": conv.basis,
            "formula": "output tokens/day / tokens per human workday (an AI copy runs all day; a person works one "
                       "workday per day)",
            "derivation": conv.derivation,
            "source": conv.source}


__all__ = ["Conversion", "default_conversion", "conversion", "ai_workers"]
