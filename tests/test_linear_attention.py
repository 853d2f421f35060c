"""Hybrid linear attention (Gated DeltaNet: Qwen3.5, Qwen3-Next): worked examples from the released config and from
aiconfigurator-core's measured gdn tables, and the invariants a user relies on (the linear layers' cost and cache do
not grow with the context; only the full-attention layers' do)."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercast import deployment
from infercast.engine import operators as O
from infercast.engine.kernels.source import find
from infercast.engine.memory import kv_bytes_per_seq_per_gpu, max_sequences
from infercast.engine.step import step_time
from infercast.engine.timing import Timer
from infercast.errors import InfercastError
from infercast.specs.hfconfig import from_hf_config
from infercast.specs.model import get_model

Q35 = get_model("qwen3.5-397b-a17b")


def test_qwen35_weights_cache_and_state_from_its_config():
    """Qwen3.5-397B-A17B config.json: hidden 4096; a Gated DeltaNet layer projects q, k (16 x 128 each), v and z
    (64 x 128 each), b and a (64 each), convolves the 12,288 q/k/v channels over 4 taps, and projects 8,192 back:
    118,014,208 weights. 15 of 60 layers are full attention (2 KV heads x 256): 30,720 KV bytes per token in BF16;
    each sequence holds 45 x (64 x 128 x 128 float32 state + 12,288 x 3 bf16 conv inputs) = 192,061,440 bytes."""
    assert Q35.gdn_params_per_layer == 4096 * (12288 + 8192 + 128) + 12288 * 4 + 2 * 64 + 128 + 8192 * 4096 \
        == 118_014_208
    assert (Q35.linear_layers, Q35.attention_layers) == (45, 15)
    assert Q35.kv_bytes_per_token("bf16") == 15 * 2 * 2 * 256 * 2 == 30_720
    assert Q35.state_bytes_per_seq == 45 * (64 * 128 * 128 * 4 + 12288 * 3 * 2) == 192_061_440
    assert Q35.kv_bytes_per_seq(1000, "bf16") == 1000 * 30_720 + 192_061_440
    assert Q35.total_params == pytest.approx(397e9, rel=0.01)
    assert Q35.attention_kind == "GQA+GDN"


def test_the_hub_id_reads_the_shipped_config_into_the_same_shape():
    hub = get_model("Qwen/Qwen3.5-122B-A10B")  # not in the catalog: aiconfigurator-core's copy of its config.json
    assert (hub.linear_layers, hub.attention_layers, hub.attn_output_gate) == (36, 12, True)
    assert hub.total_params == pytest.approx(122e9, rel=0.01)
    nv = get_model("nvidia/Qwen3.5-397B-A17B-NVFP4")  # ModelOpt NVFP4 with every linear_attn and self_attn excluded
    assert nv.dtype == "fp4" and nv.gdn == Q35.gdn
    assert nv.checkpoints["fp4"].modules["attention"] == "bf16"
    assert nv.total_params == pytest.approx(Q35.total_params)


def _cfg(**over):
    cfg = {"model_type": "qwen3_next", "num_hidden_layers": 8, "hidden_size": 256, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 512, "vocab_size": 1000,
           "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 32,
           "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4, "full_attention_interval": 4}
    return {**cfg, **over}


def test_a_qwen3_next_config_counts_its_full_layers_from_the_interval_or_layer_types(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(_cfg()))
    m = from_hf_config(p)
    assert (m.linear_layers, m.attention_layers, m.attn_output_gate) == (6, 2, True)  # qwen3_next gates by default
    assert m.gdn.state_bytes == 4.0  # no mamba_ssm_dtype: float32, the released configs' value
    p.write_text(json.dumps(_cfg(layer_types=["linear_attention"] * 7 + ["full_attention"],
                                 mamba_ssm_dtype="bfloat16")))
    m = from_hf_config(p)
    assert (m.linear_layers, m.gdn.state_bytes) == (7, 2.0)


@pytest.mark.parametrize("over, words", [
    ({"layer_types": ["linear_attention"] * 8}, "at least one full_attention layer"),
    ({"mamba_ssm_dtype": "int3"}, "mamba_ssm_dtype"),
    ({"linear_num_value_heads": 3}, "multiple of linear_num_key_heads"),
])
def test_an_impossible_hybrid_config_is_refused_with_the_field(tmp_path, over, words):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(_cfg(**over)))
    with pytest.raises(InfercastError, match=words) as e:
        from_hf_config(p)
    assert e.value.field == "model"


def test_the_state_splits_over_tp_by_value_heads_while_two_kv_heads_cap_the_kv_split():
    dep = deployment("qwen3.5-397b-a17b", "h200-sxm", tp=8, weights="fp8")
    kv = 4096 * 30_720 * 0.5  # fp8 KV
    assert float(kv_bytes_per_seq_per_gpu(dep, 4096)) == pytest.approx(kv / 2 + 192_061_440 / 8)


def _gdn_time(dep, **kw):
    (t,) = [x for x in step_time(dep, **kw)["_timed"] if x.op.kind == "linear_attention"]
    return t


def _measured_ms(chip, engine, phase, hv, hk, batch, seq):
    """Sum of the phase's two kernels' median latencies in the gdn table at one shape."""
    ref = find(chip, engine, "linear_attention", "gdn_perf.parquet")
    t = pq.read_table(ref.path).to_pandas()
    t = t[(t.phase == phase) & (t.num_v_heads == hv) & (t.num_k_heads == hk) & (t.batch_size == batch)
          & (t.seq_len == seq)]
    assert t.kernel_source.nunique() == 2
    return t.groupby("kernel_source").latency.median().sum()


@pytest.mark.parametrize("batch", [1, 64, 512])
def test_a_measured_decode_shape_is_timed_as_measured(batch):
    """Qwen3.5-397B at TP 8 on H100 with SGLang: 8 value and 2 key heads per GPU, a layout the table measured."""
    dep = deployment("qwen3.5-397b-a17b", "h100-sxm", tp=8, weights="fp8", engine="sglang")
    t = _gdn_time(dep, decode_seqs=batch, decode_ctx=2048)
    assert t.provenance.source == "table" and "gdn_perf.parquet" in t.provenance.detail
    per_layer_ms = float(t.seconds) / t.op.count * 1e3
    assert per_layer_ms == pytest.approx(_measured_ms("h100-sxm", "sglang", "generation", 8, 2, batch, 1), rel=0.03)


def test_a_measured_prefill_shape_is_timed_as_measured():
    dep = deployment("qwen3.5-397b-a17b", "h100-sxm", tp=8, weights="fp8", engine="sglang")
    t = _gdn_time(dep, prefill_tokens=8 * 4096, prefill_seqs=8, prefill_ctx=2048)
    per_layer_ms = float(t.seconds) / t.op.count * 1e3
    assert per_layer_ms == pytest.approx(_measured_ms("h100-sxm", "sglang", "context", 8, 2, 8, 4096), rel=0.03)


def test_a_chip_without_tables_times_it_from_its_family_rates():
    t = _gdn_time(deployment("qwen3.5-397b-a17b", "mi300x", tp=8, weights="fp8"), decode_seqs=32, decode_ctx=4096)
    assert t.provenance.source == "fallback" and "Gated DeltaNet decode" in t.provenance.detail
    assert float(t.seconds) > 0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 512), st.integers(1, 100_000), st.integers(1, 100_000))
def test_the_linear_layers_cost_the_same_at_any_context(batch, c1, c2):
    dep = deployment("qwen3.5-397b-a17b", "h200-sxm", tp=8, weights="fp8")
    a = float(_gdn_time(dep, decode_seqs=batch, decode_ctx=c1).seconds)
    b = float(_gdn_time(dep, decode_seqs=batch, decode_ctx=c2).seconds)
    assert a == pytest.approx(b) and a > 0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 256), st.integers(1, 50_000))
def test_only_the_full_layers_read_a_kv_cache_that_grows(batch, ctx):
    dep = deployment("qwen3.5-397b-a17b", "h200-sxm", tp=8, weights="fp8")
    ops = {o.name: o for o in O.build(dep, decode_seqs=batch, decode_ctx=ctx)}
    assert ops["attention_decode"].count == 15 and ops["gdn"].count == 45
    # one GPU holds one of the 2 KV heads: K and V of 256 dims per cached token, FP8
    assert float(ops["attention_decode"].nbytes) == pytest.approx(batch * ctx * 2 * 256 * 1.0)
    assert float(ops["gdn"].nbytes) == pytest.approx(
        batch * (2 * (8 * 128 * 128 * 4 + (2 * 2 * 128 + 8 * 128) * 3 * 2) + (2 * 2 * 128 + 8 * 128 + 2 * 8 * 128) * 2))


def test_long_prompts_fit_more_sequences_than_an_all_full_attention_model_would():
    """The point of the hybrid: at 128K tokens a sequence caches 15 layers' KV, not 60; at 1K the fixed state
    dominates and fewer sequences fit than the KV alone would allow."""
    dep = deployment("qwen3.5-397b-a17b", "b200", tp=8, weights="fp8")
    full = Q35.model_copy(update={"gdn": None, "id": "q35-full"})
    dep_full = deployment(full, "b200", tp=8, weights="fp8")
    assert float(max_sequences(dep, 131_072)) > 3 * float(max_sequences(dep_full, 131_072))
    assert float(max_sequences(dep, 1024)) < float(max_sequences(dep_full, 1024))


def test_step_time_grows_with_the_batch_and_every_operator_is_timed():
    dep = deployment("qwen3.5-397b-a17b", "gb200", tp=4, weights="fp4")
    s = step_time(dep, decode_seqs=np.array([1.0, 8, 64, 256]), decode_ctx=8192)
    lat = np.asarray(s["latency"])
    assert np.all(np.diff(lat) > 0)
    assert all(np.all(np.isfinite(np.asarray(t.seconds))) for t in s["_timed"])
    assert Timer(dep).time([o for o in O.build(dep, decode_seqs=4, decode_ctx=10) if o.name == "gdn"][0]).provenance


def test_sglang_pools_the_state_apart_and_runs_a_third_of_its_slots():
    """SGLang (model_runner_kv_cache_mixin.py, v0.5.9 on): --mamba-full-memory-ratio 0.9 gives 0.9 / 1.9 of the memory
    left after weights to state slots, a running request may hold 3 of them (radix cache on), and speculation keeps
    D draft tokens' intermediate states. At --mem-fraction-static 0.8 on 8 x H200 (BF16, TP 8) that leaves a few
    dozen requests: the cookbook's Qwen3.5 launch."""
    from dataclasses import replace

    from infercast.engine.memory import hybrid_split, kv_pool_bytes, state_bytes_per_seq_per_gpu

    dep = deployment("qwen3.5-397b-a17b", "h200-sxm", tp=8, weights="bf16", engine="sglang")
    dep = replace(dep, engine=replace(dep.engine, mem_reserve="fixed:0.8"))
    free = float(kv_pool_bytes(dep))
    assert free == pytest.approx(0.8 * dep.chip.memory_bytes - Q35.weight_bytes("bf16") / 8, rel=1e-3)
    state = float(state_bytes_per_seq_per_gpu(dep))
    assert state == pytest.approx(192_061_440 / 8)
    for D in (0, 4):
        kv_left, running = hybrid_split(dep, draft_tokens=D)
        slots = np.floor(free * 0.9 / 1.9 / (state * (1 + D / 3)))
        assert float(running) == np.floor(slots / 3)
        assert float(kv_left) == pytest.approx(free - slots * state - np.floor(slots / 3) * D * state)
    assert 10 < float(max_sequences(dep, 2000, draft_tokens=4)) < float(max_sequences(dep, 2000)) < 200
    # vLLM pages the state with the KV cache: no separate cap, a sequence costs its KV plus its state
    vdep = deployment("qwen3.5-397b-a17b", "h200-sxm", tp=8, weights="bf16", engine="vllm")
    kv_left, running = hybrid_split(vdep)
    assert running == np.inf and float(kv_left) == float(kv_pool_bytes(vdep))


