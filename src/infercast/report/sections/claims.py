"""Section 7: the essay's three claims (20x vs 8x, FP8 doubles, H200 = 1.7x H100), each with the model's verdict.

Sources: `analyses.claims`. Each claim fails on its own: the others still show.
"""
from __future__ import annotations

from infercast.analyses import claims as C
from infercast.report.inputs import Inputs
from infercast.report.sections import View

CLAIMS = (("20x throughput vs 8x FLOP in five years", "throughput_vs_flops"),
          ("FP16 → FP8 roughly doubles inference", "fp8_doubling"),
          ("H200 ≈ 1.7× H100", "h200_vs_h100"))


def build(inp: Inputs) -> View:
    items, numbers = [], {}
    for title, fn_name in CLAIMS:
        try:
            r = getattr(C, fn_name)()
            numbers[fn_name] = {k: r[k] for k in ("claim", "verdict", "text")}
            items.append({"title": title, "claim": r["claim"], "verdict": r["verdict"], "text": list(r["text"]),
                          "error": None})
        except Exception as e:  # noqa: BLE001 - one claim failing leaves the others
            items.append({"title": title, "error": f"{type(e).__name__}: {e}"})
    return View(context={"claims": items}, numbers={"claims": numbers})


__all__ = ["build", "CLAIMS"]
