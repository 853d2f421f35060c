"""One engine step as a list of operators, each with its kind, shape, FLOPs and bytes (no timing here).

A step of one pipeline stage processes `decode_seqs` sequences that each generate one token
against `decode_ctx` cached tokens, and (chunked prefill / in-flight batching) `prefill_tokens`
prompt tokens from `prefill_seqs` sequences that attend on average to `prefill_ctx` tokens.
Every numeric argument may be a numpy array; shapes broadcast. Tensor-parallel degree, expert
layout and precisions come from the scalar deployment. Formulas: [SB-inf] scaling-book
inference.md, [KIP] kipply's inference arithmetic, [EP-nb] Epoch's inference-economics notebook.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from infercast.specs import precision as P
from infercast.specs.model import gdn_flops_per_token, gdn_state_bytes

ACT_BYTES = 2.0  # activations in 16-bit

# operator kinds, the unit each is timed in
KINDS = ("gemm", "moe", "attention_decode", "attention_prefill", "mla_decode", "mla_prefill", "indexer",
         "linear_attention", "elementwise", "all_reduce", "all_to_all", "p2p")


@dataclass(frozen=True)
class Op:
    """One operator of a step, per instance; `count` instances run per step on this GPU (its layers)."""

    name: str
    kind: str
    count: float
    shape: dict  # gemm: m, n, k; attention: batch, context, heads, kv_heads, head_dim; moe: tokens, ...
    flops: np.ndarray
    nbytes: np.ndarray
    dtype: str  # weight precision (gemm/moe), KV precision (attention), "bf16" otherwise
    kernels: float = 1.0  # kernel launches per instance (fixed cost when timed without a measurement)
    group: str = ""  # the breakdown class shown to users: qkv_proj, mlp, attention, ...
    extra: dict = field(default_factory=dict)


def _gemm(name, group, count, m, n, k, wbytes, dtype, kernels=1.0) -> Op:
    """[M, K] x [K, N]: 2MNK FLOPs; weights once, activations in and out [SB-inf 'Linear operations']."""
    m = np.asarray(m, dtype=float)
    return Op(name, "gemm", count, {"m": m, "n": float(n), "k": float(k)}, 2.0 * m * n * k,
              n * k * wbytes + m * (n + k) * ACT_BYTES, dtype, kernels, group)


def build(dep, decode_seqs=0, decode_ctx=0, prefill_tokens=0, prefill_seqs=0, prefill_ctx=0, pp=None,
          decode_query=1, group_tokens=None) -> list[Op]:
    """The operators of one step on one GPU of one pipeline stage (layers / pp of them).

    `decode_query` tokens per decode sequence (k + 1 in a speculative verify step) pass the linear
    layers and attend to the cache, which is read once for all of them. The lm_head (on the last
    stage) is included with count 1; the caller places it. With attention data-parallel the
    arguments are one attention group's (the busiest's, whose step the others wait for) and
    `group_tokens` the mean tokens per group, which the expert layer gathers (default: the same).
    """
    m, e = dep.model, dep.engine
    tp = int(dep.tp)
    pp = np.asarray(dep.pp if pp is None else pp, dtype=float)
    B = np.asarray(decode_seqs, dtype=float)
    q = np.asarray(decode_query, dtype=float)
    Tp = np.asarray(prefill_tokens, dtype=float)
    Sp = np.asarray(prefill_seqs, dtype=float)
    T = B * q + Tp  # tokens through the linear layers
    d, L = m.d_model, m.layers
    Ls = L / pp  # layers on this stage (array when pp is)
    La = Ls * m.attention_layers / L  # of them with full attention (the rest Gated DeltaNet)
    Lg = Ls * m.linear_layers / L
    ops: list[Op] = []
    # each module's weight bytes and precision: a released checkpoint may keep some modules 16-bit
    # (gpt-oss: MXFP4 experts, bf16 attention and lm_head; its config's modules_to_not_convert)
    wb, w = m.module_bytes("attention", dep.weights), m.module_dtype("attention", dep.weights)

    # attention projections, split over TP by heads [SB-inf Q1]
    if m.mla:
        a = m.mla
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        # replicated down-projections (q_a, kv_a) and per-head up-projections (q_b, kv_b; kv_b absorbed in decode)
        down_n = (a.q_lora_rank or 0) + a.kv_lora_rank + a.qk_rope_head_dim
        ops.append(_gemm("q_kv_down", "qkv_proj", Ls, T, down_n, d, wb, w))
        if a.q_lora_rank:
            ops.append(_gemm("q_up", "qkv_proj", Ls, T, m.heads * qk / tp, a.q_lora_rank, wb, w))
        else:
            ops.append(_gemm("q_proj", "qkv_proj", Ls, T, m.heads * qk / tp, d, wb, w))
        ops.append(_gemm("kv_up", "qkv_proj", Ls, T, m.heads * (a.qk_nope_head_dim + a.v_head_dim) / tp,
                         a.kv_lora_rank, wb, w))
        o_k = m.heads * a.v_head_dim / tp
        if m.dsa:  # the lightning indexer's projections, replicated on every TP rank (vLLM's Indexer: ReplicatedLinear)
            x = m.dsa
            ops.append(_gemm("index_q", "qkv_proj", Ls, T, x.index_heads * x.index_head_dim, a.q_lora_rank or d, wb, w))
            ops.append(_gemm("index_k", "qkv_proj", Ls, T, x.index_head_dim + x.index_heads, d, wb, w))
    else:
        q_n = (2 if m.attn_output_gate else 1) * m.heads  # a gated q_proj yields the query and its output gate
        ops.append(_gemm("qkv_proj", "qkv_proj", La, T, (q_n + 2 * m.kv_heads) * m.head_dim / tp, d, wb, w))
        o_k = m.heads * m.head_dim / tp
    ops.append(_gemm("o_proj", "o_proj", La, T, d, o_k, m.module_bytes("o_proj", dep.weights),
                     m.module_dtype("o_proj", dep.weights)))
    if m.gdn:  # Gated DeltaNet layers: in-projections (q, k, v, z, b, a) and out-projection, split over TP by heads
        g = m.gdn
        ops.append(_gemm("gdn_in_proj", "qkv_proj", Lg, T, (g.conv_dim + g.value_dim + 2 * g.value_heads) / tp, d,
                         wb, w))
        ops.append(_gemm("gdn_out_proj", "o_proj", Lg, T, d, g.value_dim / tp, wb, w))
        ops.append(_gdn(m, tp, Lg, B * q, Tp, Sp))

    # dense MLP layers: gate+up fused, then down [KIP]
    gated = m.mlp == "gated"
    if m.dense_mlp_layers:
        f = m.d_ff / tp
        n_dense = m.dense_mlp_layers / L * Ls
        wb, w = m.module_bytes("dense_mlp", dep.weights), m.module_dtype("dense_mlp", dep.weights)
        ops.append(_gemm("mlp_up", "mlp", n_dense, T, (2 if gated else 1) * f, d, wb, w))
        ops.append(_gemm("mlp_down", "mlp", n_dense, T, d, f, wb, w))
    if m.moe:
        mo = m.moe
        n_moe = m.moe_layers / L * Ls
        if mo.shared_experts:
            f = mo.shared_experts * (mo.shared_d_ff or mo.expert_d_ff) / tp
            wb, w = m.module_bytes("shared_experts", dep.weights), m.module_dtype("shared_experts", dep.weights)
            ops.append(_gemm("shared_up", "shared_experts", n_moe, T, 2 * f, d, wb, w))
            ops.append(_gemm("shared_down", "shared_experts", n_moe, T, d, f, wb, w))
        ops.append(_gemm("router", "experts", n_moe, T, mo.experts, d, 2.0, "bf16"))
        # experts split over es GPUs; with EP wider than TP, attention is data-parallel and the expert
        # layer sees the tokens of all es/tp attention groups [SB-gpu §EP]
        es = dep.expert_shards
        tg = (T if group_tokens is None else np.asarray(group_tokens, dtype=float)) * es / tp
        touched = mo.experts / es * (1.0 - (1.0 - mo.active / mo.experts) ** tg)  # per GPU [EP-nb]
        pairs = tg * mo.active / es
        mats = 3 if gated else 2
        wb, w = m.module_bytes("experts", dep.weights), dep.weights
        ops.append(Op("experts", "moe", n_moe, {"tokens": tg, "hidden": d, "inter": mo.expert_d_ff,
                                                 "topk": mo.active, "experts": mo.experts, "es": es, "tp": tp,
                                                 "ep": dep.ep},
                      2.0 * mats * pairs * d * mo.expert_d_ff,
                      touched * m.expert_params * wb + pairs * (mats * mo.expert_d_ff + 2 * d) * ACT_BYTES,
                      w, 4.0, "experts"))

    # lm_head: decode tokens and the last position of each prefill sequence, on the last stage
    wb, w = m.module_bytes("lm_head", dep.weights), m.module_dtype("lm_head", dep.weights)
    ops.append(_gemm("lm_head", "lm_head", 1.0, B * q + Sp, m.vocab / tp, d, wb, w))

    # attention over the KV cache: decode streams every cached byte [SB-inf 1.5]; prefill is FLOP-bound
    kv = dep.kv
    kvb = P.nbytes(kv)
    if m.mla:
        a = m.mla
        lat_dim = a.kv_lora_rank + a.qk_rope_head_dim
        h = m.heads / tp
        ctx_d = np.asarray(decode_ctx, dtype=float)
        ctx_p = np.asarray(prefill_ctx, dtype=float)
        if m.dsa:
            ops.append(_indexer(m, Ls, B, q, ctx_d, Tp, ctx_p))
            ctx_d, ctx_p = np.minimum(ctx_d, m.dsa.topk), sparse_attended(ctx_p, m.dsa.topk)
        ops.append(Op("attention_decode", "mla_decode", Ls, {"batch": B, "context": ctx_d, "heads": h,
                                                            "kv_lora": a.kv_lora_rank, "rope": a.qk_rope_head_dim},
                      2.0 * B * q * h * ctx_d * (2 * a.kv_lora_rank + a.qk_rope_head_dim), B * ctx_d * lat_dim * kvb,
                      kv, 2.0, "attention"))
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        # dense MLA prefill runs per head (qk + v dims); DSA's sparse prefill kernel (FlashMLA's, which vLLM and SGLang
        # call) attends in the latent, MQA-style: scores over kv_lora + rope, values over kv_lora (FlashMLA README)
        per = (2 * a.kv_lora_rank + a.qk_rope_head_dim) if m.dsa else (qk + a.v_head_dim)
        ops.append(Op("attention_prefill", "mla_prefill", Ls, {"seqs": Sp, "tokens": Tp, "context": ctx_p,
                                                              "heads": h, "qk": qk, "v": a.v_head_dim,
                                                              "sparse": bool(m.dsa)},
                      2.0 * Tp * h * ctx_p * per, Tp * lat_dim * kvb, kv, 2.0, "attention"))
    else:
        g_gpu = max(1.0, m.kv_heads / tp)  # KV heads split over TP up to their count, replicated beyond
        h_gpu = m.heads / tp
        reread = 1.0 if e.gqa_kv_reuse else h_gpu / g_gpu  # [TRT-LLM CHANGELOG 0.7: MMHA for GQA]
        ctx_d = np.asarray(decode_ctx, dtype=float)
        att_d = _attended_per_layer(m, ctx_d)
        ops.append(Op("attention_decode", "attention_decode", La,
                      {"batch": B, "context": att_d, "heads": h_gpu, "kv_heads": g_gpu, "head_dim": m.head_dim,
                       "reread": reread},
                      4.0 * B * q * h_gpu * m.head_dim * att_d, B * att_d * 2.0 * g_gpu * m.head_dim * kvb * reread,
                      kv, 2.0, "attention"))
        ctx_p = np.asarray(prefill_ctx, dtype=float)
        att_p = _attended_per_layer(m, ctx_p)
        ops.append(Op("attention_prefill", "attention_prefill", La,
                      {"seqs": Sp, "tokens": Tp, "context": att_p, "heads": h_gpu, "kv_heads": g_gpu,
                       "head_dim": m.head_dim},
                      4.0 * Tp * h_gpu * m.head_dim * att_p, Tp * 2.0 * g_gpu * m.head_dim * kvb, kv, 2.0, "attention"))

    # norms, residual adds, activation function [KIP: intermediate memory ops]; RoPE and the KV write
    # belong to the attention kernels
    if m.moe:
        mo = m.moe
        act = (m.dense_mlp_layers * 3 * m.d_ff + m.moe_layers * (mo.active * 3 * mo.expert_d_ff
               + 3 * mo.shared_experts * (mo.shared_d_ff or mo.expert_d_ff))) / L
    else:
        act = 3 * m.d_ff
    per_tok = (10 * d + act / tp) * ACT_BYTES * e.elementwise_passes
    if m.moe:  # token permutation to experts and weighted combine: k copies of d, written and read twice
        per_tok = per_tok + 4 * m.moe.active * d * ACT_BYTES * m.moe_layers / L
    ops.append(Op("elementwise", "elementwise", Ls, {"tokens": T}, np.zeros_like(T), T * per_tok, "bf16",
                  max(1.0, e.kernels_per_layer - 6.0), "elementwise"))

    # tensor-parallel all-reduces: after attention and after the MLP, T x d activations [KIP]
    if tp > 1:
        ops.append(Op("allreduce", "all_reduce", 2 * Ls, {"group": tp, "bytes": T * d * ACT_BYTES},
                      np.zeros_like(T), T * d * ACT_BYTES, "bf16", 1.0, "allreduce"))
    if m.moe and dep.attn_dp > 1:  # dispatch + combine of each token over the EP group
        intra, inter = alltoall_bytes(dep, T)
        nb = intra + inter
        ops.append(Op("alltoall", "all_to_all", 2 * m.moe_layers / L * Ls,
                      {"group": dep.expert_shards, "bytes": nb, "intra": intra, "inter": inter},
                      np.zeros_like(T), nb, "bf16", 1.0, "alltoall"))
    return ops


def _indexer(m, Ls, B, q, ctx_d, Tp, ctx_p) -> Op:
    """DSA's lightning indexer (arXiv 2512.02556 §2.1): each query token's FP8 heads dot every cached index key
    (ReLU, weighted sum over heads), then a top-k over the scores. Decode streams each sequence's index keys once
    for its `q` query tokens; prefill scores each prompt token against its `ctx_p` earlier tokens. FP32 scores are
    written and read back by the top-k. Not split over TP: every rank scores every token."""
    x = m.dsa
    per = 2.0 * x.index_heads * x.index_head_dim
    key = m.index_bytes_per_token_layer  # FP8 key and its FP32 scale
    tok = B * q + Tp
    scored = B * q * ctx_d + Tp * ctx_p
    return Op("indexer", "indexer", Ls, {"tokens": tok, "batch": B, "context": ctx_d, "prefill_tokens": Tp,
                                        "prefill_context": ctx_p, "heads": x.index_heads, "dim": x.index_head_dim},
              per * scored, B * ctx_d * key + Tp * key + scored * 4.0 * 2.0, "fp8", 2.0, "attention")


def _gdn(m, tp, Lg, Td, Tp, Sp) -> Op:
    """Gated DeltaNet's conv and delta rule on one GPU, heads split over TP (see gdn_work)."""
    g = m.gdn
    hv = max(1.0, g.value_heads / tp)  # replicated beyond one head per GPU
    hk = max(1.0, g.key_heads / tp)
    flops, nbytes = gdn_work(hv, hk, g.key_head_dim, g.value_head_dim, Td, Tp, Sp, g.conv_kernel, g.state_bytes)
    return Op("gdn", "linear_attention", Lg, {"batch": Td, "tokens": Tp, "seqs": Sp, "v_heads": hv, "k_heads": hk,
                                              "k_dim": g.key_head_dim, "v_dim": g.value_head_dim},
              flops, nbytes, "bf16", 2.0, "attention")


