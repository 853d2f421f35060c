"""Request-level discrete-event simulation of continuous batching on one replica.

The scheduler is the in-flight (continuous) batching of vLLM V1 and TensorRT-LLM:
- each step processes at most `token_budget` tokens (vLLM `max_num_batched_tokens`, TensorRT-LLM
  `max_num_tokens`, default 8192 there) and at most `max_batch` sequences (vLLM `max_num_seqs`,
  TensorRT-LLM `max_batch_size`) [docs.vllm.ai config/scheduler; nvidia.github.io/TensorRT-LLM
  features/paged-attention-ifb-scheduler, performance-tuning-guide/tuning-max-batch-size-and-max-num-tokens];
- chunked prefill: running decodes take the budget first, the remainder goes to prompts in
  first-come-first-served order, the last one cut into a chunk [vLLM docs "chunked prefill":
  decode requests are prioritised, a prefill that does not fit is chunked; vllm PR #7874];
- a request is admitted (FCFS, head-of-line: the first that does not fit blocks the rest) when the
  batch is below `max_batch` and the KV pool holds its prompt + output tokens: TensorRT-LLM's default
  GUARANTEED_NO_EVICT capacity policy, which never pauses a started request [TensorRT-LLM
  performance-tuning-guide/useful-runtime-flags]. vLLM instead allocates blocks as tokens come and
  preempts on exhaustion; preemption is not modelled.
- the first token comes out of the step that processes a request's last prompt chunk (TTFT ends
  there); every later step emits 1 token for it, or 1 + accepted drafts with speculative decoding.

Step times come from a `StepModel` evaluated once on a grid (decode batch x mean context x extra
tokens) with one vectorised call; the loop interpolates trilinearly. The event loop
(`method="events"`) advances between events: arrivals, prefill steps, completions. Between events
the batch is fixed and every context grows by the same amount per step, so the time of n decode
steps is a closed-form sum over the grid's piecewise-linear interpolant (exact for that
interpolant: the step-by-step reference `method="steps"` agrees to float rounding). The only
approximation against the step model itself is the grid; `StepTable.max_error` measures it.
"""
from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter
from typing import Protocol, runtime_checkable

import numpy as np

from infercast.engine.workload import Arrivals, Lengths, SpecDecode
from infercast.errors import DoesNotFitError, InfercastError
from infercast.vocabulary import check_number

DEFAULT_TOKEN_BUDGET = 8192  # vLLM V1 offline / TensorRT-LLM default max_num_tokens


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
    data-parallel the batch is split over `attn_dp` groups (as `serving.continuous`). Prompt tokens
    are split the same way (a balanced pipeline: right for throughput, optimistic for the TTFT of
    a lone compute-bound prompt on pp > 1 or attn_dp > 1, by up to that factor). Prompt tokens are
    taken to come from prompts of `prompt_len` tokens, attending on average to half of one; draft
    tokens of speculative decoding arrive here as prompt tokens too (linear layers see them alike)."""

    dep: object
    prompt_len: float
    max_batch: int
    kv_tokens: float

    def __call__(self, decode_seqs, decode_ctx, prefill_tokens):
        from infercast.engine.step import step_time

        dep = self.dep
        g = float(dep.pp * dep.attn_dp)
        P = np.asarray(prefill_tokens, dtype=float)
        st = step_time(dep, decode_seqs=np.asarray(decode_seqs, dtype=float) / g, decode_ctx=decode_ctx,
                       prefill_tokens=P / g, prefill_seqs=P / self.prompt_len / g,
                       prefill_ctx=(self.prompt_len + 1.0) / 2.0)
        return dep.pp * st["total"]


def step_model(dep, *, prompt_len: float = 1024.0, context: float | None = None) -> DeploymentStep:
    """Wrap a `Deployment` as a `StepModel`. `context`: the typical prompt + output length, used to
    turn the KV pool into tokens (exact for full attention; sliding-window layers make it length-dependent)."""
    from infercast.engine.memory import kv_bytes_per_seq_per_gpu, kv_pool_bytes

    prompt_len = check_number("input_len", prompt_len, allow_none=False)
    ref = float(context if context is not None else max(prompt_len, 4096.0))
    per_token = float(kv_bytes_per_seq_per_gpu(dep, ref)) / ref
    pool = float(kv_pool_bytes(dep))
    if pool <= 0:
        raise DoesNotFitError(f"{dep.model.id} on {dep.gpus} x {dep.chip.id}: the weights leave no memory for the "
                              "KV cache; use more GPUs per replica or smaller weights", field="tp", value=dep.tp)
    kv_tokens = math.floor(max(pool, 0.0) / per_token) * dep.attn_dp if per_token > 0 else 0.0
    max_batch = int(dep.engine.max_batch) * dep.pp * dep.attn_dp  # engine cap per micro-batch, per DP group
    return DeploymentStep(dep, float(prompt_len), max_batch, float(kv_tokens))


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

    def max_error(self, samples: int = 20000, seed: int = 0) -> float:
        """Largest relative difference between the interpolant and the step model at random points."""
        rng = np.random.default_rng(seed)
        B = rng.integers(1, self.max_batch + 1, samples).astype(float)
        C = np.exp(rng.uniform(0, math.log(self.max_context), samples))
        P = np.where(rng.random(samples) < 0.5, 0.0, np.floor(np.exp(rng.uniform(0, math.log(self.max_tokens), samples))))
        exact = np.asarray(self.step(B, C, P), dtype=float)
        return float(np.max(np.abs(self.interp(B, C, P) / exact - 1.0)))

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


# --- results --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dist:
    """Mean and percentiles of a latency, seconds (numpy's linear-interpolation percentiles)."""

    mean: float
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, x: np.ndarray) -> "Dist":
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            return cls(0.0, 0.0, 0.0, 0.0)
        p = np.percentile(x, [50, 90, 99])
        return cls(float(x.mean()), float(p[0]), float(p[1]), float(p[2]))


