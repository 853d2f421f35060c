"""Section 4: 16-bit vs FP8 vs FP4 for one model per chip at the operating point: throughput, gain, $/M output.

Sources: `analyses.cost.cost` per precision (via `Inputs.ops`), `report.plots.precision_figure`.
"""
from __future__ import annotations

from infercast import format as F
from infercast.report.inputs import Inputs, ok_costs
from infercast.report.sections import View
from infercast.report.sections.common import chip_cell, shape_text
from infercast.report.settings import PRECISION_LABEL, PRECISIONS
from infercast.report.view import Figure, missing, val
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model


def build(inp: Inputs) -> View:
    from infercast.report.plots import precision_figure

    s = inp.s
    mid = s.precision_model
    m = get_model(mid)
    chips = list(s.chips)
    costs = {c: ok_costs(inp, mid, c) for c in chips}
    thr = {p: [costs[c][p].output_tok_s_per_gpu if p in costs[c] else None for c in chips] for p in PRECISIONS}
    usd = {p: [costs[c][p].usd_per_m_output if p in costs[c] and get_chip(c).price else None for c in chips]
           for p in PRECISIONS}
    fig = precision_figure([get_chip(c).id for c in chips], {PRECISION_LABEL[p]: thr[p] for p in PRECISIONS},
                           {PRECISION_LABEL[p]: usd[p] for p in PRECISIONS},
                           title=f"{m.name} at ≥ {F.num(s.min_tps)} tok/s per user, TTFT ≤ {F.seconds(s.max_ttft_s)}: "
                                 "by weight precision (missing bar: no native rate, or no price)")
    path = inp.out / "precision.png"
    fig.savefig(path, format="png")
    rows = []
    for c in chips:
        rs, chip = costs[c], get_chip(c)
        base = rs.get("bf16")
        cells = []
        for p in PRECISIONS:
            r = rs.get(p)
            if r is None:
                native = p in chip.tflops or p == "bf16"
                cells.append(missing("-", "no native tensor rate for this precision" if not native
                                     else "no configuration meets the operating point"))
                continue
            notes = []
            if base and p != "bf16":
                notes.append(F.ratio(r.output_tok_s_per_gpu / base.output_tok_s_per_gpu))
            if chip.price:
                notes.append(F.money(r.usd_per_m_output, "/M out"))
            cells.append(val(r.output_tok_s_per_gpu, note=" · ".join(notes),
                             tip=f"{shape_text(r.tp, r.pp, r.ep)}, batch {F.num(r.concurrency_per_replica)}; "
                                 f"{F.num(r.tokens_per_s_per_user)} tok/s per user"))
        rows.append({"chip": chip_cell(c), "cells": cells})
    context = {"model": m.name, "precisions": [PRECISION_LABEL[p] for p in PRECISIONS], "rows": rows,
               "figure": Figure("precision", path, "throughput and cost by precision",
                                "Throughput (left) and cost (right) by weight precision.")}
    return View(context=context)


__all__ = ["build"]
