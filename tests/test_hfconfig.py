"""Loading Hugging Face config.json files (offline) into ModelSpec.

Samples under tests/data/hf/<name>/config.json copy the field values of the released configs
(meta-llama/Llama-3.1-8B, mistralai/Mixtral-8x7B-v0.1, Qwen/Qwen2.5-7B, Qwen/Qwen3-30B-A3B,
deepseek-ai/DeepSeek-V3, openai/gpt-oss-20b, google/gemma-2-9b, google/gemma-3-4b-it).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from infercast.errors import InfercastError
from infercast.specs.hfconfig import from_hf_config
from infercast.specs.model import get_model

HF = Path(__file__).parent / "data" / "hf"


def cfg(name: str) -> str:
    return str(HF / name / "config.json")


@pytest.mark.parametrize("sample, catalog_id", [
    ("Llama-3.1-8B", "llama-3.1-8b"),
    ("Mixtral-8x7B-v0.1", "mixtral-8x7b"),
    ("DeepSeek-V3", "deepseek-v3"),
    ("gpt-oss-20b", "gpt-oss-20b"),
    ("Qwen2.5-7B", "qwen2.5-7b"),
])
def test_sample_reproduces_catalog_total(sample: str, catalog_id: str):
    m, ref = from_hf_config(cfg(sample)), get_model(catalog_id)
    assert m.total_params == pytest.approx(ref.total_params, rel=0.005)
    assert m.kv_bytes_per_token() == ref.kv_bytes_per_token()
    if ref.moe:
        assert m.active_params == pytest.approx(ref.active_params, rel=0.005)
    assert m.published_params == m.total_params
    assert "derived from config.json at" in m.params_source


def test_llama_fields_and_id_from_name_or_path():
    m = from_hf_config(cfg("Llama-3.1-8B"))
    assert m.id == "llama-3.1-8b" and m.name == "meta-llama/Llama-3.1-8B"
    assert (m.layers, m.d_model, m.heads, m.kv_heads, m.head_dim, m.d_ff) == (32, 4096, 32, 8, 128, 14336)
    assert (m.max_context, m.dtype, m.tied_embeddings, m.moe) == (131072, "bf16", False, None)


def test_id_from_folder_and_directory_path():
    m = from_hf_config(str(HF / "Mixtral-8x7B-v0.1"))  # folder, no _name_or_path in the file
    assert m.id == "mixtral-8x7b-v0.1"
    assert (m.moe.experts, m.moe.active, m.sliding_layers) == (8, 2, 0)  # sliding_window null


def test_get_model_accepts_json_path():
    assert get_model(cfg("Qwen2.5-7B")).qkv_bias


def test_qwen3_moe_model_card():
    """Qwen/Qwen3-30B-A3B model card: 30.5B total, 29.9B non-embedding."""
    m = from_hf_config(cfg("Qwen3-30B-A3B"))
    assert (m.moe.experts, m.moe.active, m.moe.expert_d_ff, m.moe.shared_experts) == (128, 8, 768, 0)
    assert m.total_params == pytest.approx(30.5e9, rel=0.01)
    assert m.total_params - m.embedding_params - m.lm_head_params == pytest.approx(29.9e9, rel=0.01)
    assert m.sliding_layers == 0


def test_deepseek_v3_fields():
    m = from_hf_config(cfg("DeepSeek-V3"))
    assert m.mla.kv_lora_rank == 512 and m.mla.q_lora_rank == 1536
    assert (m.moe.dense_layers, m.moe.shared_experts, m.moe.experts, m.moe.expert_d_ff) == (3, 1, 256, 2048)
    assert m.dtype == "fp8" and m.kv_bytes_per_token("bf16") == 70_272


def test_gpt_oss_sliding_and_mxfp4():
    m = from_hf_config(cfg("gpt-oss-20b"))
    assert (m.sliding_window, m.sliding_layers, m.bias, m.dtype) == (128, 12, True, "fp4")
    # modules_to_not_convert (self_attn, router, embed_tokens, lm_head) stay 16-bit; MXFP4 is 4.25 bits
    ck = m.checkpoints["fp4"]
    assert (ck.modules, ck.weight_bits) == ({"attention": "bf16", "o_proj": "bf16"}, 4.25)
    assert m.weight_bytes() == pytest.approx(get_model("gpt-oss-20b").weight_bytes(), rel=0.005)


@pytest.mark.parametrize("names", ["self_attn", 7, None, {"a": 1}, [1, None, ["x"]],
                                   ["model.layers.*.self_attn"] * 100_000])
def test_odd_modules_to_not_convert_never_fail(tmp_path: Path, names):
    """A hostile or odd `modules_to_not_convert` is read as far as it names modules, never an error."""
    raw = json.loads((HF / "gpt-oss-20b" / "config.json").read_text())
    raw["quantization_config"]["modules_to_not_convert"] = names
    (tmp_path / "config.json").write_text(json.dumps(raw))
    m = from_hf_config(str(tmp_path / "config.json"))
    kept = {"attention": "bf16", "o_proj": "bf16"} if isinstance(names, list) and len(names) > 10 else {}
    assert m.checkpoints["fp4"].modules == kept
    assert m.weight_bytes() > 0


def test_gemma2_alternating_window_and_report_counts():
    """Gemma 2 report (arXiv 2408.00118) Table 1, 9B: 8,324,201,984 non-embedding + 917,504,000 embedding."""
    m = from_hf_config(cfg("gemma-2-9b"))
    assert (m.sliding_window, m.sliding_layers, m.tied_embeddings, m.head_dim) == (4096, 21, True, 256)
    assert m.dtype == "fp32"
    assert m.embedding_params == 917_504_000 and m.lm_head_params == 0
    assert m.total_params - m.embedding_params == pytest.approx(8_324_201_984, rel=0.005)


def test_gemma3_nested_text_config():
    m = from_hf_config(cfg("gemma-3-4b-it"))
    assert (m.layers, m.d_model, m.heads, m.kv_heads, m.head_dim) == (34, 2560, 8, 4, 256)
    assert (m.vocab, m.sliding_window, m.sliding_layers, m.tied_embeddings) == (262208, 1024, 29, True)
    assert m.max_context == 131072 and m.id == "gemma-3-4b-it"


def test_unsupported_model_type_is_clear():
    with pytest.raises(InfercastError) as e:
        from_hf_config(cfg("mamba-130m"))
    msg = str(e.value)
    assert "'mamba'" in msg and "llama" in msg and "deepseek_v3" in msg and "gpt_oss" in msg


def test_missing_required_field(tmp_path: Path):
    raw = json.loads(Path(cfg("Llama-3.1-8B")).read_text())
    del raw["hidden_size"]
    p = tmp_path / "config.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(InfercastError, match="missing the field hidden_size, which model_type 'llama' needs"):
        from_hf_config(str(p))


def test_missing_file_and_bad_json(tmp_path: Path):
    with pytest.raises(InfercastError, match="no such config.json"):
        from_hf_config(str(tmp_path / "nope.json"))
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(InfercastError, match="not valid JSON"):
        from_hf_config(str(bad))


def test_a_vision_language_release_is_read_as_its_language_model():
    """Qwen3-VL's config nests a Qwen3 (MoE) language model under text_config: Qwen3-VL-235B-A22B's is
    Qwen3-235B-A22B's shape (94 layers, hidden 4096, 128 experts top-8 of width 1536), the vision tower aside."""
    vl, text = get_model("Qwen/Qwen3-VL-235B-A22B-Instruct"), get_model("qwen3-235b-a22b")
    assert (vl.layers, vl.d_model, vl.heads, vl.kv_heads, vl.moe.experts, vl.moe.active, vl.moe.expert_d_ff) == \
        (text.layers, text.d_model, text.heads, text.kv_heads, text.moe.experts, text.moe.active, text.moe.expert_d_ff)
    assert vl.total_params == pytest.approx(text.total_params, rel=0.01) and vl.max_context == 262144


def test_step_3_7_flash_reads_its_sliding_layers_and_shared_expert():
    """stepfun-ai/Step-3.7-Flash's config (aiconfigurator-core's copy): 45 layers, one full-attention layer in four
    (layer_types; 33 sliding layers of a 512-token window), 3 dense layers then 288 routed experts top-8 of width
    1280 plus one shared expert of share_expert_dim 1280."""
    m = get_model("stepfun-ai/Step-3.7-Flash")
    assert (m.layers, m.sliding_layers, m.sliding_window) == (45, 33, 512)
    mo = m.moe
    assert (mo.experts, mo.active, mo.expert_d_ff, mo.shared_experts, mo.dense_layers) == (288, 8, 1280, 1, 3)
    # 12 full layers keep every token's K and V (8 heads x 128, BF16); the sliding ones at most 512 tokens
    assert m.kv_bytes_per_seq(10_000, "bf16") == pytest.approx((12 * 10_000 + 33 * 512) * 2 * 8 * 128 * 2)