@dataclass(frozen=True)
class SimResult:
    """What a benchmark client reports, for the measured requests of one replica.

    Throughputs are over the measurement window (from the arrival of the first measured request to
    the arrival of the last one for open and closed loops, i.e. steady state; to the last completion
    for offline and trace runs). TPOT per request is (e2e - ttft) / (output - 1) (bench_serving,
    genai-perf); ITL is the gap between successive token-emitting steps, over every token emitted in
    the window; queueing is arrival to the start of the step that takes the request's first chunk.
    """

    requests: int  # measured
    warmup: int  # requests simulated before the measured ones and discarded
    simulated: int  # requests that entered the replica, in all
    duration_s: float
    requests_per_s: float
    output_tok_per_s: float
    input_tok_per_s: float
    total_tok_per_s: float
    ttft: Dist
    tpot: Dist
    itl: Dist
    e2e: Dist
    queue: Dist
    slo_attainment: float | None  # fraction meeting every target given
    ttft_attainment: float | None
    tpot_attainment: float | None
    mean_batch: float  # sequences per step (decode + prefill), mean over the window's steps
    mean_decode_batch: float
    tokens_per_step: float  # output tokens per decoding sequence per step (> 1 with speculative decoding)
    steps: int  # engine steps in the window

    def as_dict(self) -> dict:
        d = {}
        for k, v in self.__dict__.items():
            if isinstance(v, Dist):
                for s in ("mean", "p50", "p90", "p99"):
                    d[f"{k}_{s}_s"] = getattr(v, s)
            else:
                d[k] = v
        return d


# --- requests -------------------------------------------------------------------------------------