def test_a_mixed_precision_release_keeps_each_modules_own_precision(tmp_path):
    """NVIDIA's Qwen3.6-27B-NVFP4 (ModelOpt MIXED_PRECISION): attention and linear-attention projections FP8, the
    MLP W4A16_NVFP4 (groups of 16 with an 8-bit scale: 4.5 bits). It was read as BF16 before."""
    m = get_model("nvidia/Qwen3.6-27B-NVFP4")
    ck = m.checkpoints["fp4"]
    assert m.dtype == "fp4" and ck.weight_bits == 4.5 and ck.modules == {"attention": "fp8", "o_proj": "fp8"}
    assert m.module_bytes("attention") == 1.0 and m.module_bytes("dense_mlp") == 4.5 / 8
    bf16 = m.weight_bytes("bf16")
    assert 0.25 * bf16 < m.weight_bytes() < 0.5 * bf16
    # an unreadable layer map is no quantisation this reader knows: the config's own dtype, never an exception
    for layers in (["not", "a", "map"], {}, {"model.layers.0.mlp.gate_proj": {"quant_algo": "W4A8_AWQ"}}):
        cfg = {**_cfg(), "torch_dtype": "bfloat16",
               "quantization_config": {"quant_method": "modelopt", "quant_algo": "MIXED_PRECISION",
                                       "quantized_layers": layers}}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        assert from_hf_config(tmp_path).dtype == "bf16"


