"""Disaggregated serving: a pool of prefill replicas hands each request's KV cache to a pool of decode replicas.

Prefill replicas run prompts only, batched up to the engine's tokens per step; decode replicas run
decode steps only, so a request's TPOT never waits behind another's prompt [DistServe, Zhong et al.
2024; Splitwise, Patel et al. 2024]. The KV cache of each prompt crosses the link between the pools:
the scale-up link when both pools sit in one scale-up domain (an NVL72 rack), else each prefill
GPU's scale-out network.

Closed loop or open load, the pools settle where requests/s = min(prefill capacity, decode capacity,
clients / (TTFT + (O - 1) x TPOT)) and TTFT absorbs the queueing (Little's law on the clients).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infercast.engine.memory import max_sequences
from infercast.engine.serving import draft_time, token_time, _plus
from infercast.engine.speculative import Speculation
from infercast.engine.step import Deployment, step_time
from infercast.errors import DoesNotFitError


@dataclass(frozen=True)
class Pools:
    prefill: Deployment
    decode: Deployment
    prefill_workers: int
    decode_workers: int

    @property
    def gpus(self) -> int:
        return self.prefill.gpus * self.prefill_workers + self.decode.gpus * self.decode_workers

    def describe(self) -> str:
        def shape(d):
            return f"tp{d.tp}" + (f"pp{d.pp}" if d.pp > 1 else "") + (f"dp{d.attn_dp}ep{d.expert_shards}" if d.attn_dp > 1
                                                                       else (f"ep{d.ep}" if d.ep > 1 else ""))
        return (f"disaggregated: {self.prefill_workers} x {shape(self.prefill)} prefill + {self.decode_workers} x "
                f"{shape(self.decode)} decode ({self.gpus} GPUs)")


def kv_transfer_time(pools: Pools, input_len) -> np.ndarray:
    """Seconds to move one prompt's KV cache from a prefill replica to a decode replica."""
    p = pools.prefill
    nbytes = p.model.kv_bytes_per_seq(np.asarray(input_len, dtype=float), p.kv)
    same_domain = pools.gpus <= p.chip.scaleup_domain
    per_gpu = (p.chip.scaleup_gbps if same_domain else p.chip.scaleout_gbps) * 1e9
    return nbytes / (per_gpu * p.gpus)


def _prefill_seats(dep: Deployment, new) -> np.ndarray:
    """Prompts one prefill step takes per replica: as many as the token budget holds (at least one)."""
    return np.maximum(1.0, np.floor(dep.rank_tokens / new)) * dep.attn_dp