class _Source:
    """Requests generated in chunks as the run needs them: lengths, decode steps, arrival times."""

    def __init__(self, lengths: Lengths, arrivals: Arrivals, spec: SpecDecode | None, seed: int, chunk: int):
        self.lengths, self.arrivals, self.spec = lengths, arrivals, spec
        self.rng = np.random.default_rng(seed)
        self.chunk = max(256, chunk)
        self.inp: list[int] = []
        self.out: list[int] = []
        self.dsteps: list[int] = []  # decode steps after the first token
        self.arr: list[float] = []  # arrival times (open loop); filled as clients send (closed loop)
        self.t_sched: list[float] = []  # start of the step that takes the first prompt chunk
        self.t_first: list[float] = []  # first token
        self.t_fin: list[float] = []  # last token
        self.k0: list[int] = []  # index of the first decode step
        self.t_last = 0.0
        self.finite = arrivals.kind == "trace"

    def more(self, n: int | None = None) -> int:
        if self.finite:
            if self.inp:
                return 0
            i, o = self.lengths.table_input, self.lengths.table_output
            t = self.arrivals.times
            self.arr.extend(t.tolist())
        else:
            n = n or self.chunk
            i, o = self.lengths.sample(n, self.rng)
            if self.arrivals.kind == "poisson":
                t = self.t_last + np.cumsum(self.rng.exponential(1.0 / self.arrivals.rate, n))
                self.t_last = float(t[-1])
                self.arr.extend(t.tolist())
            else:
                self.arr.extend([0.0] * n)
        d = np.maximum(np.asarray(o) - 1, 0)
        if self.spec is not None:
            d = self.spec.steps_for(d, self.rng)
        self.inp.extend(np.asarray(i).tolist())
        self.out.extend(np.asarray(o).tolist())
        self.dsteps.extend(d.tolist())
        nan = [math.nan] * len(i)
        self.t_sched.extend(nan)
        self.t_first.extend(nan)
        self.t_fin.extend(nan)
        self.k0.extend([0] * len(i))
        return len(i)


# --- the event loop -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cfg:
    budget: int
    max_batch: int
    kv_tokens: float
    chunked: bool
    extra: int  # draft tokens verified per decoding sequence per step (speculative decoding k)
    growth: float  # mean tokens a decoding sequence emits (and appends to its context) per step
    draft: float  # drafting time per step, as a multiple of a plain decode step at the same batch


