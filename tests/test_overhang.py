"""`infercast overhang` (issue #14): a training run's implied utilisation, then what its cluster serves once
trained. Worked example: GPT-4's reported run (SemiAnalysis: ~2.15e25 FLOP, ~25,000 A100, ~95 days)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from infercast.analyses.overhang import implied_utilisation, overhang
from infercast.cli import app
from infercast.errors import InfercastError

runner = CliRunner()
GPT4 = dict(train_flop=2.15e25, chip="a100-sxm-80gb", gpus=25_000, days=95, model="gpt-4")


@pytest.fixture(scope="module", params=[10.0, 30.0])
def gpt4(request):
    return overhang(min_tps_user=request.param, **GPT4)


def test_gpt4_run_implied_utilisation_is_the_reported_mfu(gpt4):
    # SemiAnalysis: 32-36 % MFU; 2.15e25 / (25,000 x 312e12 x 95 x 86,400) = 0.336
    assert 0.32 <= gpt4.implied_training_utilisation <= 0.36
    assert gpt4.peak_precision == "bf16" and gpt4.peak_flops_per_gpu == pytest.approx(312e12)


def test_copies_times_target_is_the_clusters_tokens_per_second(gpt4):
    assert gpt4.copies * gpt4.min_tps_user == pytest.approx(gpt4.tokens_per_s, rel=0.01)
    assert gpt4.tokens_per_day == pytest.approx(gpt4.tokens_per_s * 86_400)
    assert gpt4.shape["tokens_per_s_per_user"] >= gpt4.min_tps_user
    assert gpt4.gpus_used == gpt4.replicas * gpt4.shape["gpus"] <= gpt4.gpus
    assert gpt4.tokens_per_s == pytest.approx(gpt4.gpus_used * gpt4.shape["output_tok_s_per_gpu"])


def test_a_faster_target_serves_fewer_copies():
    slow, fast = overhang(min_tps_user=10, **GPT4), overhang(min_tps_user=30, **GPT4)
    assert fast.copies < slow.copies and fast.tokens_per_day < slow.tokens_per_day


def test_data_files_runs_give_their_derived_utilisation():
    """training_runs.json derives each run's implied utilisation itself (implied_utilisation.value, 3 digits)
    with the catalog chip's bf16 peak: the same arithmetic gives the same number."""
    from infercast.analyses.world_data import RUNS
    from infercast.specs.store import read_json

    checked = 0
    for raw in read_json(RUNS)["runs"]:
        if not raw.get("implied_utilisation"):
            continue
        u, q, peak = implied_utilisation(raw["training_flop"]["central"], raw["nearest_chip_id"], raw["gpus"],
                                         raw["days"]["central"])
        assert q == "bf16" and peak == pytest.approx(raw["implied_utilisation"]["peak_flops"])
        assert u == pytest.approx(raw["implied_utilisation"]["value"], abs=0.0015), raw["model"]
        checked += 1
    assert checked >= 3


def test_peak_precision_changes_the_denominator_and_says_so():
    bf16 = implied_utilisation(3.3e24, "h800", 2048, 56.7)
    fp8 = implied_utilisation(3.3e24, "h800", 2048, 56.7, "fp8")
    assert fp8[1] == "fp8" and fp8[0] == pytest.approx(bf16[0] / 2, rel=1e-3)  # DeepSeek-V3 trained in FP8
    a100 = implied_utilisation(1e24, "a100", 1000, 10, "fp8")
    assert a100[1] == "bf16"  # no fp8 tensor rate on the A100: its bf16 peak is used, and named


def test_json_contract():
    r = runner.invoke(app, ["overhang", "--train-flop", "2.15e25", "-c", "a100", "--gpus", "25000", "--days", "95",
                            "-m", "gpt-4", "--min-tps-user", "10", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout, parse_constant=lambda c: 1 / 0)
    assert {"implied_training_utilisation", "tokens_per_s", "copies", "tokens_per_day", "shape", "ai_workers"} <= set(d)
    assert d["copies"] == pytest.approx(d["tokens_per_s"] / 10)
    assert {"tp", "pp", "ep", "gpus", "precision", "concurrency"} <= set(d["shape"])
    assert d["ai_workers"]["workers"] == pytest.approx(d["tokens_per_day"] / 95_760)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(gpus=st.integers(1, 100_000), days=st.floats(0.1, 400), tps=st.sampled_from([5.0, 20.0, 60.0]))
def test_invariants(gpus, days, tps):
    o = overhang(1e23, "h100-sxm", gpus, days, "llama-3-8b", tps)
    assert o.copies * tps == pytest.approx(o.tokens_per_s, rel=1e-9)
    assert o.gpus_used <= gpus and o.tokens_per_s >= 0
    assert o.implied_training_utilisation == pytest.approx(1e23 / (gpus * 989.4e12 * days * 86_400))


@pytest.mark.parametrize("kw, field", [
    (dict(gpus=0), "gpus"), (dict(train_flop=float("nan")), "train_flop"), (dict(days=-1), "days"),
    (dict(days=5e-324), "days"),  # positive, but the run's FLOP/s overflow: an error, never a null utilisation
    (dict(peak_precision="fp7"), "peak_precision"), (dict(min_tps_user=1e5), "min_tps_user"),
    (dict(chip="h100-sxn"), "chip"), (dict(model="nope"), "model"), (dict(tokens_per_workday=0), "tokens_per_workday"),
])
def test_errors_name_the_field(kw, field):
    args = dict(GPT4, chip="h100-sxm", model="llama-3-8b", gpus=64, min_tps_user=10.0)
    args.update(kw)
    with pytest.raises(InfercastError) as e:
        overhang(**args)
    assert e.value.field == field, str(e.value)


def test_cli_error_is_one_line_naming_the_flag():
    r = runner.invoke(app, ["overhang", "--train-flop", "1e24", "-c", "h100-sxm", "--gpus", "64", "--days", "0",
                            "-m", "llama-3-8b"])
    assert r.exit_code == 2 and r.stderr.strip().startswith("error: --days"), r.output
