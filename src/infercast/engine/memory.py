"""What fits: weights per shard + KV cache + activations + a reserve, against HBM capacity."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from infercast.specs.store import read_json
from infercast.errors import DoesNotFitError
from infercast.engine import reserve as R
from infercast.engine.step import ACT_BYTES, Deployment


@lru_cache(maxsize=None)
def _mem() -> dict:
    return read_json("efficiency.json")["memory"]


@dataclass(frozen=True)
class MemoryPlan:
    capacity_gb: float  # per GPU
    weights_gb: float  # per GPU
    activations_gb: float
    reserve_gb: float
    kv_pool_gb: float  # per GPU, left for the KV cache
    kv_per_seq_gb: float  # per GPU, one sequence at the planned context
    max_seqs: int  # sequences per replica that fit

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def weight_bytes_per_gpu(dep: Deployment, tp=None, pp=None):
    """Dense weights split over TP (replicated across attention-DP groups), experts over the EP group."""
    tp = np.asarray(dep.tp if tp is None else tp, dtype=float)
    pp = np.asarray(dep.pp if pp is None else pp, dtype=float)
    m = dep.model
    total = m.weight_bytes(dep.weights)
    if not m.moe:
        return total / (tp * pp)
    experts = m.moe_layers * m.moe.experts * m.expert_params * m.module_bytes("experts", dep.weights)
    es = np.maximum(tp, dep.ep)
    return ((total - experts) / tp + experts / es) / pp


def kv_bytes_per_seq_per_gpu(dep: Deployment, context, tp=None, pp=None):
    """KV heads split over TP up to the number of KV heads (replicated beyond); MLA's latent is replicated; a Gated
    DeltaNet state splits over TP by its value heads (SGLang's and vLLM's linear-attention layers shard heads)."""
    tp = np.asarray(dep.tp if tp is None else tp, dtype=float)
    pp = np.asarray(dep.pp if pp is None else pp, dtype=float)
    m = dep.model
    shard = np.ones_like(tp) if m.mla else np.minimum(tp, m.kv_heads)
    state = m.state_bytes_per_seq
    kv = m.kv_bytes_per_seq(np.asarray(context, dtype=float), dep.kv) - state
    if state:
        return (kv / shard + state / np.minimum(tp, m.gdn.value_heads)) / pp
    return kv / shard / pp


def kv_pool_bytes(dep: Deployment, tp=None, pp=None):
    """Per-GPU bytes the engine gives the KV cache: a fraction of what is free after weights, of all HBM, or what
    the engine's own rule leaves (engine.reserve: SGLang)."""
    tp = np.asarray(dep.tp if tp is None else tp, dtype=float)
    pp = np.asarray(dep.pp if pp is None else pp, dtype=float)
    cap = dep.chip.memory_bytes
    mm = _mem()
    eng = dep.engine
    weights = weight_bytes_per_gpu(dep, tp, pp)
    if eng.mem_reserve:  # the engine's own rule: weights + KV pool take mem_fraction_static of HBM [engine.reserve]
        # SGLang's tp_size counts every GPU of an attention-DP group (--tp 8 --dp 8 --enable-dp-attention)
        ranks = np.maximum(tp, dep.expert_shards)
        return cap * R.static_fraction(eng.mem_reserve, cap, ranks, pp, dep.attn_dp) - weights
    act = mm["activation_tokens"] * (4 * dep.model.d_model + 3 * dep.model.d_ff / tp) * ACT_BYTES
    fixed = weights + act + mm["runtime_overhead_gb"] * 1e9
    if eng.kv_fraction_of == "free":
        return (cap - fixed) * eng.kv_fraction
    return cap * eng.kv_fraction - fixed


# SGLang's pools for hybrid models (Gated DeltaNet / Mamba layers) [python/sglang/srt/model_executor/
# model_runner_kv_cache_mixin.py, v0.5.9 on, `_handle_max_mamba_cache` and `_resolve_max_num_reqs`]: the memory
# left after weights is split, --mamba-full-memory-ratio r (default 0.9) giving r / (1 + r) of it to the state
# slots; with the radix cache on (its default) a running request may hold MAMBA_CACHE_SIZE_MAX_RUNNING_REQUESTS_RATIO
# = 3 slots, so at most slots // 3 requests run; speculative decoding keeps D draft tokens' intermediate states
SGLANG_MAMBA_FULL_RATIO = 0.9
SGLANG_MAMBA_SLOTS_PER_REQUEST = 3