def prefill_rate(dep: Deployment, input_len, cached_fraction=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(requests/s one prefill replica sustains with full steps, seconds to prefill one prompt alone).

    `cached_fraction` of each prompt is a prefix-cache hit: only the rest is computed, attending to the
    cached prefix (as `analyses.cost.phase_split` times it); 0 reproduces the uncached rate exactly."""
    I = np.asarray(input_len, dtype=float)
    f = np.asarray(cached_fraction, dtype=float)
    new = np.maximum(1.0, I * (1.0 - f))  # prompt tokens actually computed (at least the last)
    ctx = I * f + (new + 1) / 2  # mean context a computed token attends to
    seqs = _prefill_seats(dep, new)
    per = seqs / dep.attn_dp
    full = step_time(dep, prefill_tokens=per * new, prefill_seqs=per, prefill_ctx=ctx)
    chunks = np.maximum(1.0, np.ceil(new / dep.rank_tokens))
    one = step_time(dep, prefill_tokens=new / chunks, prefill_seqs=1.0 / chunks, prefill_ctx=ctx)
    # a replica pipelines its micro-batches: one full batch leaves every cycle once the pipeline is full
    return seqs / (chunks * np.maximum(full["cycle"], full["latency"] / dep.pp)), chunks * one["latency"]


def decode_tpot(dep: Deployment, batch, context, spec: Speculation | None = None) -> np.ndarray:
    """Seconds per output token at `batch` sequences in decode per replica (no prompts in the steps)."""
    B = np.asarray(batch, dtype=float)
    per_group = B / dep.attn_dp
    m = np.clip(per_group, 1.0, dep.pp)
    q = 1.0 if spec is None else spec.tokens + 1.0
    tps = 1.0 if spec is None else spec.tokens_per_step
    st = step_time(dep, decode_seqs=per_group / m, decode_ctx=context, decode_query=q)
    return token_time(_plus(st, draft_time(dep, spec, per_group / m, context, dep.pp)), m) / tps


def first_burst_ttft(pools: Pools, input_len, clients, rate=None) -> np.ndarray:
    """Mean TTFT of a closed loop's first `clients` requests, which arrive together: each prefill worker takes
    its share in full batches of `prefill_rate` (`rate`, when the caller has it), one after the other, so the
    k-th of W batches waits k batch times (mean (W + 1) / 2), then its KV cache moves to the decode pool."""
    I = np.asarray(input_len, dtype=float)
    C = np.asarray(clients, dtype=float)
    p = pools.prefill
    rp = prefill_rate(p, I)[0] if rate is None else rate
    seqs = _prefill_seats(p, np.maximum(I, 1.0))
    batches = np.ceil(C / pools.prefill_workers / seqs)
    return (batches + 1.0) / 2.0 * seqs / rp + kv_transfer_time(pools, I)


def disaggregated(pools: Pools, input_len, output_len, clients=None, rate=None, spec: Speculation | None = None,
                  iterations: int = 40, sent=None) -> dict:
    """Steady state of the two pools for `clients` in a closed loop (or Poisson `rate` requests/s);
    neither given: both pools saturated (maximum throughput). Arrays broadcast. `sent`: the closed loop's
    benchmark sends that many requests and averages over all of them, so the mean TTFT ("ttft_s") weighs the
    first burst (`first_burst_ttft`) by clients / sent; "ttft_steady_s" leaves it out."""
    I = np.asarray(input_len, dtype=float)
    O = np.maximum(np.asarray(output_len, dtype=float), 1.0)
    rp, t_pre = prefill_rate(pools.prefill, I)
    cap_p = rp * pools.prefill_workers
    ctx = I + O / 2
    d = pools.decode
    bmax = np.minimum(max_sequences(d, I + O) * d.attn_dp, d.engine.max_batch * d.pp * d.attn_dp)
    if np.any(bmax < 1):
        raise DoesNotFitError(f"the decode pool ({d.gpus} GPU(s) per worker) holds no sequence of "
                              f"{float(np.max(I + O)):.0f} tokens beside the weights; give the decode workers more "
                              "GPUs or shorten the requests", field="decode")
    xfer = kv_transfer_time(pools, I)

    def cap_d(b):  # requests/s the decode pool completes at batch b (>= 1: checked above)
        return b * pools.decode_workers / (O * decode_tpot(d, b, ctx, spec))

    lam = np.minimum(cap_p, cap_d(bmax))  # both pools saturated
    C = None if clients is None else np.asarray(clients, dtype=float)
    target = None if rate is None else np.asarray(rate, dtype=float)
    if target is not None:
        lam = np.minimum(lam, target)
    tpot = decode_tpot(d, 1.0, ctx, spec)
    for _ in range(iterations if (C is not None or target is not None) else 8):
        b = np.clip(lam * O * tpot / pools.decode_workers, 1.0, bmax)  # Little's law on the decode pool
        tpot = decode_tpot(d, b, ctx, spec)
        if C is None:
            continue
        rho = np.minimum(lam / np.maximum(cap_p, 1e-12), 0.999)
        ttft0 = t_pre * (1.0 + rho / (2.0 * (1.0 - rho))) + xfer  # M/D/1 wait for a prefill slot
        want = C / (ttft0 + (O - 1) * tpot)
        lam = 0.5 * (lam + np.minimum(np.minimum(want, cap_p), cap_d(bmax)))
    b = np.clip(lam * O * tpot / pools.decode_workers, 1.0, bmax)
    tpot = decode_tpot(d, b, ctx, spec)
    rho = np.minimum(lam / np.maximum(cap_p, 1e-12), 0.999)
    ttft = t_pre * (1.0 + rho / (2.0 * (1.0 - rho))) + xfer
    if C is not None:  # a closed loop's clients that are not decoding are waiting for their prefill
        ttft = np.maximum(ttft, C / np.maximum(lam, 1e-12) - (O - 1) * tpot)
    steady = ttft
    if C is not None and sent is not None:
        share = np.clip(C / np.maximum(np.asarray(sent, dtype=float), 1.0), 0.0, 1.0)
        ttft = share * np.maximum(first_burst_ttft(pools, I, C, rp), steady) + (1.0 - share) * steady
    gpus = pools.gpus
    return {"tpot_s": tpot, "ttft_s": ttft, "ttft_steady_s": steady, "e2e_s": ttft + (O - 1) * tpot,
            "output_tok_s_per_gpu": lam * O / gpus, "input_tok_s_per_gpu": lam * I / gpus,
            "tokens_per_s_per_user": 1.0 / tpot, "requests_per_s": lam, "decode_batch": b,
            "prefill_utilisation": lam / np.maximum(cap_p, 1e-12), "kv_transfer_s": xfer,
            "concurrency_per_replica": b}
