"""Vendor roadmaps as a forecast scenario: announced chips (data/world/roadmap_chips.json) built as `Chip`s.

The roadmap scenario replaces the trend's synthesised flagship by a line of real and announced chips
(`[roadmap] line`, e.g. B200, B300, Rubin, Rubin Ultra), each serving from the year it is available
(the catalog's launch year, or the roadmap's `availability.year`). Years after the last chip with specs
take that chip grown at the hardware trend's annual rates.

Announced numbers are vendor claims with low/central/high values and a dense-vs-sparse flag
(docs/research/world-data.md section 5). The dense rate per precision is read by one rule:
* several figures for one precision (Rubin: NVFP4 50 PF "inference", 35 PF "training"): the lower is
  the dense rate, the higher the upper end of the range (NVIDIA's "inference" figure is not a dense
  GEMM rate; the research memo takes 35 PF for a roofline);
* a missing bf16 rate is fp8 / 2, a missing fp8 rate fp4 / 2 (the ratio of every Hopper, Blackwell and
  CDNA3/4 datasheet), said in the chip's notes;
* `[roadmap] values` picks the low, central or high column of every announced number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from infercast.analyses.trends import ChipParams, params_of
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip
from infercast.specs.store import read_json

ROADMAP_FILE = "world/roadmap_chips.json"
VALUES = ("low", "central", "high")


def entries() -> list[dict]:
    raw = read_json(ROADMAP_FILE)
    if not isinstance(raw, dict) or not isinstance(raw.get("chips"), list):
        from infercast.errors import DamagedInstallError

        raise DamagedInstallError(ROADMAP_FILE, "it must hold chips")
    return raw["chips"]


def find(name: str) -> dict:
    """A roadmap entry by its name, or a unique case-insensitive prefix of it (e.g. "NVIDIA Rubin GPU")."""
    es = entries()
    key = name.strip().lower()
    exact = [e for e in es if e["name"].lower() == key]
    hits = exact or [e for e in es if e["name"].lower().startswith(key)]
    if len(hits) != 1:
        names = "; ".join(e["name"] for e in es)
        what = "matches several entries" if hits else "is not an entry"
        raise InfercastError(f"roadmap chip '{name[:60]}' {what} of data/{ROADMAP_FILE}; give a catalog chip id or "
                             f"the start of one of: {names}", field="scenario")
    return hits[0]


def _triple(v) -> tuple[float, float, float] | None:
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return (float(v),) * 3
    c = v.get("central")
    if c is None:
        return None
    lo, hi = v.get("low"), v.get("high")
    return (float(lo if lo is not None else c), float(c), float(hi if hi is not None else c))


def _precision_of(key: str) -> str | None:
    k = key.lower()
    m = re.match(r"^(?:nv|mx)?(fp4|fp8|bf16|fp16)(?:_|$)", k)
    return m.group(1) if m else None


def dense_rates(entry: dict) -> tuple[dict[str, tuple[float, float, float]], list[str]]:
    """Dense TFLOP/s (low, central, high) per precision by the module's rule, and notes on what was derived."""
    by: dict[str, list[tuple[float, float, float]]] = {}
    for k, v in (entry.get("tflops") or {}).items():
        p, t = _precision_of(k), _triple(v)
        if p and t:
            by.setdefault(p, []).append(t)
    out, notes = {}, []
    for p, ts in by.items():
        if len(ts) == 1:
            out[p] = ts[0]
        else:
            c = min(t[1] for t in ts)
            out[p] = (min(min(t[0] for t in ts), c), c, max(max(t[2] for t in ts), max(t[1] for t in ts)))
            notes.append(f"{p}: {len(ts)} vendor figures; the lower ({c:g} TFLOP/s) taken as dense, the higher as "
                         "the top of the range")
    if "fp8" not in out and "fp4" in out:
        out["fp8"] = tuple(x / 2 for x in out["fp4"])
        notes.append("fp8 = fp4 / 2 (not announced)")
    if "bf16" not in out and "fp16" in out:
        out["bf16"] = out["fp16"]
    if "bf16" not in out and "fp8" in out:
        out["bf16"] = tuple(x / 2 for x in out["fp8"])
        notes.append("bf16 = fp8 / 2 (not announced)")
    return out, notes


def year_of(entry: dict) -> int | None:
    y = (entry.get("availability") or {}).get("year")
    if isinstance(y, dict):
        y = y.get("central")
    return int(y) if isinstance(y, (int, float)) else None