def _run_events(f, table: StepTable, src: _Source, cfg: _Cfg, lo: int, hi: int):
    """The fast simulator: single steps while prompts are being prefilled, closed-form jumps over
    runs of decode-only steps up to the next completion (a heap of finish-step indices) or the step
    boundary at which the next admissible request arrives."""
    inp, out, dst, arr = src.inp, src.out, src.dsteps, src.arr
    ts, tf, te, k0s = src.t_sched, src.t_first, src.t_fin, src.k0
    budget, maxb, kvcap, chunked = cfg.budget, cfg.max_batch, cfg.kv_tokens, cfg.chunked
    kx, g, draft = cfg.extra, cfg.growth, cfg.draft
    cost = 1 + kx
    kind = src.arrivals.kind
    open_ = kind in ("poisson", "trace")
    closed = kind == "closed"
    bs, cs, ps, F = table.bs, table.cs, table.ps, table.flat
    blast, klast, plast, sc, sb = len(bs) - 2, len(cs) - 2, len(ps) - 2, len(ps), len(cs) * len(ps)
    ibmax = table.integer_rows
    heap: list[tuple[int, int]] = []
    waiting: deque[int] = deque()
    rows: dict[int, tuple[list[float], list[float]]] = {}
    ev: list[tuple] = []
    hpush, hpop = heapq.heappush, heapq.heappop
    t, k, B, base, nrun, kvused = 0.0, 0, 0, 0.0, 0, 0
    part, part_rem = -1, 0  # the request whose prompt is part-way through prefill (at most one)
    todo = hi - lo
    n_avail = len(inp)
    i = 0
    if not open_:
        first = src.arrivals.concurrency if closed else hi
        while n_avail < first:
            n_avail += src.more()
        waiting.extend(range(first))
        i = first

    while todo > 0:
        if open_:
            while True:
                if i == n_avail:
                    n_avail += src.more()
                if i < n_avail and arr[i] <= t:
                    waiting.append(i)
                    i += 1
                else:
                    break
        left = budget - B * cost
        adm = False
        if waiting and left > 0 and nrun < maxb:
            r = waiting[0]
            adm = kvused + inp[r] + out[r] <= kvcap
        finished: list[int] = []
        if part >= 0 or adm:  # ---- one step with prompt tokens in it
            P = 0
            done: list[int] = []
            npre = 0
            if part >= 0 and left > 0:
                npre = 1
                if part_rem <= left:
                    P, left = part_rem, left - part_rem
                    done.append(part)
                    part = -1
                else:
                    P, part_rem, left = left, part_rem - left, 0
            while waiting and left > 0 and nrun < maxb:
                r = waiting[0]
                need = inp[r] + out[r]
                if kvused + need > kvcap:
                    break
                x = inp[r]
                if x > left and not chunked and P > 0:
                    break
                waiting.popleft()
                nrun += 1
                kvused += need
                ts[r] = t
                npre += 1
                if x <= left or not chunked:
                    P += x
                    left -= x
                    done.append(r)
                else:
                    P += left
                    part, part_rem, left = r, x - left, 0
            if B:  # trilinear on the flat table; batch rows are exact up to `ibmax`
                c = base / B + g * k
                ic = bisect_right(cs, c) - 1
                ic = 0 if ic < 0 else (klast if ic > klast else ic)
                wc = (c - cs[ic]) / (cs[ic + 1] - cs[ic])
            else:
                ic, wc = 0, 0.0
            if B <= ibmax:
                ib, wb = B, 0.0
            else:
                ib = bisect_right(bs, B) - 1
                ib = blast if ib > blast else ib
                wb = (B - bs[ib]) / (bs[ib + 1] - bs[ib])
            x = P + B * kx
            ip = bisect_right(ps, x) - 1
            ip = 0 if ip < 0 else (plast if ip > plast else ip)
            wp = (x - ps[ip]) / (ps[ip + 1] - ps[ip])
            o = ib * sb + ic * sc + ip
            u = F[o] + (F[o + 1] - F[o]) * wp
            d = u + (F[o + sc] + (F[o + sc + 1] - F[o + sc]) * wp - u) * wc
            if draft and B:
                q = o - ip
                d0 = F[q] + (F[q + sc] - F[q]) * wc
            if wb:
                o += sb
                u = F[o] + (F[o + 1] - F[o]) * wp
                d += (u + (F[o + sc] + (F[o + sc + 1] - F[o + sc]) * wp - u) * wc - d) * wb
                if draft and B:
                    q = o - ip
                    d0 += (F[q] + (F[q + sc] - F[q]) * wc - d0) * wb
            if draft and B:
                d += draft * d0
            t += d
            k += 1
            ev.append((t, 1, B, B + npre, P, B * g + len(done), d, d))
            while heap and heap[0][0] < k:
                r = hpop(heap)[1]
                B -= 1
                base -= inp[r] + 1 - g * k0s[r]
                finished.append(r)
            for r in done:
                tf[r] = t
                m = dst[r]
                if m:
                    B += 1
                    k0s[r] = k
                    base += inp[r] + 1 - g * k
                    hpush(heap, (k + m - 1, r))
                else:
                    finished.append(r)
        elif B:  # ---- a run of decode-only steps, summed in closed form
            n = heap[0][0] - k + 1
            row = rows.get(B)
            if row is None:
                row = rows[B] = table.decode_row(B, B * kx, draft)
            ys, sl = row
            c0 = base / B + g * k
            target = -1.0
            if open_ and not waiting and left > 0 and nrun < maxb:
                if i == n_avail:
                    n_avail += src.more()
                if i < n_avail and kvused + inp[i] + out[i] <= kvcap:
                    target = arr[i] - t
            seg = bisect_right(cs, c0) - 1
            seg = 0 if seg < 0 else (klast if seg > klast else seg)
            j, tot, d0 = 0, 0.0, -1.0
            s = sl[seg]
            a = ys[seg] + s * (c0 - cs[seg])
            h = s * g
            if seg >= klast or c0 + g * (n - 1) < cs[seg + 1]:  # the whole run inside one segment
                tot = n * a + h * n * (n - 1) * 0.5
                if target >= 0.0 and tot >= target:
                    n = _steps_to_reach(a, h, target, n)
                    tot = n * a + h * n * (n - 1) * 0.5
                d0, d1, seg = a, a + h * (n - 1), -1
            while seg >= 0:  # the run crosses context knots: segment by segment
                if seg >= klast:
                    m = n - j
                else:
                    m = math.ceil((cs[seg + 1] - c0) / g) - j
                    if m <= 0:
                        seg += 1
                        continue
                    if m > n - j:
                        m = n - j
                s = sl[seg]
                a = ys[seg] + s * (c0 + g * j - cs[seg])
                h = s * g  # step-time increment per step inside this segment
                if d0 < 0.0:
                    d0 = a
                seg_t = m * a + h * m * (m - 1) * 0.5
                if target >= 0.0 and tot + seg_t >= target:
                    m = _steps_to_reach(a, h, target - tot, m)
                    tot += m * a + h * m * (m - 1) * 0.5
                    j += m
                    n = j
                    d1 = a + h * (m - 1)
                    break
                tot += seg_t
                j += m
                if j >= n:
                    d1 = a + h * (m - 1)
                    break
                seg += 1
            t += tot
            k += n
            ev.append((t, n, B, B, 0, n * B * g, d0, d1))
            while heap and heap[0][0] < k:
                r = hpop(heap)[1]
                B -= 1
                base -= inp[r] + 1 - g * k0s[r]
                finished.append(r)
        else:  # ---- idle until the next arrival
            if open_ and i < n_avail:
                t = arr[i] if arr[i] > t else t
                continue
            raise InfercastError("the simulation stalled with requests unserved", field="input_len")
        if B == 0:
            base = 0.0
        for r in finished:
            te[r] = t
            nrun -= 1
            kvused -= inp[r] + out[r]
            if lo <= r < hi:
                todo -= 1
            if closed:
                if i == n_avail:
                    n_avail += src.more()
                arr[i] = t
                waiting.append(i)
                i += 1
    return ev, i