def state_bytes_per_seq_per_gpu(dep: Deployment, tp=None, pp=None):
    """One sequence's fixed linear-attention state on one GPU: split over TP by value heads, over PP by layers."""
    m = dep.model
    if not m.gdn:
        return 0.0
    tp = np.asarray(dep.tp if tp is None else tp, dtype=float)
    pp = np.asarray(dep.pp if pp is None else pp, dtype=float)
    return m.state_bytes_per_seq / np.minimum(tp, m.gdn.value_heads) / pp


def hybrid_split(dep: Deployment, tp=None, pp=None, draft_tokens: int = 0):
    """(bytes per GPU left for the KV cache, the most requests that may run) under an engine that pools a hybrid
    model's state apart from its KV cache (SGLang's rule above); (pool, inf) for every other case, where a
    sequence's state is simply part of its bytes (vLLM's hybrid allocator pages both)."""
    free = kv_pool_bytes(dep, tp, pp)
    if not (dep.model.gdn and dep.engine.mem_reserve and dep.engine.hybrid_pools):
        return free, np.inf
    state = state_bytes_per_seq_per_gpu(dep, tp, pp)
    r, k, D = SGLANG_MAMBA_FULL_RATIO, SGLANG_MAMBA_SLOTS_PER_REQUEST, float(draft_tokens)
    slots = np.floor(np.maximum(free, 0.0) * r / (1.0 + r) / (state * (1.0 + D / k)))
    running = np.floor(slots / k)
    return free - slots * state - running * D * state, running


def max_sequences(dep: Deployment, context, tp=None, pp=None, draft_tokens: int = 0):
    """Sequences of `context` tokens one replica can hold (array-friendly; 0 when weights do not fit);
    `draft_tokens`: speculative tokens verified per step, whose intermediate states SGLang's hybrid pool keeps."""
    free, running = hybrid_split(dep, tp, pp, draft_tokens)
    per = kv_bytes_per_seq_per_gpu(dep, context, tp, pp)
    if np.isfinite(running).all():  # the state has its own pool: a sequence's KV alone takes this one
        per = per - state_bytes_per_seq_per_gpu(dep, tp, pp)
    n = np.minimum(np.floor(np.maximum(free, 0) / np.maximum(per, 1.0)), running)
    return np.where(free > 0, n, 0.0)


def plan(dep: Deployment, context: float) -> MemoryPlan:
    """Memory plan for one replica, raising a clear error when the model does not fit."""
    cap = dep.chip.memory_bytes
    mm = _mem()
    w = float(weight_bytes_per_gpu(dep))
    act = mm["activation_tokens"] * (4 * dep.model.d_model + 3 * dep.model.d_ff / dep.tp) * ACT_BYTES
    pool = float(kv_pool_bytes(dep))
    reserve = cap - w - act - pool
    per = float(kv_bytes_per_seq_per_gpu(dep, context))
    if pool <= 0 or pool < per:
        need = dep.model.weight_bytes(dep.weights) / 1e9
        gpus_needed = int(2 ** np.ceil(np.log2(max(1.0, need / (cap * 0.8 / 1e9)))))
        if pool <= 0:
            what = (f"its weights need {w / 1e9:.1f} GB per GPU at {dep.weights} (+{act / 1e9:.1f} GB activations, "
                    f"+{mm['runtime_overhead_gb']:.1f} GB runtime), more than the {cap / 1e9:.1f} GB each GPU has")
        else:
            what = (f"after weights ({w / 1e9:.1f} GB per GPU) only {pool / 1e9:.2f} GB per GPU is left for the KV "
                    f"cache, less than one {context:.0f}-token sequence needs ({per / 1e9:.2f} GB)")
        from infercast.specs import precision as P

        smaller = [q for q in ("fp8", "fp4") if P.nbytes(q) < P.nbytes(dep.weights)]
        n = max(gpus_needed, dep.gpus * 2)
        dom = dep.chip.scaleup_domain
        shape = f"tp {n}" if n <= dom else f"tp {dom} x pp {-(-n // dom)}"
        fixes = [f"more GPUs per replica (e.g. {shape})"]
        if smaller:
            fixes.append(f"smaller weights ({' or '.join(smaller)})")
        if pool > 0:
            fixes.append("a shorter context")
        raise DoesNotFitError(f"{dep.model.id} does not fit on {dep.gpus} x {dep.chip.id}: {what}. Use "
                              + ", ".join(fixes[:-1]) + (" or " if len(fixes) > 1 else "") + fixes[-1] + ".",
                              field="tp")
    return MemoryPlan(capacity_gb=cap / 1e9, weights_gb=w / 1e9, activations_gb=act / 1e9,
                      reserve_gb=reserve / 1e9, kv_pool_gb=pool / 1e9, kv_per_seq_gb=per / 1e9,
                      max_seqs=int(max_sequences(dep, context)))
