"""The results as CSV: one row per chip (summary), or every frontier point. Spreadsheet-safe cells."""
from __future__ import annotations

import csv
import io
from typing import Any

from infercast.web.schemas import BoundsItem, CostItem, EstimateItem, FrontierItem, ResultsOut

FRONTIER_COLS = ["chip", "precision", "tp", "pp", "ep", "dp", "gpus", "concurrency", "tokens_per_s_per_user",
                 "output_tok_s_per_gpu", "input_tok_s_per_gpu", "ttft_s", "tpot_s", "speculative", "disaggregated"]
SUMMARY_COLS = [
    "model", "chip", "chosen_by", "targets", "weights", "kv_cache", "engine", "input_len", "output_len", "gpus",
    "replicas", "tp", "pp", "ep", "dp", "speculative", "disaggregated",
    "upper_forward_passes_per_s", "lower_forward_passes_per_s", "market_forward_passes_per_s",
    "concurrency", "output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s",
    "bound_by", "batch_limit", "frontier_max_output_tok_s_per_gpu", "best_meeting_targets_output_tok_s_per_gpu",
    "usd_per_gpu_hour", "price_date", "usd_per_m_input", "usd_per_m_output", "error",
]


def _summary_row(r: ResultsOut, b: BoundsItem, e: EstimateItem, f: FrontierItem, c: CostItem) -> list:
    pt, est, bd, cr = e.point, e.estimate, b.bounds, c.cost
    errs = "; ".join(x.error.detail for x in (e, f, c) if x.error)

    def g(obj, attr):
        v = "" if obj is None else getattr(obj, attr)
        return "" if v is None else v

    return [
        r.model.id, e.chip, g(pt, "chosen_by"), g(pt, "targets"), g(pt, "precision"), g(pt, "kv"), g(est, "engine"),
        r.inputs.input_len, r.inputs.output_len, pt.gpus * pt.replicas if pt else "", g(pt, "replicas"),
        g(pt, "tp"), g(pt, "pp"), g(pt, "ep"), g(pt, "dp"), g(pt, "speculative"), g(pt, "disaggregated"),
        g(bd, "upper_forward_passes_per_s"), g(bd, "lower_forward_passes_per_s"), g(bd, "market_forward_passes_per_s"),
        g(pt, "concurrency"), g(pt, "output_tok_s_per_gpu"), g(pt, "input_tok_s_per_gpu"),
        g(pt, "tokens_per_s_per_user"), g(pt, "ttft_s"), g(pt, "tpot_s"), g(est, "bound_by"),
        g(est, "batch_limit"), g(f.max_throughput, "output_tok_s_per_gpu"),
        g(f.best_meeting_targets, "output_tok_s_per_gpu"), g(c.price, "usd_per_hour"), g(c.price, "date"),
        g(cr, "usd_per_m_input"), g(cr, "usd_per_m_output"), errs,
    ]


def _cell(v: Any) -> Any:
    """Spreadsheet-safe: a text cell starting with = + - @ is not read as a formula (OWASP CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def to_csv(r: ResultsOut, table: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    if table == "frontier":
        w.writerow(FRONTIER_COLS)
        for f in r.frontier:
            for p in f.points:
                d = p.model_dump()
                w.writerow([_cell("" if d.get(k) is None else d.get(k)) for k in FRONTIER_COLS])
    else:
        w.writerow(SUMMARY_COLS)
        for b, e, f, c in zip(r.bounds, r.estimate, r.frontier, r.cost):
            w.writerow([_cell(v) for v in _summary_row(r, b, e, f, c)])
    return buf.getvalue()
