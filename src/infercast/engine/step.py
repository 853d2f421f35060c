"""One engine step as a sequence of operators, each max(FLOPs at achievable rate, bytes at achievable rate).

Vectorised: batch sizes, contexts, token counts and the TP/PP degrees may be numpy arrays that
broadcast together, so a sweep of a million configurations is one call. Sources of formulas:
[SB-inf] scaling-book inference.md, [KIP] kipply's inference arithmetic, [EP-nb] Epoch notebook.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from infercast.specs import precision as P
from infercast.engine.efficiency import Efficiency, Engine, efficiency_for, get_engine
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip, get_chip
from infercast.specs.model import ModelSpec, get_model
from infercast.engine.collectives import allreduce_time, alltoall_time, link_bandwidth

ACT_BYTES = 2.0  # activations in 16-bit


@dataclass(frozen=True)
class Deployment:
    """A model replica on `tp*pp` GPUs of one chip type, with precisions, engine and efficiencies."""

    model: ModelSpec
    chip: Chip
    tp: int = 1
    pp: int = 1
    ep: int = 1
    weights: str = "bf16"
    kv: str = "bf16"
    compute: str = "bf16"
    engine: Engine = field(default_factory=lambda: get_engine(None))
    eff: Efficiency | None = None
    notes: tuple[str, ...] = ()

    @property
    def expert_shards(self) -> int:
        """GPUs the routed experts are split over: the TP group, or a wider EP group."""
        return max(self.tp, self.ep) if self.model.moe else self.tp

    @property
    def attn_dp(self) -> int:
        """Attention data-parallel groups inside one replica (EP wider than TP, DeepSeek-style)."""
        return self.expert_shards // self.tp

    @property
    def gpus(self) -> int:
        return self.expert_shards * self.pp


def deployment(model: str | ModelSpec, chip: str | Chip, *, tp: int = 1, pp: int = 1, ep: int = 1,
               weights: str | None = None, kv: str | None = None, engine: str | None = None,
               profile=None, speed_of_light: bool = False, strict_engine: bool = True) -> Deployment:
    """Validated deployment: precisions checked against the chip, parallelism against the model."""
    m, c = get_model(model), get_chip(chip)
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep)):
        if int(v) != v or v < 1:
            raise InfercastError(f"--{name} must be a positive whole number, got {v}")
    if pp > m.layers:
        raise InfercastError(f"--pp {pp} exceeds the model's {m.layers} layers; use --pp <= {m.layers}")
    if tp > m.heads or m.heads % tp:
        ok = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= m.heads and m.heads % t == 0]
        raise InfercastError(f"--tp {tp} does not divide the model's {m.heads} attention heads; "
                             f"use one of --tp {', '.join(map(str, ok))}")
    if ep > 1 and not m.moe:
        raise InfercastError(f"--ep {ep}: {m.id} is dense (no experts); drop --ep")
    if m.moe and ep > m.moe.experts:
        raise InfercastError(f"--ep {ep} exceeds the model's {m.moe.experts} experts")
    if ep > tp and ep % tp:
        raise InfercastError(f"--ep {ep} must be a multiple of --tp {tp} (attention runs data-parallel "
                             "over ep/tp groups)")
    w = P.check(weights or m.dtype, "weights")
    eng = get_engine(engine, strict=strict_engine)
    if speed_of_light:  # no launch, scheduler or extra activation traffic: the physics bound
        eng = replace(eng, kernel_us=0.0, step_overhead_us=0.0, elementwise_passes=0.0)
    notes = []
    if kv:
        k = P.check(kv, "kv cache")
    elif eng.kv_default_fp8 and w in ("fp8", "fp4"):
        k = "fp8"
        notes.append(f"KV cache fp8: {eng.name} FP8/FP4 checkpoints quantise the KV cache too (pass --kv bf16 to override)")
    else:
        k = "bf16"
    if w in ("int4",):  # weight-only 4-bit (AWQ/GPTQ): activations stay 16-bit
        comp, note = c.compute_precision("bf16")
        notes.append("int4 weights are weight-only quantised: GEMMs run at 16-bit after dequantisation")
    else:
        comp, note = c.compute_precision(w)
    if note:
        notes.append(note)
    if k in ("fp4", "int4"):
        notes.append(f"{k} KV cache: bytes halved again; attention still computes at 16-bit")
    return Deployment(model=m, chip=c, tp=tp, pp=pp, ep=ep, weights=w, kv=k, compute=comp,
                      engine=eng, eff=efficiency_for(c, profile, speed_of_light), notes=tuple(notes))


def _gemm(M, weights_elems, n_plus_k, wbytes, peak, eta_c, bw, eta_w, p):
    """Time of a GEMM [M, K] x [K, N]: p-norm of compute time and memory time [SB-inf 'Linear operations'].

    Returns (time, compute_time, memory_time); zero where M == 0 (no tokens, kernel skipped).
    """
    M = np.asarray(M, dtype=float)
    tc = 2.0 * M * weights_elems / (peak * eta_c)
    tm = (weights_elems * wbytes + M * n_plus_k * ACT_BYTES) / (bw * eta_w)
    t = (tc ** p + tm ** p) ** (1.0 / p)
    live = M > 0
    return np.where(live, t, 0.0), np.where(live, tc, 0.0), np.where(live, tm, 0.0)


def step_time(dep: Deployment, decode_seqs=0, decode_ctx=0, prefill_tokens=0, prefill_seqs=0,
              prefill_ctx=0, tp=None, pp=None) -> dict[str, np.ndarray]:
    """Seconds for one engine step of one pipeline stage, by operator class.

    decode_seqs sequences each generate one token against `decode_ctx` cached tokens; in the
    same step `prefill_tokens` prompt tokens (from `prefill_seqs` sequences, each attending
    on average to `prefill_ctx` tokens) are processed (chunked prefill / in-flight batching).
    Returns a dict of arrays: per-operator times, 'total', and the compute/memory split.
    """
    m, c, e, eng = dep.model, dep.chip, dep.eff, dep.engine
    tp = np.asarray(dep.tp if tp is None else tp, dtype=float)
    pp = np.asarray(dep.pp if pp is None else pp, dtype=float)
    B = np.asarray(decode_seqs, dtype=float)
    Tp = np.asarray(prefill_tokens, dtype=float)
    T = B + Tp  # tokens through the linear layers this step
    wb = P.nbytes(dep.weights)
    peak = c.peak_flops(dep.compute)
    eta_c = e.gemm(dep.compute)
    bw = c.bandwidth
    p = e.overlap_p
    d, L = m.d_model, m.layers
    stage = 1.0 / pp  # fraction of layers on one pipeline stage

    out: dict[str, np.ndarray] = {}
    tc_sum = np.zeros(np.broadcast(T, tp, pp).shape)
    tm_sum = np.zeros_like(tc_sum)

    def gemm(name, M, elems_per_gpu, n_plus_k, layers):
        nonlocal tc_sum, tm_sum
        t, tc, tm = _gemm(M, elems_per_gpu, n_plus_k, wb, peak, eta_c, bw, e.stream(dep.weights), p)
        out[name] = out.get(name, 0.0) + t * layers
        tc_sum = tc_sum + tc * layers
        tm_sum = tm_sum + tm * layers

    # attention projections: QKV in, O out, split over TP ranks [SB-inf Q1]
    if m.mla:
        attn_in = m.attn_params_per_layer - m.heads * m.mla.v_head_dim * d
        attn_out = m.heads * m.mla.v_head_dim * d
    else:
        attn_out = m.heads * m.head_dim * d
        attn_in = m.attn_params_per_layer - attn_out
    gemm("qkv_proj", T, attn_in / tp, (attn_in / d + d) / tp, L * stage)
    gemm("o_proj", T, attn_out / tp, (attn_out / d) / tp + d, L * stage)

    # dense MLP layers
    if m.dense_mlp_layers:
        f = m.d_ff
        gemm("mlp", T, m.dense_mlp_params / tp, (3 if m.mlp == "gated" else 2) * f / tp + 2 * d,
             m.dense_mlp_layers * stage)
    # MoE layers: shared experts always; routed experts touched by this step's tokens
    if m.moe:
        mo = m.moe
        if m.shared_expert_params:
            gemm("shared_experts", T, m.shared_expert_params / tp, 3 * (mo.shared_d_ff or mo.expert_d_ff) / tp + 2 * d,
                 m.moe_layers * stage)
        # experts split over es GPUs; with EP wider than TP, attention is data-parallel and the
        # expert layer sees the tokens of all es/tp attention groups [SB-gpu §EP]
        es = float(dep.expert_shards)
        T_group = T * es / tp
        # expected distinct experts hit by the group's tokens choosing k of E [EP-nb MoE weight traffic]
        touched = mo.experts * (1.0 - (1.0 - mo.active / mo.experts) ** T_group)
        pairs = T_group * mo.active / es  # token-expert pairs computed on this GPU
        w_touched = touched * m.expert_params / es
        tc = 2.0 * pairs * m.expert_params / (peak * eta_c * e.moe_grouped_gemm)
        tm = (w_touched * wb + pairs * (3 * mo.expert_d_ff + 2 * d) * ACT_BYTES) / (bw * e.stream(dep.weights))
        t = np.where(T > 0, (tc ** p + tm ** p) ** (1.0 / p), 0.0)
        out["experts"] = t * m.moe_layers * stage
        tc_sum = tc_sum + np.where(T > 0, tc, 0) * m.moe_layers * stage
        tm_sum = tm_sum + np.where(T > 0, tm, 0) * m.moe_layers * stage

    # lm_head: decode tokens and the last position of each prefill sequence (on the last stage)
    lm_rows = B + np.asarray(prefill_seqs, dtype=float)
    gemm("lm_head", lm_rows, m.vocab * d / tp, m.vocab / tp + d, 1.0)

    # attention over the KV cache: decode streams every cached byte [SB-inf 1.5]; prefill is FLOP-bound
    kv_shard = np.ones_like(tp) if m.mla else np.minimum(tp, m.kv_heads)
    kv_bytes = B * m.kv_bytes_per_seq(np.asarray(decode_ctx, dtype=float), dep.kv) / kv_shard * stage
    if not eng.gqa_kv_reuse and not m.mla:  # a per-query-head kernel reads its KV head once per query head
        kv_bytes = kv_bytes * (m.heads / tp) / (m.kv_heads / kv_shard)  # [TRT-LLM CHANGELOG 0.7: MMHA for GQA]
    attn_peak = c.peak_flops("bf16") * (e.attention_compute if (e.profiled_attention or e.speed_of_light)
                                         else eng.attention_eff(c.family, e.attention_compute))
    dec_flops = B * m.attn_flops_per_token(np.asarray(decode_ctx, dtype=float), absorbed=True) / tp * stage
    t_kv = kv_bytes / (bw * e.kv_stream)
    t_dec = (t_kv ** p + (dec_flops / attn_peak) ** p) ** (1.0 / p)
    pre_flops = Tp * m.attn_flops_per_token(np.asarray(prefill_ctx, dtype=float), absorbed=False) / tp * stage
    out["attention"] = t_dec + pre_flops / attn_peak
    out["_attn_kv"] = t_kv
    out["_attn_compute"] = pre_flops / attn_peak + dec_flops / attn_peak

    # norms, residuals, RoPE, activation function, KV writes [KIP: intermediate memory ops]
    if m.moe:
        act = (m.dense_mlp_layers * 3 * m.d_ff + m.moe_layers * (mo.active * 3 * mo.expert_d_ff
               + 3 * mo.shared_experts * (mo.shared_d_ff or mo.expert_d_ff))) / L
    else:
        act = 3 * m.d_ff
    per_tok_layer = (10 * d + (act + 2 * (m.heads + 2 * m.kv_heads) * m.head_dim) / tp) * ACT_BYTES
    if m.moe:  # token permutation to experts and weighted combine: k copies of d, written and read twice
        per_tok_layer = per_tok_layer + 4 * m.moe.active * d * ACT_BYTES * m.moe_layers / L
    out["elementwise"] = T * per_tok_layer * L * stage * eng.elementwise_passes / (bw * e.elementwise_stream)

    # tensor-parallel all-reduces: two per layer of T x d activations [KIP latency calculations]
    ar = _allreduce_vec(c, T * d * ACT_BYTES, tp)
    out["allreduce"] = np.where(T > 0, 2.0 * L * stage * ar, 0.0)
    if m.moe and dep.attn_dp > 1:  # dispatch + combine of each token's k expert copies
        out["alltoall"] = np.where(T > 0, 2.0 * m.moe_layers * stage * alltoall_time(
            c, T * m.moe.active * d * ACT_BYTES, dep.expert_shards), 0.0)
    # pipeline: activations cross one stage boundary per stage
    link_bw = np.where(pp > 1, link_bandwidth(c, int(np.max(tp * pp)))[0], np.inf)
    out["pipeline_p2p"] = np.where(pp > 1, T * d * ACT_BYTES / link_bw, 0.0)

    # fixed costs: kernel launch/ramp per kernel, host scheduling per step
    kernels = L * stage * eng.kernels_per_layer + 4
    out["launch"] = np.where(T > 0, kernels * eng.kernel_us * 1e-6, 0.0)
    out["scheduler"] = np.where(T > 0, eng.step_overhead_us * 1e-6, 0.0)

    total = sum(v for k, v in out.items() if not k.startswith("_"))
    out["total"] = np.asarray(total, dtype=float)
    out["_gemm_compute"] = tc_sum
    out["_gemm_memory"] = tm_sum
    return out


def _allreduce_vec(chip: Chip, nbytes, tp):
    """all-reduce time for an array of TP degrees (one call per distinct degree)."""
    nbytes = np.asarray(nbytes, dtype=float)
    tp = np.asarray(tp)
    shape = np.broadcast(nbytes, tp).shape
    res = np.zeros(shape)
    nb = np.broadcast_to(nbytes, shape)
    tpb = np.broadcast_to(tp, shape)
    for g in np.unique(tpb):
        mask = tpb == g
        res[mask] = allreduce_time(chip, nb[mask], int(g))
    return res


BOUND_CLASSES = ("compute", "weights", "kv_cache", "communication", "overhead")


def bound_breakdown(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Attribute step time to the essay's terms: compute, weight bytes, KV bytes, communication, overhead."""
    gemm_t = sum(parts.get(k, 0.0) for k in ("qkv_proj", "o_proj", "mlp", "shared_experts", "experts", "lm_head"))
    tc, tm = parts["_gemm_compute"], parts["_gemm_memory"]
    share_c = np.where(tc + tm > 0, tc ** 3 / np.maximum(tc ** 3 + tm ** 3, 1e-30), 0.0)
    kv, ac = parts["_attn_kv"], parts["_attn_compute"]
    share_kv = np.where(kv + ac > 0, kv / np.maximum(kv + ac, 1e-30), 0.0)
    attn = parts["attention"]
    return {
        "compute": gemm_t * share_c + attn * (1 - share_kv),
        "weights": gemm_t * (1 - share_c),
        "kv_cache": attn * share_kv + parts["elementwise"],
        "communication": parts["allreduce"] + parts.get("alltoall", 0.0) + parts["pipeline_p2p"],
        "overhead": parts["launch"] + parts["scheduler"],
    }