def roadmap_params(entry: dict, values: str = "central", links_from: str = "b300",
                   family: str | None = None) -> ChipParams:
    """An announced chip as parameters, at the `values` column (low, central or high) of every number."""
    if values not in VALUES:
        raise InfercastError(f"roadmap.values must be one of {', '.join(VALUES)}, got '{str(values)[:20]}'",
                             field="scenario")
    col = VALUES.index(values)
    if entry.get("chip_id"):
        return params_of(entry["chip_id"], id=f"roadmap-{entry['chip_id']}")
    rates, notes = dense_rates(entry)
    mem, bw = _triple(entry.get("memory_gb")), _triple(entry.get("memory_bw_tbps"))
    year = year_of(entry)
    missing = [n for n, v in (("dense compute rates", rates.get("bf16")), ("memory_gb", mem),
                              ("memory_bw_tbps", bw), ("availability year", year)) if v is None]
    if missing:
        raise InfercastError(f"roadmap chip '{entry['name']}' has no announced {', '.join(missing)} in data/"
                             f"{ROADMAP_FILE}; end the roadmap line before it (later years grow the last chip "
                             "at the trend's rates)", field="scenario")
    ref = get_chip(links_from)
    su = entry.get("scaleup") or {}
    dom = int(su.get("domain") or ref.scaleup_domain)
    if su.get("gbps_per_direction"):
        up = float(su["gbps_per_direction"])
    elif su.get("gbps_bidirectional"):
        up = float(su["gbps_bidirectional"]) / 2
    elif su.get("aggregate_tbps") and su.get("domain"):
        up = float(su["aggregate_tbps"]) * 1e3 / float(su["domain"]) / 2  # DERIVED: rack aggregate / packages / 2
    else:
        up, dom = ref.scaleup_gbps, ref.scaleup_domain
    rate = {p: t[col] for p, t in rates.items()}
    tflops = dict(rate, fp16=rate["bf16"], tf32=rate["bf16"] / 2)
    if "fp8" in rate:
        tflops["int8"] = rate["fp8"]
    slug = re.sub(r"[^a-z0-9]+", "-", entry["name"].lower()).strip("-")[:40]
    src = "; ".join(entry.get("sources", [])[:2])
    return ChipParams(id=f"roadmap-{slug}", name=entry["name"], vendor=entry.get("vendor", ""),
                      family=family or ref.family, year=year,
                      tflops=tuple(sorted((k, float(v)) for k, v in tflops.items())), hbm_gb=mem[col],
                      hbm_tbps=bw[col], scaleup_gbps=up, scaleup_domain=dom,
                      scaleup_name=str(su.get("name") or ref.scaleup_name), scaleout_gbps=ref.scaleout_gbps,
                      tdp_w=None, memory_binary=True,
                      source=f"announced ({values} values; data/{ROADMAP_FILE}: {src})"
                             + (f"; {'; '.join(notes)}" if notes else "")
                             + f"; scale-out from {ref.id}")


@dataclass(frozen=True)
class LineChip:
    year: int
    label: str  # as written in the scenario
    params: ChipParams
    kind: str  # "catalog" or "announced"


def line(cfg: dict) -> list[LineChip]:
    """The scenario's roadmap line, ordered by year: catalog ids or roadmap names. Catalog chips get a new id so
    that the forecast times them by their efficiency family, as it does the announced chips."""
    values = cfg.get("values", "central")
    links = cfg.get("links_from", "b300")
    fam = cfg.get("family")
    out = []
    for name in cfg.get("line", []):
        try:
            c = get_chip(name)
        except InfercastError:
            e = find(name)
            out.append(LineChip(year_of(e) or 0, name, roadmap_params(e, values, links, fam), "announced"))
        else:
            out.append(LineChip(c.year, name, params_of(c, id=f"roadmap-{c.id}"), "catalog"))
    if not out:
        raise InfercastError("roadmap.line needs at least one chip (a catalog id or a roadmap name)", field="scenario")
    return sorted(out, key=lambda x: x.year)


def chip_for_year(chips: list[LineChip], year: int) -> LineChip | None:
    """The newest chip of the line available in `year` (None before the first)."""
    have = [c for c in chips if c.year <= year]
    return have[-1] if have else None


__all__ = ["entries", "find", "dense_rates", "roadmap_params", "line", "chip_for_year", "LineChip", "year_of",
           "VALUES", "ROADMAP_FILE"]
