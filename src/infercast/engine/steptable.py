"""Step times for the serving simulation: the `StepModel` protocol, the deployment's step model
behind it, and a grid of step times evaluated once and interpolated.

A `StepModel` is a vectorised callable (decode_seqs, decode_ctx, prefill_tokens) -> seconds of one
replica step, with the replica's batch cap and KV capacity in tokens; `step_model(dep)` wraps
`infercast.engine.step.step_time` for a deployment, and any other model (a measured table, a
roofline) can stand in for it. `StepTable.build` evaluates a model on a grid (decode batch x mean
context x extra tokens) with one call; the simulation interpolates trilinearly.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from infercast.errors import DoesNotFitError, InfercastError
from infercast.vocabulary import check_number


@runtime_checkable
class StepModel(Protocol):
    """Seconds of one engine step of a whole replica: `decode_seqs` sequences each decoding one token
    over `decode_ctx` cached tokens (mean), plus `prefill_tokens` other tokens (prompt chunks, draft
    tokens to verify) in the same step. Vectorised over every argument."""

    max_batch: int  # sequences one replica runs at once
    kv_tokens: float  # tokens of KV cache one replica holds

    def __call__(self, decode_seqs, decode_ctx, prefill_tokens) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class DeploymentStep:
    """The `infercast.engine.step` model of a deployment as a `StepModel`.

    With pp stages the batch is split into pp micro-batches in flight and a replica step (every
    sequence advancing one token) takes pp x the stage time at batch/pp; with attention
    data-parallel the batch is split over `attn_dp` groups (as `serving.continuous`). Each prompt
    stays in one group's micro-batch and the busiest sets the step (`Engine.balanced_batches`). Prompt tokens are
    taken to come from prompts of `prompt_len` tokens, attending on average to half of one; draft
    tokens of speculative decoding arrive here as prompt tokens too (linear layers see them alike)."""

    dep: object
    prompt_len: float
    max_batch: int
    kv_tokens: float
    draft_per_seq: float = 0.0  # speculative draft tokens per decoding sequence among the extra tokens (spread evenly)

    def __call__(self, decode_seqs, decode_ctx, prefill_tokens):
        from infercast.engine.step import step_time

        dep = self.dep
        dp = dep.attn_dp
        g = float(dep.pp * dp)
        B = np.asarray(decode_seqs, dtype=float) / g
        P = np.asarray(prefill_tokens, dtype=float)
        Pg, extra = P / g, {}
        if g > 1 and not dep.engine.balanced_batches:
            # each prompt is prefilled in one group's micro-batch and the step waits for the busiest [TensorRT-LLM
            # tech blog 10]: one prompt's tokens, or an equal share when there are more prompts than batches; draft
            # tokens belong to every group's decodes alike
            drafts = np.minimum(P, self.draft_per_seq * B * g)
            prompts = P - drafts
            Pg = drafts / g + np.minimum(prompts, np.maximum(prompts / g, min(self.prompt_len, dep.rank_tokens)))
            extra = {"group_tokens": B + P / g} if dp > 1 else {}
        st = step_time(dep, decode_seqs=B, decode_ctx=decode_ctx, prefill_tokens=Pg,
                       prefill_seqs=Pg / self.prompt_len, prefill_ctx=(self.prompt_len + 1.0) / 2.0, **extra)
        return dep.pp * st["total"]


def step_model(dep, *, prompt_len: float = 1024.0, context: float | None = None,
               draft_per_seq: float = 0.0) -> DeploymentStep:
    """Wrap a `Deployment` as a `StepModel`. `context`: the typical prompt + output length, used to
    turn the KV pool into tokens (exact for full attention; sliding-window layers and a linear-attention layer's
    fixed state per sequence make it length-dependent);
    `draft_per_seq`: speculative draft tokens verified per decoding sequence (k)."""
    from infercast.engine.memory import hybrid_split, kv_bytes_per_seq_per_gpu, kv_pool_bytes, \
        state_bytes_per_seq_per_gpu

    prompt_len = check_number("input_len", prompt_len, allow_none=False)
    ref = float(context if context is not None else max(prompt_len, 4096.0))
    per_seq = float(kv_bytes_per_seq_per_gpu(dep, ref))
    if float(kv_pool_bytes(dep)) <= 0:
        raise DoesNotFitError(f"{dep.model.id} on {dep.gpus} x {dep.chip.id}: the weights leave no memory for the "
                              "KV cache; use more GPUs per replica or smaller weights", field="tp", value=dep.tp)
    pool, running = hybrid_split(dep, draft_tokens=int(round(draft_per_seq)) + 1 if draft_per_seq else 0)
    pool, running = float(pool), float(running)
    if math.isfinite(running):  # the engine pools the hybrid state apart: tokens count the KV alone
        per_seq -= float(state_bytes_per_seq_per_gpu(dep))
    per_token = per_seq / ref
    kv_tokens = math.floor(max(pool, 0.0) / per_token) * dep.attn_dp if per_token > 0 else 0.0
    max_batch = int(dep.engine.max_batch) * dep.pp * dep.attn_dp  # engine cap per micro-batch, per DP group
    if math.isfinite(running):
        max_batch = min(max_batch, int(running) * dep.attn_dp)
    return DeploymentStep(dep, float(prompt_len), max_batch, float(kv_tokens), float(draft_per_seq))


GRID_EXACT_BATCH = 64  # every batch size up to this is a row of its own
GRID_RATIOS = (1.1, 1.5, 1.25)  # geometric spacing of batch (above that), context and token knots: <= 0.3 % error


def _geom(lo: float, hi: float, ratio: float) -> list[float]:
    n = max(1, math.ceil(math.log(hi / lo) / math.log(ratio)))
    return list(np.geomspace(lo, hi, n + 1))


@dataclass(frozen=True, eq=False)
class StepTable:
    """Step times of a `StepModel` on a grid, from one vectorised call: batch (every integer up to
    `GRID_EXACT_BATCH`, then geometric), mean context and extra tokens (geometric, `GRID_RATIOS`);
    queried by trilinear interpolation. `max_error()` measures it against the model itself."""

    step: StepModel
    bs: tuple[float, ...]
    cs: tuple[float, ...]
    ps: tuple[float, ...]
    values: np.ndarray = field(repr=False)  # shape (len(bs), len(cs), len(ps))
    flat: list[float] = field(repr=False)

    @property
    def integer_rows(self) -> int:
        """Largest batch b such that row b of the table is batch b (rows 0, 1, ... are whole batches)."""
        n = 0
        while n + 1 < len(self.bs) - 1 and self.bs[n + 1] == n + 1:
            n += 1
        return n

    @property
    def max_batch(self) -> int:
        return int(self.bs[-1])

    @property
    def max_context(self) -> float:
        return self.cs[-1]

    @property
    def max_tokens(self) -> float:
        return self.ps[-1]

    @classmethod
    def build(cls, step: StepModel, *, max_batch: int, max_context: float, max_tokens: float,
              ratios: tuple[float, float, float] = GRID_RATIOS) -> "StepTable":
        mb = max(1, int(max_batch))
        rb, rc, rp = ratios
        exact = min(GRID_EXACT_BATCH, mb)
        bs = sorted(set(float(b) for b in range(0, exact + 1)) | (set(_geom(exact, mb, rb)) if mb > exact else set()))
        cs = sorted({1.0, 2.0, 4.0, 8.0} | set(_geom(16.0, max(32.0, float(max_context)), rc)))
        ps = sorted({0.0} | set(_geom(1.0, max(2.0, float(max_tokens)), rp)))
        B, C, P = np.meshgrid(np.array(bs), np.array(cs), np.array(ps), indexing="ij")
        v = np.asarray(step(B, C, P), dtype=float)
        v = np.broadcast_to(v, B.shape).copy()
        live = (B + P) > 0
        if not np.isfinite(v[live]).all() or (v[live] <= 0).any():
            raise InfercastError("the step model returned a non-finite or non-positive step time", field="engine")
        return cls(step, tuple(bs), tuple(cs), tuple(ps), v, v.ravel().tolist())

    def covers(self, max_batch: int, max_context: float, max_tokens: float) -> bool:
        return self.bs[-1] >= max_batch and self.cs[-1] >= max_context and self.ps[-1] >= max_tokens

    def interp(self, B, C, P) -> np.ndarray:
        """Vectorised trilinear interpolation (the same interpolant as the scalar query)."""
        out = []
        for x, g in ((B, self.bs), (C, self.cs), (P, self.ps)):
            g = np.asarray(g)
            x = np.asarray(x, dtype=float)
            i = np.clip(np.searchsorted(g, x, side="right") - 1, 0, len(g) - 2)
            out.append((i, (x - g[i]) / (g[i + 1] - g[i])))
        (ib, wb), (ic, wc), (ip, wp) = out
        V = self.values
        c00 = V[ib, ic, ip] * (1 - wp) + V[ib, ic, ip + 1] * wp
        c01 = V[ib, ic + 1, ip] * (1 - wp) + V[ib, ic + 1, ip + 1] * wp
        c10 = V[ib + 1, ic, ip] * (1 - wp) + V[ib + 1, ic, ip + 1] * wp
        c11 = V[ib + 1, ic + 1, ip] * (1 - wp) + V[ib + 1, ic + 1, ip + 1] * wp
        return (c00 * (1 - wc) + c01 * wc) * (1 - wb) + (c10 * (1 - wc) + c11 * wc) * wb

    def max_error(self, samples: int = 20000, seed: int = 0, quantile: float = 1.0) -> float:
        """Largest (or the `quantile`-th) relative difference between the interpolant and the step model at
        random points. Measured kernel tables have steps (a GEMM of 257 rows takes a slower tile than 256),
        which a linear interpolant smooths over next to the step, so the largest error sits at such steps."""
        rng = np.random.default_rng(seed)
        B = rng.integers(1, self.max_batch + 1, samples).astype(float)
        C = np.exp(rng.uniform(0, math.log(self.max_context), samples))
        P = np.where(rng.random(samples) < 0.5, 0.0, np.floor(np.exp(rng.uniform(0, math.log(self.max_tokens), samples))))
        exact = np.asarray(self.step(B, C, P), dtype=float)
        return float(np.quantile(np.abs(self.interp(B, C, P) / exact - 1.0), quantile))

    def scalar(self):
        """A fast scalar f(B, c, P) over the flat table (bisect + trilinear weights, plain Python)."""
        bs, cs, ps, F = self.bs, self.cs, self.ps, self.flat
        nb, nc, npp = len(bs) - 2, len(cs) - 2, len(ps) - 2
        sc, sb = len(ps), len(cs) * len(ps)
        ibmax = self.integer_rows

        def f(B, c, P):
            if B <= ibmax and B == int(B):
                ib, wb = int(B), 0.0
                if ib > nb:
                    ib, wb = nb, 1.0
            else:
                ib = bisect_right(bs, B) - 1
                ib = 0 if ib < 0 else (nb if ib > nb else ib)
                wb = (B - bs[ib]) / (bs[ib + 1] - bs[ib])
            ic = bisect_right(cs, c) - 1
            ic = 0 if ic < 0 else (nc if ic > nc else ic)
            wc = (c - cs[ic]) / (cs[ic + 1] - cs[ic])
            if P == 0.0:
                ip, wp = 0, 0.0
            else:
                ip = bisect_right(ps, P) - 1
                ip = 0 if ip < 0 else (npp if ip > npp else ip)
                wp = (P - ps[ip]) / (ps[ip + 1] - ps[ip])
            o = ib * sb + ic * sc + ip
            a = F[o] + (F[o + 1] - F[o]) * wp
            b = F[o + sc] + (F[o + sc + 1] - F[o + sc]) * wp
            lo = a + (b - a) * wc
            if wb == 0.0:
                return lo
            o += sb
            a = F[o] + (F[o + 1] - F[o]) * wp
            b = F[o + sc] + (F[o + sc + 1] - F[o + sc]) * wp
            return lo + (a + (b - a) * wc - lo) * wb
        return f

    def decode_row(self, B: int, extra: float, draft: float) -> tuple[list[float], list[float]]:
        """Step time at batch B over the context knots (values, slopes per token of context), with
        `extra` tokens per step and `draft` x a plain decode step added (speculative decoding)."""
        cs = np.asarray(self.cs)
        y = self.interp(np.full_like(cs, B), cs, np.full_like(cs, extra))
        if draft:
            y = y + draft * self.interp(np.full_like(cs, B), cs, np.zeros_like(cs))
        sl = np.diff(y) / np.diff(cs)
        return y.tolist(), np.append(sl, sl[-1]).tolist()
