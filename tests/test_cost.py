import json

import pytest
from typer.testing import CliRunner

from infercast import estimate
from infercast.cli import app
from infercast.analyses.cost import cost, epoch_query_wh, gpu_watts, joules_per_token, tokens_per_kwh, usd_per_mtok
from infercast.errors import InfercastError

KW = dict(tp=8, input_len=4000, output_len=500)


def test_usd_per_mtok_arithmetic():
    # $2/h at 1,000 tok/s: 3.6 M tokens per hour -> $0.556 per M
    assert usd_per_mtok(2.0, 1000.0) == pytest.approx(2.0 / 3.6)
    # the essay's market arithmetic: $1/h, $4.9/M -> ~57 tokens/s per chip
    assert usd_per_mtok(1.0, 1e6 / 4.9 / 3600) == pytest.approx(4.9)
    with pytest.raises(InfercastError):
        usd_per_mtok(1.0, 1.0, utilisation=0)


def test_epoch_energy_example():
    # Epoch, GPT-4o query: 2 x 100e9 x 500 FLOP at 10 % of 989 TFLOP/s, 1275 W x 0.7 x 1.2 -> 0.301 Wh
    assert epoch_query_wh() == pytest.approx(0.301, abs=0.0005)
    assert gpu_watts(10_200 / 8) == pytest.approx(1071, abs=0.5)
    assert epoch_query_wh(output_tokens=1500) == pytest.approx(0.902, abs=0.002)
    assert epoch_query_wh(active_params=200e9, utilisation=0.05, pue=1.3) == pytest.approx(1.304, abs=0.002)
    # 1 kW at 1000 tok/s = 1 J/token = 3.6 M tokens per kWh
    assert tokens_per_kwh(joules_per_token(1000.0, 1000.0)) == pytest.approx(3.6e6)


def test_cost_falls_as_utilisation_rises():
    lo = cost("llama-3-70b", "h100-sxm", utilisation=0.3, **KW)
    hi = cost("llama-3-70b", "h100-sxm", utilisation=0.9, **KW)
    assert hi.usd_per_m_output < lo.usd_per_m_output and hi.usd_per_m_input < lo.usd_per_m_input
    assert lo.usd_per_m_output / hi.usd_per_m_output == pytest.approx(3.0)
    assert hi.j_per_token == lo.j_per_token  # idle time is not charged energy


def test_cached_input_lowers_input_cost():
    base = cost("llama-3-70b", "h100-sxm", **KW)
    cached = cost("llama-3-70b", "h100-sxm", cached_fraction=0.75, **KW)
    assert cached.usd_per_m_input < base.usd_per_m_input
    assert cached.output_tok_s_per_gpu > base.output_tok_s_per_gpu
    assert cached.prefill_share < base.prefill_share
    assert cached.usd_per_m_output == pytest.approx(base.usd_per_m_output, rel=1e-6)  # decode work unchanged


def test_cost_matches_estimate_and_splits_the_hour():
    r = cost("llama-3-70b", "h100-sxm", price=2.0, **KW)
    e = estimate("llama-3-70b", "h100-sxm", max_throughput=True, **KW)
    assert r.output_tok_s_per_gpu == pytest.approx(e.output_tok_s_per_gpu)
    # input and output costs add back up to the GPU-hour
    per_s = r.usd_per_m_input * r.input_tok_s_per_gpu / 1e6 + r.usd_per_m_output * r.output_tok_s_per_gpu / 1e6
    assert per_s * 3600 == pytest.approx(2.0)
    assert 0 < r.prefill_share < 1
    assert r.watts_per_gpu == pytest.approx(700 * 0.7 * 1.2)
    assert any("0.7" in a and "PUE 1.2" in a for a in r.assumptions)


def test_latency_target_costs_more_than_max_throughput():
    mt = cost("llama-3-70b", "h100-sxm", **KW)
    lt = cost("llama-3-70b", "h100-sxm", min_tokens_per_s_per_user=40, max_ttft_s=2, **KW)
    assert lt.tokens_per_s_per_user >= 40 and lt.ttft_s <= 2
    assert lt.usd_per_m_output > mt.usd_per_m_output


def test_missing_price_asks_for_price():
    with pytest.raises(InfercastError, match="no \\$/GPU-hour price in the catalog") as e:
        cost("llama-3-70b", "h200-nvl", tp=4)
    assert e.value.field == "price" and "--" not in str(e.value)  # the CLI shows it as --price
    assert cost("llama-3-70b", "h200-nvl", tp=4, price=3.0).usd_per_gpu_hour == 3.0


def test_cli_cost():
    r = CliRunner().invoke(app, ["cost", "-m", "llama-3-70b", "-c", "h100-sxm", "--tp", "8", "--min-tps", "20",
                                 "--max-ttft", "2", "--cached", "0.5", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["cached_fraction"] == 0.5 and d["load_fraction"] == 0.7 and d["pue"] == 1.2
    r = CliRunner().invoke(app, ["cost", "-m", "llama-3-70b", "-c", "h200-nvl", "--tp", "4"])
    assert r.exit_code == 2 and "--price" in r.output
    r = CliRunner().invoke(app, ["cost", "-m", "llama-3-70b", "-c", "h100-sxm", "--tp", "8"])
    assert r.exit_code == 0 and "$ per M output tokens" in r.output
