"""Backtest of the forecast: fit the hardware trend on the catalog as it stood at the end of 2023, forecast the
chips that came after, and compare with what they measured in 2025.

"Measured 2025": the `aic-silicon.csv` rows (NVIDIA's aiconfigurator-core 0.12.0 silicon sample, measured
2025-10-29) of Llama-3.1-70B served by TensorRT-LLM on B200 (the Blackwell part shipping in volume in 2025)
with 1024 input and 1024 output tokens, aggregated, at a fixed number of concurrent clients. For each
weight precision the row with the most output tokens/s per GPU is the measured figure, and its mean TPOT
is the forecast's TPOT limit, so that both sides answer "the most output tokens/s per GPU at this speed per
user". A closed loop of C clients each completes a request every TTFT + (OSL - 1) x TPOT, so the
per-GPU output rate is C x OSL / (TTFT + (OSL - 1) TPOT) / GPUs. None of these rows shapes the model's
constants (the kernel tables are separate measurements; see data/measured/README.md).

The 2023 forecaster's chip: flagships launched by 2023 (A100, MI250X, H100, MI300X) for the trend, the
newest efficiency family then (Hopper) and an H100's links; fp8 = 2x and fp4 = 4x bf16 as in the
default scenario (an fp4 rate was not public before Blackwell's announcement in March 2024: the fp4
case assumes it).

Which forecast year: the forecast's year is the flagship's launch year (the catalog's `year`), so the
like-for-like figure for a B200 (launched 2024, shipping in volume and measured in 2025) is the forecast for
2024; that is the year the check uses (`forecast_year`). The forecast for the measurement year 2025 (a 2025
launch, B300/MI355X-class) is reported beside it (`measurement_year`).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import numpy as np

from infercast.specs.store import data_path

MEASURED_FILE = "measured/aic-silicon.csv"
CUTOFF_YEAR = 2023
MEASUREMENT_YEAR = 2025


@dataclass(frozen=True)
class Case:
    model: str = "llama-3.1-70b"
    gpu: str = "b200"
    engine: str = "TensorRT-LLM"
    weights: str = "fp8"
    input_len: int = 1024
    output_len: int = 1024


CASES = (Case(weights="fp8"), Case(weights="fp4"))


def measured(case: Case) -> dict:
    """The case's rows paired by benchmark point (TTFT and TPOT), with per-GPU output throughput; the best first."""
    pts: dict[str, dict] = {}
    with open(data_path(MEASURED_FILE), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if (r["model"] != case.model or r["gpu"] != case.gpu or not r["engine"].startswith(case.engine)
                    or r["weights"] != case.weights or r["disagg"] or int(r["input_len"]) != case.input_len
                    or int(r["output_len"]) != case.output_len):
                continue
            key = re.sub(r"\s+", " ", r["source"])
            p = pts.setdefault(key, {"ids": [], "concurrency": float(r["concurrency"]), "gpus": int(r["num_gpus"]),
                                     "tp": int(r["tp"] or 1), "date": r["date"], "source": key})
            p["ids"].append(r["id"])
            p[r["metric"]] = float(r["value"]) / 1e3  # ms -> s
    rows = []
    for p in pts.values():
        if "ttft_ms_mean" not in p or "tpot_ms_mean" not in p:
            continue
        t_req = p["ttft_ms_mean"] + (case.output_len - 1) * p["tpot_ms_mean"]
        rows.append(dict(p, output_tok_s_per_gpu=p["concurrency"] * case.output_len / t_req / p["gpus"],
                         tokens_per_s_per_user=1.0 / p["tpot_ms_mean"], tpot_s=p["tpot_ms_mean"]))
    if not rows:
        from infercast.errors import InfercastError

        raise InfercastError(f"no measured rows for {case} in data/{MEASURED_FILE}")
    return {"points": sorted(rows, key=lambda r: -r["output_tok_s_per_gpu"]), "best": max(
        rows, key=lambda r: r["output_tok_s_per_gpu"])}


def scenario_for(case: Case, tpot_s: float, cutoff: int = CUTOFF_YEAR) -> dict:
    """Overrides of the default scenario: the catalog cut at `cutoff`, the measured operating point."""
    return {"trends.catalog_cutoff_year": cutoff, "future_chip.family": "hopper", "future_chip.links_from": "h100-sxm",
            "operating_point.input_len": case.input_len, "operating_point.output_len": case.output_len,
            "operating_point.tpot_max_s": float(f"{tpot_s * (1 + 1e-6):.9g}"),
            "operating_point.engine": "tensorrt-llm", "run.models": [case.model]}


def backtest(case: Case = CASES[0], *, samples: int = 2000, seed: int = 0, cutoff: int = CUTOFF_YEAR) -> dict:
    """The forecast from the catalog cut at `cutoff`, for the measured chip's launch year and for the year it was
    measured, against the measured figure. `inside_p10_p90` is judged at the launch year (see the module doc)."""
    from infercast.analyses.forecast import load_scenario, run_forecast, serving_of
    from infercast.analyses.forecast_plan import planned
    from infercast.analyses.trends import params_of
    from infercast.specs.hardware import get_chip

    m = measured(case)
    best = m["best"]
    launch = get_chip(case.gpu).year
    years = sorted({launch, MEASUREMENT_YEAR})
    sc = load_scenario(overrides=scenario_for(case, best["tpot_s"], cutoff))
    sc["precision_mix"] = {str(y): {case.weights: 1.0} for y in years}
    raw: dict = {}
    res = run_forecast(sc, samples=samples, seed=seed, years=years, models=[case.model], samples_out=raw)
    v = best["output_tok_s_per_gpu"]
    # the serving model's own error at this point: the planner on the measured chip itself (its kernel tables)
    own = planned(case.model, params_of(case.gpu), case.weights, serving_of(sc["operating_point"]))
    by_year = {}
    for i, y in enumerate(years):
        q = res["results"][case.model]["output_tok_s_per_gpu"][str(y)]
        by_year[str(y)] = {"forecast": q, "inside_p10_p90": q["p10"] <= v <= q["p90"],
                           "percentile_of_measured": float(np.mean(raw[case.model]["output_tok_s_per_gpu"][:, i] <= v)
                                                           * 100),
                           "chip": {k: res["chips"][k][str(y)] for k in ("bf16_tflops", "hbm_tbps", "hbm_gb")},
                           "centre": res["details"][case.model]["deployments"][str(y)][case.weights]["centre"]}
    return {"case": case.__dict__, "cutoff_year": cutoff, "forecast_year": launch, "measurement_year": MEASUREMENT_YEAR,
            "fit_chips": res["trends"]["bf16_tflops"]["chips"],
            "measured": {"output_tok_s_per_gpu": v, "tokens_per_s_per_user": best["tokens_per_s_per_user"],
                         "tpot_s": best["tpot_s"], "concurrency": best["concurrency"], "tp": best["tp"],
                         "gpus": best["gpus"], "rows": best["ids"], "date": best["date"], "source": best["source"]},
            "chip_measured": {"bf16_tflops": get_chip(case.gpu).tflops["bf16"], "hbm_tbps": get_chip(case.gpu).memory_bw_tbps,
                              "hbm_gb": get_chip(case.gpu).memory_gb},
            "planner_on_measured_chip": own["output_tok_s_per_gpu"],
            "years": by_year, "inside_p10_p90": by_year[str(launch)]["inside_p10_p90"]}



__all__ = ["Case", "CASES", "measured", "scenario_for", "backtest", "CUTOFF_YEAR", "MEASUREMENT_YEAR"]
