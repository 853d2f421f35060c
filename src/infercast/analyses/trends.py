"""Hardware trends of the catalog's flagships, and the future chip they imply.

`fit_trends` fits ln(quantity) = a + b (year - mean year) by least squares over the scenario's
flagship accelerators (optionally only those launched by `trends.catalog_cutoff_year`, for a
backtest); `trend_samples` draws ln(quantity) per Monte Carlo sample and year from the fit (slope
and intercept from their standard errors, plus the chips' scatter around the line) or from the
scenario's own `growth` / `anchor`; `chip_params` turns one year's numbers into the parameters of a
`hardware.Chip` (fp8 and fp4 as fixed multiples of bf16, links copied from a catalog chip).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from infercast.analyses.scenario import TREND_KEYS
from infercast.analyses.uncertainty import parse, rng_for
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip, get_chip

TREND_LABELS = {"bf16_tflops": "bf16 FLOP/s (dense)", "hbm_tbps": "HBM bandwidth", "hbm_gb": "HBM capacity",
                "usd_per_pflop_hour": "$ per bf16 PFLOP/s-hour"}


@dataclass(frozen=True)
class TrendFit:
    quantity: str
    chips: tuple[str, ...]
    n: int
    growth: float  # annual factor, exp(slope)
    growth_pct: float  # (growth - 1) * 100
    growth_se_pct: float  # standard error of growth_pct (delta method)
    slope: float  # d ln(q) / d year
    slope_se: float
    mean_year: float
    log_at_mean: float  # fitted ln(q) at mean_year
    log_at_mean_se: float
    resid_sd: float  # scatter of ln(q) around the line
    r2: float
    doubling_years: float

    def value(self, year: float) -> float:
        return math.exp(self.log_at_mean + self.slope * (year - self.mean_year))

    def as_dict(self) -> dict:
        return dict(self.__dict__, chips=list(self.chips))

    def text(self) -> str:
        d = f"doubling every {self.doubling_years:.1f} yr" if self.slope > 0 else \
            f"halving every {-self.doubling_years:.1f} yr"
        return (f"{TREND_LABELS.get(self.quantity, self.quantity)}: {self.growth_pct:+.0f} %/yr "
                f"(SE {self.growth_se_pct:.0f} pp, {d}), r² {self.r2:.2f}, n={self.n}")


def _value(c: Chip, q: str) -> float | None:
    if q == "bf16_tflops":
        return c.tflops.get("bf16") or c.tflops.get("fp16")
    if q == "hbm_tbps":
        return c.memory_bw_tbps
    if q == "hbm_gb":
        return c.memory_gb
    if q == "usd_per_pflop_hour":
        f = c.tflops.get("bf16") or c.tflops.get("fp16")
        return c.price.usd_per_hour / (f / 1e3) if c.price else None
    raise InfercastError(f"unknown trend quantity '{q}'; use {', '.join(TREND_KEYS)}")


def fit_trend(quantity: str, chips: list[Chip | str]) -> TrendFit:
    """Least-squares fit of ln(quantity) = a + b (year - mean year) over `chips` that have it."""
    cs = [get_chip(c) for c in chips]
    pts = [(c.year, math.log(v), c.id) for c in cs if (v := _value(c, quantity))]
    if len(pts) < 3 or len({p[0] for p in pts}) < 2:
        raise InfercastError(f"trend {quantity}: need at least 3 chips over 2+ years with that number, got {len(pts)}",
                             field="scenario")
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts])
    xm = x.mean()
    A = np.vstack([np.ones_like(x), x - xm]).T
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ np.array([a, b])
    dof = len(x) - 2
    s2 = float(r @ r) / dof if dof > 0 else 0.0
    cov = s2 * np.linalg.inv(A.T @ A)
    sst = float(((y - y.mean()) ** 2).sum())
    g = math.exp(b)
    return TrendFit(quantity=quantity, chips=tuple(p[2] for p in pts), n=len(pts), growth=g,
                    growth_pct=(g - 1) * 100, growth_se_pct=g * math.sqrt(cov[1, 1]) * 100, slope=float(b),
                    slope_se=math.sqrt(cov[1, 1]), mean_year=float(xm), log_at_mean=float(a),
                    log_at_mean_se=math.sqrt(cov[0, 0]), resid_sd=math.sqrt(s2),
                    r2=1 - float(r @ r) / sst if sst > 0 else 1.0,
                    doubling_years=math.log(2) / b if b != 0 else math.inf)


def fit_chips(scenario: dict, quantity: str) -> list[str]:
    """The chips a trend is fitted over: the quantity's `fit_chips` or the flagships, launched no later than
    `trends.catalog_cutoff_year` when that is set (falling back to the flagships when fewer than 3 remain)."""
    tr = scenario["trends"]
    cut = tr.get("catalog_cutoff_year")
    own = tr.get(quantity, {}).get("fit_chips") or tr["flagships"]
    if cut is None:
        return list(own)
    keep = [c for c in own if get_chip(c).year <= cut]
    if len([c for c in keep if _value(get_chip(c), quantity)]) < 3:
        keep = [c for c in tr["flagships"] if get_chip(c).year <= cut]
    return keep


def fit_trends(scenario: dict | None = None) -> dict[str, TrendFit]:
    from infercast.analyses.scenario import load_scenario

    sc = scenario or load_scenario()
    return {q: fit_trend(q, fit_chips(sc, q)) for q in TREND_KEYS}


def _log_samples(cfg: dict, q: str, key: str, n: int, seed: int, rule: str):
    """The scenario's distribution for trends.<q>.<key> and ln of n samples of it (each must be positive)."""
    name = f"trends.{q}.{key}"
    dist = parse(cfg[key], name)
    x = dist.sample(n, rng_for(seed, name))
    if np.any(x <= 0):
        raise InfercastError(f"{name}: {rule}", field="scenario")
    return dist, np.log(x)


