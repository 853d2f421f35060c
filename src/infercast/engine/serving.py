"""Serving scenarios on top of the step model: continuous batching, static batches, max throughput.

All functions take numpy arrays for concurrency and lengths (and the PP degree), so sweeps are
vectorised; TP, EP and precisions come from the deployment.

Pipeline parallelism runs m = min(requests per attention group, pp) micro-batches in flight: a
micro-batch's token takes max(latency, m x cycle) (a full pipeline advances one micro-batch per
cycle, a partial one leaves bubbles), where latency and cycle come from `step.step_time`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace

import numpy as np

from infercast.engine.memory import max_sequences
from infercast.engine.speculative import Speculation
from infercast.engine.step import Deployment, deployment, step_time

def _pp(dep: Deployment, pp):
    return np.asarray(dep.pp if pp is None else pp, dtype=float)


def _micro(per_group, pp_):
    """Micro-batches in flight: one per stage when there are enough requests, else one per request."""
    return np.clip(per_group, 1.0, pp_)


def token_time(st: dict, micro):
    """Seconds per token of a micro-batch: a token's pass through the stages, or the pipeline's turn."""
    return np.maximum(st["latency"], micro * st["cycle"])


def prefill_time(dep: Deployment, input_len, seqs=1, pp=None):
    """Seconds to prefill `seqs` prompts of `input_len` tokens through every stage, in chunks of at
    most one attention group's step budget (`Deployment.rank_tokens`, chunked prefill); returns (seconds, the step of
    one chunk)."""
    I = np.asarray(input_len, dtype=float)
    n = np.asarray(seqs, dtype=float)
    tokens = n * I
    chunks = np.maximum(1.0, np.ceil(tokens / dep.rank_tokens))
    per = tokens / chunks
    st = step_time(dep, prefill_tokens=per, prefill_seqs=n / chunks, prefill_ctx=(I + 1) / 2, pp=pp)
    return chunks * st["latency"], st


def draft_time(dep: Deployment, spec: Speculation | None, batch, context, pp_) -> np.ndarray:
    """Seconds the drafter adds to one verify step on the last stage: k serial drafted tokens.

    MTP / EAGLE heads are one decoder layer plus the output head per drafted token (timed as one
    layer of the target's own decode step at that batch); a draft model runs k of its own decode
    steps on the same GPUs; n-gram lookup costs nothing on the GPU."""
    if spec is None or spec.method == "ngram":
        return np.zeros(np.broadcast(np.asarray(batch, dtype=float), pp_).shape)
    if spec.method == "draft":
        d = deployment(spec.draft_model, dep.chip, tp=min(dep.tp, 8), weights=dep.weights, kv=dep.kv,
                       engine=dep.engine.name, strict_engine=False)
        st = step_time(d, decode_seqs=batch * dep.tp / d.tp if d.tp != dep.tp else batch, decode_ctx=context)
        return spec.tokens * st["latency"]
    st = step_time(dep, decode_seqs=batch, decode_ctx=context, pp=pp_)
    layer = (st["stage"] - st["pipeline_p2p"]) / (dep.model.layers / pp_)
    return spec.tokens * (layer + st["lm_head"])


def continuous(dep: Deployment, input_len, output_len, concurrency, pp=None, spec: Speculation | None = None,
               decode_ctx=None) -> dict:
    """Steady-state continuous batching with `concurrency` requests in flight per replica.

    Each step decodes one token for every request (mean context `decode_ctx`: I + O/2 for fixed lengths,
    `workload.Lengths.mean_decode_context` for a distribution); over O steps every request
    brings I prompt tokens, prefilled in chunks beside the decodes [Sarathi-Serve / vLLM chunked
    prefill]. A prompt is prefilled in its own chunk steps, so the mean step mixes decode-only steps
    and chunk steps (`_three_steps`); only when prompts arrive faster than one chunk per step does
    every step carry C*I/O of them. Throughput counts all of that work; a request's TPOT counts the
    other requests' prompts only ((C-1)/C of them), since its own prompt is its TTFT. With
    speculation a step verifies k + 1 tokens per sequence after the drafter's k, and emits
    `spec.tokens_per_step` of them on average. An overlap scheduler adds one step to TTFT.
    """
    I = np.asarray(input_len, dtype=float)
    O = np.maximum(np.asarray(output_len, dtype=float), 1.0)
    C = np.asarray(concurrency, dtype=float)
    pp_ = _pp(dep, pp)
    dp = dep.attn_dp
    per_group = C / dp
    m = _micro(per_group, pp_)
    b = per_group / m  # sequences in one micro-batch of one attention group
    others = np.clip((C - 1.0) / np.maximum(C, 1e-9), 0.0, 1.0)
    q = 1.0 if spec is None else spec.tokens + 1.0
    tps = 1.0 if spec is None else spec.tokens_per_step
    steps = O / tps  # verify steps per request
    ctx = I + O / 2 if decode_ctx is None else np.asarray(decode_ctx, dtype=float)
    full, mine, pre = _three_steps(dep, b, I, O, steps, others, pp_, q, ctx, m)
    drafted = draft_time(dep, spec, b, ctx, pp_)
    t_full = token_time(_plus(full, drafted), m) / tps
    tpot = token_time(_plus(mine, drafted), m) / tps
    # the step in progress when it arrives, then its own prompt in chunks, each chunk in a step that also
    # decodes the others and prefills their arriving prompts (Sarathi-Serve's hybrid batches); alone at C = 1
    ttft = pre["latency"] + np.where(C > 1, mine["cycle"], 0.0)
    if dep.engine.overlap_scheduler:  # its first token is processed, and sent, while the next step runs
        ttft = ttft + mine["cycle"]
    out_per_replica = C / t_full
    gpus = dep.tp * pp_ * dp
    return {
        "tpot_s": tpot, "ttft_s": ttft, "e2e_s": ttft + (O - 1) * tpot,
        "output_tok_s_per_gpu": out_per_replica / gpus,
        "input_tok_s_per_gpu": out_per_replica * I / O / gpus,
        "tokens_per_s_per_user": 1.0 / tpot,
        "step": full, "concurrency_per_replica": C,
    }


def _three_steps(dep: Deployment, b, I, O, steps, others, pp_, q, ctx, m=1.0) -> tuple[dict, dict, dict]:
    """Three steps: the mean step with every arriving prompt; the mean step a request sees (the others' prompts
    only); and the one that carries a chunk of its own prompt beside the others' decodes and prompts, returned
    with its latency times the chunks (alone, at C = 1, exactly `prefill_time(dep, I, 1)`).

    Prompts arrive one at a time and each is prefilled in its own chunk steps, I / chunks tokens beside the
    running decodes, so a mean step is a mixture of decode-only steps and chunk steps: a share
    w = min(1, b x chunks / steps) of the steps carry a chunk (at w = 1 every step carries b I / steps prompt
    tokens). Spreading the prompts thinly over every step instead would read, in an MoE layer, the experts
    that a few prompt tokens route to in every decode step [Jensen: experts touched are concave in tokens].
    With n = dp x m attention groups' micro-batches (`m` per group) a step runs at a chunk step's pace when any
    of them carries one, `busiest_share(w, n)` of the steps, unless the engine balances them.
    Three step rows (decode-only, a chunk step, the own-prompt step) in one vectorised call along a new
    leading axis when that axis cannot meet another array's axes (its rank is above every input's, efficiency
    arrays of a Monte Carlo included), else three calls. Step-time cost is per call: this is the sweep's hot
    path."""
    chunks = np.maximum(1.0, np.ceil(I / dep.rank_tokens))
    w_all = np.minimum(1.0, b * chunks / steps)  # share of steps carrying a prompt chunk
    inv_all = 1.0 / np.maximum(w_all, 1e-300)
    # the steps a request sees carry the others' prompts only: below saturation a share `others` of the same
    # chunk steps; when prompts ride every step, a share `others` of their prompt tokens (linear in tokens)
    w_oth = w_all * others
    x = b * I / steps * inv_all  # prompt tokens in a chunk step (of the attention group carrying the chunk)
    rows = [dict(decode_seqs=b, prefill_tokens=0.0, prefill_seqs=0.0),
            dict(decode_seqs=b, prefill_tokens=x, prefill_seqs=b / steps * inv_all),
            dict(decode_seqs=b * others, prefill_tokens=b * I / steps * others + I / chunks,
                 prefill_seqs=b / steps * others + 1.0 / chunks)]
    w_mix, w_see = w_all, w_oth
    dp = dep.attn_dp
    lanes = dp * np.asarray(m, dtype=float)  # batches that take prompts apart: attention groups x micro-batches
    if np.any(lanes > 1) and not dep.engine.balanced_batches:
        # each prompt is prefilled in one group's micro-batch and every step waits for the busiest group [TensorRT-LLM
        # tech blog 10, "ADP Balance Strategy": iteration time = max over ranks], every pipeline turn for the slowest
        # micro-batch: a turn carries a chunk when any of the n lanes does, 1 - (1 - w)^n of the turns
        w_mix, w_see = busiest_share(w_all, lanes), busiest_share(w_oth, lanes)
        if dp > 1:
            # the expert layer gathers the mean group's tokens: the busiest micro-batch holds k = max(1, n w /
            # (1 - (1 - w)^n) / m) of the turn's chunks, so the experts' work over the turns stays as balanced
            k = np.maximum(1.0, lanes * w_all / np.maximum(w_mix, 1e-300) / m)
            rows[0]["group_tokens"] = b * q
            rows[1]["group_tokens"] = b * q + k * x / dp
            rows[2]["group_tokens"] = b * others * q + (rows[2]["prefill_tokens"] + (dp - 1) * w_oth * x) / dp
    common = dict(decode_ctx=ctx, prefill_ctx=(I + 1) / 2, pp=pp_, decode_query=q)
    eff = dep.eff
    hidden = [getattr(eff, f.name) for f in fields(eff)] if is_dataclass(eff) else []
    arrays = [v for r in rows for v in r.values()] + list(common.values())
    rank = max(np.ndim(x) for x in (*arrays, *(h for h in hidden if isinstance(h, np.ndarray))))
    shape = np.broadcast_shapes(*(np.shape(v) for r in rows for v in r.values()))
    lead = (len(rows),) + (1,) * (rank - len(shape)) + shape
    stacked = {k: np.stack([np.broadcast_to(np.asarray(r[k], dtype=float), shape) for r in rows]).reshape(lead)
               for k in rows[0]}
    steps_ = None
    try:
        st = step_time(dep, **stacked, **common)
        if np.ndim(st["latency"]) == rank + 1:
            steps_ = [_pick(st, i) for i in range(len(rows))]
    except ValueError:  # an array of higher rank elsewhere in the deployment: evaluate the steps apart
        pass
    if steps_ is None:
        steps_ = [step_time(dep, **r, **common) for r in rows]
    dec, chunk, pre = steps_
    own = _Lazy(pre, lambda k: chunks * pre["latency"] if k == "latency" else pre[k])
    return _mix(dec, chunk, w_mix), _mix(dec, chunk, w_see), own


def busiest_share(w, lanes):
    """Share of the steps (pipeline turns) that run at the pace of a chunk-carrying batch when each of `lanes`
    batches (attention-DP groups x micro-batches) carries a prompt chunk in a share w of its steps: 1 - (1 - w)^n.
    Exact for attention-DP groups, which meet in every MoE layer [TensorRT-LLM tech blog 10]; for a pipeline whose
    micro-batches equal its stages, the convoy behind a heavy micro-batch (`tests/test_batch_imbalance.py` checks it
    against an event simulation of the pipeline: 0.85-1.02x of it, where an even split is off by 2-4x)."""
    return 1.0 - (1.0 - np.asarray(w, dtype=float)) ** lanes


class _Lazy(Mapping):
    """A step's entries computed on first access: a sweep reads two or three of them, a report all."""

    def __init__(self, like: Mapping, fn):
        self._keys, self._fn, self._done = tuple(like), fn, {}

    def __getitem__(self, k):
        if k not in self._done:
            if k not in self._keys:
                raise KeyError(k)
            self._done[k] = self._fn(k)
        return self._done[k]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)


