"""DeepSeek Sparse Attention (DeepSeek-V3.2, GLM-5): worked examples from the configs and the kernel definitions,
and the physical invariants a user relies on (the attention a query pays for stops growing at the top-k; the
indexer's share keeps growing with the context)."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercast import deployment
from infercast.engine import operators as O
from infercast.engine.step import step_time
from infercast.specs.hfconfig import from_hf_config, shipped_config
from infercast.specs import precision as P
from infercast.specs.model import get_model

V32 = get_model("deepseek-v3.2")
V3 = get_model("deepseek-v3")


def test_the_indexer_weights_and_cache_of_deepseek_v32():
    """DeepSeek-V3.2-Exp's Indexer: wq_b 1536 x 64 x 128, wk 7168 x 128, LayerNorm(128) with bias, weights_proj
    7168 x 64 = 13,959,424 weights per layer; its FP8 key and FP32 scale add 132 bytes per token per layer
    (FlashInfer's dsa_topk_indexer_fp8_h64_d128_topk2048 definition: head_dim_with_scale 132)."""
    assert V32.indexer_params_per_layer == 1536 * 64 * 128 + 7168 * 128 + 2 * 128 + 7168 * 64 == 13_959_424
    assert V32.total_params - V3.total_params == pytest.approx(61 * 13_959_424)
    # the latent cache (512 + 64 at 2 bytes) and the index key: 61 x 1,284 bytes per token
    assert V32.kv_bytes_per_token("bf16") == 61 * (576 * 2 + 132) == 78_324
    assert V32.kv_bytes_per_token("fp8") == 61 * (576 + 132)
    assert V32.attention_kind == "MLA+DSA"


def test_glm5_total_from_its_config_matches_the_published_744b():
    glm = get_model("zai-org/GLM-5")
    assert glm.id == "glm-5" and glm.dsa.index_heads == 32 and glm.dsa.topk == 2048
    assert glm.total_params == pytest.approx(744e9, rel=0.01)


def test_a_v32_config_json_is_read_with_its_indexer(tmp_path):
    cfg = {"model_type": "deepseek_v32", "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8,
           "num_key_value_heads": 8, "intermediate_size": 512, "vocab_size": 1000, "q_lora_rank": 64,
           "kv_lora_rank": 32, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
           "index_n_heads": 4, "index_head_dim": 16, "index_topk": 64}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    m = from_hf_config(p)
    assert (m.dsa.index_heads, m.dsa.index_head_dim, m.dsa.topk) == (4, 16, 64)
    assert m.indexer_params_per_layer == 64 * 4 * 16 + 256 * 16 + 2 * 16 + 256 * 4


def test_hub_ids_resolve_to_the_configs_aiconfigurator_core_ships():
    """`make test` installs the kernels extra; its model_configs hold released config.json copies, found without
    regard to case when the Hugging Face cache has none."""
    assert shipped_config("MoonshotAI/Kimi-K2.5") is not None
    k25 = get_model("moonshotai/Kimi-K2.5")
    # compressed-tensors INT4, groups of 32 with a 16-bit scale: 4.5 bits; attention, shared experts and the dense
    # MLP in its `ignore` list stay 16-bit
    ck = k25.checkpoints["int4"]
    assert k25.dtype == "int4" and ck.weight_bits == 4.5
    assert set(ck.modules) == {"attention", "o_proj", "shared_experts", "dense_mlp"}
    # ModelOpt's hf_quant_config.json beside the config: NVFP4, one FP8 scale per 16 values
    nv = get_model("nvidia/DeepSeek-V3.2-NVFP4")
    assert nv.dtype == "fp4" and nv.dsa is not None and nv.checkpoints["fp4"].weight_bits == 4.5
    assert nv.checkpoints["fp4"].modules == {"attention": "bf16", "o_proj": "bf16"}


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 1e6), st.integers(1, 100_000))
def test_the_mean_sparse_prefill_context_never_exceeds_the_dense_one_or_the_topk(ctx, k):
    a = float(O.sparse_attended(ctx, k))
    assert a <= ctx + 1e-9 and a <= k + 1e-9
    assert float(O.sparse_attended(ctx * 1.5 + 1, k)) >= a - 1e-9  # more context never means less attention


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 256), st.integers(1, 200_000))
def test_sparse_decode_streams_the_latent_of_at_most_topk_tokens_and_every_index_key(batch, ctx):
    dep = deployment("deepseek-v3.2", "h200-sxm", tp=8, weights="fp8")
    ops = {o.name: o for o in O.build(dep, decode_seqs=batch, decode_ctx=ctx)}
    att = ops["attention_decode"]
    assert float(att.nbytes) == pytest.approx(batch * min(ctx, 2048) * 576 * P.nbytes(dep.kv))
    idx = ops["indexer"]
    assert float(idx.nbytes) == pytest.approx(batch * ctx * (132 + 8))  # keys, and FP32 scores written and read
    assert float(idx.flops) == pytest.approx(2 * 64 * 128 * batch * ctx)


