"""docs/forecast.md's tables, generated from the code (`benchmarks/docs_forecast.py` writes them; a test checks
that the file holds what this module produces).

Each table is a block between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`;
`blocks()` returns name -> markdown, `replace(text, blocks)` puts them into the document.
"""
from __future__ import annotations

import re
from typing import Callable

from infercast import format as F
from infercast.analyses import backtest as BT
from infercast.analyses import claims as C
from infercast.analyses import forecast as FC
from infercast.analyses.uncertainty import parse

SAMPLES, SEED = 2000, 0
YEARS = (2027, 2030)
DEFAULT_KEYS = (("fleet", "h100e"), ("fleet", "growth"), ("fleet", "inference_share"), ("fleet", "utilisation"),
                ("algorithmic", "per_year"), ("trends.usd_per_pflop_hour", "growth"), ("models.gpt-4", "size_factor"))


def _r(d: dict, fmt: Callable = F.num) -> str:
    return f"{fmt(d['p10'])} / {fmt(d['p50'])} / {fmt(d['p90'])}"


def defaults_block() -> str:
    sc = FC.load_scenario()
    out = ["| input | distribution | P10 / P50 / P90 |", "|---|---|---|"]
    sources: dict[str, str] = {}
    for sec, key in DEFAULT_KEYS:
        t = sc
        for p in sec.split("."):
            t = t[p]
        d = parse(t[key])
        sources.setdefault(sec, t.get("source", ""))
        out.append(f"| `{sec}.{key}` | `{d}` | {F.num(d.quantile(0.1))} / {F.num(d.median)} / {F.num(d.quantile(0.9))} |")
    out.append("")
    out += [f"- `[{sec}]`: {src}" for sec, src in sources.items()]
    return "\n".join(out)


def trends_block(res: dict) -> str:
    out = ["| quantity | growth/yr | SE | r² | chips | used in the forecast |", "|---|---|---|---|---|---|"]
    for k, f in res["trends"].items():
        out.append(f"| {FC.TREND_LABELS[k]} | {F.pct(f['growth_pct'] / 100, signed=True)} | "
                   f"{F.sig(f['growth_se_pct'], 2)} pp | {F.sig(f['r2'], 2)} | {f['n']} | {f['used']['growth']} |")
    return "\n".join(out)


def headline_block(res: dict) -> str:
    out = [f"| model | quantity | {' | '.join(str(y) for y in YEARS)} |", "|---|---|" + "---|" * len(YEARS)]
    rows = (("output_tok_s_per_gpu", "output tok/s per GPU", F.num),
            ("usd_per_m_output_tokens", "$ per M output tokens", F.money),
            ("usd_per_m_fixed_capability", "$ per M output tokens at a fixed capability (with algorithmic progress)",
             F.money),
            ("fleet_output_tokens_per_day", "fleet output tokens/day", F.num),
            ("fleet_effective_tokens_per_day", "same, x algorithmic efficiency", F.num))
    for mid, qs in res["results"].items():
        for k, label, fmt in rows:
            out.append(f"| {mid} | {label} | " + " | ".join(_r(qs[k][str(y)], fmt) for y in YEARS) + " |")
    return "\n".join(out)


def ratios_block(res: dict) -> str:
    ys = res["years"]
    out = ["| model | " + " | ".join(f"{a}→{b}" for a, b in zip(ys, ys[1:])) + " |", "|---|" + "---|" * (len(ys) - 1)]
    for q, label in (("output_tok_s_per_gpu", "output tok/s per GPU"), ("usd_per_m_output_tokens", "$ per M"),
                     ("usd_per_m_fixed_capability", "$ per M at a fixed capability")):
        for mid, rs in FC.year_ratios(res, q).items():
            out.append(f"| {mid}, {label} | " + " | ".join(f"×{F.sig(v, 2)}" for v in rs.values()) + " |")
    return "\n".join(out)


def roadmap_block(trend: dict, road: dict) -> str:
    ys = road["years"]
    out = ["| year | roadmap chip | " + " | ".join(f"{m} P50 (trend P50)" for m in road["models"]) + " |",
           "|---|---|" + "---|" * len(road["models"])]
    for y in ys:
        k = str(y)
        out.append(f"| {y} | {road['chips']['name'][k]} | " + " | ".join(
            f"{F.num(road['results'][m]['output_tok_s_per_gpu'][k]['p50'])} "
            f"({F.num(trend['results'][m]['output_tok_s_per_gpu'][k]['p50'])})" for m in road["models"]) + " |")
    return "\n".join(out)