def _mix(a: Mapping, b: Mapping, w) -> Mapping:
    """The mean of two steps taken in shares 1 - w and w (their operators alike)."""
    def one(k):
        if k != "_timed":
            return a[k] + w * (b[k] - a[k])
        return [replace(x, seconds=x.seconds + w * (y.seconds - x.seconds),
                        compute=x.compute + w * (y.compute - x.compute),
                        memory=x.memory + w * (y.memory - x.memory)) for x, y in zip(a["_timed"], b["_timed"])]
    return _Lazy(a, one)


def _pick(st: dict, i: int) -> Mapping:
    """One of the steps stacked along the leading axis by `_three_steps` (its operators sliced alike)."""
    shape = np.shape(st["latency"])

    def at(v):  # an array without the stacked axis is the same for every step
        a = np.asarray(v)
        return v if a.ndim < len(shape) else a[0 if a.shape[0] == 1 else i]

    def one(k):
        if k != "_timed":
            return at(st[k])
        return [replace(x, seconds=at(x.seconds), compute=at(x.compute), memory=at(x.memory)) for x in st["_timed"]]
    return _Lazy(st, one)


def _plus(st: Mapping, extra) -> Mapping:
    """A step with `extra` seconds on its last stage (the drafter): latency and cycle both grow."""
    if not np.any(extra):
        return st
    return _Lazy(st, lambda k: st[k] + extra if k in ("latency", "cycle") else st[k])


