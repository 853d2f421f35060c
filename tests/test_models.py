"""Model catalog: derived parameter counts vs published ones, KV-cache and FLOP worked examples.

Worked examples come from /work/shared/research/theory.md (section numbers cited per test).
"""
from __future__ import annotations

import re

import pytest

from infercast.specs.model import ModelSpec, all_models, get_model

REQUIRED = [
    "gpt-3-175b", "gpt-4", "gpt-j-6b", "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b",
    "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-3.3-70b", "llama-4-maverick", "mixtral-8x7b",
    "mixtral-8x22b", "falcon-180b", "qwen2.5-7b", "qwen2.5-32b", "qwen2.5-72b", "qwen3-235b-a22b", "deepseek-v3",
    "deepseek-r1", "gpt-oss-20b", "gpt-oss-120b",
]

# Which weights a publisher's "active parameters" counts (documented in each entry's notes):
#   "all"               - every weight a token touches, input embedding and lm_head included (= active_params)
#   "no_input_embedding" - lm_head counted, input embedding (a gather) not
#                          (gpt-oss model card Table 1: active = attention + 4 experts + unembedding).
ACTIVE_CONVENTION = {
    "gpt-4": "all",  # SemiAnalysis: 2 x 111B + 55B shared ~ 280B
    "llama-4-maverick": "all",
    "llama-4-scout": "all",
    "qwen3-30b-a3b": "all",  # Qwen: "3.3B activated" = 3.35B incl. embeddings, 3.04B without
    "mixtral-8x7b": "all",  # Mistral: 12.9B (derived 12.88B incl. embeddings; 12.75B without)
    "mixtral-8x22b": "all",
    "qwen3.5-397b-a17b": "all",  # the model name's 'A17B': 17.35B incl. embeddings, 16.33B without
    "qwen3-235b-a22b": "all",  # Qwen counts embeddings: Qwen3-30B-A3B "3.3B activated" = 3.35B incl., 3.04B excl.
    "deepseek-v3": "no_input_embedding",
    "deepseek-r1": "no_input_embedding",
    "kimi-k2": "no_input_embedding",  # DeepSeek-V3's architecture and convention: '32B' = 31.69B without the gather
    "gpt-oss-20b": "no_input_embedding",
    "gpt-oss-120b": "no_input_embedding",
}

# Published active count is a 2-significant-figure label whose rounding step (+-0.5B) is wider than 1%:
# the derived count cannot be shown to match to 1% under any convention. Kept as strict xfails (not a
# looser tolerance) and checked instead at the precision the publisher used (test_active_at_published_precision).
ACTIVE_NOT_WITHIN_1PCT = {
    "llama-4-maverick": "Meta: '17B active'; derived 17.19B incl. embeddings (+1.1%), 16.15B without (-5%)",
    "llama-4-scout": "Meta: '17B active'; derived 17.17B incl. embeddings (+1.0%), 16.14B without (-5%)",
    "qwen3-30b-a3b": "Qwen: '3.3B activated'; derived 3.35B incl. embeddings (+1.6%), 3.04B without (-8%)",
    "qwen3.5-397b-a17b": "Qwen: 'A17B' in the name; derived 17.35B incl. embeddings (+2.1%), 16.33B without (-3.9%)",
    "deepseek-v3": "DeepSeek: '37B activated'; derived 36.63B without input embedding (-1.01%), 37.55B with (+1.5%)",
    "deepseek-r1": "DeepSeek: '37B activated'; derived 36.63B without input embedding (-1.01%), 37.55B with (+1.5%)",
}

# Published totals given as a one-figure label ('1T'): checked at that precision, kept as strict xfails at 1 %.
TOTAL_NOT_WITHIN_1PCT = {
    "kimi-k2": "Moonshot: '1T total'; derived 1.026T from config.json (+2.6%); secondary sources quote 1.04T (-1.3%)",
}

# Published totals that count parts the catalog does not model (a vision encoder): strict xfails at 1 %.
TOTAL_COUNTS_UNMODELLED_PARTS = {
    "llama-4-scout": "Meta: '109B total' with the vision encoder; the text model derives 107.8B (-1.1%)",
    "deepseek-v3.2": "the card's '685B' counts the 14B MTP module, which no step runs; derived 671.9B without it (-1.9%)",
}

MODELS = all_models()


def _src(m: ModelSpec) -> str:
    """Short tag naming where the published number comes from (last clause of params_source)."""
    tail = m.params_source.split("; ")[-1]
    return re.sub(r"[^A-Za-z0-9.,:'() -]", "", tail)[:70]


def _ids(ms: list[ModelSpec]) -> list[str]:
    return [f"{m.id} <{_src(m)}>" for m in ms]


