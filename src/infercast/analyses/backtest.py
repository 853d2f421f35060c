"""Backtest of the forecast: fit the hardware trend on the catalog as it stood at the end of 2023, forecast the
chips that came after, and compare with what they measured in 2025.

"Measured 2025": MLPerf Inference v5.0 (published 2025-04-02), NVIDIA's closed-division B200-SXM-180GB x 8 system
on TensorRT-LLM, Llama-2-70B (FP4 weights, FP8 KV cache), server and interactive scenarios: the per-GPU output
tokens/s and the mean TPOT of each run's log summary (rows MLP50-002/003 and MLP50-005/006 of
measured-dev.csv), at the benchmark's mean lengths (OpenOrca: 222 input / 294 output tokens,
data/mlperf_datasets.json). The run's mean TPOT is the forecast's TPOT limit, so that both sides answer "the
most output tokens/s per GPU at this speed per user". Nothing is fitted to these rows: they are validation rows.
(Before 2026-11-30 this compared NVIDIA's aiconfigurator silicon rows of Llama-3.1-70B on B200; those are
InferenceX results, reserved data, and were removed: benchmarks/import_aic_silicon.py.)

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
from dataclasses import dataclass

import numpy as np

from infercast.specs.store import data_path

MEASURED_FILE = "measured/measured-dev.csv"
CUTOFF_YEAR = 2023
MEASUREMENT_YEAR = 2025


@dataclass(frozen=True)
class Case:
    model: str = "llama-2-70b"
    gpu: str = "b200"
    engine: str = "TensorRT-LLM"
    weights: str = "fp4"
    scenario: str = "server"  # the MLPerf v5.0 scenario of the measured run
    input_len: int = 222  # MLPerf llama2-70b (OpenOrca) mean lengths, data/mlperf_datasets.json
    output_len: int = 294


CASES = (Case(scenario="server"), Case(scenario="server-interactive"))


def measured(case: Case) -> dict:
    """The case's MLPerf v5.0 run on one 8-GPU system: per-GPU output throughput and mean TPOT, paired by the run's
    log summary (the row's source)."""
    runs: dict[str, dict] = {}
    with open(data_path(MEASURED_FILE), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if (not r["id"].startswith("MLP50-") or r["model"] != case.model or r["gpu"] != case.gpu
                    or not r["engine"].startswith(case.engine) or r["scenario"] != case.scenario
                    or r["num_gpus"] != "8"):
                continue
            p = runs.setdefault(r["source"], {"ids": [], "gpus": 8, "date": r["date"], "source": r["source"]})
            if r["metric"] in ("output_tok_per_s_per_gpu", "tpot_ms_mean"):
                p["ids"].append(r["id"])
                p[r["metric"]] = float(r["value"])
    rows = [dict(p, output_tok_s_per_gpu=p["output_tok_per_s_per_gpu"], tpot_s=p["tpot_ms_mean"] / 1e3,
                 tokens_per_s_per_user=1e3 / p["tpot_ms_mean"], concurrency=None, tp=None)
            for p in runs.values() if "output_tok_per_s_per_gpu" in p and "tpot_ms_mean" in p]
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