def static_batch(dep: Deployment, input_len, output_len, batch, pp=None, spec: Speculation | None = None,
                 decode_ctx=None) -> dict:
    """A fixed batch: prefill all prompts together, then O-1 decode steps (mean context I + O/2, or
    `decode_ctx`)."""
    I = np.asarray(input_len, dtype=float)
    O = np.maximum(np.asarray(output_len, dtype=float), 1.0)
    B = np.asarray(batch, dtype=float)
    pp_ = _pp(dep, pp)
    dp = dep.attn_dp
    m = _micro(B / dp, pp_)
    ttft, _ = prefill_time(dep, I, B / dp, pp=pp_)
    q = 1.0 if spec is None else spec.tokens + 1.0
    tps = 1.0 if spec is None else spec.tokens_per_step
    ctx = I + O / 2 if decode_ctx is None else np.asarray(decode_ctx, dtype=float)
    st = step_time(dep, decode_seqs=B / dp / m, decode_ctx=ctx, pp=pp_, decode_query=q)
    tpot = token_time(_plus(st, draft_time(dep, spec, B / dp / m, ctx, pp_)), m) / tps
    total = ttft + (O - 1) * tpot
    gpus = dep.tp * pp_ * dp
    return {
        "tpot_s": tpot, "ttft_s": ttft, "e2e_s": total,
        "output_tok_s_per_gpu": B * O / total / gpus,
        "input_tok_s_per_gpu": B * I / total / gpus,
        "tokens_per_s_per_user": 1.0 / tpot,
        "step": st, "concurrency_per_replica": B,
    }


