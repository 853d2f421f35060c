"""Request-level discrete-event simulation of continuous batching: what a benchmark client measures.

`simulate` runs one replica (the caller multiplies by replicas) under a workload (`workload`:
lengths and arrivals) with the scheduler of vLLM / TensorRT-LLM (`replica`) and step times from a
`StepModel` (`steptable`), and reports throughput, TTFT / TPOT / ITL / end-to-end / queueing
percentiles, SLO attainment and batch sizes (`SimResult`). `simulate_disaggregated` runs separate
prefill and decode pools. `method="events"` is the fast event loop, `method="steps"` the
step-by-step reference; they agree to float rounding, and the grid's interpolation error against
the step model itself is `StepTable.max_error()` (<= 0.3 % on the shipped models).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter

import numpy as np

from infercast.engine.replica import ReplicaConfig, RequestStream, run_events, run_steps
from infercast.engine.steptable import DeploymentStep, StepModel, StepTable, step_model
from infercast.engine.workload import Arrivals, Lengths, SpecDecode
from infercast.errors import DoesNotFitError, InfercastError
from infercast.vocabulary import check_number

__all__ = ["DEFAULT_TOKEN_BUDGET", "DeploymentStep", "Dist", "SimResult", "StepModel", "StepTable",
           "deployment_table", "sent_after_next_step", "simulate",
           "simulate_deployment", "simulate_disaggregated", "step_model"]

DEFAULT_TOKEN_BUDGET = 8192  # vLLM V1 offline / TensorRT-LLM default max_num_tokens
MAX_REQUESTS = 1_000_000  # measured (and warm-up) requests of one run: ~10 s, a few hundred MB


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
    """What a benchmark client reports: latencies of the measured requests, throughput of the
    replica (of every replica of both pools, disaggregated).

    The measurement window runs from the arrival of the first measured request to the arrival of
    the last one for Poisson and closed-loop arrivals (steady state), to the last completion for
    offline and trace runs; throughputs, `requests_per_s` (completions), batch sizes and ITL count
    the steps that end inside it. TPOT per request is (e2e - ttft) / (output - 1) (bench_serving,
    genai-perf); ITL is the gap between successive token-emitting steps, over every token emitted in
    the window; queueing is arrival to the start of the step that admits the request.
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
    steps: int  # engine steps in the window (per decode replica)

    def as_dict(self) -> dict:
        d = {}
        for k, v in self.__dict__.items():
            if isinstance(v, Dist):
                for s in ("mean", "p50", "p90", "p99"):
                    d[f"{k}_{s}_s"] = getattr(v, s)
            else:
                d[k] = v
        return d


# --- summary and entry point ----------------------------------------------------------------------

def _floats(xs: list, a: int, b: int) -> np.ndarray:
    return np.fromiter(islice(xs, a, b), dtype=float, count=b - a)


def _window(ev: list[tuple], t0: float, t1: float):
    """One replica's events around the window (t0, t1]: output and input tokens of the steps that end
    inside it, and the events with how many of their steps do."""
    key = itemgetter(0)
    i0 = max(bisect_right(ev, t0, key=key) - 1, 0)  # the last event ending by t0 ...
    i1 = min(bisect_right(ev, t1, key=key) + 1, len(ev))  # ... to the first ending after t1
    E = np.fromiter(chain.from_iterable(ev[i0:i1]), dtype=float, count=8 * (i1 - i0)).reshape(-1, 8)
    m_in = _steps_ending_by(E, t1) - _steps_ending_by(E, t0)
    keep = m_in > 0
    E, m_in = E[keep], m_in[keep]
    share = m_in / E[:, 1]  # tokens are spread evenly over a run's steps
    return float(E[:, 5] @ share), float(E[:, 4] @ share), E, m_in


