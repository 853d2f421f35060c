"""Section 7: the essay's claims (20x vs 8x, FP8 doubles, H200 = 1.7x H100, B200 = 4-7x H100 for GPT-4), each with
the model's verdict; the B200 claim also as a table of ratios along the interactivity curve.

Sources: `analyses.claims`. Each claim fails on its own: the others still show.
"""
from __future__ import annotations

from infercast import format as F
from infercast.analyses import claims as C
from infercast.report.inputs import Inputs
from infercast.report.sections import View

CLAIMS = (("20x throughput vs 8x FLOP in five years", "throughput_vs_flops"),
          ("FP16 → FP8 roughly doubles inference", "fp8_doubling"),
          ("H200 ≈ 1.7× H100", "h200_vs_h100"),
          ("B200 ≈ 4–7× H100 for GPT-4, along the interactivity curve", "b200_vs_h100"))


def _curve(r: dict) -> dict:
    """The B200 claim's ratios as a table: one row per tokens/s per user, one column per workload."""
    ws = r["data"]["workloads"]
    head = [f"{F.num(w['input_len'])} in / {F.num(w['output_len'])} out" for w in ws]
    rows = []
    for i, t in enumerate(r["data"]["tps_user"]):
        cells = []
        for w in ws:
            p = w["points"][i]
            cells.append({k: (F.sig(p[k], 2) + "×" if p[k] else "–") for k in ("ratio_fp4", "ratio_fp8")})
        rows.append({"tps": F.num(t), "cells": cells})
    return {"head": head, "rows": rows}


def build(inp: Inputs) -> View:
    items, numbers = [], {}
    for title, fn_name in CLAIMS:
        try:
            r = getattr(C, fn_name)()
            numbers[fn_name] = {k: r[k] for k in ("claim", "verdict", "text")}
            items.append({"title": title, "claim": r["claim"], "verdict": r["verdict"], "text": list(r["text"]),
                          "curve": _curve(r) if fn_name == "b200_vs_h100" else None, "error": None})
        except Exception as e:  # noqa: BLE001 - one claim failing leaves the others
            items.append({"title": title, "error": f"{type(e).__name__}: {e}"})
    return View(context={"claims": items}, numbers={"claims": numbers})


__all__ = ["build", "CLAIMS"]