def _steps_to_reach(a: float, h: float, R: float, m: int) -> int:
    """Smallest n in [1, m] with n*a + h*n*(n-1)/2 >= R (steps of a linearly growing duration)."""
    if abs(h) * m < 1e-12 * a:
        n = math.ceil(R / a)
    else:
        qa, qb = 0.5 * h, a - 0.5 * h
        disc = qb * qb + 4.0 * qa * R
        n = math.ceil((-qb + math.sqrt(disc)) / (2.0 * qa)) if disc >= 0.0 else m
    n = 1 if n < 1 else (m if n > m else n)
    while n > 1 and (n - 1) * a + h * (n - 1) * (n - 2) * 0.5 >= R:
        n -= 1
    while n < m and n * a + h * n * (n - 1) * 0.5 < R:
        n += 1
    return n


def _run_steps(f, table: StepTable, src: _Source, cfg: _Cfg, lo: int, hi: int):
    """The reference: one engine step at a time, every sequence's context and remaining steps kept
    and updated per step. Slow; used to check `_run_events` and as the benchmark's baseline."""
    inp, out, dst, arr = src.inp, src.out, src.dsteps, src.arr
    ts, tf, te = src.t_sched, src.t_first, src.t_fin
    kind = src.arrivals.kind
    open_ = kind in ("poisson", "trace")
    closed = kind == "closed"
    kx, g = cfg.extra, cfg.growth
    decoding: list[list] = []  # [request, context, steps left]
    prefilling: list[list] = []  # [request, prompt tokens left], admission order
    waiting: deque[int] = deque()
    ev: list[tuple] = []
    t, kvused, todo, i = 0.0, 0, hi - lo, 0
    if not open_:
        i = src.arrivals.concurrency if closed else hi
        while len(inp) < i:
            src.more()
        waiting.extend(range(i))
    while todo > 0:
        while open_:
            if i == len(inp):
                src.more()
            if i < len(inp) and arr[i] <= t:
                waiting.append(i)
                i += 1
            else:
                break
        left = cfg.budget - len(decoding) * (1 + kx)
        chunks = []  # (entry, tokens this step)
        for e in prefilling:
            if left <= 0:
                break
            x = min(e[1], left)
            chunks.append((e, x))
            left -= x
        while waiting and left > 0 and len(decoding) + len(prefilling) < cfg.max_batch:
            r = waiting[0]
            if kvused + inp[r] + out[r] > cfg.kv_tokens:
                break
            if inp[r] > left and not cfg.chunked and chunks:
                break
            waiting.popleft()
            kvused += inp[r] + out[r]
            ts[r] = t
            e = [r, inp[r]]
            prefilling.append(e)
            x = inp[r] if not cfg.chunked else min(inp[r], left)
            chunks.append((e, x))
            left -= x
        P = sum(x for _, x in chunks)
        B = len(decoding)
        if B == 0 and P == 0:
            if open_ and i < len(inp):
                t = max(t, arr[i])
                continue
            raise InfercastError("the simulation stalled with requests unserved", field="input_len")
        if B:
            c = sum(e[1] for e in decoding) / B
            d = f(B, c, P + B * kx) + (cfg.draft * f(B, c, 0.0) if cfg.draft else 0.0)
        else:
            d = f(0.0, 1.0, float(P))
        t += d
        finished = []
        still = []
        for e in decoding:
            e[1] += g
            e[2] -= 1
            if e[2] > 0:
                still.append(e)
            else:
                finished.append(e[0])
        finished.sort()
        decoding = still
        nfirst = 0
        for e, x in chunks:
            e[1] -= x
            if e[1] == 0:
                prefilling.remove(e)
                r = e[0]
                tf[r] = t
                nfirst += 1
                if dst[r]:
                    decoding.append([r, inp[r] + 1, dst[r]])
                else:
                    finished.append(r)
        ev.append((t, 1, B, B + len(chunks), P, B * g + nfirst, d, d))
        for r in finished:
            te[r] = t
            kvused -= inp[r] + out[r]
            if lo <= r < hi:
                todo -= 1
            if closed:
                if i == len(inp):
                    src.more()
                arr[i] = t
                waiting.append(i)
                i += 1
    return ev, i


