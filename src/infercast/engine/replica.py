"""One replica's scheduler, advanced event by event (`run_events`) or step by step (`run_steps`).

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
- `mixed=False` is SGLang's default scheduler instead: a step is a prefill batch or a decode batch,
  never both (`enable_mixed_chunk` defaults to False), and prefill goes first: whenever a waiting
  request can be admitted, the next step prefills (up to the budget, the last prompt chunked) while
  the running decodes wait [sglang python/sglang/srt/managers/scheduler.py get_next_batch_to_run:
  "Run prefill first if possible"; server_args.py].

`run_events` advances between events: arrivals, steps that carry prompt tokens, completions.
Between events the batch is fixed and every context grows by the same amount per step, so the
time of n decode steps is a closed-form sum over the step table's piecewise-linear interpolant
(exact for that interpolant); completions come off a heap of finish-step indices. `run_steps` is
the reference: one step at a time, every sequence's context and remaining steps updated per step.
Both return the run's events, tuples (end time, steps, decode batch, sequences in the step, prompt
tokens, output tokens, first step's duration, last step's duration), and the number of requests
that arrived.
"""
from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

import numpy as np

from infercast.engine.steptable import StepTable
from infercast.engine.workload import Arrivals, Lengths, SpecDecode
from infercast.errors import InfercastError


class RequestStream:
    """Requests generated in chunks as the run needs them: lengths, decode steps, arrival times.

    `pin` is the prompt this replica prefills (the whole prompt; 0 for a request prefilled on
    another replica, which starts decoding on admission) and `need` the KV tokens it reserves."""

    def __init__(self, lengths: Lengths, arrivals: Arrivals, spec: SpecDecode | None, seed: int, chunk: int):
        self.lengths, self.arrivals, self.spec = lengths, arrivals, spec
        self.rng = np.random.default_rng(seed)
        self.chunk = max(256, chunk)
        self.inp: list[int] = []  # prompt tokens (the context a request's first decode step reads)
        self.out: list[int] = []
        self.pin: list[int] = []  # prompt tokens to prefill on this replica
        self.need: list[int] = []  # KV tokens reserved at admission
        self.dsteps: list[int] = []  # decode steps after the first token
        self.arr: list[float] = []  # arrival times (open loop); filled as clients send (closed loop)
        self.t_sched: list[float] = []  # start of the step that admits the request
        self.t_first: list[float] = []  # first token (from this replica's prefill)
        self.t_fin: list[float] = []  # last token
        self.k0: list[int] = []  # index of the first decode step
        self.t_last = 0.0
        self.finite = arrivals.kind == "trace"

    @classmethod
    def replay(cls, inp, out, dsteps, arr, pin, need) -> "RequestStream":
        """A finite list of requests arriving at `arr` (one replica's share of a disaggregated pool)."""
        src = cls(Lengths(1, 1), Arrivals("trace", times=np.asarray(arr, dtype=float)), None, 0, 1)
        src._add(inp, out, dsteps, arr, pin, need)
        src.finite = True
        return src

    def _add(self, inp, out, dsteps, arr, pin, need) -> int:
        for lst, x in ((self.inp, inp), (self.out, out), (self.dsteps, dsteps), (self.arr, arr), (self.pin, pin),
                       (self.need, need)):
            lst.extend(np.asarray(x).tolist())
        n = len(inp)
        nan = [math.nan] * n
        self.t_sched.extend(nan)
        self.t_first.extend(nan)
        self.t_fin.extend(nan)
        self.k0.extend([0] * n)
        return n

    def more(self, n: int | None = None) -> int:
        if self.finite:
            if self.inp:
                return 0
            i, o, t = self.lengths.table_input, self.lengths.table_output, self.arrivals.times
        else:
            n = n or self.chunk
            i, o = self.lengths.sample(n, self.rng)
            if self.arrivals.kind == "poisson":
                t = self.t_last + np.cumsum(self.rng.exponential(1.0 / self.arrivals.rate, n))
                self.t_last = float(t[-1])
            else:
                t = np.zeros(n)
        d = np.maximum(np.asarray(o) - 1, 0)
        if self.spec is not None:
            d = self.spec.steps_for(d, self.rng)
        return self._add(i, o, d, t, i, np.asarray(i) + np.asarray(o))


@dataclass(frozen=True)
class ReplicaConfig:
    budget: int
    max_batch: int
    kv_tokens: float
    chunked: bool
    extra: int  # draft tokens verified per decoding sequence per step (speculative decoding k)
    growth: float  # mean tokens a decoding sequence emits (and appends to its context) per step
    draft: float  # drafting time per step, as a multiple of a plain decode step at the same batch
    mixed: bool = True  # prompt chunks share a step with the running decodes (False: SGLang's prefill-first batches)


