"""`infercast margin` (issue #14): serving cost at the planner's operating point against a dated list price.
Worked example: DeepSeek's published day of V3/R1 serving on H800 (2025-02-27/28, open-infra-index Day 6)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from infercast.analyses.cost import cost
from infercast.analyses.essay import matmul_flop_per_token
from infercast.analyses.margin import deepseek_day, margin, priced_models, select_price
from infercast.analyses.world_data import deepseek_data
from infercast.cli import app
from infercast.engine.disagg import prefill_rate
from infercast.engine.step import deployment
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model

runner = CliRunner()


@pytest.fixture(scope="module")
def day():
    return deepseek_day()


def _q(k):
    return deepseek_data()["quoted"][k]["value"]


# ---------------------------------------------------------------- DeepSeek's published day

def test_workload_is_derived_from_the_published_day(day):
    assert day.input_len / day.output_len == pytest.approx(608 / 168, rel=2e-3)
    assert day.input_len + day.output_len / 2 == pytest.approx(4989, abs=1)  # the mean KV length per output token
    assert day.cached_fraction == pytest.approx(342 / 608)
    assert day.min_tps_user == 21  # published 20-22
    assert day.chip == "h800" and day.shape["prefill"]["ep"] in (32, 144) and day.shape["decode"]["ep"] in (32, 144)


def test_day_arithmetic_follows_the_published_accounting(day):
    assert day.predicted_nodes == pytest.approx(day.predicted_prefill_nodes + day.predicted_decode_nodes)
    assert day.cost_per_day_usd == pytest.approx(day.predicted_nodes * 8 * 24 * 2.0)
    # the same tokens at the same R1 prices: revenue is DeepSeek's within its rounding of token counts
    assert day.revenue_per_day_usd == pytest.approx(day.published_revenue_per_day_usd, rel=1e-3)
    assert day.published_cost_per_day_usd == pytest.approx(day.published_nodes * 8 * 24 * _q("gpu_hour_price_usd"))
    assert day.cost_profit_margin == pytest.approx((day.revenue_per_day_usd - day.cost_per_day_usd)
                                                   / day.cost_per_day_usd)


def test_predicted_nodes_respect_the_flop_bound(day):
    """No deployment serves the day on fewer nodes than the FP8 FLOP roof allows for its computed tokens
    (uncached input + output, matmul FLOPs only): a physical floor under the prediction."""
    m, c = get_model("deepseek-r1"), get_chip("h800")
    tokens_s = ((_q("input_tokens_per_day") - _q("input_cache_hit_tokens_per_day")) + _q("output_tokens_per_day")) / 86400
    floor = tokens_s * matmul_flop_per_token(m) / c.peak_flops("fp8") / 8
    assert day.predicted_nodes > floor
    assert day.published_nodes > floor


def test_deepseek_day_within_30_percent_on_nodes_and_margin(day):
    assert day.nodes_ratio == pytest.approx(1.0, abs=0.3)
    assert day.margin_ratio == pytest.approx(1.0, abs=0.3)


def test_the_reproduction_names_where_the_step_goes(day):
    """The published day is reproduced from the engine's parts: the all-to-all DeepSeek overlaps and limits to
    4 nodes per token is a visible share of both steps, never the whole of either."""
    for step in (day.decode_step_ms, day.prefill_step_ms):
        assert 0.05 < step["all-to-all (expert parallel)"] / step["step"] < 0.6


def test_cached_prefill_is_faster_and_zero_cache_is_the_old_rate():
    dep = deployment("deepseek-r1", "h800", tp=1, ep=32, weights="fp8", kv="fp8")
    base = prefill_rate(dep, 4383)
    same = prefill_rate(dep, 4383, 0.0)
    assert np.allclose(base[0], same[0]) and np.allclose(base[1], same[1])
    rates = [float(prefill_rate(dep, 4383, f)[0]) for f in (0.0, 0.3, 0.563, 0.9)]
    assert rates == sorted(rates) and rates[-1] > 2 * rates[0]


# ---------------------------------------------------------------- list prices

def test_default_price_is_the_latest_standing_price_and_matches_deepseeks_own():
    p = select_price("deepseek-r1")
    assert (p.input, p.cached_input, p.output) == (0.55, 0.14, 2.19)
    pub = _q("r1_prices_usd_per_mtok")
    assert (pub["input_cache_miss"], pub["input_cache_hit"], pub["output"]) == (p.input, p.cached_input, p.output)
    assert "off-peak" in select_price("deepseek-r1", provider="off-peak").model
    assert select_price("gpt-4", date="2023-06-01").output == 60


@pytest.mark.parametrize("kw, field", [
    (dict(model_id="llama-3-8b"), "model"), (dict(model_id="deepseek-r1", provider="nobody"), "provider"),
    (dict(model_id="deepseek-r1", date="2020-01-01"), "date"), (dict(model_id="deepseek-r1", date="soon"), "date"),
])
def test_price_errors_name_the_field(kw, field):
    with pytest.raises(InfercastError) as e:
        select_price(**kw)
    assert e.value.field == field
    if field == "model":
        assert "deepseek-r1" in str(e.value) and "deepseek-r1" in priced_models()


# ---------------------------------------------------------------- margin at an operating point

def test_aggregated_margin_prices_the_point_with_analyses_cost():
    r = margin("llama-3.1-70b", "h100-sxm", cached_fraction=0.3, min_tps_user=20)
    s = r.shape
    c = cost("llama-3.1-70b", "h100-sxm", tp=s["tp"], pp=s["pp"], ep=s["ep"], weights=s["precision"], kv=s["kv"],
             input_len=2000, output_len=500, cached_fraction=0.3, min_tokens_per_s_per_user=20)
    assert r.cost_usd_per_m_output == pytest.approx(c.usd_per_m_output)
    assert r.cost_usd_per_m_uncached_input == pytest.approx(c.usd_per_m_uncached_input)
    lp = r.list_price
    cached = lp["cached_input"] if lp["cached_input"] is not None else lp["input"]
    rev = (0.7 * 2000 * lp["input"] + 0.3 * 2000 * cached + 500 * lp["output"]) / 1e6
    assert r.revenue_per_request_usd == pytest.approx(rev)
    assert r.gross_margin == pytest.approx(1 - r.cost_per_request_usd / rev)
    assert r.cost_profit_margin == pytest.approx((rev - r.cost_per_request_usd) / r.cost_per_request_usd)


def test_disaggregated_margin_charges_each_pool_to_its_tokens():
    r = margin("deepseek-v3", "h800", cached_fraction=0.5, disaggregated=True, min_tps_user=20)
    assert r.disaggregated and "prefill" in r.shape and "decode" in r.shape
    assert r.cost_usd_per_m_uncached_input == pytest.approx(2 * r.cost_usd_per_m_input, rel=1e-6)
    assert r.cost_usd_per_m_cached_input == 0.0 and r.margin_by_token["cached_input"] == 1.0
    assert r.list_price["model_id"] == "deepseek-v3"


def test_more_cache_hits_lower_the_cost_of_a_request():
    a = margin("llama-3.1-8b", "h100-sxm", cached_fraction=0.0)
    b = margin("llama-3.1-8b", "h100-sxm", cached_fraction=0.8)
    assert b.cost_per_request_usd < a.cost_per_request_usd


def test_cli_deepseek_json_and_table():
    r = runner.invoke(app, ["margin", "--deepseek", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout, parse_constant=lambda c: 1 / 0)
    assert {"predicted_nodes", "published_nodes", "cost_profit_margin", "published_cost_profit_margin"} <= set(d)
    r = runner.invoke(app, ["margin", "--deepseek"])
    assert r.exit_code == 0 and "published" in r.stdout and "infercast" in r.stdout


def test_cli_margin_json_and_errors():
    r = runner.invoke(app, ["margin", "-m", "deepseek-v3", "-c", "h800", "--cached-fraction", "0.5", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["list_price"]["date"] and d["list_price"]["source"] and d["gross_margin"] < 1
    for args, needle in ((["margin"], "--model"), (["margin", "-m", "llama-3-8b", "-c", "h100-sxm"], "--model"),
                         (["margin", "-m", "deepseek-r1", "-c", "h800", "--date", "May"], "--date")):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and r.stderr.startswith("error: ") and needle in r.stderr, r.output