def backtest_block() -> str:
    out = ["| case | measured (rows) | forecast year | forecast P10 / P50 / P90 | measured at percentile | inside P10-P90 |",
           "|---|---|---|---|---|---|"]
    notes = []
    for case in BT.CASES:
        r = BT.backtest(case, samples=SAMPLES, seed=SEED)
        m = r["measured"]
        for y in (r["forecast_year"], r["measurement_year"]):
            d = r["years"][str(y)]
            what = "launch year of the chip" if y == r["forecast_year"] else "year measured"
            out.append(f"| {case.model} {case.weights}, {case.gpu}, MLPerf v5.0 {case.scenario} ({case.input_len}/{case.output_len}) | "
                       f"{F.num(m['output_tok_s_per_gpu'])} tok/s/GPU at {F.num(m['tokens_per_s_per_user'])} tok/s/user "
                       f"({', '.join(m['rows'])}) | {y} ({what}) | {_r(d['forecast'])} | "
                       f"{F.num(d['percentile_of_measured'])} | {'yes' if d['inside_p10_p90'] else 'no'} |")
        notes.append(f"- {case.scenario}: the planner on the real {case.gpu} (its kernel tables) at the same TPOT: "
                     f"{F.num(r['planner_on_measured_chip'])} tok/s/GPU ({F.pct(r['planner_on_measured_chip'] / m['output_tok_s_per_gpu'] - 1, signed=True)} "
                     "against the measured figure)")
    c, mc = r["years"][str(r["forecast_year"])]["chip"], r["chip_measured"]
    notes.append(f"- the 2023 trend's chip for {r['forecast_year']} (P50): bf16 {F.num(c['bf16_tflops']['p50'])} TFLOP/s, "
                 f"HBM {F.sig(c['hbm_tbps']['p50'], 2)} TB/s, {F.num(c['hbm_gb']['p50'])} GB; the {BT.CASES[0].gpu}: "
                 f"{F.num(mc['bf16_tflops'])}, {F.sig(mc['hbm_tbps'], 2)}, {F.num(mc['hbm_gb'])}; for "
                 f"{r['measurement_year']}: bf16 {F.num(r['years'][str(r['measurement_year'])]['chip']['bf16_tflops']['p50'])} TFLOP/s")
    return "\n".join(out + [""] + notes)


def claims_block(max_ttft: float | None = None) -> str:
    r = C.b200_vs_h100(max_ttft=max_ttft)
    ws = r["data"]["workloads"]
    out = ["| tokens/s per user | " + " | ".join(f"{w['input_len']:,} in / {w['output_len']:,} out: B200 fp4 / H100 fp8 "
                                                 "(B200 fp8)" for w in ws) + " |", "|---|" + "---|" * len(ws)]
    for i, t in enumerate(r["data"]["tps_user"]):
        cells = []
        for w in ws:
            p = w["points"][i]
            cells.append(" ".join(("×" + F.sig(p[k], 2)) if p[k] else "–" for k in ("ratio_fp4",))
                         + f" ({'×' + F.sig(p['ratio_fp8'], 2) if p['ratio_fp8'] else '–'})")
        out.append(f"| {F.num(t)} | " + " | ".join(cells) + " |")
    out.append("")
    out.append(f"Verdict: {r['verdict']}")
    return "\n".join(out)


def blocks() -> dict[str, str]:
    trend = FC.run_forecast(samples=SAMPLES, seed=SEED)
    road = FC.run_forecast("roadmap", samples=SAMPLES, seed=SEED)
    return {"defaults": defaults_block(), "trends": trends_block(trend), "headline": headline_block(trend),
            "ratios": ratios_block(trend), "roadmap": roadmap_block(trend, road), "backtest": backtest_block(),
            "claims-b200": claims_block(), "claims-b200-ttft5": claims_block(5.0)}


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->)\n(.*?)\n?(<!-- END GENERATED: {re.escape(name)} -->)",
                      re.S)


def extract(text: str, name: str) -> str | None:
    m = _pattern(name).search(text)
    return m.group(2) if m else None


def replace(text: str, new: dict[str, str]) -> str:
    for name, body in new.items():
        pat = _pattern(name)
        if not pat.search(text):
            raise ValueError(f"docs/forecast.md has no block '{name}'")
        text = pat.sub(lambda m: m.group(1) + "\n" + body + "\n" + m.group(3), text)
    return text


__all__ = ["blocks", "replace", "extract", "SAMPLES", "SEED"]
