"""Section 2: output tokens/s per GPU against tokens/s per user and TTFT for the reference models, and
per chip the max-throughput point beside the best point at the operating point.

Sources: `analyses.frontier.sweep` (via `Inputs.sweeps`), `report.plots.frontier_figure`.
"""
from __future__ import annotations

from infercast import format as F
from infercast.report.inputs import Inputs, best_by_precision
from infercast.report.sections import View
from infercast.report.sections.common import chip_cell, shape_text
from infercast.report.settings import MODEL_LABELS, PRECISION_LABEL
from infercast.report.view import BLANK, Figure, missing, per_user, text, val
from infercast.specs.model import get_model


def _figure(inp: Inputs, mid: str, sweeps) -> Figure:
    from infercast.report.plots import frontier_figure

    s = inp.s
    m = get_model(mid)
    fig = frontier_figure(sweeps, title=f"{m.name} ({MODEL_LABELS.get(mid, '')}): {F.num(s.input_len)} in / "
                                        f"{F.num(s.output_len)} out; dots = every configuration",
                          max_cloud=s.max_cloud)
    fig.axes[0].axvline(s.min_tps, color="grey", ls="--", lw=1)
    fig.axes[1].axvline(s.max_ttft_s, color="grey", ls="--", lw=1)
    path = inp.out / f"frontier-{mid}.png"
    fig.savefig(path, format="png")
    return Figure(f"frontier-{mid}", path, f"{m.name} frontier",
                  f"{m.name}: output tokens/s per GPU against tokens/s per user (left) and time to first token "
                  "(right).")


def _rows(inp: Inputs, mid: str) -> tuple[list[dict], dict]:
    s = inp.s
    rows, numbers = [], {}
    for c in s.chips:
        sw = inp.sweeps.get((mid, c))
        if isinstance(sw, str) or sw is None:
            rows.append({"chip": chip_cell(c), "max": missing("does not fit", str(sw)), "op": BLANK,
                         "precision": BLANK, "shape": BLANK, "ratio": BLANK})
            continue
        mx = sw.max_throughput()
        best = best_by_precision(sw, s.min_tps, s.max_ttft_s)
        numbers[c] = {"max_throughput": mx, "at_operating_point": best}
        op = max(best.values(), key=lambda p: p["output_tok_s_per_gpu"]) if best else None
        row = {"chip": chip_cell(c),
               "max": val(mx["output_tok_s_per_gpu"], note=per_user(mx["tokens_per_s_per_user"]),
                          tip=f"{mx['precision']}, {shape_text(mx['tp'], mx['pp'], mx['ep'], mx['gpus'])}, batch "
                              f"{F.num(mx['concurrency'])}")}
        if op is None:
            row |= {"op": missing("no point meets the targets"), "precision": BLANK, "shape": BLANK, "ratio": BLANK}
        else:
            row |= {"op": val(op["output_tok_s_per_gpu"], note=per_user(op["tokens_per_s_per_user"]),
                              tip=f"batch {F.num(op['concurrency'])} per replica; TTFT {F.seconds(op['ttft_s'])}"),
                    "precision": text(PRECISION_LABEL[op["precision"]]),
                    "shape": text(shape_text(op["tp"], op["pp"], op["ep"], op["gpus"])),
                    "ratio": val(op["output_tok_s_per_gpu"] / mx["output_tok_s_per_gpu"], F.pct)}
        rows.append(row)
    return rows, numbers


def build(inp: Inputs) -> View:
    s = inp.s
    models, numbers = [], {}
    for mid in s.models:
        m = get_model(mid)
        sweeps = [sw for c in s.frontier_chips if not isinstance((sw := inp.sweeps.get((mid, c))), (str, type(None)))]
        if not sweeps:
            models.append({"name": m.name, "label": MODEL_LABELS.get(mid, ""), "error": "no chip fits"})
            continue
        rows, numbers[mid] = _rows(inp, mid)
        models.append({"name": m.name, "label": MODEL_LABELS.get(mid, ""), "figure": _figure(inp, mid, sweeps),
                       "rows": rows, "error": None})
    context = {"input_len": F.num(s.input_len), "output_len": F.num(s.output_len), "min_tps": F.num(s.min_tps),
               "max_ttft": F.seconds(s.max_ttft_s), "models": models}
    return View(context=context, numbers={"frontier": numbers})


__all__ = ["build"]