def trend_samples(q: str, fit: TrendFit, cfg: dict, years: np.ndarray, n: int, seed: int,
                  scatter: bool) -> tuple[np.ndarray, dict]:
    """ln(q) samples, shape (n, len(years)), and a description of where they came from."""
    desc: dict[str, Any] = {}
    if "growth" in cfg:
        gd, slope = _log_samples(cfg, q, "growth", n, seed, "annual factors must be positive (1.3 = +30 %/yr)")
        desc["growth"] = f"scenario: {gd} per year"
    else:
        slope = fit.slope + fit.slope_se * rng_for(seed, f"trends.{q}.slope").standard_normal(n)
        desc["growth"] = f"fit: {fit.growth_pct:+.1f} %/yr ± {fit.growth_se_pct:.1f} pp (1 SE)"
    if "anchor" in cfg:
        y0 = float(cfg.get("anchor_year", fit.mean_year))
        ad, la = _log_samples(cfg, q, "anchor", n, seed, "must be positive")
        desc["anchor"] = f"scenario: {ad} in {y0:g}"
    else:
        y0 = fit.mean_year
        la = fit.log_at_mean + fit.log_at_mean_se * rng_for(seed, f"trends.{q}.anchor").standard_normal(n)
        desc["anchor"] = f"fit: {math.exp(fit.log_at_mean):.4g} at {y0:.1f}"
    out = la[:, None] + slope[:, None] * (years[None, :] - y0)
    if scatter and "anchor" not in cfg:
        out = out + fit.resid_sd * rng_for(seed, f"trends.{q}.scatter").standard_normal((n, len(years)))
        desc["scatter"] = f"chip-to-chip scatter around the fit: {fit.resid_sd:.3f} in ln"
    return out, desc


def growth_samples(q: str, fit: TrendFit, cfg: dict, n: int, seed: int) -> np.ndarray:
    """ln(annual growth) per sample: the scenario's `growth`, else the fit's slope with its standard error
    (the same streams `trend_samples` uses, so a year's trend chip and the roadmap's growth agree)."""
    if "growth" in cfg:
        return np.log(parse(cfg["growth"], f"trends.{q}.growth").sample(n, rng_for(seed, f"trends.{q}.growth")))
    return fit.slope + fit.slope_se * rng_for(seed, f"trends.{q}.slope").standard_normal(n)


# ---------------------------------------------------------------------------
# chips as hashable parameters (one per plan the forecast asks for)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ChipParams:
    """Everything about a chip that the serving model reads, hashable so that plans can be cached."""

    id: str
    name: str
    vendor: str
    family: str
    year: int
    tflops: tuple[tuple[str, float], ...]  # (precision, dense TFLOP/s), sorted
    hbm_gb: float
    hbm_tbps: float
    scaleup_gbps: float
    scaleup_domain: int
    scaleup_name: str
    scaleout_gbps: float
    tdp_w: float | None = None
    memory_binary: bool = True
    source: str = ""

    @property
    def rates(self) -> dict[str, float]:
        return dict(self.tflops)

    @property
    def bf16(self) -> float:
        r = self.rates
        return r.get("bf16") or r["fp16"]

    def scaled(self, compute: float = 1.0, bandwidth: float = 1.0, capacity: float = 1.0) -> "ChipParams":
        """The same chip with every compute rate, the HBM bandwidth and the capacity multiplied (rounded to
        six significant digits: nearby samples share a cached plan)."""
        def r(x):
            return float(f"{x:.6g}")

        return replace(self, tflops=tuple((k, r(v * compute)) for k, v in self.tflops),
                       hbm_tbps=r(self.hbm_tbps * bandwidth), hbm_gb=r(self.hbm_gb * capacity))

    def chip(self) -> Chip:
        return _chip(self)