def _summarise(req: dict[str, np.ndarray], streams: list[list[tuple]], batch_streams: list[list[tuple]],
               kind: str, lo: int, hi: int, warmup: int, max_ttft, max_tpot) -> SimResult:
    """Statistics of requests lo..hi-1 (arrays over every request that arrived, by index) and of the
    replicas' event streams: all of them for tokens, `batch_streams` (some of them) for batch sizes and ITL."""
    a, s, f1, fe = (req[k][lo:hi] for k in ("arr", "t_sched", "t_first", "t_fin"))
    out = req["out"][lo:hi]
    ttft, e2e, queue = f1 - a, fe - a, s - a
    multi = out > 1
    tpot = (e2e[multi] - ttft[multi]) / (out[multi] - 1)
    t0 = float(a[0])
    t1 = float(a[-1]) if kind in ("poisson", "closed") else float(fe.max())
    if t1 <= t0:
        t1 = float(fe.max())
    dur = max(t1 - t0, 1e-300)
    te = req["t_fin"]
    done_in = int(np.sum((te > t0) & (te <= t1)))
    win = {id(ev): _window(ev, t0, t1) for ev in streams}
    out_tok = sum(w[0] for w in win.values())
    in_tok = sum(w[1] for w in win.values())
    parts = [win[id(ev)][2:] for ev in batch_streams]
    w = np.concatenate([p[0] for p in parts])
    m_in = np.concatenate([p[1] for p in parts])
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
    dsteps = req["dsteps"][lo:hi]
    return SimResult(
        requests=hi - lo, warmup=warmup, simulated=int(te.size), duration_s=dur,
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
        steps=int(round(steps / max(len(batch_streams), 1))))


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


