"""Serving scenarios on top of the step model: continuous batching, static batches, max throughput.

All functions take numpy arrays for concurrency and lengths, so sweeps are vectorised.
"""
from __future__ import annotations

import numpy as np

from infercast.engine.memory import max_sequences
from infercast.engine.step import Deployment, step_time


def prefill_time(dep: Deployment, input_len, seqs=1, tp=None, pp=None):
    """Seconds to prefill `seqs` prompts of `input_len` tokens (all pipeline stages in sequence)."""
    I = np.asarray(input_len, dtype=float)
    n = np.asarray(seqs, dtype=float)
    pp_ = np.asarray(dep.pp if pp is None else pp, dtype=float)
    st = step_time(dep, prefill_tokens=n * I, prefill_seqs=n, prefill_ctx=(I + 1) / 2, tp=tp, pp=pp)
    return st["total"] * pp_, st


def continuous(dep: Deployment, input_len, output_len, concurrency, tp=None, pp=None) -> dict:
    """Steady-state continuous batching with `concurrency` requests in flight per replica.

    Each step decodes one token for every request (mean context I + O/2) and, chunked into the
    same step, prefills the prompts of the C/O requests that arrive per step (C*I/O tokens).
    With PP the requests form pp micro-batches, one per stage.
    """
    I = np.asarray(input_len, dtype=float)
    O = np.maximum(np.asarray(output_len, dtype=float), 1.0)
    C = np.asarray(concurrency, dtype=float)
    pp_ = np.asarray(dep.pp if pp is None else pp, dtype=float)
    tp_ = np.asarray(dep.tp if tp is None else tp, dtype=float)
    b = C / pp_ / dep.attn_dp
    st = step_time(dep, decode_seqs=b, decode_ctx=I + O / 2, prefill_tokens=b * I / O,
                   prefill_seqs=b / O, prefill_ctx=(I + 1) / 2, tp=tp, pp=pp)
    tpot = st["total"] * pp_
    t_pre, _ = prefill_time(dep, I, 1, tp=tp, pp=pp)
    ttft = t_pre + tpot  # own prefill, plus waiting for the step in progress
    out_per_replica = C / tpot
    gpus = tp_ * pp_ * dep.attn_dp
    return {
        "tpot_s": tpot, "ttft_s": ttft, "e2e_s": ttft + (O - 1) * tpot,
        "output_tok_s_per_gpu": out_per_replica / gpus,
        "input_tok_s_per_gpu": out_per_replica * I / O / gpus,
        "tokens_per_s_per_user": 1.0 / tpot,
        "step": st, "concurrency_per_replica": C,
    }


def static_batch(dep: Deployment, input_len, output_len, batch, tp=None, pp=None) -> dict:
    """A fixed batch: prefill all prompts together, then O-1 decode steps (mean context I + O/2)."""
    I = np.asarray(input_len, dtype=float)
    O = np.maximum(np.asarray(output_len, dtype=float), 1.0)
    B = np.asarray(batch, dtype=float)
    pp_ = np.asarray(dep.pp if pp is None else pp, dtype=float)
    tp_ = np.asarray(dep.tp if tp is None else tp, dtype=float)
    ttft, _ = prefill_time(dep, I, B / dep.attn_dp, tp=tp, pp=pp)
    st = step_time(dep, decode_seqs=B / pp_ / dep.attn_dp, decode_ctx=I + O / 2, tp=tp, pp=pp)
    tpot = st["total"] * pp_
    total = ttft + (O - 1) * tpot
    gpus = tp_ * pp_ * dep.attn_dp
    return {
        "tpot_s": tpot, "ttft_s": ttft, "e2e_s": total,
        "output_tok_s_per_gpu": B * O / total / gpus,
        "input_tok_s_per_gpu": B * I / total / gpus,
        "tokens_per_s_per_user": 1.0 / tpot,
        "step": st, "concurrency_per_replica": B,
    }


def max_concurrency(dep: Deployment, input_len, output_len, tp=None, pp=None):
    """Largest batch per replica: KV memory at the full I+O context, capped by the engine's max batch.

    Returns (concurrency, limiter) where limiter is 'memory' or 'engine max batch'.
    """
    ctx = np.asarray(input_len, dtype=float) + np.asarray(output_len, dtype=float)
    mem = max_sequences(dep, ctx, tp=tp, pp=pp) * dep.attn_dp
    cap = float(dep.engine.max_batch) * np.asarray(dep.pp if pp is None else pp, dtype=float) * dep.attn_dp
    c = np.minimum(mem, cap)
    return c, np.where(mem <= cap, "memory (KV cache)", "engine max batch")


def best_under_latency(dep: Deployment, input_len, output_len, tpot_max=None, ttft_max=None, max_c=None):
    """Largest concurrency per replica whose mean TPOT and TTFT meet the targets (None where none does)."""
    return _best_meeting(dep, input_len, output_len, tpot_max, ttft_max, max_c, z=0.0,
                         grid=lambda hi: np.unique(np.round(np.geomspace(1, hi, 96))))


Z99 = 2.326  # standard-normal 99th percentile


def best_under_p99(dep: Deployment, input_len, output_len, tpot_max=None, ttft_max=None, max_c=None, z=Z99):
    """Largest mean concurrency per replica for Poisson arrivals whose 99th-percentile TPOT/TTFT meet targets.

    With Poisson arrivals and every request admitted at once (continuous batching with memory to
    spare), the number in flight is Poisson distributed around its mean K [M/G/inf occupancy,
    Kleinrock, Queueing Systems vol. 1]; its 99th percentile is about K + z*sqrt(K). The targets
    are checked at that occupancy (a step is as slow as its batch), and that occupancy must fit in
    memory, or arrivals queue for KV space and TTFT grows without bound. This is the MLPerf server
    rule (p99 limits) and any SLO stated as a percentile. Returns K or None.
    """
    return _best_meeting(dep, input_len, output_len, tpot_max, ttft_max, max_c, z=z,
                         grid=lambda hi: np.unique(np.geomspace(0.5, hi, 128)))


def _best_meeting(dep, input_len, output_len, tpot_max, ttft_max, max_c, z, grid):
    """The mean concurrency K with the highest throughput whose occupancy K + z*sqrt(K) fits and meets the targets."""
    cmax, _ = max_concurrency(dep, input_len, output_len)
    hi = float(np.max(cmax)) if max_c is None else min(float(max_c), float(np.max(cmax)))
    if hi < 1:
        return None
    k = grid(hi)
    occ = k + z * np.sqrt(k)
    r_occ = continuous(dep, input_len, output_len, occ)
    ok = occ <= hi
    if tpot_max is not None:
        ok &= r_occ["tpot_s"] <= tpot_max
    if ttft_max is not None:
        ok &= r_occ["ttft_s"] <= ttft_max
    if not ok.any():
        return None
    thr = r_occ["output_tok_s_per_gpu"][ok] if z == 0 else continuous(dep, input_len, output_len, k[ok])["output_tok_s_per_gpu"]
    return float(k[ok][np.argmax(thr)])