@lru_cache(maxsize=4096)
def _chip(p: ChipParams) -> Chip:
    return Chip(id=p.id, name=p.name, vendor=p.vendor, family=p.family, year=int(p.year), aliases=[],
                memory_gb=p.hbm_gb, memory_binary=p.memory_binary, memory_type="HBM",
                memory_bw_tbps=p.hbm_tbps, tflops=dict(p.tflops), scaleup_gbps=p.scaleup_gbps,
                scaleup_domain=p.scaleup_domain, scaleup_name=p.scaleup_name, scaleout_gbps=p.scaleout_gbps,
                tdp_w=p.tdp_w, price=None, sources={"all": p.source or "infercast forecast"},
                notes="built by infercast's forecast")


def params_of(chip: Chip | str, *, id: str | None = None, source: str | None = None) -> ChipParams:
    """A catalog chip as parameters (with a new id when given: the forecast then times it by its efficiency
    family, like the chips it synthesises, instead of by kernel tables measured on the named chip)."""
    c = get_chip(chip)
    return ChipParams(id=id or c.id, name=c.name, vendor=c.vendor, family=c.family, year=c.year,
                      tflops=tuple(sorted((k, float(v)) for k, v in c.tflops.items())), hbm_gb=float(c.memory_gb),
                      hbm_tbps=float(c.memory_bw_tbps), scaleup_gbps=float(c.scaleup_gbps),
                      scaleup_domain=int(c.scaleup_domain), scaleup_name=c.scaleup_name,
                      scaleout_gbps=float(c.scaleout_gbps), tdp_w=c.tdp_w, memory_binary=c.memory_binary,
                      source=source or f"catalog chip {c.id}")


def chip_params(year: int, bf16_tflops: float, hbm_tbps: float, hbm_gb: float, *, family: str = "blackwell",
                links_from: str = "b200", fp8_per_bf16: float = 2.0, fp4_per_bf16: float = 4.0) -> ChipParams:
    """The trend flagship of `year` as parameters: fp8 and fp4 as multiples of bf16, links and TDP from
    `links_from`."""
    ref = get_chip(links_from)
    f = float(bf16_tflops)
    return ChipParams(id=f"trend-{year}", name=f"trend flagship {year}", vendor="trend", family=family, year=int(year),
                      tflops=tuple(sorted({"tf32": f / 2, "bf16": f, "fp16": f, "fp8": f * fp8_per_bf16,
                                           "int8": f * fp8_per_bf16, "fp4": f * fp4_per_bf16}.items())),
                      hbm_gb=float(hbm_gb), hbm_tbps=float(hbm_tbps), scaleup_gbps=ref.scaleup_gbps,
                      scaleup_domain=ref.scaleup_domain, scaleup_name=ref.scaleup_name,
                      scaleout_gbps=ref.scaleout_gbps, tdp_w=ref.tdp_w,
                      source=f"extrapolated from the catalog's flagship trend to {year}; links from {ref.id}")


def synth_chip(year: int, bf16_tflops, hbm_tbps, hbm_gb, usd_per_hour=None, *, family: str = "blackwell",
               links_from: str = "b200", fp8_per_bf16: float = 2.0, fp4_per_bf16: float = 4.0) -> Chip:
    """A future flagship for `year` as a validated `Chip` (scalars)."""
    p = chip_params(year, bf16_tflops, hbm_tbps, hbm_gb, family=family, links_from=links_from,
                    fp8_per_bf16=fp8_per_bf16, fp4_per_bf16=fp4_per_bf16)
    c = p.chip()
    if usd_per_hour is not None:
        c = Chip(**dict(c.model_dump(), price={"usd_per_hour": float(usd_per_hour), "date": f"{year}-07-01",
                                               "source": "extrapolated $/FLOP trend", "kind": "trend"}))
    return c


__all__ = ["TrendFit", "TREND_LABELS", "fit_trend", "fit_trends", "fit_chips", "trend_samples", "growth_samples",
           "ChipParams", "params_of", "chip_params", "synth_chip"]
