"""A calibration profile's per-shape measurements as curves (engine.kernels.profile) and their use in timing.

Worked example: the shipped H200 profile (data/profiles/h200-sxm.json, our own run 2026-11-30) timed every
weight matrix of llama-3-8b; an estimate of that model on that card must take those GEMMs from the card's
own curves, and the card's curve must reproduce its own measured rows exactly.
"""
import json
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from infercast.engine.efficiency import efficiency_for
from infercast.engine.estimate import estimate
from infercast.engine.kernels.profile import curve
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip

H200 = json.loads(resources.files("infercast").joinpath("data", "profiles", "h200-sxm.json").read_text())


def test_a_curve_passes_through_its_points_and_extends_flat_below_and_at_the_last_rate_above():
    c = curve([1, 8, 64], [2e-5, 2e-5, 4e-5])
    assert c.time([1, 8, 64]) == pytest.approx([2e-5, 2e-5, 4e-5])
    assert c.time(0.1) == pytest.approx(2e-5)  # a smaller kernel is latency-bound: not faster than the smallest
    assert c.time(128) == pytest.approx(8e-5)  # beyond the last size: its rate
    assert 2e-5 < c.time(32) < 4e-5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 1e6), st.floats(1e-6, 1.0)), min_size=2, max_size=12),
       st.lists(st.floats(0.5, 2e6), min_size=2, max_size=20))
def test_more_work_never_takes_less_time(points, xs):
    c = curve([p[0] for p in points], [p[1] for p in points])
    xs = np.sort(np.array(xs))
    t = c.time(xs)
    assert np.all(np.diff(t) >= -1e-15 * t[1:])
    assert np.all(t > 0) and np.all(np.isfinite(t))


def test_the_h200_profile_times_its_own_gemm_shapes_from_its_own_rows():
    eff = efficiency_for(get_chip("h200-sxm"), H200)
    for r in H200["gemm_shapes"]:
        dt = {"bf16": "bfloat16", "fp8": "fp8"}[r["dtype"]]
        t = eff.profile_gemm_shapes[(dt, float(r["N"]), float(r["K"]))].time(r["M"])
        assert t <= r["ms"] * 1e-3 * (1 + 1e-9)  # its own time, or a larger M's faster one (non-decreasing)
    assert eff.profile_attention_decode is not None and eff.profile_attention_prefill is not None


def test_an_estimate_on_the_profiled_card_takes_the_models_gemms_and_attention_from_the_profile():
    e = estimate("llama-3-8b", "h200-sxm", gpus=1, tp=1, concurrency=8, input_len=1024, output_len=128,
                 profile=H200)
    by = {o["name"]: o["provenance"] for o in e.operators}
    for name in ("qkv_proj", "o_proj", "mlp_up", "mlp_down", "lm_head"):
        assert by[name]["source"] == "profile" and "measured at N x K" in by[name]["detail"], (name, by[name])
    assert by["attention_decode"]["source"] == "profile"
    # the card's own curves change the answer: without the profile the step is timed from NVIDIA's tables
    e2 = estimate("llama-3-8b", "h200-sxm", gpus=1, tp=1, concurrency=8, input_len=1024, output_len=128)
    assert e.decode_step_ms != e2.decode_step_ms


def test_a_profile_with_a_broken_attention_row_is_a_one_line_error_naming_the_field():
    bad = {"copy_gbps": 4000.0, "attention_decode": [{"batch": 8, "kv_heads": 8, "group": 4, "context": -1,
                                                      "head_dim": 128, "ms": 0.03}]}
    with pytest.raises(InfercastError, match="attention_decode row has a non-positive") as ei:
        efficiency_for(get_chip("h200-sxm"), bad)
    assert ei.value.field == "profile"


@pytest.mark.parametrize("bad", [
    {"gemm_shapes": [1, 2]},
    {"gemm_shapes": [{"dtype": "bf16", "M": 1, "N": 4096, "K": "x", "ms": 0.01}]},
    {"attention_decode": [3]},
    {"attention_decode": [{"batch": 1, "kv_heads": 8, "group": 4, "context": 1024, "head_dim": 128, "ms": 0.02,
                           "kv_bytes": "lots"}]},
    {"attention_prefill": [{"batch": 1, "heads": 32, "seq": float("nan"), "head_dim": 128, "ms": 0.1}]},
])
def test_hostile_per_shape_rows_are_one_line_errors(bad):
    with pytest.raises(InfercastError) as ei:
        efficiency_for(get_chip("h200-sxm"), {"copy_gbps": 4000.0, **bad})
    assert ei.value.field == "profile" and "\n" not in str(ei.value)


# A routed-expert layer timed by `infercast calibrate --models mixtral-8x7b` (profile key `moe`, one GPU, bf16).
# These times are constructed for the test (no H200 MoE profile has been measured yet): 0.2 ms at one token, the
# weights of both experts; 0.7 ms at 64 tokens, all eight; then compute-bound.
MIXTRAL_MOE = [{"shape": "mixtral-8x7b experts", "dtype": "bf16", "hidden": 4096, "inter": 14336, "topk": 2,
                "experts": 8, "gated": True, "tokens": n, "ms": ms}
               for n, ms in ((1, 0.2), (64, 0.7), (1024, 1.1), (16384, 9.0))]


def test_an_estimate_times_a_moe_layer_the_profile_measured_from_that_measurement():
    prof = {**H200, "moe": MIXTRAL_MOE}
    e = estimate("mixtral-8x7b", "h200-sxm", gpus=1, tp=1, concurrency=1, input_len=1024, output_len=128,
                 weights="bf16", profile=prof)
    op = {o["name"]: o for o in e.operators}["experts"]
    assert op["provenance"]["source"] == "profile" and "top-2 of 8 on one GPU" in op["provenance"]["detail"]
    # the curve passes through the measured rows
    eff = efficiency_for(get_chip("h200-sxm"), prof)
    c = eff.profile_moe[("bf16", 4096.0, 14336.0, 2.0, 8.0)]
    assert c.time([1, 64, 1024]) == pytest.approx([0.2e-3, 0.7e-3, 1.1e-3])
    # batch 1: a mean step carries one decode token and a share of the next prompt's prefill into each of the 32
    # MoE layers: between 32 x the one-token and 32 x the 64-token measurement
    assert 32 * 0.2e-3 <= op["seconds"] <= 32 * 0.7e-3
    # the same model split over two GPUs is not the layer the profile timed: NVIDIA's tables time it
    e2 = estimate("mixtral-8x7b", "h200-sxm", gpus=2, tp=2, concurrency=1, input_len=1024, output_len=128,
                  weights="bf16", profile=prof)
    assert {o["name"]: o for o in e2.operators}["experts"]["provenance"]["source"] != "profile"


@pytest.mark.parametrize("bad", [
    {"moe": ["row"]},
    {"moe": [{**MIXTRAL_MOE[0], "tokens": -4}]},
    {"moe": [{**MIXTRAL_MOE[0], "ms": "fast"}]},
])
def test_hostile_moe_rows_are_one_line_errors(bad):
    with pytest.raises(InfercastError) as ei:
        efficiency_for(get_chip("h200-sxm"), {"copy_gbps": 4000.0, **bad})
    assert ei.value.field == "profile" and "\n" not in str(ei.value)
