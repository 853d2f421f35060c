"""The computations several sections share, run once per report with a progress bar.

* validation: `validate.validate` on the packaged measured set (or the reason it failed);
* model error: `uncertainty.load_model_error`, from the live validation when it ran;
* sweeps: `frontier.sweep` per reference model and chip at the report's workload;
* costs: `cost.cost` at the best shape per weight precision meeting the operating point.

`best_by_precision` (the best sweep point per precision meeting both targets) is computed here:
`frontier.best_point` selects over all precisions at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from infercast.errors import InfercastError
from infercast.report.settings import PRECISIONS, Settings
from infercast.specs.hardware import get_chip


@dataclass
class Inputs:
    s: Settings
    out: Path
    validation: Any = None  # (summary, results, path) or the reason it failed (str)
    model_error: dict = field(default_factory=dict)
    sweeps: dict = field(default_factory=dict)  # (model, chip) -> Sweep | reason (str)
    ops: dict = field(default_factory=dict)  # (model, chip) -> {precision: CostReport | reason} or {"error": reason}


def compute_validation(inp: Inputs) -> None:
    """Run `validate` on the default measured data; on failure keep the reason (section 5 falls back)."""
    from infercast.analyses.validate import default_data_path, validate

    try:
        path = default_data_path()
        inp.validation = (*validate(path), path)
    except Exception as e:  # noqa: BLE001 - section 5 shows the packaged summary instead
        inp.validation = f"{type(e).__name__}: {e}"


def compute_model_error(inp: Inputs) -> None:
    """The model's own error band: the out-of-sample error over every packaged measured set (the summary
    `benchmarks/validation_snapshot.py` keeps current, checked by a test), not the in-sample error of one file."""
    try:
        from infercast.analyses.uncertainty import load_model_error

        inp.model_error = load_model_error()
    except Exception as e:  # noqa: BLE001 - the report still builds, without the band
        inp.model_error = {"source": f"unavailable ({e})", "multiplier_p10": None, "multiplier_p90": None,
                           "median_abs_error": None, "p90_abs_error": None}


def compute_sweep(inp: Inputs, model: str, chip: str) -> None:
    from infercast.analyses.frontier import sweep

    s = inp.s
    try:
        inp.sweeps[(model, chip)] = sweep(model, chip, input_len=s.input_len, output_len=s.output_len,
                                          max_gpus=s.max_gpus, n_concurrency=s.n_concurrency)
    except InfercastError as e:
        inp.sweeps[(model, chip)] = str(e)


def best_by_precision(sw, min_tps: float, max_ttft: float) -> dict[str, dict]:
    """Highest output tokens/s per GPU per weight precision among points meeting both targets."""
    from infercast.engine.planner import Targets

    return sw.best_by_precision(Targets(min_tps_user=min_tps, max_ttft=max_ttft))


def compute_costs(inp: Inputs, model: str, chip: str) -> None:
    """Price the best point per precision (the sweep's shape; `cost` re-picks the batch for the targets)."""
    from infercast.analyses.cost import cost

    s = inp.s
    sw = inp.sweeps.get((model, chip))
    if isinstance(sw, str) or sw is None:
        inp.ops[(model, chip)] = {"error": sw or "no sweep"}
        return
    priced = get_chip(chip).price is not None
    res: dict[str, Any] = {}
    for p, pt in best_by_precision(sw, s.min_tps, s.max_ttft_s).items():
        try:
            res[p] = cost(model, chip, tp=pt["tp"], pp=pt["pp"], ep=pt["ep"], weights=p, input_len=s.input_len,
                          output_len=s.output_len, min_tokens_per_s_per_user=s.min_tps, max_ttft_s=s.max_ttft_s,
                          price=None if priced else 1.0)
        except InfercastError as e:
            res[p] = str(e)
    inp.ops[(model, chip)] = res


def ok_costs(inp: Inputs, model: str, chip: str) -> dict:
    """The precisions that have a priced point at the operating point: {precision: CostReport}."""
    return {p: r for p, r in inp.ops.get((model, chip), {}).items() if p in PRECISIONS and not isinstance(r, str)}


def best_cost(inp: Inputs, model: str, chip: str):
    """The precision with the most output tokens/s per GPU at the operating point (cheapest on one chip)."""
    rs = ok_costs(inp, model, chip)
    return max(rs.values(), key=lambda r: r.output_tok_s_per_gpu) if rs else None


def precision_gains(inp: Inputs, model: str) -> dict[str, float]:
    """FP8 / 16-bit output throughput at the operating point, per chip that has both."""
    out = {}
    for c in inp.s.chips:
        rs = ok_costs(inp, model, c)
        if "bf16" in rs and "fp8" in rs:
            out[c] = rs["fp8"].output_tok_s_per_gpu / rs["bf16"].output_tok_s_per_gpu
    return out


def steps(inp: Inputs) -> list[tuple[str, Callable[[], None]]]:
    """The shared computations in order, each with a label for the progress bar."""
    s = inp.s
    pairs = [(m, c) for m in s.models for c in sorted(set(s.chips) | set(s.frontier_chips))]
    out: list[tuple[str, Callable[[], None]]] = [("validation against measurements", lambda: compute_validation(inp)),
                                                 ("model error", lambda: compute_model_error(inp))]
    out += [(f"sweep {m} on {c}", lambda m=m, c=c: compute_sweep(inp, m, c)) for m, c in pairs]
    out += [(f"cost {m} on {c}", lambda m=m, c=c: compute_costs(inp, m, c)) for m, c in pairs]
    return out


__all__ = ["Inputs", "steps", "best_by_precision", "ok_costs", "best_cost", "precision_gains", "compute_validation",
           "compute_model_error", "compute_sweep", "compute_costs"]
