"""The installed accelerator stock at a year's end, by chip, family and designer (data/world/accelerator_stock.json).

* Units: Epoch AI's AI Chip Sales rows (designer x chip x calendar year, with 90 % CIs), summed over
  every year up to the one asked: cumulative sales since each designer's window start, no retirements
  (Epoch: AI hardware lasts several years). For a past year the central units and Epoch H100e are
  exactly the sums of the input rows.
* H100-equivalents, this project's definition: a chip's dense bf16 FLOP/s over the H100 SXM's 989.4
  TFLOP/s (the catalog, data/chips.json). Epoch normalises by dense 8-bit FLOP/s; the two agree except
  where a chip's 8-bit rate is not twice its bf16 rate (TPU v4, MI250X: twice Epoch's figure) and for
  B200/B300, which Epoch counts at GB200 clocks (2.53 vs the HGX datasheet's 2.27). Both are reported.
  A chip outside the catalog keeps Epoch's ratio (its 8-bit rate is twice its bf16 rate), flagged.
* Which catalog chip serves each line: its `chip_id`, else its `nearest_chip_id` with the per-unit
  throughput scaled by the ratio of dense peaks (Epoch's per-unit H100e of the two), else none: the
  line counts in the stock but serves nothing (Trainium1, MI308X), and the share left out is said.
* Interval: within a designer the errors are comonotonic (Epoch draws one chip price per Monte Carlo
  sample and reuses it across quarters); the designer's relative 90 % CI is Epoch's own cumulative
  interval for that date where Epoch publishes one, else the ratio of the summed row percentiles.
  Designers are independent (separate revenue models).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from infercast import format as F
from infercast.analyses.world_data import STOCK, Shipment, stock_data
from infercast.errors import DamagedInstallError, InfercastError, UnknownIdError
from infercast.specs.hardware import get_chip
from infercast.vocabulary import check_number

H100_BF16_TFLOPS = 989.4  # H100 SXM dense bf16: the unit of this project's H100-equivalents
Z95 = 1.6448536269514722  # standard-normal 95th percentile: a 90 % CI is P5-P95


@dataclass(frozen=True)
class Line:
    """One chip's stock (summed over years): units, H100e on both bases, what serves it."""

    designer: str
    chip: str  # as the source names it
    served_as: str | None  # catalog chip id whose throughput stands for it; None: counted, not served
    mapping: str  # "catalog", "nearest: <id> x <scale>" or "not in the catalog"
    family: str
    units: float
    units_low: float
    units_high: float
    h100e_per_unit: float  # this project's basis (dense bf16)
    h100e: float
    h100e_epoch: float  # Epoch's basis (dense 8-bit), the input rows' sum
    h100e_epoch_low: float
    h100e_epoch_high: float
    scale: float  # per-unit throughput relative to `served_as` (1 for catalog chips)
    years: tuple[int, ...]
    sources: tuple[str, ...]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Stock:
    year: int
    as_of: str
    lines: tuple[Line, ...]
    designer_interval: dict  # designer -> {"low": ratio, "high": ratio, "basis": str}
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    # ---- totals
    @property
    def units(self) -> float:
        return sum(ln.units for ln in self.lines)

    @property
    def h100e(self) -> float:
        return sum(ln.h100e for ln in self.lines)

    @property
    def h100e_epoch(self) -> float:
        return sum(ln.h100e_epoch for ln in self.lines)

    def h100e_interval(self) -> tuple[float, float]:
        """(P5, P95) of the bf16 H100e, comonotonic within designers and summed across them."""
        lo = sum(ln.h100e * self.designer_interval[ln.designer]["low"] for ln in self.lines)
        hi = sum(ln.h100e * self.designer_interval[ln.designer]["high"] for ln in self.lines)
        return lo, hi

    def group(self, key: str) -> dict[str, dict]:
        """Totals by `family`, `designer` or `served_as`."""
        out: dict[str, dict] = {}
        for ln in self.lines:
            k = str(getattr(ln, key) or "not served")
            g = out.setdefault(k, {"units": 0.0, "h100e": 0.0, "h100e_epoch": 0.0, "chips": []})
            g["units"] += ln.units
            g["h100e"] += ln.h100e
            g["h100e_epoch"] += ln.h100e_epoch
            g["chips"].append(ln.chip)
        return out

    @property
    def unserved_h100e(self) -> float:
        return sum(ln.h100e for ln in self.lines if ln.served_as is None)

    def as_dict(self) -> dict:
        lo, hi = self.h100e_interval()
        return {"year": self.year, "as_of": self.as_of, "units": self.units, "h100e": self.h100e,
                "h100e_p5": lo, "h100e_p95": hi, "h100e_epoch": self.h100e_epoch,
                "h100e_basis": f"dense bf16 FLOP/s / H100 SXM {H100_BF16_TFLOPS} TFLOP/s (data/chips.json); "
                               "h100e_epoch: Epoch AI's dense 8-bit basis, the input rows' sum",
                "unserved_h100e": self.unserved_h100e,
                "by_family": self.group("family"), "by_designer": self.group("designer"),
                "designer_interval": self.designer_interval,
                "lines": [ln.as_dict() for ln in self.lines], "notes": list(self.notes), "sources": list(self.sources)}