def max_concurrency(dep: Deployment, input_len, output_len, pp=None, draft_tokens: int = 0):
    """Largest batch per replica: KV memory at the full I+O context, capped by the engine's max batch
    (`draft_tokens`: speculative tokens verified per step, see memory.max_sequences).

    Returns (concurrency, limiter) where limiter is 'memory (KV cache)' or 'engine max batch'.
    """
    ctx = np.asarray(input_len, dtype=float) + np.asarray(output_len, dtype=float)
    mem = max_sequences(dep, ctx, pp=pp, draft_tokens=draft_tokens) * dep.attn_dp
    cap = float(dep.engine.max_batch) * _pp(dep, pp) * dep.attn_dp
    c = np.minimum(mem, cap)
    what = "memory (KV cache and linear-attention state)" if dep.model.gdn else "memory (KV cache)"
    return c, np.where(mem <= cap, what, "engine max batch")


def best_under_latency(dep: Deployment, input_len, output_len, tpot_max=None, ttft_max=None, max_c=None,
                       static: bool = False, spec: Speculation | None = None, decode_ctx=None):
    """Largest concurrency per replica whose mean TPOT and TTFT meet the targets (None where none does).

    `static`: judge the targets under a static batch (all prompts prefilled together) instead of
    continuous batching."""
    return _best_meeting(dep, input_len, output_len, tpot_max, ttft_max, max_c, z=0.0,
                         grid=lambda hi: np.unique(np.round(np.geomspace(1, hi, 96))), static=static, spec=spec,
                         decode_ctx=decode_ctx)


Z99 = 2.326  # standard-normal 99th percentile


def best_under_p99(dep: Deployment, input_len, output_len, tpot_max=None, ttft_max=None, max_c=None, z=Z99,
                   spec: Speculation | None = None, decode_ctx=None):
    """Largest mean concurrency per replica for Poisson arrivals whose 99th-percentile TPOT/TTFT meet targets.

    With Poisson arrivals and every request admitted at once (continuous batching with memory to
    spare), the number in flight is Poisson distributed around its mean K [M/G/inf occupancy,
    Kleinrock, Queueing Systems vol. 1]; its 99th percentile is about K + z*sqrt(K). The targets
    are checked at that occupancy (a step is as slow as its batch), and that occupancy must fit in
    memory, or arrivals queue for KV space and TTFT grows without bound. This is the MLPerf server
    rule (p99 limits) and any SLO stated as a percentile. Returns K or None.
    """
    return _best_meeting(dep, input_len, output_len, tpot_max, ttft_max, max_c, z=z,
                         grid=lambda hi: np.unique(np.geomspace(0.5, hi, 128)), spec=spec, decode_ctx=decode_ctx)


def _best_meeting(dep, input_len, output_len, tpot_max, ttft_max, max_c, z, grid, static=False, spec=None,
                  decode_ctx=None):
    """The mean concurrency K with the highest throughput whose occupancy K + z*sqrt(K) fits and meets the targets."""
    cmax, _ = max_concurrency(dep, input_len, output_len)
    hi = float(np.max(cmax)) if max_c is None else min(float(max_c), float(np.max(cmax)))
    if hi < 1:
        return None
    k = grid(hi)
    occ = k + z * np.sqrt(k)
    def run(d, i, o, c):
        return (static_batch if static else continuous)(d, i, o, c, spec=spec, decode_ctx=decode_ctx)

    r_occ = run(dep, input_len, output_len, occ)
    ok = occ <= hi
    if tpot_max is not None:
        ok &= r_occ["tpot_s"] <= tpot_max
    if ttft_max is not None:
        ok &= r_occ["ttft_s"] <= ttft_max
    if not ok.any():
        return None
    thr = r_occ["output_tok_s_per_gpu"][ok] if z == 0 else run(dep, input_len, output_len, k[ok])["output_tok_s_per_gpu"]
    return float(k[ok][np.argmax(thr)])