def test_long_context_decode_is_cheaper_with_sparse_attention_and_short_context_costs_the_indexer():
    """At 128K cached tokens DSA's decode step is faster than V3's dense MLA (the point of DSA, arXiv 2512.02556
    Figure 3); at 1K the indexer is extra work and the step is slower."""
    def step(model, ctx):
        return float(step_time(deployment(model, "h200-sxm", tp=8, weights="fp8"), decode_seqs=32,
                               decode_ctx=ctx)["latency"])

    assert step("deepseek-v3.2", 131_072) < 0.7 * step("deepseek-v3", 131_072)
    assert step("deepseek-v3.2", 1024) > step("deepseek-v3", 1024)


def test_the_indexer_is_timed_with_its_provenance():
    """On a chip NVIDIA did not measure, the indexer is its own operator timed by the family's fractions; where an
    engine's DSA module table covers the chip, the whole attention block is that measurement and its operators say
    they are inside it."""
    st_ = step_time(deployment("deepseek-v3.2", "mi300x", tp=8, weights="fp8"), decode_seqs=16, decode_ctx=8192)
    (idx,) = [x for x in st_["_timed"] if x.op.kind == "indexer"]
    assert idx.provenance.source == "fallback" and "DSA indexer" in idx.provenance.detail
    assert np.all(np.asarray(idx.seconds) > 0)
    assert not [x for x in st_["_timed"] if x.op.kind == "dsa_module"]
    st_ = step_time(deployment("deepseek-v3.2", "b200", tp=8, weights="fp8"), decode_seqs=16, decode_ctx=8192)
    (mod,) = [x for x in st_["_timed"] if x.op.kind == "dsa_module"]
    assert "dsa_generation_module_perf" in mod.provenance.detail and float(mod.seconds) > 0
    inside = [x for x in st_["_timed"] if x.op.name in ("indexer", "q_up", "attention_decode", "o_proj")]
    assert len(inside) == 4 and all(float(x.seconds) == 0 and "inside the measured DSA module" in x.provenance.detail
                                    for x in inside)


def _module_ms(chip, engine, kind, arch, gemm, kv, heads, batch, length):
    """The table's own number at one measured shape: per kernel path the median, the fastest path taken."""
    import pyarrow.parquet as pq

    from infercast.engine.kernels.dsa import FILES
    from infercast.engine.kernels.source import find

    t = pq.read_table(find(chip, engine, "sparse_attention", FILES[kind]).path).to_pandas()
    t = t[(t.architecture == arch) & (t.gemm_type == gemm) & (t.kv_cache_dtype == kv) & (t.num_heads == heads)
          & (t.batch_size == batch)]
    t = t[t.isl + t.step == length] if kind == "decode" else t[(t.step == 0) & (t.isl == length)]
    assert len(t)
    return t.groupby("kernel_source").latency.median().min()


@pytest.mark.parametrize("engine, kind, batch, length", [
    ("sglang", "decode", 64, 1025), ("sglang", "prefill", 1, 4096), ("tensorrt-llm", "prefill", 4, 2048),
])
def test_a_measured_module_shape_is_timed_as_measured(engine, kind, batch, length):
    """DeepSeek-V3.2 at TP 8 on H200 (16 heads per GPU, block-FP8 projections, BF16 KV): aiconfigurator-core's
    module tables give the layer's attention block at these shapes, and the step charges exactly that, stretched to
    the sustained clock for its compute-bound share as every measured kernel is (timing._sustained)."""
    dep = deployment("deepseek-v3.2", "h200-sxm", tp=8, weights="fp8", kv="bf16", engine=engine)
    kw = dict(decode_seqs=batch, decode_ctx=length) if kind == "decode" else \
        dict(prefill_tokens=batch * length, prefill_seqs=batch, prefill_ctx=length / 2)
    (mod,) = [x for x in step_time(dep, **kw)["_timed"] if x.op.kind == "dsa_module"]
    want = _module_ms("h200-sxm", engine, kind, "DeepseekV32ForCausalLM", "fp8_block", "bfloat16", 16, batch, length)
    measured = want * 1e-3 * mod.op.count
    r = dep.eff.sustained_compute
    assert float(mod.seconds) == pytest.approx(measured + (1 / r - 1) * min(float(mod.compute), measured), rel=0.01)