def test_the_bound_breakdown_counts_linear_attention_and_the_indexer_as_attention_work_not_communication():
    """On one GPU nothing is communicated: the Gated DeltaNet state traffic and DSA's indexer are memory or compute
    (both were counted as communication before)."""
    from infercast.engine.step import bound_breakdown

    for model in ("qwen3.5-397b-a17b", "deepseek-v3.2"):
        dep = deployment(model, "mi300x", tp=1, weights="fp8")  # one GPU, no tables: every operator its own
        parts = step_time(dep, decode_seqs=64, decode_ctx=8192)
        shares = bound_breakdown(parts)
        assert float(shares["communication"]) == 0.0, model
        assert float(shares["kv_cache"]) > 0


def test_the_choices_the_sglang_cookbook_rows_prompted_are_switched_off_out_of_sample():
    """SGLang's state pool and the notes' engine limits were looked for on SGLCB's rows: out of sample they are off."""
    from dataclasses import replace

    from infercast.analyses.measured import packaged_path, read_rows
    from infercast.analyses.predict import ROW_INFORMED, Context, predict_row

    assert {"sglang-hybrid-pools", "stated-engine-limits"} <= {k for k, v in ROW_INFORMED.items() if "SGLCB" in v}
    row = next(r for r in read_rows(packaged_path("measured-techniques.csv")) if r["id"] == "SGLCB-006")
    on = predict_row(row)
    off = predict_row(row, Context(ablate=frozenset({"sglang-hybrid-pools", "stated-engine-limits"})))
    assert any("max_running_requests 48" in a for a in on.assumptions)
    assert not any("max_running_requests" in a for a in off.assumptions) and off.predicted != on.predicted
    dep = deployment("qwen3.5-397b-a17b", "h200-sxm", tp=8, weights="bf16", engine="sglang")
    assert float(max_sequences(replace(dep, engine=replace(dep.engine, hybrid_pools=False)), 2000)) > \
        float(max_sequences(dep, 2000))