def _active(m: ModelSpec) -> float:
    conv = ACTIVE_CONVENTION[m.id]
    return m.active_params - (m.embedding_params if conv == "no_input_embedding" else 0.0)


# ---- catalog hygiene ----------------------------------------------------------------------------

def test_required_ids_present():
    ids = {m.id for m in MODELS}
    assert not set(REQUIRED) - ids


def test_aliases_lowercase_unique_and_not_ids():
    ids = [m.id for m in MODELS]
    assert len(ids) == len(set(ids))
    seen: dict[str, str] = {}
    for m in MODELS:
        assert m.id == m.id.lower()
        for a in m.aliases:
            assert a == a.lower().strip(), (m.id, a)
            assert a not in ids, f"alias {a} of {m.id} is another model's id"
            assert a not in seen, f"alias {a} used by {seen.get(a)} and {m.id}"
            seen[a] = m.id
    assert get_model("Meta-Llama/Llama-3.1-8B").id == "llama-3.1-8b"
    assert get_model("mixtral").id == "mixtral-8x7b"


@pytest.mark.parametrize("m", MODELS, ids=[m.id for m in MODELS])
def test_entry_has_sources_and_context(m: ModelSpec):
    assert m.params_source and ("config.json" in m.params_source or m.rumoured or m.id == "gpt-3-175b")
    assert m.max_context >= 2048
    assert m.dtype in {"fp32", "bf16", "fp16", "fp8", "fp4"}
    if m.moe and m.published_active_params:
        assert m.id in ACTIVE_CONVENTION, "document which weights the published active count includes"


# ---- derived vs published parameter counts (1 %) -------------------------------------------------

_TOTAL_XFAIL = {**TOTAL_NOT_WITHIN_1PCT, **TOTAL_COUNTS_UNMODELLED_PARTS}


@pytest.mark.parametrize("m", [
    pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=_TOTAL_XFAIL[m.id]))
    if m.id in _TOTAL_XFAIL else m for m in MODELS], ids=_ids(MODELS))
def test_total_params_match_published(m: ModelSpec):
    err = m.total_params / m.published_params - 1
    assert abs(err) <= 0.01, f"{m.id}: derived {m.total_params:.4g} vs {m.published_params:.4g} " \
                             f"({err:+.2%}); source: {m.params_source}"


ACTIVE = [m for m in MODELS if m.moe and m.published_active_params]


@pytest.mark.parametrize("m", [
    pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=ACTIVE_NOT_WITHIN_1PCT[m.id]))
    if m.id in ACTIVE_NOT_WITHIN_1PCT else m for m in ACTIVE], ids=_ids(ACTIVE))
def test_active_params_match_published(m: ModelSpec):
    err = _active(m) / m.published_active_params - 1
    assert abs(err) <= 0.01, f"{m.id}: derived active {_active(m):.4g} ({ACTIVE_CONVENTION[m.id]}) vs " \
                             f"{m.published_active_params:.4g} ({err:+.2%})"


@pytest.mark.parametrize("mid", sorted(TOTAL_NOT_WITHIN_1PCT))
def test_total_at_published_precision(mid: str):
    """A one-figure label ('1T'): the derived total must round to it."""
    m = get_model(mid)
    assert float(f"{m.total_params:.1g}") == m.published_params


@pytest.mark.parametrize("mid", sorted(ACTIVE_NOT_WITHIN_1PCT))
def test_active_at_published_precision(mid: str):
    """The labels '17B' / '37B' are whole billions: the derived count must round to them."""
    m = get_model(mid)
    assert round(_active(m) / 1e9) == round(m.published_active_params / 1e9)


def test_gpt_oss_breakdown_matches_model_card():
    """gpt-oss model card (arXiv 2508.10925) Table 1: MLP 19.12B/114.71B, attention 0.64B/0.96B, embed+unembed 1.16B."""
    for mid, mlp, attn in (("gpt-oss-20b", 19.12e9, 0.64e9), ("gpt-oss-120b", 114.71e9, 0.96e9)):
        m = get_model(mid)
        routed = m.moe_layers * m.moe.experts * m.expert_params + m.moe_layers * m.router_params
        assert routed == pytest.approx(mlp, rel=0.01)
        assert m.layers * m.attn_params_per_layer == pytest.approx(attn, rel=0.01)
        assert m.embedding_params + m.lm_head_params == pytest.approx(1.16e9, rel=0.01)