def run_events(f, table: StepTable, src: RequestStream, cfg: ReplicaConfig, lo: int, hi: int):
    """The fast simulator: single steps while prompts are being prefilled, closed-form jumps over
    runs of decode-only steps up to the next completion (a heap of finish-step indices) or the step
    boundary at which the next admissible request arrives."""
    inp, need, pin, dst, arr = src.inp, src.need, src.pin, src.dsteps, src.arr
    ts, tf, te, k0s = src.t_sched, src.t_first, src.t_fin, src.k0
    budget, maxb, kvcap, chunked, mixed = cfg.budget, cfg.max_batch, cfg.kv_tokens, cfg.chunked, cfg.mixed
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
    if open_:
        n_avail += src.more() if n_avail == 0 else 0
    else:
        first = src.arrivals.concurrency if closed else hi
        while n_avail < first:
            n_avail += src.more()
        waiting.extend(range(first))
        i = first

    while todo > 0:
        if open_:
            while i < n_avail and arr[i] <= t:
                waiting.append(i)
                i += 1
                if i == n_avail:
                    n_avail += src.more()
        left = budget - B * cost if mixed else budget
        adm = False
        if waiting and left > 0 and nrun < maxb:
            r = waiting[0]
            adm = kvused + need[r] <= kvcap
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
                nr = need[r]
                if kvused + nr > kvcap:
                    break
                x = pin[r]
                if x > left and not chunked and P > 0 or x == 0 and left < cost:
                    break
                waiting.popleft()
                nrun += 1
                kvused += nr
                ts[r] = t
                if x == 0:  # prefilled on another replica: decodes from this step on
                    B += 1
                    k0s[r] = k
                    base += inp[r] + 1 - g * k
                    hpush(heap, (k + dst[r] - 1, r))
                    left -= cost
                    continue
                npre += 1
                if x <= left or not chunked:
                    P += x
                    left -= x
                    done.append(r)
                else:
                    P += left
                    part, part_rem, left = r, x - left, 0
            Bs = B if mixed else 0  # the decodes in this step
            if Bs:  # trilinear on the flat table; batch rows are exact up to `ibmax`
                c = base / B + g * k
                ic = bisect_right(cs, c) - 1
                ic = 0 if ic < 0 else (klast if ic > klast else ic)
                wc = (c - cs[ic]) / (cs[ic + 1] - cs[ic])
            else:
                ic, wc = 0, 0.0
            if Bs <= ibmax:
                ib, wb = Bs, 0.0
            else:
                ib = bisect_right(bs, Bs) - 1
                ib = blast if ib > blast else ib
                wb = (Bs - bs[ib]) / (bs[ib + 1] - bs[ib])
            x = P + Bs * kx
            ip = bisect_right(ps, x) - 1
            ip = 0 if ip < 0 else (plast if ip > plast else ip)
            wp = (x - ps[ip]) / (ps[ip + 1] - ps[ip])
            o = ib * sb + ic * sc + ip
            u = F[o] + (F[o + 1] - F[o]) * wp
            d = u + (F[o + sc] + (F[o + sc + 1] - F[o + sc]) * wp - u) * wc
            if draft and Bs:
                q = o - ip
                d0 = F[q] + (F[q + sc] - F[q]) * wc
            if wb:
                o += sb
                u = F[o] + (F[o + 1] - F[o]) * wp
                d += (u + (F[o + sc] + (F[o + sc + 1] - F[o + sc]) * wp - u) * wc - d) * wb
                if draft and Bs:
                    q = o - ip
                    d0 += (F[q] + (F[q + sc] - F[q]) * wc - d0) * wb
            if draft and Bs:
                d += draft * d0
            t += d
            ev.append((t, 1, Bs, Bs + npre, P, Bs * g + len(done), d, d))
            if mixed:  # the decodes took a step: k counts decode steps, so a prefill-only step leaves it
                k += 1
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
                if i < n_avail and kvused + need[i] <= kvcap:
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
            kvused -= need[r]
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


def run_steps(f, table: StepTable, src: RequestStream, cfg: ReplicaConfig, lo: int, hi: int):
    """The reference: one engine step at a time, every sequence's context and remaining steps kept
    and updated per step. Slow; used to check `run_events` and as the benchmark's baseline."""
    inp, need, pin, dst, arr = src.inp, src.need, src.pin, src.dsteps, src.arr
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
        left = cfg.budget - len(decoding) * (1 + kx) if cfg.mixed else cfg.budget
        chunks = []  # (entry, tokens this step)
        for e in prefilling:
            if left <= 0:
                break
            x = min(e[1], left)
            chunks.append((e, x))
            left -= x
        while waiting and left > 0 and len(decoding) + len(prefilling) < cfg.max_batch:
            r = waiting[0]
            if kvused + need[r] > cfg.kv_tokens:
                break
            if pin[r] > left and not cfg.chunked and chunks or pin[r] == 0 and left < 1 + kx:
                break
            waiting.popleft()
            kvused += need[r]
            ts[r] = t
            if pin[r] == 0:  # prefilled elsewhere: joins this step's decodes
                decoding.append([r, inp[r] + 1, dst[r]])
                left -= 1 + kx
                continue
            e = [r, pin[r]]
            prefilling.append(e)
            x = pin[r] if not cfg.chunked else min(pin[r], left)
            chunks.append((e, x))
            left -= x
        P = sum(x for _, x in chunks)
        paused = [] if cfg.mixed or not chunks else decoding  # prefill first: the decodes wait out this step
        if paused:
            decoding = []
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
        decoding = paused + still
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
            kvused -= need[r]
            if lo <= r < hi:
                todo -= 1
            if closed:
                if i == len(inp):
                    src.more()
                arr[i] = t
                waiting.append(i)
                i += 1
    return ev, i
