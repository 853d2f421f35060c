"""docs/world.md's worked-example numbers, computed from the code (`benchmarks/docs_world.py` writes them into
the document's table between `<!-- numbers:start -->` and `<!-- numbers:end -->`; tests/test_docs_world.py
checks that the document holds exactly what `numbers()` gives)."""
from __future__ import annotations

import re

from infercast import format as F
from infercast.analyses.margin import deepseek_day
from infercast.analyses.overhang import overhang
from infercast.analyses.world import world

ALLTOALL = "all-to-all (expert parallel)"
START, END = "<!-- numbers:start -->", "<!-- numbers:end -->"
ROW = re.compile(r"\|\s*([a-z0-9_.]+)\s*\|\s*([^|]+?)\s*\|")


def numbers() -> dict[str, str]:
    """key -> the number as the document prints it (GPT-4's run, DeepSeek's day, the world in 2024 and 2025)."""
    out = {}
    o10 = overhang(2.15e25, "a100-sxm-80gb", 25_000, 95, "gpt-4", 10)
    o30 = overhang(2.15e25, "a100-sxm-80gb", 25_000, 95, "gpt-4", 30)
    out["gpt4.utilisation"] = F.pct(o10.implied_training_utilisation, 1)
    out["gpt4.10.copies"], out["gpt4.10.tokens_per_day"] = F.num(o10.copies), F.num(o10.tokens_per_day)
    out["gpt4.10.ai_workers"] = F.num(o10.ai_workers["workers"])
    out["gpt4.30.copies"], out["gpt4.30.tokens_per_day"] = F.num(o30.copies), F.num(o30.tokens_per_day)
    d = deepseek_day()
    out["deepseek.predicted_nodes"], out["deepseek.published_nodes"] = F.sig(d.predicted_nodes), F.sig(d.published_nodes)
    out["deepseek.cost_profit_margin"] = F.pct(d.cost_profit_margin)
    out["deepseek.published_cost_profit_margin"] = F.pct(d.published_cost_profit_margin)
    out["deepseek.decode_alltoall_share"] = F.pct(d.decode_step_ms[ALLTOALL] / d.decode_step_ms["step"])
    out["deepseek.prefill_alltoall_share"] = F.pct(d.prefill_step_ms[ALLTOALL] / d.prefill_step_ms["step"])
    for y in (2024, 2025):
        w = world(y)  # the command's defaults
        for k in ("p10", "p50", "p90"):
            out[f"world.{y}.{k}"] = F.num(w.tokens_per_day[k])
        if y == 2025:
            out["world.2025.h100e"] = F.num(w.stock["h100e"])
            g = next(x for x in w.disclosures if x["provider"] == "Google" and x["period"].startswith("2025-09"))
            out["world.2025.google_share"] = F.pct(g["fraction_of_capacity_p50"], 1)
    return out


def documented(text: str) -> dict[str, str]:
    """key -> the number the document's table prints now."""
    block = text.split(START)[1].split(END)[0]
    return {m.group(1): m.group(2) for m in map(ROW.match, block.splitlines()) if m and m.group(1) != "key"}


def replace(text: str, values: dict[str, str]) -> str:
    """The document with each table row's number set to `values[key]` (rows without a key are kept)."""
    head, rest = text.split(START)
    block, tail = rest.split(END)
    block = ROW.sub(lambda m: f"| {m.group(1)} | {values[m.group(1)]} |" if m.group(1) in values else m.group(0), block)
    return head + START + block + END + tail