# --- summary and entry point ----------------------------------------------------------------------

def _summarise(src: _Source, ev: list[tuple], seen: int, lo: int, hi: int, warmup: int, max_ttft,
               max_tpot) -> SimResult:
    def floats(xs, a, b):
        return np.fromiter(islice(xs, a, b), dtype=float, count=b - a)

    a, s, f1, fe = (floats(x, lo, hi) for x in (src.arr, src.t_sched, src.t_first, src.t_fin))
    out = floats(src.out, lo, hi)
    ttft, e2e, queue = f1 - a, fe - a, s - a
    multi = out > 1
    tpot = (e2e[multi] - ttft[multi]) / (out[multi] - 1)
    kind = src.arrivals.kind
    t0 = float(a[0])
    t1 = float(a[-1]) if kind in ("poisson", "closed") else float(fe.max())
    if t1 <= t0:
        t1 = float(fe.max())
    dur = max(t1 - t0, 1e-300)
    te = floats(src.t_fin, 0, seen)
    done_in = int(np.sum((te > t0) & (te <= t1)))
    # the events around the window: from the last one ending by t0 to the first one ending after t1
    key = itemgetter(0)
    i0 = max(bisect_right(ev, t0, key=key) - 1, 0)
    i1 = min(bisect_right(ev, t1, key=key) + 1, len(ev))
    E = np.fromiter(chain.from_iterable(ev[i0:i1]), dtype=float, count=8 * (i1 - i0)).reshape(-1, 8)
    if i0 == 0:
        E = np.vstack([np.zeros((1, 8)), E])  # the start, t = 0
    T = E[:, 0]
    cum_out = np.cumsum(E[:, 5]) - E[0, 5]  # tokens emitted by the end of each event, from the first
    cum_in = np.cumsum(E[:, 4]) - E[0, 4]
    out_tok = float(np.interp(t1, T, cum_out) - np.interp(t0, T, cum_out))
    in_tok = float(np.interp(t1, T, cum_in) - np.interp(t0, T, cum_in))
    m_in = _steps_ending_by(E, t1) - _steps_ending_by(E, t0)  # steps of each event inside the window
    keep = m_in > 0
    w, m_in = E[keep], m_in[keep]
    steps = float(m_in.sum())
    dec, m_dec = w[w[:, 2] > 0], m_in[w[:, 2] > 0]
    # inter-token gaps: every decoding sequence of a step waits that step's duration; a run of n
    # steps with durations d0, d0 + h, ..., d1 is spread uniformly over [d0 - h/2, d1 + h/2]
    n_, d0, d1 = dec[:, 1], dec[:, 6], dec[:, 7]
    half = np.where(n_ > 1, (d1 - d0) / np.maximum(n_ - 1, 1) / 2.0, 0.0)
    itl = _uniform_mixture(d0 - half, d1 + half, dec[:, 2] * m_dec)
    ok_t = ttft <= max_ttft if max_ttft is not None else np.ones_like(ttft, dtype=bool)
    ok_p = np.ones_like(ttft, dtype=bool)
    if max_tpot is not None:
        ok_p[multi] = tpot <= max_tpot
    targets = max_ttft is not None or max_tpot is not None
    dsteps = floats(src.dsteps, lo, hi)
    return SimResult(
        requests=hi - lo, warmup=warmup, simulated=seen, duration_s=dur,
        requests_per_s=done_in / dur, output_tok_per_s=out_tok / dur, input_tok_per_s=in_tok / dur,
        total_tok_per_s=(out_tok + in_tok) / dur,
        ttft=Dist.of(ttft), tpot=Dist.of(tpot), itl=itl, e2e=Dist.of(e2e),
        queue=Dist.of(queue),
        slo_attainment=float(np.mean(ok_t & ok_p)) if targets else None,
        ttft_attainment=float(np.mean(ok_t)) if max_ttft is not None else None,
        tpot_attainment=float(np.mean(ok_p)) if max_tpot is not None else None,
        mean_batch=float((w[:, 3] * m_in).sum() / steps) if steps else 0.0,
        mean_decode_batch=float((w[:, 2] * m_in).sum() / steps) if steps else 0.0,
        tokens_per_step=float((out[multi] - 1).sum() / max(dsteps[multi].sum(), 1.0)) if multi.any() else 1.0,
        steps=int(steps))