def years() -> tuple[int, ...]:
    return tuple(sorted({r.year for r in stock_data().shipments}))


def _as_of(year: int, rows: list[Shipment]) -> str:
    last = max((r for r in rows if r.year == year), key=lambda r: r.quarters[-1] if r.quarters else "Q4",
               default=None)
    q = last.quarters[-1] if last and last.quarters else "Q4"
    return f"{year}-" + {"Q1": "03-31", "Q2": "06-30", "Q3": "09-30"}.get(q, "12-31")


def check_year(year) -> int:
    y = check_number("year", year, integer=True, allow_none=False)
    ys = years()
    if y < ys[0] or y > ys[-1]:
        raise InfercastError(f"year must be {ys[0]} to {ys[-1]}: the accelerator stock data (Epoch AI, AI Chip "
                             f"Sales) covers sales from {ys[0]} to the first quarter of {ys[-1]}, got {y}; for later "
                             "years use `infercast forecast`", field="year", value=year)
    return y


def _catalog_ratio(chip_id: str) -> float:
    # this project's H100e: dense bf16 (fp16 where a chip lists no bf16) over the H100 SXM's
    c = get_chip(chip_id)
    return c.peak_flops("bf16") / (H100_BF16_TFLOPS * 1e12)


@lru_cache(maxsize=None)
def _epoch_ratio(chip_id: str) -> float | None:
    """Epoch's per-unit H100e of a catalog chip (from a row naming it as chip_id)."""
    for r in stock_data().shipments:
        if r.chip_id == chip_id:
            return r.h100e_per_unit
    return None


def _mapping(r: Shipment) -> tuple[str | None, str, float, float]:
    """(served_as, mapping text, throughput scale, bf16 H100e per unit) of one row."""
    try:
        if r.chip_id:
            return r.chip_id, "catalog", 1.0, _catalog_ratio(r.chip_id)
        if r.nearest_chip_id:
            ref = _epoch_ratio(r.nearest_chip_id) or _catalog_ratio(r.nearest_chip_id)
            scale = r.h100e_per_unit / ref  # ratio of dense peaks (Epoch's per-unit H100e of both)
            return (r.nearest_chip_id, f"nearest: {r.nearest_chip_id} x {F.sig(scale)} (ratio of dense peaks)", scale,
                    _catalog_ratio(r.nearest_chip_id) * scale)
    except UnknownIdError:
        raise DamagedInstallError(STOCK, f"{r.chip}: chip id not in data/chips.json") from None
    return None, "not in the catalog (counted at Epoch's per-unit H100e, serves nothing here)", 0.0, r.h100e_per_unit