@pytest.mark.parametrize("quant, expect", [
    ({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "NVFP4", "group_size": 16,
                                                           "exclude_modules": ["lm_head", "model.layers.0.self_attn*"]}},
     ("fp4", 4.5, {"attention", "o_proj"})),
    ({"quantization": {"quant_algo": "FP8", "exclude_modules": ["lm_head"]}}, ("fp8", None, set())),
    ({"quantization": {"quant_algo": "NVFP4", "group_size": "sixteen"}}, ("fp4", 4.5, set())),  # odd: the default 16
    ({"quantization": ["not", "an", "object"]}, ("bf16", None, set())),  # hostile: read as no quantisation
    ({"quantization": {"quant_algo": "W4A8_AWQ"}}, ("bf16", None, set())),  # a scheme not read: the config's dtype
])
def test_modelopt_hf_quant_config_beside_a_config_json_states_the_precision(tmp_path, quant, expect):
    cfg = {"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
           "intermediate_size": 128, "vocab_size": 100, "torch_dtype": "bfloat16"}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "hf_quant_config.json").write_text(json.dumps(quant))
    m = from_hf_config(tmp_path)
    ck = m.checkpoints.get(m.dtype)
    assert (m.dtype, ck.weight_bits if ck else None, set(ck.modules) if ck else set()) == expect


def test_sparse_prefill_attends_in_the_latent_at_flashmlas_measured_rate():
    """DSA prefill: each query scores min(position, 2048) tokens over kv_lora + rope dims and sums values over
    kv_lora (2 x 128 heads x 1,088 FLOPs per attended token, TP 1), timed at FlashMLA's 640 TFLOP/s on H800."""
    dep = deployment("deepseek-v3.2", "mi300x", tp=1, weights="fp8")  # no DSA module table measures this chip
    (pre,) = [o for o in O.build(dep, prefill_tokens=8192, prefill_seqs=1, prefill_ctx=4096)
              if o.name == "attention_prefill"]
    attended = 2048 - 2048 ** 2 / (4 * 4096)  # positions 0..8192, min(position, 2048) averaged: 1,792
    assert float(pre.flops) == pytest.approx(2 * 8192 * 128 * attended * 1088)
    st_ = step_time(dep, prefill_tokens=8192, prefill_seqs=1, prefill_ctx=4096)
    (t,) = [x for x in st_["_timed"] if x.op.name == "attention_prefill"]
    assert t.provenance.source == "fallback" and "FlashMLA" in t.provenance.detail
    # compute-bound at that rate, then stretched to the sustained clock like every compute-bound kernel (timing._sustained)
    r = dep.eff.sustained_compute
    assert float(t.compute) / float(t.seconds) == pytest.approx(1 / (989.4 / 640 + 1 / r - 1), rel=0.02)


def test_the_dsa_module_tables_are_off_out_of_sample_for_the_family_that_prompted_them():
    from dataclasses import replace

    from infercast.analyses.predict import ROW_INFORMED

    assert ROW_INFORMED["dsa-module-tables"] == ("VLLMB",)
    dep = deployment("deepseek-v3.2", "gb300", tp=2, weights="fp4", engine="vllm")
    off = replace(dep, engine=replace(dep.engine, dsa_module_tables=False))
    kinds = {x.op.kind for x in step_time(dep, prefill_tokens=2048, prefill_seqs=1, prefill_ctx=1024)["_timed"]}
    assert "dsa_module" in kinds
    kinds = {x.op.kind for x in step_time(off, prefill_tokens=2048, prefill_seqs=1, prefill_ctx=1024)["_timed"]}
    assert "dsa_module" not in kinds and "indexer" in kinds