def gdn_work(hv, hk, dk, dv, Td, Tp, Sp, conv_kernel=4, state_bytes=4.0):
    """(FLOPs, bytes) of one Gated DeltaNet layer's conv and delta rule for `hv` value and `hk` key heads. Decode:
    each of `Td` tokens reads and writes its sequence's state (hv x dk x dv) and conv window; prefill: the chunked
    form over `Tp` prompt tokens of `Sp` sequences, each final state written once (arXiv 2412.06464 §3). State and
    FLOPs per token as the model spec counts them (specs.model.gdn_state_bytes, gdn_flops_per_token); q, k, v and
    the gate read, the output written in 16-bit."""
    Td, Tp, Sp = (np.asarray(x, dtype=float) for x in (Td, Tp, Sp))
    state = gdn_state_bytes(hv, hk, dk, dv, conv_kernel, state_bytes)
    io = (2.0 * hk * dk + 3.0 * hv * dv) * ACT_BYTES  # q, k, v and the gate in, the output out
    flops = gdn_flops_per_token(hv, hk, dk, dv, conv_kernel) * (Td + Tp)
    return flops, Td * (2.0 * state + io) + Tp * io + Sp * state


def sparse_attended(ctx, topk) -> np.ndarray:
    """Mean tokens a prefill query attends under DSA when queries sit uniformly at positions 0 .. 2 x ctx (`ctx` the
    dense mean): min(position, topk) averaged, ctx while 2 x ctx <= topk, else topk - topk^2 / (4 ctx)."""
    c = np.asarray(ctx, dtype=float)
    return np.where(2.0 * c <= topk, c, topk - topk * topk / (4.0 * np.maximum(c, 1e-30)))


