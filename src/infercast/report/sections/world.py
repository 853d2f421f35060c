"""Section: world capacity, the compute overhang and margins (issue #14), the essay's three questions.

Sources: `analyses.world` (stock and tokens/day; the report's own sweeps stand in for a new plan where they
cover a chip at the same workload), `analyses.overhang` (reported training runs, data/world/training_runs.json),
`analyses.margin` (DeepSeek's published day; dated list prices, data/world/api_prices.json).
"""
from __future__ import annotations

from pathlib import Path

from infercast import format as F
from infercast.analyses import margin as M
from infercast.analyses.overhang import overhang
from infercast.analyses.world import world
from infercast.analyses.world_data import training_runs
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.report.inputs import Inputs
from infercast.report.plots_world import capacity_figure, copies_figure, margin_figure
from infercast.report.sections import View
from infercast.report.view import Figure, missing, text, val

YEARS = (2023, 2024, 2025)
REFERENCE = "deepseek-v3"
OVERHANG_TARGETS = (10.0, 20.0, 30.0)
RUNS = ("GPT-4", "Llama 3.1 405B", "DeepSeek-V3")  # rows of data/world/training_runs.json
RUN_PEAK = {"DeepSeek-V3": "fp8"}  # trained in FP8 (DeepSeek-V3 report): utilisation against the FP8 peak
# (model, chip, provider text, cached fraction, disaggregated, GPU $/hour or None for the catalog's)
MARGINS = (("deepseek-v3", "h800", "DeepSeek", 0.563, True, None),
           ("deepseek-r1", "h800", "DeepSeek", 0.563, True, None),
           ("llama-3.1-70b", "h100-sxm", None, 0.0, False, None),
           ("llama-3.1-405b", "h100-sxm", None, 0.0, False, None),
           ("gpt-oss-120b", "h100-sxm", "typical", 0.0, False, None),
           ("qwen3-235b-a22b", "h100-sxm", "OpenRouter", 0.0, False, None),
           ("gpt-4", "a100-sxm-80gb", None, 0.0, False, 1.0))
QUICK_MARGINS = MARGINS[:1] + MARGINS[2:3]


def _band(d: dict, fmt=F.num):
    return val(d["p50"], fmt, note=f"[{fmt(d['p10'])} – {fmt(d['p90'])}]")


def _world(inp: Inputs) -> tuple[dict, dict]:
    s = inp.s
    plans = {k: v for k, v in inp.sweeps.items() if not isinstance(v, str)}
    samples = 1000 if s.quick else 4000
    runs = {y: world(y, model=REFERENCE, input_len=s.input_len, output_len=s.output_len, min_tps_user=s.min_tps,
                     max_gpus=s.max_gpus, samples=samples, plans=plans) for y in YEARS}
    rows = []
    for y, w in runs.items():
        st = w.stock
        a = w.ai_workers
        rows.append({"year": text(str(y), note=w.as_of),
                     "stock": val(st["h100e"], note=f"Epoch 8-bit basis {F.num(st['h100e_epoch'])}",
                                  tip=f"P5–P95 {F.num(st['h100e_p5'])} – {F.num(st['h100e_p95'])}"),
                     "serving": _band(w.inference_gpu_equivalents),
                     "tokens": _band(w.tokens_per_day), "output": _band(w.output_tokens_per_day),
                     "workers": val(a["workers"], note=f"[{F.num(a['workers_p10'])} – {F.num(a['workers_p90'])}]"),
                     "flop": val(w.bounds["flop_bound_tokens_per_day"]),
                     "bw": val(w.bounds["bandwidth_bound_tokens_per_day"])})
    last = runs[YEARS[-1]]
    drivers = [{"input": text(d["input"]), "p10": val(d["p10"]), "p90": val(d["p90"]),
                "ratio": val(d["ratio_p90_p10"], F.ratio), "share": val(d["variance_share"], F.pct)}
               for d in last.drivers]
    latest = {}
    for d in last.disclosures:  # the latest period disclosed per provider and scope
        key = (d["provider"], d["scope"])
        if key not in latest or _when(d["period"], last.year) >= _when(latest[key]["period"], last.year):
            latest[key] = d
    disclosures = [{"who": text(d["provider"], tip=d["scope"], refs=(d["source"],)), "period": text(d["period"]),
                    "tokens": val(d["tokens_per_day"]),
                    "share": val(d["fraction_of_capacity_p50"], lambda x: F.pct(x, 1),
                                 note="[" + " – ".join(F.pct(x, 1) for x in d["fraction_range"]) + "]")}
                   for d in sorted(latest.values(), key=lambda d: -d["tokens_per_day"])]
    designers = sorted({ln["designer"] for w in runs.values() for ln in w.stock["lines"]})
    by_designer = {d: [runs[y].stock["by_designer"].get(d, {}).get("h100e", 0.0) for y in YEARS] for d in designers}
    points = []
    for y in YEARS:  # every disclosure of these years, at its period (x) in fractional years
        for d in runs[y].disclosures:
            if d["provider"] in ("Google", "China (all providers)", "ByteDance (Volcano Engine)", "OpenAI"):
                points.append((_when(d["period"], y), d["tokens_per_day"], d["provider"]))
    fig = capacity_figure(list(YEARS), by_designer, [runs[y].tokens_per_day for y in YEARS],
                          [runs[y].bounds["flop_bound_tokens_per_day"] for y in YEARS],
                          [runs[y].bounds["bandwidth_bound_tokens_per_day"] for y in YEARS], points,
                          f"Installed accelerators and what they serve: {REFERENCE}, {s.input_len:,} in / "
                          f"{s.output_len:,} out, >= {F.num(s.min_tps)} tokens/s per user")
    path = inp.out / "world_capacity.png"
    fig.savefig(path)
    ctx = {"rows": rows, "drivers": drivers, "disclosures": disclosures, "model": REFERENCE,
           "figure": Figure("world_capacity", Path(path), "accelerator stock and tokens per day by year",
                            "Left: stock by designer (this project's bf16 H100-equivalents). Right: tokens/day the "
                            "inference share serves, P50 with P10–P90, between the essay's bounds; points: disclosed "
                            "volumes."),
           "inputs": [f"{k}: {v['spec']} — {v['source']}" for k, v in last.inputs.items() if v.get("p10") is not None],
           "notes": list(last.notes), "samples": F.num(samples), "conversion": F.num(last.ai_workers["tokens_per_workday"]),
           "conversion_src": last.ai_workers["source"]}
    nums = {str(y): {k: getattr(w, k) for k in ("tokens_per_day", "output_tokens_per_day", "h100e",
                                                 "inference_gpu_equivalents", "bounds", "drivers", "disclosures")}
            | {"stock_h100e": w.stock["h100e"], "stock_h100e_epoch": w.stock["h100e_epoch"]} for y, w in runs.items()}
    return ctx, nums


