"""The PyTorch engine's attention read from its own kernel's timings on our H200 (efficiency.json
`pytorch-cudagraph.attention_reference`, data/profiles/h200-sxm.json), on Hopper chips without a profile."""
from __future__ import annotations

import json
from importlib import resources

import numpy as np
from hypothesis import given, settings, strategies as st

from infercast.engine.step import deployment, step

PROFILE = json.loads(resources.files("infercast").joinpath("data", "profiles", "h200-sxm.json").read_text())


def _attention(chip, batch=0, ctx=0, prefill=0, engine="pytorch-cudagraph", model="llama-3-8b"):
    dep = deployment(model, chip, engine=engine)
    kind = "attention_decode" if batch else "attention_prefill"
    ops = step(dep, decode_seqs=batch, decode_ctx=ctx, prefill_tokens=prefill, prefill_seqs=1 if prefill else 0)
    return next(t for t in ops if t.op.name == kind), dep.model.layers


def test_on_the_reference_card_a_measured_size_reads_back_the_measured_time():
    # Llama-3-8B has 8 KV heads of 128 and 32 query heads, the layout calibrate timed: batch 8, context 1024 took
    # 0.0402 ms per call on the H200; the step adds RoPE / KV-write traffic and 1.3 us per kernel, a few us at most
    row = next(r for r in PROFILE["attention_decode"] if r["batch"] == 8 and r["context"] == 1024)
    t, layers = _attention("h200-sxm", batch=8, ctx=1024)
    per_layer_ms = float(t.seconds) / layers * 1e3
    assert row["ms"] <= per_layer_ms <= row["ms"] + 0.03
    assert t.provenance.source == "table" and "PyTorch SDPA" in t.provenance.detail


def test_a_small_decode_keeps_the_kernels_latency_floor_on_every_hopper_chip():
    floor_ms = min(r["ms"] for r in PROFILE["attention_decode"])  # ~0.04 ms: a call this small is latency-bound
    for chip in ("h100-sxm", "h200-sxm", "gh200"):
        t, layers = _attention(chip, batch=1, ctx=256)
        assert float(t.seconds) / layers * 1e3 >= floor_ms


def test_a_large_decode_scales_with_the_chips_bandwidth():
    # at batch 128 x context 8k the kernel streams KV at a rate: the H100's time is the H200's x their bandwidth ratio
    h100, _ = _attention("h100-sxm", batch=128, ctx=8192)
    h200, _ = _attention("h200-sxm", batch=128, ctx=8192)
    ratio = float(h100.seconds) / float(h200.seconds)
    assert 1.3 < ratio < 1.5  # 4.8 / 3.35 TB/s = 1.43, less the fixed launch cost both pay


def test_other_families_and_engines_keep_their_own_sources():
    a100, _ = _attention("a100-sxm-80gb", batch=8, ctx=1024)  # SDPA was timed on Hopper only
    assert "PyTorch SDPA timed" not in a100.provenance.detail
    trt, _ = _attention("h100-sxm", batch=8, ctx=1024, engine="tensorrt-llm")
    assert trt.provenance.source == "table" and "aiconfigurator" in trt.provenance.detail


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 256), c=st.integers(16, 65536), db=st.integers(1, 64), dc=st.integers(1, 4096))
def test_more_sequences_or_context_never_take_less_time(b, c, db, dc):
    t0, _ = _attention("h100-sxm", batch=b, ctx=c)
    t1, _ = _attention("h100-sxm", batch=b + db, ctx=c + dc)
    assert np.isfinite(float(t1.seconds)) and float(t1.seconds) >= float(t0.seconds)


def test_a_profile_keeps_its_own_measurements_together():
    # the H100's shipped profile times GEMMs but not attention: the H200's SDPA curve is not mixed into it
    dep = deployment("llama-3-8b", "h100-sxm", engine="pytorch-cudagraph", profile="h100-sxm")
    ops = step(dep, decode_seqs=8, decode_ctx=1024)
    att = next(t for t in ops if t.op.name == "attention_decode")
    assert "PyTorch SDPA timed" not in att.provenance.detail and att.provenance.source == "fallback"


def test_out_of_sample_the_own_rows_do_not_read_the_reference():
    # the reference was looked for on our own steps (OWN): the out-of-sample figure switches it off with the rest of
    # the PyTorch-specific attention choice, so those rows fall back to the engine tables' attention
    from infercast.analyses.predict import Context, _ablated

    dep = deployment("llama-3-8b", "h100-sxm", engine="pytorch-cudagraph")
    off = _ablated(dep, Context(ablate=frozenset({"pytorch-sdpa-attention"})))
    assert dep.engine.attention_reference is not None and off.engine.attention_reference is None
    att = next(t for t in step(off, decode_seqs=8, decode_ctx=1024) if t.op.name == "attention_decode")
    assert "PyTorch SDPA timed" not in att.provenance.detail
