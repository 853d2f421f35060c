"""How much inference in 2027 and 2030: hardware trends or vendor roadmaps, the planner, a yearly Monte Carlo.

1. The year's flagship: by default synthesised from log-linear trends of the catalog's flagships
   (`trends`), one chip per Monte Carlo sample (fit uncertainty and chip-to-chip scatter); with
   `[roadmap] enabled` the vendor's line of real and announced chips (`roadmap`).
2. Per chip and weight precision, the planner (`engine.planner.plan`, every shape and batch) gives the most
   output tokens/s per GPU under the TPOT limit. It runs on seven chips per year and precision and is
   interpolated to every sample (`forecast_plan.star`; its error is in docs/forecast.md).
3. Precisions are mixed by the year's shares; then cost per M output tokens (also at a fixed capability,
   with algorithmic progress), realistic/upper, and the fleet's tokens per day.

All uncertain inputs are distributions (`uncertainty`), sampled from seeded named streams.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from infercast.analyses import roadmap as R
from infercast.analyses.forecast_plan import Serving, star
from infercast.analyses.scenario import (  # noqa: F401  (load_scenario, _default_text: forecast's public API)
    MAX_FORECAST_MODEL_YEARS, MAX_FORECAST_MODELS, MAX_FORECAST_WORK, SCENARIO_KEYS, SHIPPED, TREND_KEYS,
    _default_text, check_scenario, load_scenario)
from infercast.analyses.trends import (  # noqa: F401  (re-exported: the forecast's public API)
    TREND_LABELS, ChipParams, TrendFit, chip_params, fit_trend, fit_trends, growth_samples, synth_chip,
    trend_samples)
from infercast.analyses.uncertainty import parse, percentiles, rng_for
from infercast.errors import InfercastError
from infercast.specs import precision as P
from infercast.specs.model import get_model
from infercast.vocabulary import MAX_FORECAST_SAMPLES, check_number

H100_BF16_FLOPS = 989.4e12  # an H100 SXM's dense bf16 rate: the unit of "H100-equivalents"
REF_SAMPLES, REF_SEED = 4096, 0  # reference draws that place the planner's nodes (independent of --seed)
QUANTITIES = {
    "output_tok_s_per_gpu": "output tokens/s per GPU (reference model, realistic)",
    "input_tok_s_per_gpu": "input tokens/s per GPU",
    "realistic_to_upper": "realistic / FLOP upper bound (forward passes, precision-matched peak)",
    "usd_per_m_output_tokens": "$ per M output tokens (whole GPU-hour charged to output)",
    "usd_per_m_fixed_capability": "$ per M output tokens of the reference model's capability, with algorithmic progress",
    "effective_output_tok_s_per_gpu": "output tokens/s per GPU x algorithmic efficiency (quality-adjusted)",
    "fleet_output_tokens_per_day": "fleet output tokens/day (reference model)",
    "fleet_effective_tokens_per_day": "fleet output tokens/day x algorithmic efficiency",
}
# series set by the serving model (per chip); the fleet and 'effective' series also carry the scenario's
# growth rates (fleet 3.3x/yr, algorithms 3x/yr), so a year-to-year change above 3x is their input there
PER_CHIP = ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "realistic_to_upper", "usd_per_m_output_tokens")


def _mix_for(mix_cfg: dict, year: int) -> dict[str, float]:
    pts = sorted((int(k), v) for k, v in mix_cfg.items() if str(k).isdigit())
    if not pts:
        raise InfercastError("precision_mix: give at least one year, e.g. 2027 = { fp8 = 0.5, fp4 = 0.5 }",
                             field="scenario")
    precs = sorted({p for _, v in pts for p in v})
    for p in precs:
        P.check(p, "precision_mix")
    ys = [y for y, _ in pts]
    share = {p: float(np.interp(year, ys, [float(v.get(p, 0.0)) for _, v in pts])) for p in precs}
    tot = sum(share.values())
    if tot <= 0 or any(v < 0 for v in share.values()):
        raise InfercastError(f"precision_mix for {year}: shares must be >= 0 and not all zero", field="scenario")
    return {p: v / tot for p, v in share.items() if v > 0}


def serving_of(op: dict) -> Serving:
    return Serving(input_len=int(op["input_len"]), output_len=int(op["output_len"]), tpot_max_s=float(op["tpot_max_s"]),
                   engine=op.get("engine"), kv_cache=op.get("kv_cache", "match"),
                   max_gpus=int(op.get("max_gpus_per_replica", 128)), disaggregated=bool(op.get("disaggregated", False)))


# ---------------------------------------------------------------------------
# the year's chip: a base chip, and per sample its log-multipliers of compute, bandwidth and capacity
# ---------------------------------------------------------------------------

def _trend_chips(sc: dict, fits: dict, years: list[int], n: int, seed: int) -> tuple[list[dict], dict]:
    yrs = np.array(years, dtype=float)
    fc = sc.get("future_chip", {})
    scatter = bool(sc["trends"].get("residual_scatter", True))
    logs, refs, desc = {}, {}, {}
    for q in ("bf16_tflops", "hbm_tbps", "hbm_gb"):
        cfg = sc["trends"].get(q, {})
        logs[q], desc[q] = trend_samples(q, fits[q], cfg, yrs, n, seed, scatter)
        refs[q], _ = trend_samples(q, fits[q], cfg, yrs, REF_SAMPLES, REF_SEED, scatter)
    out = []
    for yi, year in enumerate(years):
        med = {q: float(np.median(refs[q][:, yi])) for q in refs}
        base = chip_params(year, math.exp(med["bf16_tflops"]), math.exp(med["hbm_tbps"]), math.exp(med["hbm_gb"]),
                           family=fc.get("family", "blackwell"), links_from=fc.get("links_from", "b200"),
                           fp8_per_bf16=float(fc.get("fp8_per_bf16", 2.0)), fp4_per_bf16=float(fc.get("fp4_per_bf16", 4.0)))
        keys = ("bf16_tflops", "hbm_tbps", "hbm_gb")
        out.append({"base": base, "label": f"trend flagship {year}",
                    "coords": np.stack([logs[q][:, yi] - med[q] for q in keys], axis=1),
                    "ref": np.stack([refs[q][:, yi] - med[q] for q in keys], axis=1)})
    return out, desc


def _roadmap_chips(sc: dict, fits: dict, years: list[int], n: int, seed: int) -> tuple[list[dict], dict]:
    rm = sc["roadmap"]
    line = R.line(rm)
    if years[0] < line[0].year:
        raise InfercastError(f"roadmap.line starts in {line[0].year} ({line[0].label}), after the first year "
                             f"{years[0]}; start the line earlier or set run.first_year", field="scenario")
    keys = ("bf16_tflops", "hbm_tbps", "hbm_gb")
    g = {q: growth_samples(q, fits[q], sc["trends"].get(q, {}), n, seed) for q in keys}
    gr = {q: growth_samples(q, fits[q], sc["trends"].get(q, {}), REF_SAMPLES, REF_SEED) for q in keys}
    last = line[-1]
    out = []
    for year in years:
        lc = R.chip_for_year(line, year)
        dy = max(0, year - last.year) if lc is last else 0
        label = lc.params.name + (f", grown {dy} yr at the trend's rates" if dy else "")
        out.append({"base": lc.params, "label": label, "kind": lc.kind,
                    "coords": np.stack([g[q] * dy for q in keys], axis=1),
                    "ref": np.stack([gr[q] * dy for q in keys], axis=1)})
    desc = {q: {"growth": f"roadmap line {', '.join(f'{c.label} ({c.year})' for c in line)}; after {last.year}: "
                          f"the trend's annual rate"} for q in keys}
    return out, desc


# ---------------------------------------------------------------------------
# the forecast
# ---------------------------------------------------------------------------

# the year's chip must stay a chip: finite, positive, and within these bounds (TFLOP/s, TB/s, GB, $/h)
CHIP_BOUNDS = {"bf16_tflops": (1e-3, 1e9), "hbm_tbps": (1e-4, 1e7), "hbm_gb": (1e-3, 1e9), "usd_per_hour": (0.0, 1e12)}


def _check_chips(years: list[int], ychips: list[dict], arrays: dict[str, np.ndarray]) -> None:
    for k, a in arrays.items():
        lo, hi = CHIP_BOUNDS[k]
        bad = ~np.isfinite(a) | (a <= lo) | (a > hi)
        if bad.any():
            y = years[int(np.argmax(bad.any(axis=0)))]
            raise InfercastError(f"the scenario makes the {y} chip's {k} leave {lo:g}..{hi:g} (or not a finite "
                                 "number) in some samples; check the trend, roadmap and fleet values for extreme "
                                 "numbers", field="scenario")

def _alg_factor(alg: dict, yrs: np.ndarray, n: int, seed: int) -> np.ndarray:
    base = float(alg.get("base_year", 2025))
    if "per_year" in alg:
        a = parse(alg["per_year"], "algorithmic.per_year").sample(n, rng_for(seed, "algorithmic"))
        expo = np.clip(yrs - base, 0.0, None)
    else:
        a = parse(alg["factor_by_2030"], "algorithmic.factor_by_2030").sample(n, rng_for(seed, "algorithmic"))
        expo = np.clip((yrs - base) / (2030.0 - base), 0.0, None)
    if np.any(a <= 0):
        raise InfercastError("algorithmic.per_year (or factor_by_2030) must be positive", field="scenario")
    return a[:, None] ** expo[None, :]


def run_forecast(scenario: dict | str | Path | None = None, *, samples: int | None = None, seed: int | None = None,
                 models: list[str] | None = None, years: list[int] | None = None,
                 samples_out: dict | None = None) -> dict:
    """The yearly Monte Carlo. Returns a JSON-ready dict: per model, quantity and year, p10/p50/p90.
    `samples_out`, when given, receives the raw samples: {model: {quantity: array (samples, years)}}."""
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
    years = sorted({check_number("year", y, integer=True, allow_none=False, lo=2015, hi=2040) for y in years})
    if not years:
        raise InfercastError("no years to forecast", field="year")
    yrs = np.array(years, dtype=float)
    names = models or run.get("models", ["llama-3.1-70b", "gpt-4"])
    if len(names) > MAX_FORECAST_MODELS:
        raise InfercastError(f"model: at most {MAX_FORECAST_MODELS} models in one forecast, got {len(names)}",
                             field="model")
    mlist = list(dict.fromkeys(get_model(m).id for m in names))
    work = n * len(years) * len(mlist)
    if work > MAX_FORECAST_WORK:
        raise InfercastError(f"samples x years x models = {n:,} x {len(years)} x {len(mlist)} = {work:,} exceeds "
                             f"the limit of {MAX_FORECAST_WORK:,}; use fewer samples, years or models", field="samples")
    if len(years) * len(mlist) > MAX_FORECAST_MODEL_YEARS:
        raise InfercastError(f"years x models = {len(years)} x {len(mlist)} exceeds the limit of "
                             f"{MAX_FORECAST_MODEL_YEARS} planned per run (each plans every shape on up to 21 chips); "
                             "use fewer years or models", field="model")
    op = sc["operating_point"]
    serving = serving_of(op)
    design = run.get("interpolation", "star")

    fits = fit_trends(sc)
    use_roadmap = bool(sc["roadmap"].get("enabled", False))
    ychips, tdesc = (_roadmap_chips if use_roadmap else _trend_chips)(sc, fits, years, n, seed)
    cols = np.stack([y["coords"] for y in ychips], axis=2)  # (n, 3 axes, years)
    flops = np.array([y["base"].bf16 for y in ychips])[None, :] * np.exp(cols[:, 0, :])  # TFLOP/s, (n, Y)
    bw = np.array([y["base"].hbm_tbps for y in ychips])[None, :] * np.exp(cols[:, 1, :])
    cap = np.array([y["base"].hbm_gb for y in ychips])[None, :] * np.exp(cols[:, 2, :])
    ppf_log, pdesc = trend_samples("usd_per_pflop_hour", fits["usd_per_pflop_hour"],
                                   sc["trends"].get("usd_per_pflop_hour", {}), yrs, n, seed,
                                   bool(sc["trends"].get("residual_scatter", True)))
    tdesc["usd_per_pflop_hour"] = pdesc
    usd_h = np.exp(ppf_log) * flops / 1e3
    _check_chips(years, ychips, {"bf16_tflops": flops, "hbm_tbps": bw, "hbm_gb": cap, "usd_per_hour": usd_h})
    alg_f = _alg_factor(sc["algorithmic"], yrs, n, seed)

    fl = sc["fleet"]
    fbase = float(fl.get("base_year", 2025))
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
    plans = 0
    for mid in mlist:
        cfg = mcfg.get(mid, {})
        sf = parse(cfg.get("size_factor", 1), f"models.{mid}.size_factor").sample(n, rng_for(seed, f"size.{mid}"))
        if np.any(sf <= 0):
            raise InfercastError(f"models.{mid}.size_factor must be positive", field="scenario")
        m = get_model(mid)
        q = {k: np.zeros((n, len(years))) for k in QUANTITIES}
        deps: dict[str, Any] = {}
        missed = {}
        for yi, year in enumerate(years):
            yc = ychips[yi]
            mix = _mix_for(sc["precision_mix"], year)
            base_chip = yc["base"].chip()
            out, inp, upper = np.zeros(n), np.zeros(n), np.zeros(n)
            deps[str(year)] = {"chip": yc["label"]}
            for prec, s in mix.items():
                try:
                    r = star(m.id, yc["base"], yc["coords"], yc["ref"], prec, serving, design)
                except InfercastError as e:
                    raise InfercastError(f"{m.id} at {prec} on the {year} chip ({yc['label']}): {e.message}",
                                         field="scenario") from None
                plans += r.plans
                out += s * r.output
                inp += s * r.input
                # the FLOP bound at the precision's peak (compute rates scale together)
                upper += s * base_chip.peak_flops(prec) * np.exp(yc["coords"][:, 0]) / (2.0 * m.active_params)
                c = r.centre
                deps[str(year)][prec] = {"share": s, "plans": r.plans, "missed_tpot_target": r.missed,
                                         "centre": {k: c[k] for k in ("tp", "pp", "ep", "dp", "gpus", "concurrency",
                                                                      "kv", "disaggregated", "output_tok_s_per_gpu",
                                                                      "tokens_per_s_per_user")}}
                if r.missed > 0:
                    missed[f"{year} {prec}"] = r.missed
            q["realistic_to_upper"][:, yi] = (out + inp) / upper
            out, inp = out / sf, inp / sf
            q["output_tok_s_per_gpu"][:, yi] = out
            q["input_tok_s_per_gpu"][:, yi] = inp
            q["usd_per_m_output_tokens"][:, yi] = usd_h[:, yi] / 3600.0 / np.maximum(out, 1e-12) * 1e6
            q["usd_per_m_fixed_capability"][:, yi] = q["usd_per_m_output_tokens"][:, yi] / alg_f[:, yi]
            q["effective_output_tok_s_per_gpu"][:, yi] = out * alg_f[:, yi]
            q["fleet_output_tokens_per_day"][:, yi] = serving_chips[:, yi] * out * 86400.0
            q["fleet_effective_tokens_per_day"][:, yi] = q["fleet_output_tokens_per_day"][:, yi] * alg_f[:, yi]
        for k, v in q.items():
            if not np.all(np.isfinite(v)):
                raise InfercastError(f"the scenario makes '{QUANTITIES[k]}' of {mid} overflow (not a finite number) in "
                                     "some samples; check the fleet, trend and size_factor values for extreme "
                                     "numbers", field="scenario")
        if missed:
            notes.append(f"{mid}: no configuration met TPOT <= {serving.tpot_max_s * 1e3:g} ms on some of the planned "
                         "chips (" + ", ".join(f"{k}: {v:.0%} of them" for k, v in missed.items())
                         + "); those use the fastest configuration")
        if samples_out is not None:
            samples_out[mid] = q
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
            raise InfercastError(f"the scenario makes the year's chip's {k} overflow (not a finite number) in {bad}; "
                                 "check the trend, fleet and algorithmic values for extreme numbers", field="scenario")
    chips["name"] = {str(y): ychips[i]["label"] for i, y in enumerate(years)}
    alg = sc["algorithmic"]
    akey = "per_year" if "per_year" in alg else "factor_by_2030"
    fc = sc.get("future_chip", {})
    return {
        "scenario": sc.get("_path", "given"), "kind": "roadmap" if use_roadmap else "trend",
        "samples": n, "seed": seed, "years": years, "models": mlist,
        "operating_point": {k: v for k, v in op.items()},
        "trends": {k: dict(fits[k].as_dict(), text=fits[k].text(), used=tdesc.get(k, {"growth": "not used"}),
                           source=sc["trends"].get(k, {}).get("source", "")) for k in TREND_KEYS},
        "flagships_note": sc["trends"].get("flagships_note", ""),
        "precision_mix": {str(y): _mix_for(sc["precision_mix"], y) for y in years},
        "assumptions": {
            "algorithmic": {akey: parse(alg[akey]).describe(), "base_year": float(alg.get("base_year", 2025)),
                            "source": alg.get("source", "")},
            "fleet": {k: (parse(fl[k]).describe() if k in ("h100e", "growth", "inference_share", "utilisation")
                          else fl[k]) for k in fl},
            "future_chip": fc, "roadmap": sc["roadmap"] if use_roadmap else {"enabled": False},
            "precision_mix_source": sc["precision_mix"].get("source", ""),
        },
        "chips": chips, "quantity_labels": QUANTITIES, "planner_calls": plans, "interpolation": design,
        "results": {mid: results[mid]["quantities"] for mid in mlist},
        "details": {mid: {k: v for k, v in results[mid].items() if k != "quantities"} for mid in mlist},
        "notes": notes + [
            ("the year's chip: the roadmap line's newest chip, every chip timed by its efficiency family"
             if use_roadmap else "one synthesised flagship per year and sample, drawn from the trend; efficiency "
             f"fractions of family '{fc.get('family', 'blackwell')}'"),
            "throughput at each weight precision: the planner's best configuration (every TP/PP/EP/DP shape and batch) "
            "under the TPOT limit, planned on " + ("7 chips per year (centre, and each axis at P10 and P90)"
                                                  if design == "star" else "27 chips per year (P10/P50/P90 of each axis)")
            + " and interpolated in logs to every sample; precisions mixed by share of serving GPU-time",
            "the fleet is served as if every H100-equivalent were the year's flagship (same total bf16 FLOP/s)",
        ],
    }


def year_ratios(res: dict, quantity: str = "output_tok_s_per_gpu") -> dict[str, dict[str, float]]:
    """Per model: the P50 of `quantity` in each year over the year before."""
    ys = res["years"]
    return {mid: {f"{a}-{b}": qs[quantity][str(b)]["p50"] / qs[quantity][str(a)]["p50"] for a, b in zip(ys, ys[1:])}
            for mid, qs in res["results"].items()}


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


__all__ = ["load_scenario", "fit_trend", "fit_trends", "TrendFit", "synth_chip", "run_forecast", "year_ratios",
           "headline", "fan_chart", "QUANTITIES", "PER_CHIP", "TREND_KEYS", "SHIPPED"]
