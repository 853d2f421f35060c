"""The essay's three hardware claims, checked with the serving model."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infercast.analyses import claims as C
from infercast.cli import app
from infercast.engine.step import deployment


@pytest.fixture(scope="module")
def fp8():
    return C.fp8_doubling()


def test_fp8_decode_batch1_h100_gain_follows_the_measured_fp8_kernels(fp8):
    # "FP8 roughly doubles inference" (essay): bytes halve, but in TensorRT-LLM's measured H100 GEMM
    # tables a skinny fp8 GEMM streams its (half-size) weights at a lower fraction of HBM bandwidth
    # than a bf16 one, and attention, elementwise work and fixed costs do not shrink: well below 2x.
    h = next(r for r in fp8["data"] if r["chip"] == "h100-sxm")
    assert 1.2 <= h["decode_ratio"][1] < 1.9


def test_fp8_prefill_on_a100_is_about_one(fp8):
    a = next(r for r in fp8["data"] if r["chip"] == "a100-sxm-80gb")
    assert a["fp8_compute"] == "bf16"
    assert a["prefill_ratio"] == pytest.approx(1.0, abs=0.1)
    # the halved bytes still speed up memory-bound decode on the A100
    assert a["decode_ratio"][1] > 1.3


def test_fp8_never_slower_and_below_ideal(fp8):
    for r in fp8["data"]:
        for v in r["decode_ratio"].values():
            assert 0.95 <= v <= 2.2
    assert fp8["verdict"] and fp8["text"]


def test_throughput_vs_flops():
    r = C.throughput_vs_flops()
    d = r["data"]
    assert d["flops_ratio_bf16"] == pytest.approx(2250 / 312, rel=1e-6)
    for m in ("gpt-4", "llama-3.1-70b"):
        t = d["models"][m]["throughput_ratio"]
        assert 2 < t["bf16"] < 12  # same precision: between bandwidth-ish and FLOP-ish gains
        assert t["bf16"] < t["fp8"] < t["fp4"]  # the precision change adds on top
        assert t["fp4"] > d["flops_ratio_bf16"]
    assert "20x" in r["verdict"] and r["claim"].startswith("inference throughput")


def test_h200_vs_h100_grid():
    r = C.h200_vs_h100(models=(("llama-3.1-8b", 1, "bf16"), ("llama-3.1-70b", 4, "bf16")),
                       contexts=(1024, 8192), batches=(1, "max"))
    s = r["summary"]
    assert len(r["data"]) == 8
    assert 1.0 <= s["min"] <= s["max"] <= s["capacity_ratio"] * s["bandwidth_ratio"]
    assert s["batch1"][1] <= s["bandwidth_ratio"] + 1e-9  # batch 1: at most the bandwidth ratio
    for g in r["data"]:
        if g["batch"] == "max":
            assert g["h200_batch"] > g["h100_batch"]  # the larger HBM holds more sequences


def test_cli_claims_json():
    res = CliRunner().invoke(app, ["claims", "--claim", "fp8", "--json"])
    assert res.exit_code == 0, res.output
    assert "fp8" in json.loads(res.stdout)
    res = CliRunner().invoke(app, ["claims", "--claim", "nope"])
    assert res.exit_code == 2


@pytest.fixture(scope="module")
def b200():
    return C.b200_vs_h100()


def test_b200_vs_h100_along_the_interactivity_curve(b200):
    # the essay: "B200 brings ~4x to ~7x ... for GPT-4 inference, when quantization is set fairly, depending on the
    # point in the interactivity curve"; the planner's frontiers (disaggregation allowed) at matched tokens/s per user
    d = b200["data"]
    assert d["model"] == "gpt-4" and d["chips"] == ["h100-sxm", "b200"]
    assert [w["input_len"] for w in d["workloads"]] == [32768, 8192]
    n = 0
    for w in d["workloads"]:
        assert [p["tokens_per_s_per_user"] for p in w["points"]] == [5, 10, 20, 30, 40, 50]
        for p in w["points"]:
            if p["old_fp8"] is None:
                continue
            n += 1
            # every spec of the B200 is at least the H100's: at the same precision it never serves less
            assert p["ratio_fp8"] >= 1.0
            for k in ("old_fp8", "new_fp8", "new_fp4"):
                assert p[k]["shape"]["gpus"] >= 1 and p[k]["output_tok_s_per_gpu"] > 0
    assert n >= 8
    lo, hi = d["ratio_fp4_range"]
    below, inside, above = d["points_below_inside_above"]
    assert below + inside + above == sum(1 for w in d["workloads"] for p in w["points"] if p["ratio_fp4"])
    assert f"x{lo:.1f}-x{hi:.1f}" in b200["verdict"] and "4x to ~7x" in b200["claim"]


def test_claims_cli_b200(b200):
    res = CliRunner().invoke(app, ["claims", "--claim", "b200", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["b200"]["verdict"] == b200["verdict"]
