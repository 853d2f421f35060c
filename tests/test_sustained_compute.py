"""Compute-bound kernels at a power-limited chip's sustained clock (efficiency.json `sustained_compute`).

Worked example: our H200 SXM (2026-11-30, `infercast calibrate --sustained 20`) ran 8192-cube bf16 GEMMs at
789 TFLOP/s for 0.5 s, then at the 700 W limit at 669 TFLOP/s (0.848). A kernel table's burst time is stretched
by up to 1/0.848 where the kernel is compute-bound; a memory-bound kernel keeps its time.
"""
import json
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from infercast.engine.efficiency import efficiency_for, sustained_compute
from infercast.engine.step import deployment, step_time
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip

H200 = json.loads(resources.files("infercast").joinpath("data", "profiles", "h200-sxm.json").read_text())


def _steps(chip: str, r: float | None):
    dep = deployment("llama-3-70b", chip, tp=8, engine="vllm")
    if r is not None:
        dep = replace(dep, eff=replace(dep.eff, sustained_compute=r))
    pre = float(step_time(dep, prefill_tokens=8192, prefill_seqs=1)["latency"])
    dec = float(step_time(dep, decode_seqs=1, decode_ctx=1024)["latency"])
    return pre, dec


def test_the_measured_chips_carry_the_measured_ratio_and_others_none():
    assert sustained_compute(get_chip("h200-sxm")) == pytest.approx(0.848)
    assert sustained_compute(get_chip("h100-sxm")) == pytest.approx(0.848)
    for c in ("b200", "mi300x", "h100-pcie", "gh200", "a100-sxm-80gb"):
        assert sustained_compute(get_chip(c)) == 1.0


def test_a_compute_bound_prefill_slows_by_at_most_the_ratio_and_a_small_decode_barely_moves():
    pre0, dec0 = _steps("h200-sxm", 1.0)
    pre, dec = _steps("h200-sxm", None)
    assert pre0 * 1.04 < pre <= pre0 / 0.848 * (1 + 1e-9)
    assert dec0 <= dec < dec0 * 1.03  # batch-1 decode streams weights: memory-bound


def test_a_chip_without_a_measurement_is_unchanged():
    assert _steps("b200", None) == _steps("b200", 1.0)


def test_a_profile_carries_its_own_cards_ratio():
    chip = get_chip("h200-sxm")
    assert efficiency_for(chip, {**H200, "gemm_sustained": {"ratio": 0.9}}).sustained_compute == pytest.approx(0.9)
    assert efficiency_for(chip, H200).sustained_compute == pytest.approx(0.848)  # no sustained run: the chip's
    with pytest.raises(InfercastError, match="gemm_sustained.ratio") as ei:
        efficiency_for(chip, {**H200, "gemm_sustained": {"ratio": "fast"}})
    assert ei.value.field == "profile"


@settings(max_examples=40, deadline=None)
@given(st.floats(0.3, 1.0), st.integers(1, 4096), st.sampled_from([1, 2, 4, 8]))
def test_the_stretch_never_exceeds_one_over_r_and_never_speeds_up(r, batch, tp):
    dep = deployment("llama-3-8b", "h200-sxm", tp=tp, engine="vllm")
    base = replace(dep, eff=replace(dep.eff, sustained_compute=1.0))
    lim = replace(dep, eff=replace(dep.eff, sustained_compute=r))
    t0 = float(step_time(base, decode_seqs=batch, decode_ctx=2048, prefill_tokens=512, prefill_seqs=1)["latency"])
    t1 = float(step_time(lim, decode_seqs=batch, decode_ctx=2048, prefill_tokens=512, prefill_seqs=1)["latency"])
    assert t0 * (1 - 1e-9) <= t1 <= t0 / r * (1 + 1e-9)
    assert np.isfinite(t1)