def _uniform_mixture(lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> Dist:
    """Mean and percentiles of a mixture of uniform distributions on [lo, hi] with weights w
    (point masses where hi - lo is negligible): exact, from the piecewise-linear mixture CDF."""
    keep = w > 0
    lo, hi, w = lo[keep], hi[keep], w[keep]
    if w.size == 0:
        return Dist(0.0, 0.0, 0.0, 0.0)
    W = float(w.sum())
    mean = float((w * (lo + hi)).sum() / (2.0 * W))
    pt = (hi - lo) <= 1e-9 * np.abs(hi)
    mid = (lo + hi) / 2.0
    dens = w[~pt] / (hi[~pt] - lo[~pt])
    xs = np.concatenate([lo[~pt], hi[~pt], mid[pt]])
    dd = np.concatenate([dens, -dens, np.zeros(int(pt.sum()))])  # density change at each breakpoint
    jp = np.concatenate([np.zeros(2 * dens.size), w[pt]])  # point mass at each breakpoint
    o = np.argsort(xs)
    xs, dd, jp = xs[o], dd[o], jp[o]
    d_after = np.maximum(np.cumsum(dd), 0.0)  # density right of each breakpoint
    cont = np.concatenate([[0.0], d_after[:-1] * np.diff(xs)])  # mass between previous breakpoint and this
    F_before = np.cumsum(cont) + np.concatenate([[0.0], np.cumsum(jp)[:-1]])  # CDF just left of each
    F_at = F_before + jp
    qs = []
    for q in (0.5, 0.9, 0.99):
        target = q * W
        i = min(int(np.searchsorted(F_at, target, side="left")), xs.size - 1)
        if i > 0 and target < F_before[i] and d_after[i - 1] > 0:
            qs.append(float(xs[i - 1] + (target - F_at[i - 1]) / d_after[i - 1]))
        else:
            qs.append(float(xs[i]))
    return Dist(mean, *qs)


def _steps_ending_by(E: np.ndarray, x: float) -> np.ndarray:
    """For each event (a run of n steps whose durations grow linearly from d0 to d1, ending at
    t_end), how many of its steps end at or before time x."""
    t_end, n, d0, d1 = E[:, 0], E[:, 1], E[:, 6], E[:, 7]
    out = np.where(t_end <= x, n, 0.0)
    cut = np.flatnonzero((t_end > x) & (n > 1))
    if cut.size:
        n_, a, b = n[cut], d0[cut], d1[cut]
        h = (b - a) / (n_ - 1)
        before = x - (t_end[cut] - n_ * (a + b) / 2.0)  # time from the run's start to x
        # steps j with j*a + h*j*(j-1)/2 <= before
        qa, qb = h / 2.0, a - h / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.where(np.abs(qa) > 1e-15 * a,
                            (-qb + np.sqrt(np.maximum(qb * qb + 4 * qa * before, 0.0))) / (2 * qa), before / a)
        out[cut] = np.clip(np.floor(root + 1e-9), 0, n_)
    return out


def _count(name: str, value, lo: int, hi: int) -> int:
    v = check_number(name, value, integer=True, allow_none=False)
    if not lo <= v <= hi:
        raise InfercastError(f"{name} must be a whole number from {lo} to {hi}, got {value}", field=name, value=value)
    return v


def simulate(step: StepModel | StepTable, lengths: Lengths, arrivals: Arrivals, *, requests: int = 2000,
             warmup: int | None = None, token_budget: int = DEFAULT_TOKEN_BUDGET, max_batch: int | None = None,
             chunked_prefill: bool = True, spec: SpecDecode | None = None, max_ttft: float | None = None,
             max_tpot: float | None = None, seed: int = 0, method: str = "events") -> SimResult:
    """Simulate one replica serving `requests` measured requests (after `warmup` discarded ones).

    warmup default: none offline or for a trace; 10 % of `requests` for Poisson arrivals; for a closed
    loop the larger of 10 % and 2 x concurrency (the first wave of C prompts arrives together).
    Requests keep arriving after the measured ones until those complete, so they are measured in
    steady state. `method="steps"` runs the step-by-step reference instead of the event loop.
    A trace replay measures its rows after `warmup`; `requests` is then ignored.
    """
    if method not in ("events", "steps"):
        raise InfercastError(f"method must be 'events' or 'steps', got {method!r}", field="method")
    requests = _count("requests", requests, 1, 10_000_000)
    budget = _count("token_budget", token_budget, 1, 10_000_000)
    seed = check_number("seed", seed, integer=True, allow_none=False)
    max_ttft = check_number("max_ttft", max_ttft)
    max_tpot = check_number("max_tpot", max_tpot)
    table = step if isinstance(step, StepTable) else None
    model = table.step if table is not None else step
    cap = int(model.max_batch) if max_batch is None else _count("max_batch", max_batch, 1, 10_000_000)
    kx = spec.k if spec is not None else 0
    cap = min(cap, int(model.max_batch), budget // (1 + kx))  # every running decode fits the budget
    if cap < 1:
        raise InfercastError(f"token_budget {budget} cannot hold one decode step of {1 + kx} tokens",
                             field="token_budget", value=budget)
    kv = float(model.kv_tokens)
    if lengths.max_total > kv:
        raise DoesNotFitError(f"a request of {lengths.max_total} tokens (prompt + output) needs more KV cache than "
                              f"the replica holds ({kv:.0f} tokens); use shorter requests or a larger replica",
                              field="input_len", value=lengths.max_total)
    max_tokens = max(budget, lengths.max_input) if not chunked_prefill else budget
    if table is None or not table.covers(cap, lengths.max_total + 1, max_tokens):
        table = StepTable.build(model, max_batch=cap, max_context=lengths.max_total + 1, max_tokens=max_tokens)
    kind = arrivals.kind
    if warmup is None:
        warmup = (math.ceil(0.1 * requests) if kind == "poisson" else
                  max(math.ceil(0.1 * requests), 2 * arrivals.concurrency) if kind == "closed" else 0)
    warmup = _count("warmup", warmup, 0, 100_000_000)
    if kind == "trace":
        rows = len(arrivals.times)
        if rows != len(lengths.table_input if lengths.table_input is not None else []):
            raise InfercastError("a trace replay needs the trace's own lengths (read_trace gives both)", field="trace")
        if warmup >= rows:
            raise InfercastError(f"warmup {warmup} leaves none of the trace's {rows} requests to measure",
                                 field="warmup", value=warmup)
        requests = rows - warmup
    lo, hi = warmup, warmup + requests
    g = spec.mean_tokens if spec is not None else 1.0
    cfg = _Cfg(budget, cap, kv, bool(chunked_prefill), kx, g, kx * spec.draft_cost if spec is not None else 0.0)
    src = _Source(lengths, arrivals, spec, seed, chunk=min(hi, 65536) if kind != "offline" else hi)
    run = _run_events if method == "events" else _run_steps
    ev, seen = run(table.scalar(), table, src, cfg, lo, hi)
    return _summarise(src, ev, seen, lo, hi, warmup, max_ttft, max_tpot)


def simulate_deployment(dep, lengths: Lengths, arrivals: Arrivals, **kw) -> SimResult:
    """`simulate` with the deployment's own step model (prompt length and KV context from the workload)."""
    step = step_model(dep, prompt_len=lengths.mean_input, context=lengths.mean_input + lengths.mean_output)
    return simulate(step, lengths, arrivals, **kw)
