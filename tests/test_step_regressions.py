"""Regressions for the step-model bugs named in issue 12, each asserting the behaviour a user relies on."""
import numpy as np
import pytest

from infercast import deployment
from infercast.engine.efficiency import get_engine
from infercast.engine.serving import continuous
from infercast.engine.step import step_time


@pytest.mark.parametrize("name, engine", [
    ("vLLM (optimized build)", "vllm"),  # was taken for TensorRT-LLM: "optimized" matched first in dict order
    ("SGLang 0.4.6 (TensorRT-LLM MoE kernels)", "sglang"),
    ("TensorRT-LLM 0.17 (vLLM-compatible API)", "tensorrt-llm"),
    ("vllm 0.11", "vllm"),
])
def test_an_engine_is_named_by_its_leading_name_not_the_first_substring(name, engine):
    assert get_engine(name).name == engine


def test_pipeline_stages_share_one_lm_head_and_one_scheduler_step():
    """With PP the lm_head runs once (on the last stage) and the host schedules once per step:
    latency = pp x stage + lm_head + scheduler, not pp x (stage + lm_head + scheduler)."""
    kw = dict(decode_seqs=8, decode_ctx=1000)
    one = step_time(deployment("llama-3.1-70b", "h100-sxm", tp=2, pp=1), **kw)
    two = step_time(deployment("llama-3.1-70b", "h100-sxm", tp=2, pp=2), **kw)
    lat = float(two["latency"])
    assert lat == pytest.approx(2 * float(two["stage"]) + float(two["lm_head"]) + float(two["scheduler"]))
    assert float(two["lm_head"]) == pytest.approx(float(one["lm_head"]))
    assert float(two["scheduler"]) == pytest.approx(float(one["scheduler"]))


def test_moe_and_mla_layers_count_their_own_kernels():
    """Kernel launches per layer follow the layer's operators: a dense 70B has no expert kernels; an MoE
    layer launches its grouped GEMM's kernels; an MLA model launches down/up projections of its own."""
    kw = dict(decode_seqs=1, decode_ctx=100)

    def names(model):
        st = step_time(deployment(model, "h100-sxm", tp=8, weights="fp8"), **kw)
        return {x.op.name: (float(x.op.count), x.op.kernels) for x in st["_timed"]}

    dense, moe, mla = names("llama-3.1-70b"), names("mixtral-8x7b"), names("deepseek-v3")
    assert "experts" not in dense and dense["mlp_up"][0] == 80
    assert moe["experts"][0] == 32 and moe["experts"][1] > 1 and "mlp_up" not in moe
    # DeepSeek-V3: 3 dense layers then 58 MoE layers, every layer MLA (q/kv down and up projections)
    assert mla["mlp_up"][0] == 3 and mla["experts"][0] == 58 and mla["shared_up"][0] == 58
    assert {"q_kv_down", "q_up", "kv_up"} <= set(mla) and "qkv_proj" not in mla


def test_at_concurrency_one_the_prompt_is_ttft_only():
    """One request in flight: its own prompt is its TTFT; no other prompt is chunked into its decode steps,
    so TPOT is the plain decode step and nothing is counted twice."""
    dep = deployment("llama-3.1-8b", "h100-sxm")
    r = continuous(dep, 2000, 200, 1)
    decode = step_time(dep, decode_seqs=1, decode_ctx=2000 + 200 / 2)
    assert float(r["tpot_s"]) == pytest.approx(float(decode["latency"]), rel=1e-6)
    busy = continuous(dep, 2000, 200, np.array([1.0, 8.0]))
    assert busy["tpot_s"][1] > busy["tpot_s"][0]  # others' prompts do slow a busy server's decode


def test_a_pcie_card_whose_link_name_says_no_nvlink_times_its_collectives_with_the_link_model():
    """'PCIe Gen4 x16 (no NVLink)' (L40S) once matched 'nvlink' and took NVLink hosts' all-reduce tables,
    which made a TP4 70B step 7x slower than its link allows (TensorRT-LLM 0.17 perf overview: 381 tok/s/GPU
    measured on 4 x L40S, 140 modelled)."""
    from infercast.engine.step import deployment, step_time

    def provenance(chip):
        st = step_time(deployment("llama-3.1-70b", chip, tp=4, weights="fp8", engine="TensorRT-LLM 0.17"),
                       decode_seqs=64.0, decode_ctx=256.0)
        return next(x.provenance for x in st["_timed"] if x.op.kind == "all_reduce")

    assert provenance("l40s").source == "fallback" and "ring model" in provenance("l40s").detail
    assert provenance("h100-sxm").source == "table"


def test_a_checkpoint_streams_its_unquantised_modules_at_16_bit():
    """gpt-oss ships MXFP4 experts and BF16 attention and lm_head (config.json modules_to_not_convert): a
    batch-1 decode step on one H100 streams those at 2 bytes a weight and times them as bf16 GEMMs; an engine
    that requantises the model to FP8 streams its attention at 1 byte (the output head stays 16-bit)."""
    from infercast.engine.operators import build

    m = deployment("gpt-oss-20b", "h100-sxm", tp=1).model
    ops = {o.name: o for o in build(deployment("gpt-oss-20b", "h100-sxm", tp=1), decode_seqs=1, decode_ctx=1000)}
    qkv = (m.heads + 2 * m.kv_heads) * m.head_dim * m.d_model
    assert ops["qkv_proj"].dtype == ops["lm_head"].dtype == "bf16" and ops["experts"].dtype == "fp4"
    assert float(ops["qkv_proj"].nbytes) == pytest.approx(qkv * 2.0 + (qkv / m.d_model + m.d_model) * 2.0)
    fp8 = {o.name: o for o in build(deployment("gpt-oss-20b", "h100-sxm", tp=1, weights="fp8"), decode_seqs=1,
                                    decode_ctx=1000)}
    assert fp8["qkv_proj"].dtype == "fp8" and float(fp8["qkv_proj"].nbytes) < float(ops["qkv_proj"].nbytes)
    assert fp8["lm_head"].dtype == "bf16"
    note = [n for n in deployment("gpt-oss-20b", "h100-sxm", tp=1).notes if n.startswith("weights fp4:")]
    assert note and note[0].startswith("weights fp4: attention, o_proj and lm_head in bf16, the rest stored at "
                                       "4.25 bits")
    fp8_notes = deployment("llama-3-8b", "h100-sxm", weights="fp8").notes
    assert any(n.startswith("weights fp8: lm_head in bf16") for n in fp8_notes)
    # the published checkpoint (65.2 GB) is what the memory plan places, not 4 bits for every module
    assert deployment("gpt-oss-120b", "h100-sxm", tp=1).model.weight_bytes() / 1e9 == pytest.approx(65.18, abs=0.1)