def _replica(step: StepModel | StepTable, *, budget: int, max_batch, chunked: bool, spec: SpecDecode | None,
             max_context: int, max_input: int, max_need: int, mixed: bool = True) -> tuple[StepTable, ReplicaConfig]:
    """The step table and scheduler settings of one replica, checked against the workload."""
    table = step if isinstance(step, StepTable) else None
    model = table.step if table is not None else step
    cap = int(model.max_batch) if max_batch is None else _count("max_batch", max_batch, 1, 10_000_000)
    kx = spec.k if spec is not None else 0
    cap = min(cap, int(model.max_batch), budget // (1 + kx))  # every running decode fits the budget
    if cap < 1:
        raise InfercastError(f"token_budget {budget} cannot hold one decode step of {1 + kx} tokens",
                             field="token_budget", value=budget)
    kv = float(model.kv_tokens)
    if max_need > kv:
        raise DoesNotFitError(f"a request of {max_need} tokens needs more KV cache than the replica holds "
                              f"({kv:.0f} tokens); use shorter requests or a larger replica",
                              field="input_len", value=max_need)
    max_tokens = max(budget, max_input) if not chunked else budget
    if table is None or not table.covers(cap, max_context, max_tokens):
        table = StepTable.build(model, max_batch=cap, max_context=max_context, max_tokens=max_tokens)
    g = spec.mean_tokens if spec is not None else 1.0
    return table, ReplicaConfig(budget, cap, kv, bool(chunked), kx, g, kx * spec.draft_cost if spec is not None else 0.0,
                                bool(mixed))


def _common(requests, token_budget, seed, max_ttft, max_tpot, method):
    if method not in ("events", "steps"):
        raise InfercastError(f"method must be 'events' or 'steps', got {method!r}", field="method")
    return (_count("requests", requests, 1, MAX_REQUESTS), _count("token_budget", token_budget, 1, 10_000_000),
            check_number("seed", seed, integer=True, allow_none=False), check_number("max_ttft", max_ttft),
            check_number("max_tpot", max_tpot), run_events if method == "events" else run_steps)


def _measured(arrivals: Arrivals, lengths: Lengths, requests: int, warmup) -> tuple[int, int, int]:
    """(warmup, lo, hi): the requests measured are lo..hi-1."""
    kind = arrivals.kind
    if warmup is None:
        warmup = (math.ceil(0.1 * requests) if kind == "poisson" else
                  max(math.ceil(0.1 * requests), 2 * arrivals.concurrency) if kind == "closed" else 0)
    warmup = _count("warmup", warmup, 0, MAX_REQUESTS)
    if kind == "trace":
        rows = len(arrivals.times)
        if rows != len(lengths.table_input if lengths.table_input is not None else []):
            raise InfercastError("a trace replay needs the trace's own lengths (read_trace gives both)", field="trace")
        if warmup >= rows:
            raise InfercastError(f"warmup {warmup} leaves none of the trace's {rows} requests to measure",
                                 field="warmup", value=warmup)
        requests = rows - warmup
    return warmup, warmup, warmup + requests


def simulate(step: StepModel | StepTable, lengths: Lengths, arrivals: Arrivals, *, requests: int = 2000,
             warmup: int | None = None, token_budget: int = DEFAULT_TOKEN_BUDGET, max_batch: int | None = None,
             chunked_prefill: bool = True, spec: SpecDecode | None = None, max_ttft: float | None = None,
             max_tpot: float | None = None, seed: int = 0, method: str = "events",
             first_token_next_step: bool = False, mixed_prefill: bool = True) -> SimResult:
    """Simulate one replica serving `requests` measured requests (after `warmup` discarded ones).

    warmup default: none offline or for a trace; 10 % of `requests` for Poisson arrivals; for a closed
    loop the larger of 10 % and 2 x concurrency (the first wave of C prompts arrives together).
    Requests keep arriving after the measured ones until those complete, so they are measured in
    steady state. `method="steps"` runs the step-by-step reference instead of the event loop.
    A trace replay measures its rows after `warmup`; `requests` is then ignored. Passing a
    `StepTable` (built once with `StepTable.build`) instead of a `StepModel` reuses its grid
    across runs; it is rebuilt only when the run needs a larger batch, context or token range.
    `first_token_next_step`: an overlap scheduler's tokens reach the client when the step after the one
    that made them ends (`sent_after_next_step`): TTFT and end-to-end latency are one step longer
    (the clients' next requests are still sent at the unshifted completions).
    `mixed_prefill=False`: SGLang's default scheduler, prefill batches apart from decode batches and run first
    (`replica` module doc).
    """
    requests, budget, seed, max_ttft, max_tpot, run = _common(requests, token_budget, seed, max_ttft, max_tpot, method)
    table, cfg = _replica(step, budget=budget, max_batch=max_batch, chunked=chunked_prefill, spec=spec,
                          max_context=lengths.max_total + 1, max_input=lengths.max_input, max_need=lengths.max_total,
                          mixed=mixed_prefill)
    warmup, lo, hi = _measured(arrivals, lengths, requests, warmup)
    kind = arrivals.kind
    src = RequestStream(lengths, arrivals, spec, seed, chunk=min(hi, 65536) if kind != "offline" else hi)
    ev, seen = run(table.scalar(), table, src, cfg, lo, hi)
    req = {k: _floats(getattr(src, k), 0, seen) for k in ("arr", "t_sched", "t_first", "t_fin", "out", "dsteps")}
    if first_token_next_step:  # every token, the first and the last included, is sent when the next step ends
        req["t_first"] = sent_after_next_step(req["t_first"], ev)
        req["t_fin"] = sent_after_next_step(req["t_fin"], ev)
    return _summarise(req, [ev], [ev], kind, lo, hi, warmup, max_ttft, max_tpot)


def sent_after_next_step(t: np.ndarray, ev: list[tuple]) -> np.ndarray:
    """When tokens made by the steps ending at `t` reach the client under an overlap scheduler [TensorRT-LLM
    overlap scheduler; SGLang zero-overhead batch scheduler]: the CPU processes a step's outputs while the GPU
    runs the next step, so they are sent when the next step ends: t plus that step's (first) duration. When
    the engine goes idle after t instead (the next step starts later, on an arrival), the outputs are
    processed at once and t stands. Events are (end, steps, decode batch, ..., first step's duration, ...)."""
    out = np.asarray(t, dtype=float).copy()
    if not ev:
        return out
    E = np.asarray([(e[0], e[1], e[2], e[6]) for e in ev], dtype=float)  # end, steps, decode batch, first step
    ends = E[:, 0]
    ok = np.isfinite(out)
    j = np.searchsorted(ends, out[ok], side="left")
    nxt = np.minimum(j + 1, len(ev) - 1)
    has_next = (j + 1 < len(ev)) & (ends[np.minimum(j, len(ev) - 1)] == out[ok])
    # a decode run follows its step at once; a single prompt step may follow an idle gap (it started later)
    single = E[nxt, 1] == 1
    start = np.where(single, ends[nxt] - E[nxt, 3], out[ok])
    back_to_back = (E[nxt, 2] > 0) | (start <= out[ok] * (1 + 1e-12) + 1e-12)
    out[ok] = np.where(has_next & back_to_back, out[ok] + E[nxt, 3], out[ok])
    return out


def simulate_disaggregated(prefill: StepModel | StepTable, decode: StepModel | StepTable, lengths: Lengths,
                           arrivals: Arrivals, *, n_prefill: int = 1, n_decode: int = 1, kv_transfer_s: float = 0.0,
                           kv_transfer_s_per_token: float = 0.0, requests: int = 2000, warmup: int | None = None,
                           token_budget: int = DEFAULT_TOKEN_BUDGET, max_batch: int | None = None,
                           spec: SpecDecode | None = None, max_ttft: float | None = None,
                           max_tpot: float | None = None, seed: int = 0, method: str = "events") -> SimResult:
    """Disaggregated prefill and decode: `n_prefill` replicas (step model `prefill`) run prompts only,
    chunked under `token_budget`, and emit each request's first token; its KV cache then moves to one
    of `n_decode` replicas (step model `decode`, batch cap `max_batch`, optional speculative
    decoding) in `kv_transfer_s` + `kv_transfer_s_per_token` x prompt tokens, and is decoded there
    from its admission on. Requests go round-robin to both pools (the decode pool in order of
    readiness). Results are for the whole system (every replica of both pools).

    Open-loop arrivals only (Poisson, offline, trace): the pools are simulated one after the other,
    which a closed loop (arrivals that wait on completions) cannot follow. With Poisson arrivals
    10 % more requests than measured arrive after the measured ones (the tail), then none.
    """
    if arrivals.kind == "closed":
        raise InfercastError("a closed loop is not simulated with disaggregated pools; use Poisson arrivals at "
                             "the rate the loop sustains", field="arrivals", value="closed")
    requests, budget, seed, max_ttft, max_tpot, run = _common(requests, token_budget, seed, max_ttft, max_tpot, method)
    n_p = _count("n_prefill", n_prefill, 1, 100_000)
    n_d = _count("n_decode", n_decode, 1, 100_000)
    lat = check_number("kv_transfer_s", kv_transfer_s, allow_none=False)
    per = check_number("kv_transfer_s_per_token", kv_transfer_s_per_token, allow_none=False)
    if lat < 0 or per < 0:
        raise InfercastError("KV transfer times must be >= 0 s", field="kv_transfer_s" if lat < 0 else
                             "kv_transfer_s_per_token")
    ptab, pcfg = _replica(prefill, budget=budget, max_batch=None, chunked=True, spec=None, max_context=2,
                          max_input=lengths.max_input, max_need=lengths.max_input)
    dtab, dcfg = _replica(decode, budget=budget, max_batch=max_batch,
                          chunked=True, spec=spec, max_context=lengths.max_total + 1, max_input=1,
                          max_need=lengths.max_total)
    warmup, lo, hi = _measured(arrivals, lengths, requests, warmup)
    n = hi + (math.ceil(0.1 * (hi - lo)) if arrivals.kind == "poisson" else 0)
    src = RequestStream(lengths, arrivals, spec, seed, chunk=n)
    src.more(n)
    n = len(src.inp) if arrivals.kind == "trace" else n
    inp, out, dst, arr = (np.asarray(x[:n]) for x in (src.inp, src.out, src.dsteps, src.arr))
    ts, tf, te = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    streams, dstreams = [], []
    fp = ptab.scalar()
    for p in range(min(n_p, n)):  # the prefill pool: prompts only, each request done at its first token
        idx = np.arange(p, n, n_p)
        sub = RequestStream.replay(inp[idx], out[idx], np.zeros(idx.size, dtype=np.int64), arr[idx], inp[idx], inp[idx])
        ev, _ = run(fp, ptab, sub, pcfg, 0, idx.size)
        ts[idx], tf[idx] = sub.t_sched, sub.t_first
        streams.append(ev)
    ready = tf + lat + per * inp
    te[dst == 0] = tf[dst == 0]
    todo = np.flatnonzero(dst > 0)
    todo = todo[np.argsort(ready[todo], kind="stable")]
    fd = dtab.scalar()
    for d in range(min(n_d, todo.size)):  # the decode pool: requests arrive with their prompt's KV cache
        idx = todo[d::n_d]
        sub = RequestStream.replay(inp[idx], out[idx], dst[idx], ready[idx], np.zeros(idx.size, dtype=np.int64),
                             inp[idx] + out[idx])
        ev, _ = run(fd, dtab, sub, dcfg, 0, idx.size)
        te[idx] = sub.t_fin
        streams.append(ev)
        dstreams.append(ev)
    if not dstreams:
        dstreams = streams
    req = {"arr": arr.astype(float), "t_sched": ts, "t_first": tf, "t_fin": te, "out": out.astype(float),
           "dsteps": dst.astype(float)}
    return _summarise(req, streams, dstreams, arrivals.kind, lo, hi, warmup, max_ttft, max_tpot)


def _deployment_step(dep, lengths: Lengths, spec: SpecDecode | None = None) -> StepModel:
    """The deployment's step model for a workload (prompt length and KV context from its means)."""
    return step_model(dep, prompt_len=lengths.mean_input, context=lengths.mean_input + lengths.mean_output,
                      draft_per_seq=float(spec.k) if spec is not None else 0.0)


def deployment_table(dep, lengths: Lengths, max_batch: int, token_budget: int | None = None,
                     spec: SpecDecode | None = None) -> StepTable:
    """The deployment's step table for a workload, built once to be reused across runs (`simulate_deployment`);
    `token_budget` defaults to the replica's step budget (`replica_tokens`)."""
    return StepTable.build(_deployment_step(dep, lengths, spec), max_batch=max_batch,
                           max_context=lengths.max_total + 1, max_tokens=token_budget or replica_tokens(dep))


def replica_tokens(dep) -> int:
    """Tokens one replica's step may hold: each attention group's budget (`Deployment.rank_tokens`) times the groups."""
    return dep.rank_tokens * dep.attn_dp


def simulate_deployment(dep, lengths: Lengths, arrivals: Arrivals, *, table: StepTable | None = None,
                        **kw) -> SimResult:
    """`simulate` with the deployment's own step model (prompt length and KV context from the workload), or
    with `table`, that model's table from `deployment_table`; the token budget is the replica's (`replica_tokens`)
    unless given."""
    step = table or _deployment_step(dep, lengths, kw.get("spec"))
    kw.setdefault("token_budget", replica_tokens(dep))
    kw.setdefault("first_token_next_step", bool(dep.engine.overlap_scheduler))
    kw.setdefault("mixed_prefill", not dep.engine.prefill_first)
    return simulate(step, lengths, arrivals, **kw)
