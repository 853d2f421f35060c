"""Section 6: the forecast to 2030: fan chart, P50 [P10-P90] table for a few years, the headline per model.

Sources: `analyses.forecast.run_forecast` and `fan_chart`; the scenario's notes.
"""
from __future__ import annotations

from pathlib import Path

from infercast import format as F
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
                         f"{rng(qs['usd_per_m_output_tokens'][k], F.money)} per M output tokens; fleet "
                         f"{rng(qs['fleet_output_tokens_per_day'][k])} tokens/day "
                         f"({rng(qs['fleet_effective_tokens_per_day'][k])} quality-adjusted)")
    return lines


def build(inp: Inputs) -> View:
    res = FC.run_forecast(samples=inp.s.forecast_samples)
    path = FC.fan_chart(res, inp.out / "forecast.png")
    years = [y for y in YEARS if y in res["years"]]
    rows = [{"model": text(mid), "year": text(str(y)), "tps": _band(qs["output_tok_s_per_gpu"][str(y)]),
             "usd": _band(qs["usd_per_m_output_tokens"][str(y)], F.money),
             "fleet": _band(qs["fleet_output_tokens_per_day"][str(y)])}
            for mid, qs in res["results"].items() for y in years]
    op = res["operating_point"]
    context = {"samples": F.num(res["samples"]), "seed": str(res["seed"]), "input_len": F.num(op["input_len"]),
               "output_len": F.num(op["output_len"]), "tpot": F.seconds(op["tpot_max_s"]),
               # TPOT <= t means at least 1/t output tokens/s per user
               "tps_user": F.num(1.0 / op["tpot_max_s"]),
               "figure": Figure("forecast", Path(path), "forecast fan chart", "P50 line, P10–P90 band."),
               "rows": rows, "headline": _headline(res), "notes": list(res["notes"])}
    return View(context=context, numbers={"forecast": {"years": res["years"], "results": res["results"],
                                                       "notes": res["notes"]}})


__all__ = ["build"]
