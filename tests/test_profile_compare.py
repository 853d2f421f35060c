"""A calibration profile beside the public kernel tables of its chip (infercast.gpu.compare).

The shipped H100 profile was measured on one H100 SXM (data/measured/README.md); NVIDIA's tables were
measured on H100 SXMs with the engines' kernels. At compute-bound shapes both are cuBLAS-class GEMMs on
the same tensor cores, so they must agree closely; skinny GEMMs stream the weight and may not.
"""
import json
import statistics

import numpy as np
import pytest

from infercast.engine.kernels import gemm as KG
from infercast.engine.kernels.source import read_columns
from infercast.errors import InfercastError
from importlib import resources
from infercast.gpu.compare import compare, summary
from infercast.specs.hardware import get_chip

PROFILE = json.loads(resources.files("infercast").joinpath("data", "profiles", "h100-sxm.json").read_text())


def test_every_gemm_of_the_h100_profile_meets_a_measured_row_of_each_engine():
    pairs = compare(PROFILE)
    gemms = [p for p in pairs if p.kind == "gemm"]
    assert {p.engine for p in gemms} == {"tensorrt-llm", "vllm", "sglang"}
    assert len(gemms) == 3 * len(PROFILE["gemm"])
    assert all(p.exact for p in gemms)  # 8192 x 8192 at M = 1 ... 8192 is on every table's grid
    assert all(np.isfinite(p.ratio) and p.ratio > 0 for p in gemms)


def test_compute_bound_bf16_gemms_agree_with_every_engines_table_within_15_percent():
    for s in summary(compare(PROFILE)):
        if s["kind"] == "gemm" and s["dtype"] == "bf16" and s["band"].startswith("M>=1024"):
            assert 0.85 <= s["median_ratio"] <= 1.15, s


def test_the_card_streams_skinny_weights_slower_than_the_tables_h100():
    # our H100 moved a 128 MiB bf16 weight at ~2.3 TB/s; NVIDIA's at ~2.6-2.9 TB/s (README: 75 % of copy rate)
    skinny = [p.ratio for p in compare(PROFILE) if p.kind == "gemm" and p.dtype == "bf16" and p.m <= 64]
    assert 1.05 < statistics.median(skinny) < 1.4


def test_a_profile_made_of_the_tables_own_rows_compares_at_one():
    chip = get_chip("h100-sxm")
    tab = KG.gemm_table(chip, "vllm")
    c = read_columns(tab.ref.path, ("gemm_dtype", "m", "n", "k", "latency"))
    sel = (c["gemm_dtype"].astype(str) == "bfloat16") & (c["n"] == 4096) & (c["k"] == 4096)
    rows = []
    for m in sorted(set(c["m"][sel].tolist()))[:6]:
        ms = float(np.min(c["latency"][sel & (c["m"] == m)]))
        rows.append({"dtype": "bf16", "M": int(m), "N": 4096, "K": 4096, "ms": ms})
    pairs = compare({"catalog_id": "h100-sxm", "gemm": rows}, engines=("vllm",))
    assert len(pairs) == len(rows) >= 3
    assert all(p.exact and p.ratio == pytest.approx(1.0) for p in pairs)


def test_attention_rows_compare_with_the_attention_tables():
    prof = {"catalog_id": "h100-sxm",
            "attention_prefill": [{"batch": 1, "heads": 32, "seq": 4096, "head_dim": 128, "ms": 1.0}],
            "attention_decode": [{"batch": 32, "kv_heads": 8, "group": 4, "context": 4096, "head_dim": 128,
                                  "ms": 1.0}]}
    pairs = compare(prof, engines=("tensorrt-llm",))
    kinds = {p.kind: p for p in pairs}
    assert set(kinds) == {"attention_prefill", "attention_decode"}
    # the table's time is at least the roofline: causal FLOPs at the bf16 peak, KV bytes at the datasheet rate
    chip = get_chip("h100-sxm")
    assert kinds["attention_prefill"].table_ms >= 2 * 32 * 128 * 4096**2 / chip.peak_flops("bf16") * 1e3
    assert kinds["attention_decode"].table_ms >= 32 * 4096 * 2 * 8 * 128 * 2 / chip.bandwidth * 1e3


@pytest.mark.parametrize("prof, words", [
    ({"gemm": []}, "no catalog_id"),
    ({"catalog_id": "mi300x", "gemm": []}, "no public kernel tables for mi300x"),
])
def test_a_profile_without_tables_to_compare_is_a_one_line_error(prof, words):
    with pytest.raises(InfercastError, match=words):
        compare(prof)


def test_a_profiled_moe_layer_meets_each_engines_measured_row_at_the_same_shape_and_tokens():
    # aiconfigurator-core 0.12.0, h200_sxm moe tables, Mixtral's expert layer (4096 x 14336, top-2 of 8) on one GPU,
    # balanced routing: TensorRT-LLM 1.3.0rc20 0.191 ms at 1 token and 3.59 ms at 4,096 tokens
    rows = [{"shape": "mixtral-8x7b experts", "dtype": "bf16", "hidden": 4096, "inter": 14336, "topk": 2,
             "experts": 8, "gated": True, "tokens": n, "ms": ms} for n, ms in ((1, 0.25), (4096, 3.6), (3, 1.0))]
    pairs = [p for p in compare({**PROFILE, "catalog_id": "h200-sxm", "moe": rows}) if p.kind == "moe"]
    assert {p.engine for p in pairs} == {"tensorrt-llm", "vllm", "sglang"}
    assert len(pairs) == 3 * 2  # 3 tokens is on no table's grid: left out, not interpolated
    trt = {p.m: p for p in pairs if p.engine == "tensorrt-llm"}
    assert trt[1].table_ms == pytest.approx(0.1908, rel=1e-3) and trt[1].ratio == pytest.approx(0.25 / 0.1908,
                                                                                                 rel=1e-3)
    assert trt[4096].table_ms == pytest.approx(3.595, rel=1e-3) and "routing balanced" in trt[4096].shape
    bands = {(s["engine"], s["band"]) for s in summary(pairs)}
    assert ("tensorrt-llm", "tokens<=64") in bands and ("tensorrt-llm", "tokens>=1024") in bands
