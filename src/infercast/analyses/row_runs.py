"""The simulated runs a measured row describes, and how their clients measured them.

- A closed-loop benchmark (fixed concurrency): how many requests its client sent and averaged over, the first
  burst of one request per client included, or whether it measured in stable windows (GenAI-Perf).
- An MLPerf server run: its p99 limits, the highest Poisson rate whose simulated run meets them (a submitter
  raises target_qps until a limit binds), and, where the row states no shape, the layout whose simulated run
  is best.
- The request-level simulation of one replica behind both (`engine.simulate`), cached per run in `Context`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from infercast.analyses.measured import Stated, mlperf_latency_limits
from infercast.engine import serving as S

PERCENTILE = re.compile(r"^(ttft_ms|tpot_ms|itl_ms|e2e_s|request_latency_s)_p(50|90|99)$")
GPU_BATCH = re.compile(r"gpu_batch_size (\d+)")  # an MLPerf config's max batch, quoted in a row's notes
# an engine's cap on running requests per replica, quoted in a row's notes (SGLang --max-running-requests, or its
# default of 48 with EAGLE/MTP speculation: python/sglang/srt/server_args.py, _handle_speculative_decoding)
RUNNING_CAP = re.compile(r"max[-_]running[-_]requests (\d+)")

# requests a closed-loop benchmark sends when the source does not say: `--num-prompts` default of vLLM's and
# SGLang's bench_serving (vllm/benchmarks/benchmark_serving.py, sglang/bench_serving.py)
DEFAULT_BENCH_REQUESTS = 1000
MAX_WHOLE_RUN = 50_000  # requests simulated from the start per replica: the burst's share beyond is < clients / 50k


@dataclass
class Context:
    profile: dict | None = None
    facts: dict = field(default_factory=dict)
    speed_of_light: bool = False
    ablate: frozenset = frozenset()
    simulate: bool = True  # percentiles from the request-level simulation
    cache: dict = field(default_factory=dict)


class NotComparable(Exception):
    pass


def server_limits(row: dict, scen: str) -> tuple[float, float]:
    """(TTFT, TPOT) 99th-percentile limits in seconds of an MLPerf server or interactive row: stated in its notes,
    else its benchmark's (LoadGen mlperf.conf), else llama2-70b's."""
    notes = row.get("notes") or ""
    default_ttft, default_tpot = mlperf_latency_limits(row, scen != "server") or \
        ((2000, 200) if scen == "server" else (450, 40))
    ttft = int(m.group(1)) if (m := re.search(r"TTFT p99<=(\d+)ms", notes)) else default_ttft
    tpot = int(m.group(1)) if (m := re.search(r"TPOT p99<=(\d+)ms", notes)) else default_tpot
    return ttft / 1e3, tpot / 1e3


SERVER_METRICS = {  # what an MLPerf server log reports, read from a simulated run of one replica
    "output_tok_per_s_per_gpu": lambda sim, gpus: sim.output_tok_per_s / gpus,
    "tpot_ms_mean": lambda sim, gpus: sim.tpot.mean * 1e3,
    "ttft_ms_mean": lambda sim, gpus: sim.ttft.mean * 1e3,
    "ttft_ms_p99": lambda sim, gpus: sim.ttft.p99 * 1e3,
    "tpot_ms_p99": lambda sim, gpus: sim.tpot.p99 * 1e3,
}


def sim_metric(sim, metric: str) -> float:
    m = PERCENTILE.match(metric)
    name, q = m.group(1), "p" + m.group(2)
    dist = {"ttft_ms": sim.ttft, "tpot_ms": sim.tpot, "itl_ms": sim.itl, "e2e_s": sim.e2e,
            "request_latency_s": sim.e2e}[name]
    v = getattr(dist, q)
    return v * 1e3 if name.endswith("_ms") else v


def spec_decode(spec):
    """The simulation's speculative decoding for the analytic model's `Speculation`: its k drafts, and a per-draft
    acceptance read as (mean tokens per verify step - 1) / k, capped below 1."""
    from infercast.engine import workload as W

    if spec is None:
        return None
    return W.SpecDecode(spec.tokens, min(0.999, (spec.tokens_per_step - 1) / spec.tokens))


def simulate_run(ctx: Context, dep, st: Stated, arrivals, spec, a: list[str], in_flight: float | None = None,
                 max_batch: int | None = None, table=None, whole_run: int | None = None):
    """The request-level simulation of one replica (cached per run). Poisson arrivals with `in_flight` requests
    in flight (Little's law) are warmed up for 4 x in_flight arrivals, four end-to-end times, and measured over
    at least as many: a batch fills over an end-to-end time or more (longer near saturation), so the default
    10 % warm-up measures a batch 15-25 % short of its steady state at 90 % load. `whole_run`: measure that many
    requests from the start, with no warm-up, as a closed-loop benchmark client does."""
    from infercast.engine import workload as W
    from infercast.engine.simulate import simulate_deployment

    key = ("sim", id(dep), st.input_len, st.output_len, lengths_key(st), repr(arrivals), repr(spec), max_batch,
           whole_run)
    if key not in ctx.cache:
        lengths = st.lengths or W.fixed(max(1, int(round(st.input_len))), max(1, int(round(st.output_len))))
        sd = spec_decode(spec)
        if whole_run is not None:
            n, warm = whole_run, 0
        else:
            warm = int(np.ceil(4 * in_flight)) if (in_flight and arrivals.kind == "poisson") else None
            n = max(1500, warm or 0)
        ctx.cache[key] = simulate_deployment(dep, lengths, arrivals, requests=n, warmup=warm, spec=sd, seed=0,
                                             max_batch=max_batch, table=table)
        a.append(f"from the request-level simulation ({n:,} requests" + (f" after {warm:,} warm-up" if warm else "")
                 + (" measured from the start, the first burst included" if whole_run is not None else "")
                 + (", lengths drawn as stated above)" if st.lengths is not None else ", fixed lengths at the row's means)"))
    return ctx.cache[key]


# "1,000 requests", "300 prompts", or the client's flag: --num-prompts 300 (bench_serving), --request-count 300 (AIPerf)
SENT = re.compile(r"(\d[\d,]*) (?:requests|prompts)\b|--(?:num-prompts|request-count)[ =](\d+)")
WINDOWED = re.compile(r"genai-perf|perf_analyzer|docs\.nvidia\.com/nim/benchmarking", re.I)


def windowed(row: dict, a: list[str]) -> bool:
    """A client that measures in time windows once the load is stable: GenAI-Perf runs perf_analyzer, which
    repeats its measurement window until three in a row agree (perf_analyzer docs, measurement modes), so the
    first burst falls outside what it reports. NVIDIA's NIM benchmarking guide uses GenAI-Perf ("our preferred
    tool", docs.nvidia.com/nim/benchmarking/llm, overview)."""
    text = f"{row.get('source') or ''} {row.get('notes') or ''}"
    if WINDOWED.search(text):
        a.append("GenAI-Perf / perf_analyzer measure in windows once the load is stable: the steady state, "
                 "without the first burst")
        return True
    return False


def requests_sent(row: dict, a: list[str]) -> int:
    """Requests a closed-loop benchmark sent and averaged over, its first burst of one per client included:
    stated in the row's notes, else vLLM's and SGLang's bench_serving default."""
    m = SENT.search(row.get("notes") or "")
    sent = int(next(g for g in m.groups() if g).replace(",", "")) if m else DEFAULT_BENCH_REQUESTS
    a.append(f"latencies averaged over the {sent:,} requests the benchmark sent, the first burst of one request per "
             "client included" + ("" if m else " (count not stated: the --num-prompts default of vLLM's and SGLang's "
                                  "bench_serving)"))
    return max(1, sent)


SERVER_SHAPES = 4  # the planner's shapes, best analytic throughput first, whose server runs are simulated


def server_shape(ctx: Context, row: dict, st: Stated, shapes: list[tuple[int, int, int]], dep_of, spec, dctx,
                 ttft_lim: float, tpot_lim: float, a: list[str]) -> tuple[int, int, int]:
    """A server row with no stated shape: of the planner's shapes that use the row's GPUs (`shapes`, the planned
    one first; the best SERVER_SHAPES of them; `dep_of(shape)` gives each deployment), the one whose simulated run
    (`server_search`) gives the most output tokens/s per GPU. A submitter tunes target_qps and the layout
    together under the p99 limits [MLPerf Inference rules, Server scenario]; the analytic model's p99 is a
    smooth-arrival guess, so the choice is made on the simulated runs the row is then predicted from."""
    shapes = list(dict.fromkeys(shapes))[:SERVER_SHAPES]
    key = ("server-shape", tuple(shapes), row["model"], row["gpu"], st.weights, st.kv, st.engine, st.input_len,
           st.output_len, lengths_key(st), ttft_lim, tpot_lim, repr(spec), row.get("notes"))
    if key not in ctx.cache:
        best, got, skipped = None, [], []
        for shape in shapes:
            d = dep_of(shape)
            cm = replica_capacity(d, row, st, running_cap="stated-engine-limits" not in ctx.ablate)
            if cm < 1:
                continue
            # a server run cannot beat the same shape's full batch (the analytic model, 20 % spared for its gap
            # to the simulation): skip a shape that cannot pass the best so far
            full = float(np.asarray(S.continuous(d, float(st.input_len), float(st.output_len), cm, spec=spec,
                                                 decode_ctx=dctx)["output_tok_s_per_gpu"]).ravel()[0])
            if best is not None and 1.2 * full < best[1]:
                skipped.append((shape, full))
                continue
            try:
                sim = server_search(ctx, d, st, spec, ttft_lim, tpot_lim, cm, dctx, [])
            except NotComparable:
                continue
            per_gpu = sim.output_tok_per_s / d.gpus
            got.append((shape, per_gpu))
            if best is None or per_gpu > best[1] * (1 + 1e-9):
                best = (shape, per_gpu)
        ctx.cache[key] = (best[0] if best else shapes[0], got, skipped)
    shape, got, skipped = ctx.cache[key]

    def name(s):
        return f"tp {s[0]}" + (f" pp {s[1]}" if s[1] > 1 else "") + (f" ep {s[2]}" if s[2] > 1 else "")

    if len(got) + len(skipped) > 1:
        a.append("server shape from the simulated runs: " + ", ".join(f"{name(s)} {v:,.1f} tok/s/GPU" for s, v in got)
                 + "".join(f", {name(s)} not run (at most {v:,.1f} at full batch)" for s, v in skipped)
                 + f"; {name(shape)} kept, the best, as a submitter tuning the layout would")
    return shape


def replica_capacity(dep, row: dict, st: Stated, running_cap: bool = True) -> float:
    """Requests one replica holds in memory, capped at the config's gpu_batch_size or (with `running_cap`) the
    engine's running-request limit where the row quotes one."""
    draft = st.spec.tokens + 1 if st.spec is not None else 0  # SGLang's speculative_num_draft_tokens (top-k 1)
    cmax = float(S.max_concurrency(dep, float(st.input_len), float(st.output_len), draft_tokens=draft)[0])
    notes = row.get("notes") or ""
    for pat in (GPU_BATCH, RUNNING_CAP) if running_cap else (GPU_BATCH,):
        if m := pat.search(notes):
            cmax = min(cmax, float(m.group(1)))
    return cmax


def lengths_key(st: Stated):
    """A run's lengths for cache keys: rows of one run share them (a new `Lengths` is read for every row)."""
    L = st.lengths
    return None if L is None else (L.mean_input, L.mean_output, L.mean_decode_context, L.max_total)


def server_search(ctx: Context, dep, st: Stated, spec, ttft_lim: float, tpot_lim: float, cmax: float, dctx,
                   a: list[str]):
    """The MLPerf server run: the highest Poisson rate (requests/s per replica) whose simulated run meets the
    99th-percentile TTFT and TPOT limits, and that run. LoadGen checks the p99s of the whole run and a submitter
    raises target_qps until a limit binds [MLPerf Inference rules, Server scenario]. Bisection in log rate up to
    1.2 x the analytic model's full-batch rate; each trial is warmed up for its requests in flight (Little's
    law on the analytic model: C = rate x e2e(C), read off one vectorised sweep of C)."""
    from infercast.engine import workload as W
    from infercast.engine.simulate import deployment_table

    I, O = st.input_len, st.output_len
    key = ("server", id(dep), I, O, lengths_key(st), ttft_lim, tpot_lim, cmax, repr(spec))
    if key not in ctx.cache:
        cs = np.geomspace(0.5, cmax, 96)
        rates = cs / np.asarray(S.continuous(dep, I, O, cs, spec=spec, decode_ctx=dctx)["e2e_s"], dtype=float)
        rates = np.maximum.accumulate(rates)  # completions grow with the batch
        top = 1.2 * float(rates[-1])
        cap = int(cmax)
        lengths = st.lengths or W.fixed(max(1, int(round(I))), max(1, int(round(O))))
        table = deployment_table(dep, lengths, cap, spec=spec_decode(spec))

        def run(lam):
            c = float(np.interp(lam, rates, cs)) if lam < rates[-1] else float(cmax)
            return simulate_run(ctx, dep, st, W.poisson(lam), spec, [], c, cap, table)

        def ok(sim):
            return sim.ttft.p99 <= ttft_lim and sim.tpot.p99 <= tpot_lim

        lo, hi = top / 4.0, top
        best = run(lo)
        while not ok(best) and lo > top / 1024:
            lo, hi = lo / 4.0, lo
            best = run(lo)
        if not ok(best):
            raise NotComparable("no arrival rate meets the latency limits in the simulation")
        for _ in range(7):  # the rate to about 1 %
            mid = (lo * hi) ** 0.5
            sim = run(mid)
            lo, hi, best = (mid, hi, sim) if ok(sim) else (lo, mid, best)
        ctx.cache[key] = (lo, best, cap)
    lo, best, cap = ctx.cache[key]
    a.append(f"MLPerf server run simulated: {lo:.3g} requests/s per replica, the highest rate whose simulated p99 "
             f"TTFT ({best.ttft.p99 * 1e3:.0f} ms) and p99 TPOT ({best.tpot.p99 * 1e3:.0f} ms) meet TPOT <= "
             f"{tpot_lim * 1e3:.0f} ms and TTFT <= {ttft_lim:g} s (warm-up of four end-to-end times; batch capped "
             f"at {cap})")
    return best
