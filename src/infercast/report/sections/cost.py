"""Section 3: $ per M input and output tokens per chip and model at the operating point (>= min tokens/s per
user, TTFT <= max), dated catalog prices.

Sources: `analyses.cost.cost` at the sweep's best shape per precision (via `Inputs.ops`), chip prices.
"""
from __future__ import annotations

from infercast import format as F
from infercast.report.inputs import Inputs, best_cost
from infercast.report.sections import View
from infercast.report.sections.common import chip_cell, price_cell, shape_text
from infercast.report.settings import MODEL_LABELS, PRECISION_LABEL
from infercast.report.view import BLANK, missing, text, val
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model


def _dollars(x: float, priced: bool, strong: bool = False):
    if priced:
        return val(x, F.money, strong=strong)
    return missing("-", f"no dated price; {F.money(x)} at $1/GPU-hour")


def _row(inp: Inputs, mid: str, c: str) -> dict:
    r = best_cost(inp, mid, c)
    if r is None:
        why = "; ".join(str(v) for v in inp.ops.get((mid, c), {}).values()) or "no point meets the targets"
        return {"chip": chip_cell(c), "price": price_cell(c), "precision": missing("not reachable", why),
                "shape": BLANK, "out": BLANK, "tps": BLANK, "ttft": BLANK, "input": BLANK, "output": BLANK}
    priced = get_chip(c).price is not None
    return {"chip": chip_cell(c), "price": price_cell(c), "precision": text(PRECISION_LABEL.get(r.weights, r.weights)),
            "shape": text(shape_text(r.tp, r.pp, r.ep)),
            "out": val(r.output_tok_s_per_gpu, tip="; ".join(r.assumptions)),
            "tps": val(r.tokens_per_s_per_user), "ttft": val(r.ttft_s, F.seconds),
            "input": _dollars(r.usd_per_m_input, priced), "output": _dollars(r.usd_per_m_output, priced, strong=True)}


def build(inp: Inputs) -> View:
    s = inp.s
    models, numbers = [], {}
    for mid in s.models:
        models.append({"name": get_model(mid).name, "label": MODEL_LABELS.get(mid, ""),
                       "rows": [_row(inp, mid, c) for c in s.chips]})
        numbers[mid] = {c: {p: (v if isinstance(v, str) else v.as_dict()) for p, v in inp.ops.get((mid, c), {}).items()}
                        for c in s.chips}
    context = {"min_tps": F.num(s.min_tps), "max_ttft": F.seconds(s.max_ttft_s), "input_len": F.num(s.input_len),
               "output_len": F.num(s.output_len), "models": models}
    return View(context=context, numbers={"cost": numbers})


__all__ = ["build"]
