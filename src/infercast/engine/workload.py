"""Request workloads for the serving simulation: prompt/output lengths and how requests arrive.

Lengths: fixed, uniform with a range ratio, or drawn from a table (a trace CSV with columns
`input_len,output_len[,arrival_s]`). Arrivals: Poisson at a rate, a closed loop of C clients,
all at once (offline), or replayed from a trace's `arrival_s`.

Sources: SGLang `bench_serving --dataset-name random --random-range-ratio r` draws each length
uniformly from the integers in [max(1, int(r * L)), L]; `--max-concurrency C --request-rate inf`
(and genai-perf's `--concurrency C`) keep C requests in flight, each client sending its next request
when its previous one completes; `--request-rate R` sends requests as a Poisson process of rate R.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from infercast.errors import InfercastError
from infercast.vocabulary import MAX_TOKENS, check_number

MAX_TRACE_ROWS = 1_000_000
MAX_CLIENTS = 100_000  # closed-loop clients of one replica (a replica runs at most a few thousand at once)
MAX_TRACE_BYTES = 1 << 30


def _positive_int(name: str, value, hi: float = MAX_TOKENS) -> int:
    v = check_number(name, value, integer=True, allow_none=False)
    if v < 1 or v > hi:
        raise InfercastError(f"{name} must be a whole number from 1 to {hi:g}, got {value}", field=name, value=value)
    return v


@dataclass(frozen=True, eq=False)
class Lengths:
    """Prompt and output lengths of requests.

    `range_ratio` r < 1 draws each length uniformly from the integers in [max(1, int(r*L)), L]
    (SGLang bench_serving's `--random-range-ratio`); r = 1 is fixed lengths. With `table_input` /
    `table_output` set, rows of the table are drawn with replacement (an empirical distribution).
    """

    input_len: int = 1024
    output_len: int = 128
    range_ratio: float = 1.0
    table_input: np.ndarray | None = field(default=None, repr=False)
    table_output: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.table_input is None:
            object.__setattr__(self, "input_len", _positive_int("input_len", self.input_len))
            object.__setattr__(self, "output_len", _positive_int("output_len", self.output_len))
        r = check_number("range_ratio", self.range_ratio, allow_none=False)
        if not 0.0 < r <= 1.0:
            raise InfercastError(f"range_ratio must be in (0, 1] (lengths uniform in [ratio x L, L]), got "
                                 f"{self.range_ratio}", field="range_ratio", value=self.range_ratio)

    @property
    def max_input(self) -> int:
        return int(self.table_input.max()) if self.table_input is not None else self.input_len

    @property
    def max_total(self) -> int:
        """Longest prompt + output any request can have (the context the KV cache must hold)."""
        if self.table_input is not None:
            return int((self.table_input + self.table_output).max())
        return self.input_len + self.output_len

    @property
    def mean_input(self) -> float:
        if self.table_input is not None:
            return float(self.table_input.mean())
        return (max(1, int(self.range_ratio * self.input_len)) + self.input_len) / 2.0

    @property
    def mean_output(self) -> float:
        if self.table_input is not None:
            return float(self.table_output.mean())
        return (max(1, int(self.range_ratio * self.output_len)) + self.output_len) / 2.0

    @cached_property  # a table's is two dot products over every sample: read once per Lengths
    def mean_decode_context(self) -> float:
        """Mean context (prompt + tokens so far) of the sequences in a decode step. A request stays in the
        batch for as many steps as it generates tokens, so long outputs weigh more [length-biased sampling;
        renewal-reward theorem]: (E[I O] + E[O^2] / 2) / E[O], which is I + O/2 for fixed lengths."""
        if self.table_input is not None:
            i, o = self.table_input.astype(float), self.table_output.astype(float)
            return float((i @ o + o @ o / 2.0) / o.sum())
        lo = max(1, int(self.range_ratio * self.output_len))
        n = self.output_len - lo + 1  # lengths drawn independently, each uniform on its integers
        second = (n * n - 1) / 12.0 + self.mean_output ** 2
        return self.mean_input + second / (2.0 * self.mean_output)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n (input, output) length pairs as int64 arrays."""
        if self.table_input is not None:
            idx = rng.integers(0, len(self.table_input), size=n)
            return self.table_input[idx], self.table_output[idx]
        if self.range_ratio >= 1.0:
            return np.full(n, self.input_len, dtype=np.int64), np.full(n, self.output_len, dtype=np.int64)
        lo_i = max(1, int(self.range_ratio * self.input_len))
        lo_o = max(1, int(self.range_ratio * self.output_len))
        return (rng.integers(lo_i, self.input_len + 1, size=n), rng.integers(lo_o, self.output_len + 1, size=n))


def fixed(input_len: int, output_len: int) -> Lengths:
    return Lengths(input_len, output_len, 1.0)


def uniform(input_len: int, output_len: int, range_ratio: float) -> Lengths:
    return Lengths(input_len, output_len, range_ratio)


def empirical(input_lens, output_lens, *, source: str = "lengths") -> Lengths:
    """Lengths drawn with replacement from paired samples (e.g. a dataset's measured lengths)."""
    i = np.asarray(input_lens, dtype=float).ravel()
    o = np.asarray(output_lens, dtype=float).ravel()
    for name, a in (("input_len", i), ("output_len", o)):
        bad = ~np.isfinite(a) | (a < 1) | (a > MAX_TOKENS) | (a != np.floor(a))
        if a.size == 0 or bad.any():
            what = "is empty" if a.size == 0 else f"has {int(bad.sum())} values that are not whole numbers in [1, {MAX_TOKENS}]"
            raise InfercastError(f"{source}: {name} {what}", field=f"{source}: {name}")
    if i.size != o.size:
        raise InfercastError(f"{source}: {i.size} input lengths but {o.size} output lengths", field=f"{source}: output_len")
    return Lengths(int(i.max()), int(o.max()), 1.0, i.astype(np.int64), o.astype(np.int64))


@dataclass(frozen=True, eq=False)
class Arrivals:
    """How requests arrive: "poisson" (rate requests/s), "closed" (concurrency clients), "offline"
    (every request at t = 0), or "trace" (times in `times`, seconds, replayed in order)."""

    kind: str
    rate: float | None = None
    concurrency: int | None = None
    times: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.kind == "poisson":
            check_number("requests_per_s", self.rate, allow_none=False)
        elif self.kind == "closed":
            c = check_number("concurrency", self.concurrency, integer=True, allow_none=False)
            if c > MAX_CLIENTS:
                raise InfercastError(f"concurrency must be <= {MAX_CLIENTS} clients per replica, got {c}",
                                     field="concurrency", value=c)
            object.__setattr__(self, "concurrency", c)
        elif self.kind == "trace":
            if self.times is None or len(self.times) == 0:
                raise InfercastError("a trace replay needs arrival times", field="arrival_s")
        elif self.kind != "offline":
            raise InfercastError(f"unknown arrival process {self.kind!r}; use poisson, closed, offline or trace",
                                 field="arrivals", value=self.kind)


def poisson(rate: float) -> Arrivals:
    """Open loop: exponential inter-arrival times of mean 1/rate (bench_serving `--request-rate`)."""
    return Arrivals("poisson", rate=rate)


def closed_loop(concurrency: int) -> Arrivals:
    """C clients, each sending its next request the moment its previous one completes
    (bench_serving `--max-concurrency C --request-rate inf`; genai-perf `--concurrency C`)."""
    return Arrivals("closed", concurrency=concurrency)


def offline() -> Arrivals:
    """Every request queued at t = 0 (offline batch / MLPerf Offline)."""
    return Arrivals("offline")


@dataclass(frozen=True, eq=False)
class Trace:
    lengths: Lengths
    arrivals: Arrivals | None  # None when the file has no arrival_s column
    rows: int


def read_trace(path: str | Path) -> Trace:
    """Read a CSV with columns input_len, output_len and optionally arrival_s (seconds, non-decreasing
    after sorting; the rows are replayed in arrival order). Without arrival_s the rows form an
    empirical length distribution to draw from under any arrival process."""
    p = Path(path)
    name = p.name
    try:
        size = p.stat().st_size
    except OSError as e:
        raise InfercastError(f"cannot read trace {name}: {e.strerror}", field="trace", value=str(path)) from None
    if size > MAX_TRACE_BYTES:
        raise InfercastError(f"trace {name} is {size / 1e9:.1f} GB; the limit is {MAX_TRACE_BYTES / 1e9:.1f} GB",
                             field="trace", value=str(path))
    try:
        with p.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            cols = [c.strip() for c in (reader.fieldnames or [])]
            for need in ("input_len", "output_len"):
                if need not in cols:
                    raise InfercastError(f"trace {name} has no {need} column (columns: {', '.join(cols) or 'none'})",
                                         field=f"{name}: {need}")
            reader.fieldnames = cols
            has_t = "arrival_s" in cols
            vals: dict[str, list[float]] = {"input_len": [], "output_len": [], "arrival_s": []}
            for n, row in enumerate(reader, start=2):
                if n - 1 > MAX_TRACE_ROWS:
                    raise InfercastError(f"trace {name} has more than {MAX_TRACE_ROWS} rows", field="trace")
                for c in ("input_len", "output_len") + (("arrival_s",) if has_t else ()):
                    if row[c] is None or not row[c].strip():
                        raise InfercastError(f"trace {name} line {n}: {c} is missing", field=f"{name}: {c}")
                    try:
                        x = float(row[c])
                    except ValueError:
                        raise InfercastError(f"trace {name} line {n}: {c} is not a number ({str(row[c])[:20]!r})",
                                             field=f"{name}: {c}") from None
                    vals[c].append(x)
    except OSError as e:
        raise InfercastError(f"cannot read trace {name}: {e.strerror or e}", field="trace", value=str(path)) from None
    except UnicodeDecodeError:
        raise InfercastError(f"trace {name} is not UTF-8 text", field="trace", value=str(path)) from None
    except csv.Error as e:
        raise InfercastError(f"trace {name} is not a valid CSV: {e}", field="trace", value=str(path)) from None
    lengths = empirical(vals["input_len"], vals["output_len"], source=name)
    arrivals = None
    if has_t:
        t = np.asarray(vals["arrival_s"], dtype=float)
        if not np.isfinite(t).all() or (t < 0).any() or (t > 1e9).any():
            raise InfercastError(f"trace {name}: arrival_s must be finite seconds in [0, 1e9]", field=f"{name}: arrival_s")
        order = np.argsort(t, kind="stable")
        lengths = Lengths(lengths.input_len, lengths.output_len, 1.0, lengths.table_input[order],
                          lengths.table_output[order])
        arrivals = Arrivals("trace", times=t[order])
    return Trace(lengths, arrivals, int(lengths.table_input.size))


# --- speculative decoding -------------------------------------------------------------------------

@dataclass(frozen=True)
class SpecDecode:
    """Speculative decoding: k proposed tokens per verify step, each accepted with probability a
    (independently, given the previous ones were). A verify step emits the accepted prefix plus one
    token from the target model: 1 + min(G, k) tokens with P(G >= j) = a**j, mean
    (1 - a**(k+1)) / (1 - a) [Leviathan, Kalman, Matias 2023, "Fast Inference from Transformers via
    Speculative Decoding", eq. 1]. `draft_cost`: time to propose one token, as a fraction of a
    target decode step at the same batch (MTP/EAGLE heads are a few %; a draft model its size ratio)."""

    k: int
    acceptance: float
    draft_cost: float = 0.0

    def __post_init__(self):
        k = check_number("spec_tokens", self.k, integer=True, allow_none=False)
        if not 1 <= k <= 64:
            raise InfercastError(f"spec_tokens must be a whole number from 1 to 64, got {self.k}", field="spec_tokens")
        a = check_number("acceptance", self.acceptance, allow_none=False)
        if not 0.0 <= a <= 1.0:
            raise InfercastError(f"acceptance must be in [0, 1], got {self.acceptance}", field="acceptance")
        d = check_number("draft_cost", self.draft_cost, allow_none=False)
        if not 0.0 <= d <= 10.0:
            raise InfercastError(f"draft_cost must be in [0, 10], got {self.draft_cost}", field="draft_cost")
        object.__setattr__(self, "k", k)

    @property
    def mean_tokens(self) -> float:
        a, k = self.acceptance, self.k
        return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)

    def steps_for(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Verify steps each request needs to emit `tokens` more tokens (sampled per step, per request)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        out = np.zeros(tokens.shape, dtype=np.int64)
        if self.acceptance <= 0.0:
            return tokens.copy()
        if self.acceptance >= 1.0:
            return -(-tokens // (self.k + 1))
        todo = np.flatnonzero(tokens > 0)
        left = tokens.copy()
        while todo.size:
            cols = int(min(max(8, math.ceil(left[todo].max() / self.mean_tokens * 1.2) + 8), 4096))
            rows = max(1, min(todo.size, 4_000_000 // cols))
            for s in range(0, todo.size, rows):
                idx = todo[s:s + rows]
                g = rng.geometric(1.0 - self.acceptance, size=(idx.size, cols)) - 1  # accepted drafts G
                emitted = np.cumsum(1 + np.minimum(g, self.k), axis=1)
                need = left[idx][:, None]
                done = emitted >= need
                hit = done.any(axis=1)
                first = np.argmax(done, axis=1)
                out[idx] += np.where(hit, first + 1, cols)
                left[idx] = np.where(hit, 0, need[:, 0] - emitted[:, -1])
            todo = todo[left[todo] > 0]
        return out