def test_gpt_oss_120b_checkpoint_size_from_its_formats():
    """gpt-oss model card (arXiv 2508.10925): the MoE weights (114.71B) ship in MXFP4 at 4.25 bits per parameter,
    attention (0.96B) and embed+unembed (1.16B) in BF16: 114.71e9 x 4.25 / 8 + 2.12e9 x 2 = 65.18 GB."""
    m = get_model("gpt-oss-120b")
    assert m.weight_bytes() == pytest.approx(114.71e9 * 4.25 / 8 + (0.96e9 + 1.16e9) * 2, rel=0.005)
    assert [m.module_dtype(x) for x in ("attention", "o_proj", "lm_head", "experts")] == ["bf16"] * 3 + ["fp4"]
    # an engine that quantises the model to FP8 quantises every linear layer but the output head (ModelOpt's
    # configs disable "*lm_head*" and the routers)
    assert m.module_dtype("attention", "fp8") == "fp8" and m.module_bytes("lm_head", "fp8") == 2.0
    sixteen = m.norm_params + m.embedding_params + m.moe_layers * m.router_params + m.lm_head_params
    assert m.weight_bytes("fp8") == pytest.approx((m.total_params - sixteen) * 1.0 + sixteen * 2.0)


def test_deepseek_checkpoints_keep_their_head_16bit_and_fp4_attention_8bit():
    """DeepSeek-V3 report (arXiv 2412.19437) §3.3.1: the FP8 release keeps the output head BF16, linears FP8.
    Served in NVFP4 (nvidia/DeepSeek-R1-FP4), the engines run the MLA projections in FP8 and o_proj, dense and
    shared MLPs and the experts in NVFP4 (vLLM's and LMSYS's GB200 posts; TensorRT-LLM tech blog 3)."""
    m = get_model("deepseek-r1")
    assert m.module_bytes("lm_head") == 2.0 and m.module_bytes("attention") == 1.0
    assert [m.module_dtype(x, "fp4") for x in ("attention", "o_proj", "experts", "lm_head")] == \
        ["fp8", "fp4", "fp4", "bf16"]
    o = m.layers * m.attn_o_params_per_layer
    qkv = m.layers * m.attn_params_per_layer - o
    sixteen = m.lm_head_params + m.embedding_params + m.norm_params + m.moe_layers * m.router_params
    assert m.weight_bytes("fp4") == pytest.approx(qkv * 1.0 + sixteen * 2.0 + (m.total_params - qkv - sixteen) * 0.5625)


def test_four_bit_formats_carry_their_block_scales():
    """NVFP4: one E4M3 scale per 16 E2M1 values (4.5 bits); AWQ int4: 16-bit scale and zero per 128 (4.25)."""
    from infercast.specs import precision as P
    assert P.nbytes("nvfp4") == P.nbytes("fp4") == 4.5 / 8
    assert P.nbytes("awq") == 4.25 / 8
    dense = get_model("llama-3.1-70b")
    sixteen = dense.embedding_params + dense.lm_head_params + dense.norm_params
    assert dense.weight_bytes("fp4") == pytest.approx((dense.total_params - sixteen) * 0.5625 + sixteen * 2.0)


def test_qwen25_non_embedding_counts():
    """Qwen2.5 model cards: non-embedding 6.53B (7B), 70.0B (72B)."""
    for mid, non_emb in (("qwen2.5-7b", 6.53e9), ("qwen2.5-72b", 70.0e9)):
        m = get_model(mid)
        assert m.total_params - m.embedding_params - m.lm_head_params == pytest.approx(non_emb, rel=0.01)


def test_architecture_details():
    oss = get_model("gpt-oss-120b")
    assert (oss.sliding_window, oss.sliding_layers, oss.moe.active, oss.moe.experts) == (128, 18, 4, 128)
    assert get_model("gpt-oss-20b").sliding_layers == 12
    mav = get_model("llama-4-maverick")
    assert mav.moe_layers == 24 and mav.dense_mlp_layers == 24  # MoE on alternate layers
    for mid in ("mixtral-8x7b", "mixtral-8x22b"):
        m = get_model(mid)
        assert m.sliding_layers == 0 and "sliding" in m.notes.lower()
    ds = get_model("deepseek-r1")
    assert (ds.moe_layers, ds.dense_mlp_layers, ds.moe.shared_experts, ds.d_ff) == (58, 3, 1, 18432)
    assert ds.attention_kind == "MLA" and "MTP" in ds.notes
    assert get_model("qwen2.5-72b").qkv_bias
    assert get_model("gpt-4").rumoured


# ---- worked examples ------------------------------------------------------------------------------

def test_llama3_70b_kv_int8_scaling_book():
    """theory.md §7 A4 [SB-app]: KV/token int8 = 2*8*128*80 = 163,840 B."""
    assert get_model("llama-3-70b").kv_bytes_per_token("int8") == 163_840