def _designer_interval(designer: str, as_of: str, rows: list[Shipment]) -> dict:
    for s in stock_data().stock:
        if s.designer == designer and s.as_of == as_of and s.h100e.central and s.h100e.low and s.h100e.high:
            return {"low": s.h100e.low / s.h100e.central, "high": s.h100e.high / s.h100e.central,
                    "basis": f"Epoch's cumulative 90 % CI for {designer} at {as_of} ({s.source})"}
    mine = [r for r in rows if r.designer == designer]
    c = sum(r.h100e.central or 0 for r in mine)
    lo = sum((r.h100e.low if r.h100e.low is not None else r.h100e.central) or 0 for r in mine)
    hi = sum((r.h100e.high if r.h100e.high is not None else r.h100e.central) or 0 for r in mine)
    return {"low": lo / c if c else 1.0, "high": hi / c if c else 1.0,
            "basis": f"sum of {designer}'s row percentiles (comonotonic), no cumulative CI published for {as_of}"}


@lru_cache(maxsize=None)
def stock(year: int) -> Stock:
    """The stock at the end of `year` (or the data's last quarter), every line summed from the input rows."""
    y = check_year(year)
    rows = [r for r in stock_data().shipments if r.year <= y]
    as_of = _as_of(y, rows)
    lines: dict[tuple[str, str], dict] = {}
    for r in rows:
        served, how, scale, per_unit = _mapping(r)
        k = (r.designer, r.chip)
        d = lines.setdefault(k, {"designer": r.designer, "chip": r.chip, "served_as": served, "mapping": how,
                                 "family": get_chip(served).family if served else "unknown", "scale": scale,
                                 "h100e_per_unit": per_unit, "units": 0.0, "units_low": 0.0, "units_high": 0.0,
                                 "h100e_epoch": 0.0, "h100e_epoch_low": 0.0, "h100e_epoch_high": 0.0,
                                 "years": [], "sources": []})
        c = r.units.central or 0.0
        d["units"] += c
        d["units_low"] += r.units.low if r.units.low is not None else c
        d["units_high"] += r.units.high if r.units.high is not None else c
        e = r.h100e.central or 0.0
        d["h100e_epoch"] += e
        d["h100e_epoch_low"] += r.h100e.low if r.h100e.low is not None else e
        d["h100e_epoch_high"] += r.h100e.high if r.h100e.high is not None else e
        d["years"].append(r.year)
        if r.source not in d["sources"]:
            d["sources"].append(r.source)
    out = []
    for d in lines.values():
        out.append(Line(h100e=d["units"] * d["h100e_per_unit"], **{**d, "years": tuple(sorted(set(d["years"]))),
                                                                   "sources": tuple(d["sources"])}))
    out.sort(key=lambda ln: (ln.designer, -ln.h100e))
    designers = sorted({ln.designer for ln in out})
    interval = {dname: _designer_interval(dname, as_of, rows) for dname in designers}
    notes = [
        f"cumulative sales from each designer's first row to {as_of}, no retirements; designers covered: "
        f"{', '.join(designers)}. Not covered: Huawei Ascend, Intel Gaudi, Microsoft Maia, Meta MTIA, "
        "Cerebras, Groq, and chips sold before the data starts (pre-2022 A100/V100, older TPUs)",
        "H100e = dense bf16 FLOP/s / 989.4 TFLOP/s (catalog); Epoch's 8-bit basis is reported beside it",
    ]
    unserved = [ln.chip for ln in out if ln.served_as is None]
    if unserved:
        notes.append(f"not in the catalog, counted but serving nothing: {', '.join(unserved)}")
    if as_of[5:] != "12-31":
        notes.append(f"the data ends at {as_of}: {y} is a partial year ({', '.join(designers)} only)")
    srcs = tuple(dict.fromkeys(s for ln in out for s in ln.sources))
    return Stock(year=y, as_of=as_of, lines=tuple(out), designer_interval=interval, notes=tuple(notes), sources=srcs)


def split_lognormal(z, low_ratio: float, high_ratio: float):
    """Multiplier of the central value at standard-normal z: P5 = low_ratio, P50 = 1, P95 = high_ratio."""
    import numpy as np

    z = np.asarray(z, dtype=float)
    s_hi = math.log(max(high_ratio, 1.0)) / Z95
    s_lo = math.log(1.0 / max(min(low_ratio, 1.0), 1e-12)) / Z95
    return np.exp(np.where(z > 0, z * s_hi, z * s_lo))


__all__ = ["Line", "Stock", "stock", "years", "check_year", "split_lognormal", "H100_BF16_TFLOPS"]