def _when(period: str, year: int) -> float:
    """A disclosure's period as a fractional year: '2025-09/10' -> 2025.7, '2025 Q3' -> 2025.6, 'early 2025' -> 2025.1."""
    import re

    m = re.search(r"20\d\d-(\d\d)", period)
    if m:
        return year + (int(m.group(1)) - 0.5) / 12
    q = re.search(r"Q([1-4])", period)
    if q:
        return year + (int(q.group(1)) - 0.5) / 4
    return year + (0.1 if "early" in period else 0.95 if "end" in period else 0.5)


def _flop(x: float) -> str:
    """Training compute as a reader writes it: 2.15 × 10^25 FLOP (no exponent notation)."""
    import math

    e = math.floor(math.log10(x))
    return f"{F.sig(x / 10 ** e)} × 10^{e} FLOP"


def _overhang(inp: Inputs) -> tuple[dict, dict]:
    s = inp.s
    runs = {r.model: r for r in training_runs()}
    names = RUNS[:1] if s.quick else RUNS
    rows, nums, curves, marks = [], {}, [], []
    for name in names:
        r = runs[name]
        flop = 2.15e25 if name == "GPT-4" else r.training_flop.central  # the SemiAnalysis figure
        targets = OVERHANG_TARGETS if name == "GPT-4" else (s.min_tps,)
        for t in targets:
            o = overhang(flop, r.chip_id, r.gpus, r.days.central, r.model_id, t, peak_precision=RUN_PEAK.get(name),
                         input_len=s.input_len, output_len=s.output_len)
            sh = o.shape
            rows.append({"run": text(name, tip=f"{F.num(r.gpus)} x {o.chip}, {F.sig(o.days)} days, {_flop(flop)}",
                                    refs=tuple(r.sources[:1])),
                         "util": val(o.implied_training_utilisation, lambda x: F.pct(x, 1),
                                     note=f"of {o.peak_precision} peak"),
                         "tps": val(t), "shape": text(f"{sh['precision']} TP{sh['tp']}×PP{sh['pp']}"
                                                      + (f" EP{sh['ep']}" if sh["ep"] > 1 else ""),
                                                      note=f"{sh['gpus']} GPUs × {F.num(o.replicas)}"),
                         "copies": val(o.copies, strong=True), "day": val(o.tokens_per_day),
                         "workers": val(o.ai_workers["workers"],
                                        note=f"[{F.num(o.ai_workers['workers_low'])} – "
                                             f"{F.num(o.ai_workers['workers_high'])}]")})
            nums[f"{name} @ {t:g}"] = o.as_dict()
            if name == "GPT-4":
                marks.append((t, o.copies))
        p = plan(r.model_id, r.chip_id, Workload(s.input_len, s.output_len), Targets(),
                 Space(max_gpus=min(r.gpus, 256), points=s.n_concurrency))
        pts = [x for x in p.frontier_interactivity if x["tokens_per_s_per_user"] >= 1]
        curves.append((f"{name}: {F.num(r.gpus)} × {r.chip_id}", [x["tokens_per_s_per_user"] for x in pts],
                       [(r.gpus // x["gpus"]) * x["gpus"] * x["output_tok_s_per_gpu"] / x["tokens_per_s_per_user"]
                        for x in pts]))
    fig = copies_figure(curves, marks, "Copies a training cluster runs once trained, against each copy's speed")
    path = inp.out / "overhang.png"
    fig.savefig(path)
    return {"rows": rows, "figure": Figure("overhang", Path(path), "copies against tokens/s per user",
                                           "One curve per training run: whole replicas of the planner's frontier "
                                           "shapes on the run's GPUs. Circles: the table's points.")}, nums


def _margins(inp: Inputs) -> tuple[dict, dict]:
    s = inp.s
    day = M.deepseek_day()
    ds = [{"what": text(k), "pub": val(p, f), "mine": val(m, f), "ratio": val(m / p, F.ratio)}
          for k, p, m, f in (("average nodes in use (8 × H800)", day.published_nodes, day.predicted_nodes, F.sig),
                             ("prefill nodes (derived)", day.published_prefill_nodes, day.predicted_prefill_nodes, F.sig),
                             ("decode nodes (derived)", day.published_decode_nodes, day.predicted_decode_nodes, F.sig),
                             ("cost per day at $2/GPU-hour", day.published_cost_per_day_usd, day.cost_per_day_usd,
                              F.money),
                             ("theoretical revenue per day (R1 prices)", day.published_revenue_per_day_usd,
                              day.revenue_per_day_usd, F.money),
                             ("cost-profit margin", day.published_cost_profit_margin, day.cost_profit_margin, F.pct),
                             ("gross margin", day.published_gross_margin, day.gross_margin, F.pct))]
    steps = [f"{name} {F.sig(st['step'])} ms, of which all-to-all {F.sig(st['all-to-all (expert parallel)'])} ms "
             f"({F.pct(st['all-to-all (expert parallel)'] / st['step'])}), attention {F.sig(st['attention'])} ms, "
             f"experts and GEMMs {F.sig(st['experts and dense GEMMs'])} ms"
             for name, st in (("decode step", day.decode_step_ms), ("prefill step", day.prefill_step_ms))]
    rows, labels, cost, price, nums = [], [], [], [], {"deepseek_day": day.as_dict()}
    for model, chip, prov, f, disagg, gpu_h in (QUICK_MARGINS if s.quick else MARGINS):
        try:
            r = M.margin(model, chip, provider=prov, input_len=s.input_len, output_len=s.output_len, cached_fraction=f,
                         min_tps_user=10.0 if model == "gpt-4" else s.min_tps, price=gpu_h, disaggregated=disagg,
                         eps=(32, 144) if disagg else None, max_gpus=144 if disagg else s.max_gpus)
        except Exception as e:  # noqa: BLE001 - one row failing leaves the others
            rows.append({"model": text(model), "chip": text(chip), "price": missing("-", str(e)), "cost_in": missing(""),
                         "cost_out": missing(""), "list": missing(""), "margin": missing("not available", str(e))})
            continue
        lp = r.list_price
        rows.append({"model": text(model, note=f"{F.pct(f)} cached" if f else ""),
                     "chip": text(chip, note=f"{F.money(r.usd_per_gpu_hour)}/GPU-h", tip=r.gpu_price_source),
                     "price": text(lp["provider"], note=lp["date"], refs=(lp["source"],)),
                     "cost_in": val(r.cost_usd_per_m_uncached_input, F.money),
                     "cost_out": val(r.cost_usd_per_m_output, F.money, tip="; ".join(r.assumptions)),
                     "list": text(f"{F.money(lp['input'])} / {F.money(lp['output'])}",
                                  note="cached " + (F.money(lp["cached_input"]) if lp["cached_input"] is not None
                                                    else "not listed")),
                     "margin": val(r.gross_margin, F.pct, strong=True,
                                   note=f"at {F.num(r.shape['tokens_per_s_per_user'])} tok/s/user")})
        labels.append(f"{model} on {chip}")
        cost.append(r.cost_usd_per_m_output)
        price.append(lp["output"])
        nums[f"{model} on {chip}"] = r.as_dict()
    fig = margin_figure(labels, cost, price, "Serving cost at the planner's point vs the dated list price "
                                             "(output tokens)")
    path = inp.out / "margins.png"
    fig.savefig(path)
    return {"deepseek": ds, "deepseek_notes": day.notes, "steps": steps, "rows": rows,
            "figure": Figure("margins", Path(path), "serving cost and list price per model",
                             "Cost: the catalog's $/GPU-hour (DeepSeek's $2 for H800; the essay's $1 for A100 with "
                             "GPT-4) over the planner's output tokens/s per GPU, all hours busy."),
            "deepseek_src": day.sources[0]}, nums


def build(inp: Inputs) -> View:
    w_ctx, w_nums = _world(inp)
    o_ctx, o_nums = _overhang(inp)
    m_ctx, m_nums = _margins(inp)
    s = inp.s
    context = {"world": w_ctx, "overhang": o_ctx, "margins": m_ctx, "input_len": F.num(s.input_len),
               "output_len": F.num(s.output_len), "min_tps": F.num(s.min_tps)}
    return View(context=context, numbers={"world": {"capacity": w_nums, "overhang": o_nums, "margins": m_nums}})


__all__ = ["build"]
