"""docs/world.md's worked-example table is recomputed here: a number in the docs that the code no longer gives
fails this test (the table is checked, never trusted)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from infercast import format as F
from infercast.analyses.margin import deepseek_day
from infercast.analyses.overhang import overhang
from infercast.analyses.world import world

DOC = Path(__file__).resolve().parents[1] / "docs" / "world.md"
ALLTOALL = "all-to-all (expert parallel)"


def _rows() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- numbers:start -->")[1].split("<!-- numbers:end -->")[0]
    rows = {}
    for line in block.splitlines():
        m = re.match(r"\|\s*([a-z0-9_.]+)\s*\|\s*([^|]+?)\s*\|", line)
        if m and m.group(1) != "key":
            rows[m.group(1)] = m.group(2)
    return rows


@pytest.fixture(scope="module")
def computed() -> dict[str, str]:
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


def test_every_documented_number_is_what_the_code_gives(computed):
    rows = _rows()
    assert set(rows) == set(computed), set(rows) ^ set(computed)
    wrong = {k: (rows[k], computed[k]) for k in rows if rows[k] != computed[k]}
    assert not wrong, f"docs/world.md says / the code gives: {wrong}"
