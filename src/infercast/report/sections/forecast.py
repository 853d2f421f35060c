"""Section 6: the forecast to 2030: fan chart, P50 [P10-P90] table for a few years (trend and vendor roadmap side by
side), year-over-year P50 ratios, the backtest, the headline per model.

Sources: `analyses.forecast.run_forecast` (default and shipped 'roadmap' scenarios) and `fan_chart`;
`analyses.backtest.backtest`; the scenario's notes.
"""
from __future__ import annotations

from pathlib import Path

from infercast import format as F
from infercast.analyses import backtest as BT
from infercast.analyses import forecast as FC
from infercast.report.inputs import Inputs
from infercast.report.sections import View
from infercast.report.view import Figure, text, val

YEARS = (2025, 2027, 2030)
HEADLINE_YEARS = (2027, 2030)


def _band(d: dict, fmt=F.num):
    return val(d["p50"], fmt, note=f"[{fmt(d['p10'])} – {fmt(d['p90'])}]")


def _headline(res: dict) -> list[str]:
    """One line per model and year, P10 / P50 / P90 (as `forecast.headline`, through the one formatter)."""
    def rng(d, fmt=F.num):
        return f"{fmt(d['p10'])} / {fmt(d['p50'])} / {fmt(d['p90'])}"

    lines = []
    for mid, qs in res["results"].items():
        for y in HEADLINE_YEARS:
            k = str(y)
            if k not in qs["output_tok_s_per_gpu"]:
                continue
            lines.append(f"{mid} {y} (P10/P50/P90): {rng(qs['output_tok_s_per_gpu'][k])} output tok/s per GPU; "
                         f"{rng(qs['usd_per_m_output_tokens'][k], F.money)} per M output tokens "
                         f"({rng(qs['usd_per_m_fixed_capability'][k], F.money)} at a fixed capability, with algorithmic "
                         f"progress); fleet {rng(qs['fleet_output_tokens_per_day'][k])} tokens/day "
                         f"({rng(qs['fleet_effective_tokens_per_day'][k])} quality-adjusted)")
    return lines


def _backtest(samples: int) -> list[str]:
    out = []
    for case in BT.CASES:
        r = BT.backtest(case, samples=samples)
        y, m = r["years"][str(r["forecast_year"])], r["measured"]
        ym = r["years"][str(r["measurement_year"])]
        out.append(f"{case.model} {case.weights} on {case.gpu}, MLPerf v5.0 {case.scenario} (rows {', '.join(m['rows'])}): measured "
                   f"{F.num(m['output_tok_s_per_gpu'])} output tok/s per GPU at {F.num(m['tokens_per_s_per_user'])} "
                   f"tok/s per user; forecast from the catalog cut at {r['cutoff_year']} for {r['forecast_year']} "
                   f"(the chip's launch year): {F.num(y['forecast']['p10'])} / {F.num(y['forecast']['p50'])} / "
                   f"{F.num(y['forecast']['p90'])}, the measured figure at its {F.num(y['percentile_of_measured'])}th "
                   f"percentile; for {r['measurement_year']}: {F.num(ym['forecast']['p50'])} (P50), the measured "
                   f"figure at its {F.num(ym['percentile_of_measured'])}th percentile")
    return out


def build(inp: Inputs) -> View:
    years = list(YEARS) if inp.s.quick else None  # quick: only the table's years (the planner runs per year)
    res = FC.run_forecast(samples=inp.s.forecast_samples, years=years)
    road = FC.run_forecast("roadmap", samples=inp.s.forecast_samples, years=years)
    path = FC.fan_chart(res, inp.out / "forecast.png")
    years = [y for y in YEARS if y in res["years"]]
    rows = [{"model": text(mid), "year": text(str(y)), "tps": _band(qs["output_tok_s_per_gpu"][str(y)]),
             "road": _band(road["results"][mid]["output_tok_s_per_gpu"][str(y)]),
             "usd": _band(qs["usd_per_m_output_tokens"][str(y)], F.money),
             "fixed": _band(qs["usd_per_m_fixed_capability"][str(y)], F.money),
             "fleet": _band(qs["fleet_output_tokens_per_day"][str(y)])}
            for mid, qs in res["results"].items() for y in years]
    ratios = [f"{mid}: " + ", ".join(f"{k.replace('-', '→')} ×{F.sig(v, 2)}" for k, v in rs.items())
              for mid, rs in FC.year_ratios(res).items()]
    op = res["operating_point"]
    context = {"samples": F.num(res["samples"]), "seed": str(res["seed"]), "input_len": F.num(op["input_len"]),
               "output_len": F.num(op["output_len"]), "tpot": F.seconds(op["tpot_max_s"]),
               # TPOT <= t means at least 1/t output tokens/s per user
               "tps_user": F.num(1.0 / op["tpot_max_s"]),
               "figure": Figure("forecast", Path(path), "forecast fan chart", "P50 line, P10–P90 band."),
               "rows": rows, "headline": _headline(res), "ratios": ratios,
               "roadmap": [f"{y}: {n}" for y, n in road["chips"]["name"].items()],
               "backtest": _backtest(min(inp.s.forecast_samples, 2000)), "notes": list(res["notes"])}
    return View(context=context, numbers={"forecast": {"years": res["years"], "results": res["results"],
                                                       "roadmap": road["results"], "notes": res["notes"]}})


__all__ = ["build"]
