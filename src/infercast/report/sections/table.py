"""Section 1: the essay's table per chip (upper, lower, realistic prefill / decode / mixed, market), at max
throughput as the essay sizes it and at usable speeds (issue #15), each realistic figure with its tokens/s per user.

Sources: `analyses.table.essay_table` (rows), `engine.estimate.estimate` (efficiency and engine source),
`specs` (datasheet and parameter sources), the model's own error band (`Inputs.model_error`).
"""
from __future__ import annotations

from infercast import format as F
from infercast.analyses.table import essay_table
from infercast.engine.estimate import estimate
from infercast.errors import InfercastError
from infercast.report.inputs import Inputs
from infercast.report.sections import View
from infercast.report.sections.common import chip_cell, memory_text
from infercast.report.settings import ESSAY_MODEL
from infercast.report.view import Val, missing, per_user, text, val
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model


def efficiency_source(model: str, row) -> tuple[str, str]:
    """Where the achievable fractions and the engine profile used for this chip come from."""
    e = estimate(model, row.chip, tp=row.tp, pp=row.pp, ep=row.ep, weights=row.precision, input_len=2048,
                 output_len=256, max_throughput=True)
    return e.efficiency_source, e.engine_source


def error_note(me: dict) -> str:
    if me.get("median_abs_error") is None:
        return f"model error: {me.get('source', 'unknown')}"
    return (f"infercast's own error against {me['source']}: median |error| {F.pct(me['median_abs_error'])}, "
            f"P90 {F.pct(me['p90_abs_error'])}; P10-P90 band {F.ratio(me['multiplier_p10'])}-"
            f"{F.ratio(me['multiplier_p90'])}")


def usable_rows(inp: Inputs, tps: float) -> dict:
    """chip -> the essay's row at >= `tps` tokens/s per user, or the reason there is none on that shape."""
    s = inp.s
    out: dict = {}
    for c in s.chips:
        try:
            out[c] = essay_table(ESSAY_MODEL, chips=[c], precision="bf16", input_len=s.essay_input_len,
                                 output_len=s.essay_output_len, min_tokens_per_s_per_user=tps).rows[0]
        except InfercastError as e:
            out[c] = str(e)
    return out


def decode_per_user(r) -> float:
    # analyses.table.row: decode = concurrency / TPOT / gpus, so one user's decode speed 1/TPOT = decode * gpus / conc
    return r.realistic_decode * r.gpus / r.concurrency


def build(inp: Inputs) -> View:
    s = inp.s
    t = essay_table(ESSAY_MODEL, chips=list(s.chips), precision="bf16", input_len=s.essay_input_len,
                    output_len=s.essay_output_len)
    usable = {tps: usable_rows(inp, tps) for tps in s.usable_tps}
    m = get_model(ESSAY_MODEL)
    me = inp.model_error
    lo, hi = me.get("multiplier_p10"), me.get("multiplier_p90")
    params_src = (f"{m.name}: {F.num(m.active_params / 1e9)} B active of {F.num(m.total_params / 1e9)} B parameters"
                  + (" (rumoured)" if m.rumoured else "") + f". {m.params_source}")
    sources: list[str] = []
    rows, gaps = [], []

    def band(x: float) -> str:
        return f" (P10-P90 {F.num(x * lo)}-{F.num(x * hi)})" if lo else ""

    for r in t.rows:
        c = get_chip(r.chip)
        eff, eng = efficiency_source(m.id, r)
        sources.append(f"engine profile: {eng}")
        eff_src = f"efficiency fractions, family {c.family}: {eff}"
        where = f"{r.gpus} GPUs (TP {r.tp} x PP {r.pp}); efficiency: {eff}"
        mixed_tip = "continuous batching: input + output tokens/s per GPU"
        cells = {
            "chip": chip_cell(r.chip, year=True),
            "gpus": text(f"{r.tp}×{r.pp} = {r.gpus}",
                         tip=f"weights {F.num(r.weights_gb_per_gpu)} GB per GPU, "
                             f"{F.pct(r.weights_gb_per_gpu * 1e9 / c.memory_bytes)} of its {memory_text(r.chip)}"),
            "upper": val(r.upper, tip=f"{F.num(c.peak_flops('bf16') / 1e12)} TFLOP/s dense bf16 / "
                                      f"{F.num(2 * m.active_params / 1e9)} GFLOP per forward pass",
                         refs=[f"{c.name} peak FLOP/s: {c.sources.get('tflops', '?')}"]),
            "lower": val(r.lower, tip=f"{F.num(c.memory_bw_tbps)} TB/s / {F.num(m.active_params * 2 / 1e9)} GB of "
                                      "active bf16 weights",
                         refs=[f"{c.name} HBM bandwidth: {c.sources.get('bandwidth', '?')}"]),
            "prefill": val(r.realistic_prefill, refs=[eff_src],
                           tip=f"prefill only: input tokens/s per GPU{band(r.realistic_prefill)}; {where}"),
            "decode": val(r.realistic_decode, note=per_user(decode_per_user(r)),
                          tip=f"decode only at the max-throughput batch ({F.num(r.concurrency)} sequences): output "
                              f"tokens/s per GPU{band(r.realistic_decode)}; {where}"),
            "mixed": val(r.realistic_mixed, strong=True, note=per_user(r.tokens_per_s_per_user),
                         tip=f"{mixed_tip}{band(r.realistic_mixed)}; {r.operating_point}, "
                             f"{F.num(r.concurrency)} sequences; {where}"),
            "share": val(r.realistic_mixed / r.upper, F.pct, tip="realistic mixed / upper bound"),
            "market": (val(r.market, tip=r.market_source, refs=[f"market figure: {r.market_source}"]) if r.market
                       else missing("-", "no dated $/M-token quote for this model on this chip (data/market.json)")),
            "usable": [],
        }
        for tps, by_chip in usable.items():
            u = by_chip[r.chip]
            if isinstance(u, str):
                cells["usable"].append(missing("no point at this speed", u))
                gaps.append(f"{c.name} at >= {F.num(tps)} tok/s per user: {u}")
                continue
            cells["usable"].append(val(
                u.realistic_mixed, strong=True, note=per_user(u.tokens_per_s_per_user),
                tip=f"{mixed_tip}{band(u.realistic_mixed)}; largest batch with >= {F.num(tps)} tok/s per user: "
                    f"{F.num(u.concurrency)} sequences on {u.gpus} GPUs (TP {u.tp} x PP {u.pp}); decode only "
                    f"{F.num(u.realistic_decode)} output tok/s per GPU"))
        rows.append(cells)
    numbers = {"essay_table": t.as_dict(),
               "essay_table_usable": {F.sig(tps): {c: (u if isinstance(u, str) else u.as_dict())
                                                   for c, u in by_chip.items()} for tps, by_chip in usable.items()}}
    context = {"model": m.name, "params_src": params_src, "err_src": error_note(me), "input_len": F.num(t.input_len),
               "output_len": F.num(t.output_len), "usable_tps": [F.num(x) for x in s.usable_tps], "rows": rows,
               "method": list(t.method), "gaps": gaps}
    return View(context=context, numbers=numbers, sources=tuple(sources), result=t)


__all__ = ["build", "usable_rows", "efficiency_source", "error_note"]