def test_llama3_70b_params_scaling_book():
    """theory.md §7 A4 / D5: Llama-3-70B ~ 70e9 params (Epoch's config: 70.55e9)."""
    assert get_model("llama-3-70b").total_params == pytest.approx(70.55e9, rel=0.001)


def test_llama2_13b_kv_per_sequence_scaling_book():
    """theory.md §7 A2 [SB-inf]: 8192 tok x 40 K x 128 H x 40 L x 2 B x 2 = 6.7 GB per sequence (bf16)."""
    kv = get_model("llama-2-13b").kv_bytes_per_seq(8192, "bf16")
    assert kv == 8192 * 40 * 128 * 40 * 2 * 2
    assert kv / 1e9 == pytest.approx(6.7, abs=0.05)


def test_llama2_13b_param_breakdown_scaling_book():
    """theory.md §7 A2 [SB-inf]: 8.5e9 FFW + 0.3e9 vocab + 4.2e9 attn = 13e9 (book's precision: 0.1e9)."""
    m = get_model("llama-2-13b")
    assert round(m.layers * m.dense_mlp_params / 1e9, 1) == 8.5
    assert round((m.embedding_params + m.lm_head_params) / 1e9, 1) == 0.3
    assert round(m.layers * m.attn_params_per_layer / 1e9, 1) == 4.2


def test_deepseek_v3_mla_kv_theory():
    """theory.md §1.3: (512+64)*61 elements = 70,272 bytes/token in bf16."""
    for mid in ("deepseek-v3", "deepseek-r1"):
        assert get_model(mid).kv_bytes_per_token("bf16") == 70_272


def test_llama2_70b_kv_databricks():
    """theory.md §7 E2 [DB]: Llama-2-70B GQA KV at 1024 tokens, BS1: 0.3125 GiB fp16 (0.156 GiB int8)."""
    m = get_model("llama-2-70b")
    assert m.kv_bytes_per_seq(1024, "fp16") == 335_544_320
    assert m.kv_bytes_per_seq(1024, "int8") / 2**30 == pytest.approx(0.156, abs=0.001)
    assert 16 * m.kv_bytes_per_seq(1024, "fp16") / 2**30 == pytest.approx(5.0)  # "BS16 5 GiB"


def test_gpt4_flops_per_token_semianalysis():
    """theory.md §5 [SA]: ~280B active params and ~560 GFLOP per forward token (2 FLOP per active weight)."""
    m = get_model("gpt-4")
    assert 2 * m.active_params == pytest.approx(5.6e11, rel=0.01)
    assert m.flops_per_token(0) == pytest.approx(5.6e11, rel=0.01)


def _spec(**kw) -> ModelSpec:
    base = dict(id="x", name="x", family="x", year=2024, published_params=1.0, params_source="test")
    return ModelSpec(**{**base, **kw})


def test_invented_18b_scaling_book_q1():
    """theory.md §7 A3 [SB-inf Q1]: L=64, D=4096, F=16384, N=32, K=8, H=256, V=32128, tied: 18.4e9 params;
    derived KV/token bf16 = 2*8*256*64*2 = 524,288 B."""
    m = _spec(layers=64, d_model=4096, heads=32, kv_heads=8, head_dim=256, d_ff=16384, vocab=32128,
              tied_embeddings=True)
    book = 64 * 4096 * (3 * 16384 + 2 * 256 * (32 + 8)) + 4096 * 32128
    assert m.total_params - m.norm_params == book
    assert m.total_params == pytest.approx(18.4e9, rel=0.01)
    assert m.kv_bytes_per_token("bf16") == 524_288


def test_kipply_52b():
    """theory.md §7 C1 [KIP]: 52B, D=8192, L=64, MHA, standard MLP F=4D: KV/token 4*64*8192 = 2,097,152 B;
    forward 24*L*D^2 = 103 GFLOP/token (kipply ignores the vocab); kv projections 2*2*L*D^2 = 17.18 GFLOP."""
    m = _spec(layers=64, d_model=8192, heads=64, kv_heads=64, head_dim=128, d_ff=4 * 8192, vocab=50257,
              mlp="standard")
    assert m.kv_bytes_per_token("bf16") == 2_097_152
    blocks = m.matmul_params_per_token - m.vocab * m.d_model
    assert 2 * blocks == 24 * 64 * 8192**2
    assert 2 * blocks / 1e9 == pytest.approx(103, abs=0.5)
    assert 2 * 2 * m.layers * m.d_model * m.kv_heads * m.head_dim / 1e9 == pytest.approx(17.18, abs=0.01)
    assert m.layers * (m.attn_params_per_layer + m.dense_mlp_params) == pytest.approx(52e9, rel=0.01)