NODE_LIMITED = {"deepseek": 4}  # DeepSeek-V3 routes each token to experts on at most 4 nodes (arXiv 2412.19437 §2.1.2)


def alltoall_bytes(dep, T) -> tuple[np.ndarray, np.ndarray]:
    """Bytes one GPU sends per dispatch (or combine) for T tokens: (inside its scale-up domain, across it).

    A token goes once to each GPU holding one of its k experts, G(1 - (1 - 1/G)^k) GPUs of the G in
    the group when experts are spread evenly, and once to each other node holding any of them,
    N(1 - (1 - 1/N)^k) of N nodes (at most the model's node limit); copies to the same GPU or node
    are not repeated (DeepEP's NVLink forwarding after one RDMA transfer per node). Dispatch is in FP8
    when the weights are 8-bit or narrower (DeepEP and TensorRT-LLM quantise it), combine in 16-bit:
    1.5 bytes per element on average over the two, else 2.
    """
    m, chip = dep.model, dep.chip
    k, d = m.moe.active, m.d_model
    G = float(dep.expert_shards)
    D = float(min(G, chip.scaleup_domain))
    N = float(np.ceil(G / D))
    elem = 1.5 if P.nbytes(dep.weights) <= 1.0 else ACT_BYTES
    gpus_hit = G * (1.0 - (1.0 - 1.0 / G) ** k)
    nodes_hit = min(N * (1.0 - (1.0 - 1.0 / N) ** k), NODE_LIMITED.get(m.family, N))
    T = np.asarray(T, dtype=float)
    inter = T * max(0.0, nodes_hit - nodes_hit / N) * d * elem if N > 1 else np.zeros_like(T)
    intra = T * gpus_hit * (1.0 - 1.0 / G) * d * elem / N if N > 1 else T * gpus_hit * (1.0 - 1.0 / G) * d * elem
    return intra, inter


def _attended_per_layer(m, ctx) -> np.ndarray:
    """Mean tokens attended per layer: sliding-window layers see at most the window."""
    if not m.sliding_layers:
        return ctx
    full = m.layers - m.sliding_layers
    return (full * ctx + m.sliding_layers * np.minimum(ctx, m.sliding_window)) / m.layers
