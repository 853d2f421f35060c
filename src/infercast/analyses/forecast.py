"""How much inference in 2027 and 2030: hardware trends, synthesised chips, yearly Monte Carlo.

1. `fit_trends` fits log-linear growth of bf16 FLOP/s, HBM bandwidth, HBM capacity and $/FLOP-hour
   against year over the catalog's flagship accelerators (scenario `trends.flagships`).
2. For each year a future chip is drawn per sample from the trend (fit uncertainty and scatter, or
   the scenario's override) and built as a `hardware.Chip` of family "blackwell".
3. The same serving model evaluates it (vectorised over samples and batch sizes): the largest
   output throughput per GPU under the TPOT target, for each weight precision, mixed by the year's
   precision shares; then cost per M output tokens, realistic/upper, and the fleet's tokens per day,
   with and without the algorithmic-efficiency factor.

All uncertain inputs are distributions (`uncertainty`), sampled from seeded named streams.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infercast.specs import precision as P
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip, get_chip
from infercast.specs.model import get_model
from infercast.engine.step import deployment
from infercast.engine.serving import continuous, max_concurrency
from infercast.analyses.scenario import (  # noqa: F401  (load_scenario, _default_text: forecast's public API)
    MAX_FORECAST_MODELS, MAX_FORECAST_WORK, SCENARIO_KEYS, TREND_KEYS, _default_text, check_scenario, load_scenario)
from infercast.analyses.uncertainty import parse, percentiles, rng_for
from infercast.vocabulary import MAX_FORECAST_SAMPLES, check_number

H100_BF16_FLOPS = 989.4e12  # an H100 SXM's dense bf16 rate: the unit of "H100-equivalents"
TREND_LABELS = {"bf16_tflops": "bf16 FLOP/s (dense)", "hbm_tbps": "HBM bandwidth", "hbm_gb": "HBM capacity",
                "usd_per_pflop_hour": "$ per bf16 PFLOP/s-hour"}
QUANTITIES = {
    "output_tok_s_per_gpu": "output tokens/s per GPU (reference model, realistic)",
    "input_tok_s_per_gpu": "input tokens/s per GPU",
    "realistic_to_upper": "realistic / FLOP upper bound (forward passes, precision-matched peak)",
    "usd_per_m_output_tokens": "$ per M output tokens (whole GPU-hour charged to output)",
    "effective_output_tok_s_per_gpu": "output tokens/s per GPU x algorithmic efficiency (quality-adjusted)",
    "fleet_output_tokens_per_day": "fleet output tokens/day (reference model)",
    "fleet_effective_tokens_per_day": "fleet output tokens/day x algorithmic efficiency",
}
# trends
# ---------------------------------------------------------------------------

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
        raise InfercastError(f"trend {quantity}: need at least 3 chips over 2+ years with that number, got {len(pts)}")
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts])
    xm = x.mean()
    A = np.vstack([np.ones_like(x), x - xm]).T
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ np.array([a, b])
    dof = len(x) - 2
    s2 = float(r @ r) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    sst = float(((y - y.mean()) ** 2).sum())
    g = math.exp(b)
    return TrendFit(quantity=quantity, chips=tuple(p[2] for p in pts), n=len(pts), growth=g,
                    growth_pct=(g - 1) * 100, growth_se_pct=g * math.sqrt(cov[1, 1]) * 100, slope=float(b),
                    slope_se=math.sqrt(cov[1, 1]), mean_year=float(xm), log_at_mean=float(a),
                    log_at_mean_se=math.sqrt(cov[0, 0]), resid_sd=math.sqrt(s2),
                    r2=1 - float(r @ r) / sst if sst > 0 else 1.0,
                    doubling_years=math.log(2) / b if b != 0 else math.inf)


def fit_trends(scenario: dict | None = None) -> dict[str, TrendFit]:
    sc = scenario or load_scenario()
    tr = sc["trends"]
    return {q: fit_trend(q, tr.get(q, {}).get("fit_chips") or tr["flagships"]) for q in TREND_KEYS}


def _trend_samples(q: str, fit: TrendFit, cfg: dict, years: np.ndarray, n: int, seed: int,
                   scatter: bool) -> tuple[np.ndarray, dict]:
    """ln(q) samples, shape (n, len(years)), and a description of where they came from."""
    desc: dict[str, Any] = {}
    if "growth" in cfg:
        gd = parse(cfg["growth"], f"trends.{q}.growth")
        g = gd.sample(n, rng_for(seed, f"trends.{q}.growth"))
        if np.any(g <= 0):
            raise InfercastError(f"trends.{q}.growth: annual factors must be positive (1.3 = +30 %/yr)")
        slope = np.log(g)
        desc["growth"] = f"scenario: {gd} per year"
    else:
        slope = fit.slope + fit.slope_se * rng_for(seed, f"trends.{q}.slope").standard_normal(n)
        desc["growth"] = f"fit: {fit.growth_pct:+.1f} %/yr ± {fit.growth_se_pct:.1f} pp (1 SE)"
    if "anchor" in cfg:
        ad = parse(cfg["anchor"], f"trends.{q}.anchor")
        y0 = float(cfg.get("anchor_year", fit.mean_year))
        av = ad.sample(n, rng_for(seed, f"trends.{q}.anchor"))
        if np.any(av <= 0):
            raise InfercastError(f"trends.{q}.anchor must be positive")
        la = np.log(av)
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


def synth_chip(year: int, bf16_tflops, hbm_tbps, hbm_gb, usd_per_hour=None, *, family: str = "blackwell",
               links_from: str = "b200", fp8_per_bf16: float = 2.0, fp4_per_bf16: float = 4.0) -> Chip:
    """A future flagship for `year`. With scalars: a validated `Chip`. With arrays (one entry per
    Monte Carlo sample): the same object built without validation, which the vectorised serving
    functions evaluate sample by sample."""
    ref = get_chip(links_from)
    f = bf16_tflops
    fields = dict(
        id=f"trend-{year}", name=f"trend flagship {year}", vendor="trend", family=family, year=int(year),
        aliases=[], memory_gb=hbm_gb, memory_type="HBM (extrapolated)", memory_bw_tbps=hbm_tbps,
        tflops={"tf32": f / 2, "bf16": f, "fp16": f, "fp8": f * fp8_per_bf16, "int8": f * fp8_per_bf16,
                "fp4": f * fp4_per_bf16},
        scaleup_gbps=ref.scaleup_gbps, scaleup_domain=ref.scaleup_domain, scaleup_name=ref.scaleup_name,
        scaleout_gbps=ref.scaleout_gbps, tdp_w=ref.tdp_w, price=None,
        sources={"all": f"extrapolated from the catalog's flagship trend to {year}; links from {ref.id}"},
        notes="synthesised by infercast.forecast")
    if np.ndim(f) == 0 and np.ndim(hbm_tbps) == 0 and np.ndim(hbm_gb) == 0:
        if usd_per_hour is not None:
            fields["price"] = {"usd_per_hour": float(usd_per_hour), "date": f"{year}-07-01",
                               "source": "extrapolated $/FLOP trend", "kind": "trend"}
        return Chip(**{k: (float(v) if isinstance(v, (np.floating,)) else v) for k, v in fields.items()})
    return Chip.model_construct(**fields)


# ---------------------------------------------------------------------------
# evaluation of one model on one (vector) chip
# ---------------------------------------------------------------------------

def _kv_for(weights: str, rule: str) -> str:
    if rule == "match":
        return "bf16" if weights in ("bf16", "fp16") else "fp8"
    return P.check(rule, "operating_point.kv_cache")


def _gpu_candidates(model, weights: str, cap_bytes_low: float, max_gpus: int) -> list[tuple[int, int]]:
    """(tp, pp) for the smallest power-of-two replica whose weights take <= 60 % of the (low) HBM,
    and the next size up. TP stays inside 8 GPUs (one scale-up node); PP beyond."""
    m = get_model(model)
    wb = m.weight_bytes(weights)
    g = 1
    while g < max_gpus and wb / g > 0.6 * cap_bytes_low:
        g *= 2
    out = []
    for gg in (g, 2 * g):
        if gg > max_gpus:
            break
        tp = min(gg, 8, m.heads)
        pp = gg // tp
        if pp <= m.layers:
            out.append((tp, pp))
    return out


def best_throughput(model, chip: Chip, weights: str, *, input_len: float, output_len: float, tpot_max: float,
                    kv: str = "match", engine: str | None = None, max_gpus: int = 128,
                    cap_low: float | None = None) -> dict:
    """Largest output tokens/s per GPU under `tpot_max` for `model` on `chip` (whose numbers may be
    arrays of shape (n,)), over replica sizes and batch sizes. Returns arrays of shape (n,)."""
    m = get_model(model)
    mem = np.asarray(chip.memory_gb, dtype=float) * 1e9
    cap_low = float(np.percentile(mem, 10)) if cap_low is None else cap_low
    cands = _gpu_candidates(m, weights, cap_low, max_gpus)
    if not cands:
        raise InfercastError(f"{m.id} at {weights} does not fit in {max_gpus} GPUs of {cap_low / 1e9:.0f} GB; "
                             "raise operating_point.max_gpus_per_replica")
    n = int(np.size(mem))
    best = {"output": np.zeros(n), "input": np.zeros(n), "tpot": np.full(n, np.inf), "gpus": np.zeros(n),
            "met_target": np.zeros(n, dtype=bool)}
    kvp = _kv_for(weights, kv)
    for tp, pp in cands:
        dep = deployment(m, chip, tp=tp, pp=pp, weights=weights, kv=kvp, engine=engine)
        cmax, _ = max_concurrency(dep, input_len, output_len)
        cmax = np.broadcast_to(np.asarray(cmax, dtype=float).reshape(-1, 1) if np.ndim(cmax) else
                               np.full((n, 1), float(cmax)), (n, 1))
        hi = float(dep.engine.max_batch) * pp
        grid = np.unique(np.round(np.geomspace(1, hi, 40)))[None, :]
        r = continuous(dep, input_len, output_len, grid)
        out = np.broadcast_to(np.asarray(r["output_tok_s_per_gpu"], dtype=float), (n, grid.size))
        inp = np.broadcast_to(np.asarray(r["input_tok_s_per_gpu"], dtype=float), (n, grid.size))
        tpot = np.broadcast_to(np.asarray(r["tpot_s"], dtype=float), (n, grid.size))
        fits = grid <= cmax
        ok = fits & (tpot <= tpot_max)
        met = ok.any(axis=1)
        # where no batch meets the target, the best that fits (the target is then missed)
        score = np.where(ok, out, np.where(fits & ~met[:, None], out * 1e-9, -1.0))
        j = np.argmax(score, axis=1)
        rows = np.arange(n)
        o, i_, t = out[rows, j], inp[rows, j], tpot[rows, j]
        valid = score[rows, j] >= 0
        o, i_ = np.where(valid, o, 0.0), np.where(valid, i_, 0.0)
        better = (met & ~best["met_target"]) | ((met == best["met_target"]) & (o > best["output"]))
        for k, v in (("output", o), ("input", i_), ("tpot", t), ("gpus", np.full(n, tp * pp, dtype=float)),
                     ("met_target", met)):
            best[k] = np.where(better, v, best[k])
    best["candidates"] = [f"tp{tp} x pp{pp}" for tp, pp in cands]
    return best


# ---------------------------------------------------------------------------
# the forecast
# ---------------------------------------------------------------------------

def _mix_for(mix_cfg: dict, year: int) -> dict[str, float]:
    pts = sorted((int(k), v) for k, v in mix_cfg.items() if str(k).isdigit())
    if not pts:
        raise InfercastError("precision_mix: give at least one year, e.g. 2027 = { fp8 = 0.5, fp4 = 0.5 }")
    precs = sorted({p for _, v in pts for p in v})
    for p in precs:
        P.check(p, "precision_mix")
    ys = [y for y, _ in pts]
    share = {p: float(np.interp(year, ys, [float(v.get(p, 0.0)) for _, v in pts])) for p in precs}
    tot = sum(share.values())
    if tot <= 0 or any(v < 0 for v in share.values()):
        raise InfercastError(f"precision_mix for {year}: shares must be >= 0 and not all zero")
    return {p: v / tot for p, v in share.items() if v > 0}


def run_forecast(scenario: dict | str | Path | None = None, *, samples: int | None = None, seed: int | None = None,
                 models: list[str] | None = None, years: list[int] | None = None) -> dict:
    """The yearly Monte Carlo. Returns a JSON-ready dict: per model, quantity and year, p10/p50/p90."""
    if isinstance(scenario, dict):
        sc = scenario
        check_scenario(sc)
    else:
        sc = load_scenario(scenario)
    run = sc.get("run", {})
    n = check_number("samples", samples if samples is not None else run.get("samples", 2000), integer=True,
                     allow_none=False, lo=2, hi=MAX_FORECAST_SAMPLES)
    seed = check_number("seed", seed if seed is not None else run.get("seed", 0), integer=True, allow_none=False)
    if years is None:
        years = list(range(int(run.get("first_year", 2024)), int(run.get("last_year", 2030)) + 1))
    years = [check_number("year", y, integer=True, allow_none=False) for y in years]
    if not years:
        raise InfercastError("no years to forecast", field="year")
    yrs = np.array(years, dtype=float)
    names = models or run.get("models", ["llama-3.1-70b", "gpt-4"])
    if len(names) > MAX_FORECAST_MODELS:
        raise InfercastError(f"model: at most {MAX_FORECAST_MODELS} models in one forecast, got {len(names)}",
                             field="model")
    mlist = [get_model(m).id for m in names]
    work = n * len(years) * len(mlist)
    if work > MAX_FORECAST_WORK:
        raise InfercastError(f"samples x years x models = {n:,} x {len(years)} x {len(mlist)} = {work:,} exceeds "
                             f"the limit of {MAX_FORECAST_WORK:,} (about half a minute of work); use fewer samples, "
                             "years or models", field="samples")
    op = sc["operating_point"]
    I, O, tmax = float(op["input_len"]), float(op["output_len"]), float(op["tpot_max_s"])
    fc = sc.get("future_chip", {})

    fits = fit_trends(sc)
    scatter = bool(sc["trends"].get("residual_scatter", True))
    logs, tdesc = {}, {}
    for q in TREND_KEYS:
        logs[q], tdesc[q] = _trend_samples(q, fits[q], sc["trends"].get(q, {}), yrs, n, seed, scatter)
    flops = np.exp(logs["bf16_tflops"])  # TFLOP/s, (n, Y)
    bw, cap, ppf = np.exp(logs["hbm_tbps"]), np.exp(logs["hbm_gb"]), np.exp(logs["usd_per_pflop_hour"])
    usd_h = ppf * flops / 1e3

    alg = sc["algorithmic"]
    a2030 = parse(alg["factor_by_2030"], "algorithmic.factor_by_2030").sample(n, rng_for(seed, "algorithmic"))
    if np.any(a2030 <= 0):
        raise InfercastError("algorithmic.factor_by_2030 must be positive")
    base = float(alg.get("base_year", 2025))
    expo = np.clip((yrs - base) / (2030.0 - base), 0.0, None)
    alg_f = a2030[:, None] ** expo[None, :]

    fl = sc["fleet"]
    fbase = float(fl.get("base_year", 2024))
    h100e0 = parse(fl["h100e"], "fleet.h100e").sample(n, rng_for(seed, "fleet.h100e"))
    fgrow = parse(fl["growth"], "fleet.growth").sample(n, rng_for(seed, "fleet.growth"))
    share = parse(fl["inference_share"], "fleet.inference_share").sample(n, rng_for(seed, "fleet.inference_share"))
    util = parse(fl["utilisation"], "fleet.utilisation").sample(n, rng_for(seed, "fleet.utilisation"))
    for name, x, hi in (("fleet.h100e", h100e0, None), ("fleet.growth", fgrow, None),
                        ("fleet.inference_share", share, 1.0), ("fleet.utilisation", util, 1.0)):
        if np.any(x <= 0) or (hi is not None and np.any(x > hi)):
            raise InfercastError(f"{name}: samples must be " + ("in (0, 1]" if hi else "positive") + "; narrow the "
                                 "distribution (a lognormal, or bounds with uniform/triangle)",
                                 field="scenario")
    h100e = h100e0[:, None] * fgrow[:, None] ** (yrs[None, :] - fbase)
    fleet_chips = h100e * H100_BF16_FLOPS / (flops * 1e12)
    serving_chips = fleet_chips * (share * util)[:, None]

    mcfg = sc.get("models", {})
    results: dict[str, Any] = {}
    notes = []
    for mid in mlist:
        cfg = mcfg.get(mid, {})
        sf = parse(cfg.get("size_factor", 1), f"models.{mid}.size_factor").sample(n, rng_for(seed, f"size.{mid}"))
        if np.any(sf <= 0):
            raise InfercastError(f"models.{mid}.size_factor must be positive")
        m = get_model(mid)
        q = {k: np.zeros((n, len(years))) for k in QUANTITIES}
        deps: dict[str, Any] = {}
        missed = {}
        for yi, year in enumerate(years):
            mix = _mix_for(sc["precision_mix"], year)
            chip = synth_chip(year, flops[:, yi, None], bw[:, yi, None], cap[:, yi, None], family=fc.get("family", "blackwell"),
                              links_from=fc.get("links_from", "b200"),
                              fp8_per_bf16=float(fc.get("fp8_per_bf16", 2.0)),
                              fp4_per_bf16=float(fc.get("fp4_per_bf16", 4.0)))
            out = np.zeros(n)
            inp = np.zeros(n)
            upper = np.zeros(n)
            deps[str(year)] = {}
            for prec, s in mix.items():
                b = best_throughput(m, chip, prec, input_len=I, output_len=O, tpot_max=tmax,
                                    kv=op.get("kv_cache", "match"), engine=op.get("engine"),
                                    max_gpus=int(op.get("max_gpus_per_replica", 128)))
                out += s * b["output"]
                inp += s * b["input"]
                upper += s * np.asarray(chip.peak_flops(prec)).reshape(-1) / (2.0 * m.active_params)
                miss = 1.0 - float(np.mean(b["met_target"]))
                deps[str(year)][prec] = {"share": s, "replica": b["candidates"],
                                         "gpus_per_replica_p50": float(np.median(b["gpus"])),
                                         "missed_tpot_target": miss}
                if miss > 0.05:
                    missed[f"{year} {prec}"] = miss
            q["realistic_to_upper"][:, yi] = (out + inp) / upper
            out, inp = out / sf, inp / sf
            q["output_tok_s_per_gpu"][:, yi] = out
            q["input_tok_s_per_gpu"][:, yi] = inp
            q["usd_per_m_output_tokens"][:, yi] = usd_h[:, yi] / 3600.0 / np.maximum(out, 1e-12) * 1e6
            q["effective_output_tok_s_per_gpu"][:, yi] = out * alg_f[:, yi]
            q["fleet_output_tokens_per_day"][:, yi] = serving_chips[:, yi] * out * 86400.0
            q["fleet_effective_tokens_per_day"][:, yi] = q["fleet_output_tokens_per_day"][:, yi] * alg_f[:, yi]
        for k, v in q.items():
            if not np.all(np.isfinite(v)):
                raise InfercastError(f"the scenario makes '{QUANTITIES[k]}' of {mid} overflow (not a finite number) in "
                                     "some samples; check the fleet, trend and size_factor values for extreme "
                                     "numbers", field="scenario")
        if missed:
            notes.append(f"{mid}: no batch met TPOT <= {tmax * 1e3:.0f} ms in some samples ("
                         + ", ".join(f"{k}: {v:.0%}" for k, v in missed.items())
                         + "); those samples use the smallest batch that fits")
        results[mid] = {"quantities": {k: _by_year(v, years) for k, v in q.items()}, "deployments": deps,
                        "size_factor": parse(cfg.get("size_factor", 1)).describe(),
                        "size_source": cfg.get("source", "")}

    chips = {k: _by_year(v, years) for k, v in (("bf16_tflops", flops), ("hbm_tbps", bw), ("hbm_gb", cap),
                                                  ("usd_per_hour", usd_h), ("fleet_h100e", h100e),
                                                  ("fleet_chips_serving", serving_chips))}
    chips["algorithmic_factor"] = _by_year(alg_f, years)
    for k, v in chips.items():
        bad = next((y for y, d in v.items() if not all(math.isfinite(x) for x in d.values())), None)
        if bad:
            raise InfercastError(f"the scenario makes the trend chip's {k} overflow (not a finite number) in {bad}; "
                                 "check the trend, fleet and algorithmic values for extreme numbers", field="scenario")
    return {
        "scenario": sc.get("_path", "given"), "samples": n, "seed": seed, "years": years, "models": mlist,
        "operating_point": {k: v for k, v in op.items()},
        "trends": {k: dict(fits[k].as_dict(), text=fits[k].text(), used=tdesc[k],
                           source=sc["trends"].get(k, {}).get("source", "")) for k in TREND_KEYS},
        "flagships_note": sc["trends"].get("flagships_note", ""),
        "precision_mix": {str(y): _mix_for(sc["precision_mix"], y) for y in years},
        "assumptions": {
            "algorithmic": {"factor_by_2030": parse(alg["factor_by_2030"]).describe(), "base_year": base,
                            "source": alg.get("source", "")},
            "fleet": {k: (parse(fl[k]).describe() if k in ("h100e", "growth", "inference_share", "utilisation")
                          else fl[k]) for k in fl},
            "future_chip": fc, "precision_mix_source": sc["precision_mix"].get("source", ""),
        },
        "chips": chips, "quantity_labels": QUANTITIES,
        "results": {mid: results[mid]["quantities"] for mid in mlist},
        "details": {mid: {k: v for k, v in results[mid].items() if k != "quantities"} for mid in mlist},
        "notes": notes + [
            "one synthesised flagship per year, drawn per sample from the trend; efficiency fractions "
            f"of family '{fc.get('family', 'blackwell')}'",
            "throughput at each weight precision is the best over replica sizes and batch sizes under the TPOT target; "
            "precisions are mixed by share of serving GPU-time",
            "the fleet is served as if every H100-equivalent were the year's flagship (same total bf16 FLOP/s)",
        ],
    }


def _by_year(a: np.ndarray, years: list[int]) -> dict[str, dict[str, float]]:
    pc = percentiles(a, axis=0)
    return {str(y): {k: float(pc[k][i]) for k in ("p10", "p50", "p90")} for i, y in enumerate(years)}


def headline(res: dict, years: tuple[int, ...] = (2027, 2030)) -> list[str]:
    """One line per model and year: throughput, cost and fleet capacity as P10-P50-P90."""
    from infercast.cli.kit import si

    def rng(d, unit="", digits=3):
        return f"{si(d['p10'], unit, digits)} / {si(d['p50'], unit, digits)} / {si(d['p90'], unit, digits)}"

    lines = []
    for mid, qs in res["results"].items():
        for y in years:
            k = str(y)
            if k not in qs["output_tok_s_per_gpu"]:
                continue
            lines.append(
                f"{mid} {y} (P10/P50/P90): {rng(qs['output_tok_s_per_gpu'][k])} output tok/s per GPU; "
                f"${qs['usd_per_m_output_tokens'][k]['p10']:.3g} / ${qs['usd_per_m_output_tokens'][k]['p50']:.3g} / "
                f"${qs['usd_per_m_output_tokens'][k]['p90']:.3g} per M output tokens; fleet "
                f"{rng(qs['fleet_output_tokens_per_day'][k])} tokens/day "
                f"({rng(qs['fleet_effective_tokens_per_day'][k])} quality-adjusted)")
    return lines


def fan_chart(res: dict, path: str | Path) -> Path:
    """Fan chart (P10-P90 band, P50 line) of throughput, cost and fleet capacity per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("output_tok_s_per_gpu", "output tok/s per GPU"), ("usd_per_m_output_tokens", "$ per M output tokens"),
              ("fleet_effective_tokens_per_day", "fleet tokens/day (x algorithmic)")]
    years = res["years"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for ax, (q, title) in zip(axes, panels):
        for i, (mid, qs) in enumerate(res["results"].items()):
            d = qs[q]
            p10 = [d[str(y)]["p10"] for y in years]
            p50 = [d[str(y)]["p50"] for y in years]
            p90 = [d[str(y)]["p90"] for y in years]
            c = colors[i % len(colors)]
            ax.fill_between(years, p10, p90, color=c, alpha=0.2, lw=0)
            ax.plot(years, p50, color=c, marker="o", ms=3, label=f"{mid} (P50, band P10-P90)")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("year")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"infercast forecast ({res['samples']} samples, seed {res['seed']})", fontsize=10)
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p, dpi=120)
    plt.close(fig)
    return p


__all__ = ["load_scenario", "fit_trend", "fit_trends", "TrendFit", "synth_chip", "best_throughput", "run_forecast",
           "headline", "fan_chart", "QUANTITIES", "TREND_KEYS"]
