"""The page's opening: "in short" figures drawn from the other sections, and the terminal's headline lines.

Reads the numbers the sections produced (`report.json` content) and the shared costs; computes nothing new.
"""
from __future__ import annotations

from infercast import format as F
from infercast.report.inputs import Inputs, best_cost, precision_gains
from infercast.report.settings import ESSAY_QUESTION, ESSAY_URL
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model

KEY_CHIPS = ("a100-sxm-80gb", "h100-sxm", "b200")


def _essay_keys(numbers: dict) -> list[dict]:
    t = numbers.get("essay_table")
    if not t:
        return []
    usable = numbers.get("essay_table_usable", {})
    by = {r["chip"]: r for r in t["rows"]}
    keys = []
    for cid in KEY_CHIPS:
        r = by.get(cid)
        if not r:
            continue
        speeds = []
        for tps, rows in usable.items():
            u = rows.get(cid)
            speeds.append({"tps": F.num(float(tps)),
                           "mixed": None if isinstance(u, str) or u is None else F.num(u["realistic_mixed"])})
        keys.append({"chip": get_chip(cid).name, "upper": F.num(r["upper"]), "lower": F.num(r["lower"]),
                     "mixed": F.num(r["realistic_mixed"]), "mixed_tps": F.num(r["tokens_per_s_per_user"]),
                     "market": F.num(r["market"]) if r.get("market") else None, "usable": speeds})
    return keys


def build(inp: Inputs, numbers: dict) -> dict:
    s = inp.s
    ctx: dict = {"question": ESSAY_QUESTION, "url": ESSAY_URL, "essay": _essay_keys(numbers), "cost": None,
                 "fp8": None, "validation": None}
    r = best_cost(inp, "llama-3.1-70b", "h100-sxm")
    if r:
        ctx["cost"] = {"min_tps": F.num(s.min_tps), "tps": F.num(r.tokens_per_s_per_user),
                       "out": F.num(r.output_tok_s_per_gpu), "usd_out": F.money(r.usd_per_m_output),
                       "usd_in": F.money(r.usd_per_m_input), "price": F.money(r.usd_per_gpu_hour, "/GPU-hour")}
    g = precision_gains(inp, s.precision_model)
    if g:
        ctx["fp8"] = {"model": get_model(s.precision_model).name, "lo": F.ratio(min(g.values())),
                      "hi": F.ratio(max(g.values()))}
    v = numbers.get("validation")
    if v:
        ctx["validation"] = {"compared": F.num(v["compared"]), "median": F.pct(v["median_abs_error"]),
                             "p90": F.pct(v["p90_abs_error"])}
    return ctx


def terminal_lines(inp: Inputs) -> list[str]:
    """Plain-text headline for the terminal: the operating-point cost on H100 and the FP8 gain."""
    s = inp.s
    out = []
    for mid in s.models:
        r = best_cost(inp, mid, "h100-sxm")
        if r:
            out.append(f"{mid} on H100 at >= {F.num(s.min_tps)} tok/s/user, TTFT <= {F.seconds(s.max_ttft_s)} "
                       f"({r.weights}): {F.num(r.output_tok_s_per_gpu)} output tok/s per GPU, "
                       f"{F.money(r.usd_per_m_input)} / M input, {F.money(r.usd_per_m_output)} / M output at "
                       f"{F.money(r.usd_per_gpu_hour)}/GPU-hour")
    g = precision_gains(inp, s.precision_model)
    if g:
        out.append(f"{s.precision_model}: FP8 vs 16-bit at that operating point {F.ratio(min(g.values()))}-"
                   f"{F.ratio(max(g.values()))} across {len(g)} chips")
    return out


__all__ = ["build", "terminal_lines"]
