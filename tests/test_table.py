import json

import pytest
from typer.testing import CliRunner

from infercast.cli import app
from infercast.analyses.table import essay_table


@pytest.fixture(scope="module")
def tb():
    return essay_table("gpt-4")


def test_rows_per_generation(tb):
    assert [r.chip for r in tb.rows][:4] == ["a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200"]
    a100 = tb.rows[0]
    # GPT-4 at 16-bit (3.6 TB of weights) needs at least 45 A100s: the planner's shape is that big or bigger
    assert a100.gpus >= 64 and a100.tp * a100.pp * max(1, a100.dp) >= 64
    assert a100.essay_upper == pytest.approx(312e12 / (2 * 280.49e9), rel=0.01)  # the essay's ~557
    assert a100.upper >= a100.essay_upper  # the matmul-FLOP bound leaves out the embedding gather
    assert a100.market == pytest.approx(57, abs=1)
    assert any("planner" in n for n in a100.notes)


def test_realistic_between_bounds(tb):
    for r in tb.rows:
        assert r.upper >= r.realistic_prefill >= r.lower, r.chip
        assert r.upper >= r.realistic_mixed >= r.lower, r.chip
        # batching lifts decode above the batch-1 bandwidth bound, and it stays far below the FLOP bound
        assert r.upper > r.realistic_decode >= r.lower, r.chip
        # prefill (input tokens) gets much closer to the FLOP bound than decode does
        assert r.realistic_prefill > 2 * r.realistic_decode, r.chip


def test_gpt4_at_a_usable_speed_never_falls_below_the_batch1_bound():
    # issue #13: at an interactivity reachable at batch 1, the realistic figure is at least the essay's lower
    # bound (one chip streaming the active weights once per forward pass) on every chip
    t = essay_table("gpt-4", min_tokens_per_s_per_user=10)
    for r in t.rows:
        assert r.tokens_per_s_per_user >= 10
        assert r.realistic_mixed >= r.lower, r.chip
        assert r.realistic_mixed <= r.upper, r.chip


def test_dense_model_and_latency_target():
    t = essay_table("llama-3-70b", chips=["h100-sxm", "b200"], input_len=2000, output_len=500,
                    min_tokens_per_s_per_user=30)
    for r in t.rows:
        assert r.tokens_per_s_per_user >= 30
        assert r.upper > r.realistic_decode > r.lower


def test_cli_table():
    r = CliRunner().invoke(app, ["table", "--json", "-c", "a100-sxm-80gb", "-c", "h100-sxm"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["model"] == "gpt-4" and len(d["rows"]) == 2
    r = CliRunner().invoke(app, ["table", "-c", "h100-sxm"])
    assert r.exit_code == 0 and "upper" in r.output
