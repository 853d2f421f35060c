"""One vocabulary for every input: the same name in Python keyword arguments, CLI flags and web queries.

`TERMS[name]` says what an input means, its unit and its allowed range. The CLI shows a field as
`flag(name)` (``min_tps_user`` -> ``--min-tps-user``); the web app uses the name itself as the query
parameter; library functions take it as a keyword argument. Errors carry the name
(`InfercastError.field`), never a flag.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from infercast.errors import InfercastError


@dataclass(frozen=True)
class Term:
    name: str
    help: str
    unit: str = ""
    lo: float | None = None  # inclusive lower limit (None: none)
    hi: float | None = None  # inclusive upper limit
    lo_open: bool = False  # lower limit excluded (a value must be > lo)
    short: str | None = None  # one-letter CLI alias

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


# Limits keep every computation bounded: they are far beyond any real deployment, and a value past
# them is an input error, not a long-running request.
MAX_TOKENS = 10_000_000
MAX_GPUS = 10_000_000
MAX_DEGREE = 1024
MAX_REPLICA_GPUS = 65_536  # GPUs in one replica a sweep or a planner may consider
MAX_POINTS = 2_000  # grid points per sweep
MAX_SAMPLES = 200_000  # Monte Carlo samples of one estimate
MAX_FORECAST_SAMPLES = 20_000  # forecast samples: each is evaluated for every year, model and precision

TERMS: dict[str, Term] = {t.name: t for t in (
    Term("model", "catalog id or alias, a Hugging Face config.json, a folder holding one, or a hub id in the local cache",
         short="m"),
    Term("chip", "accelerator id (see `infercast chips`)", short="c"),
    Term("chip_file", "a custom accelerator: TOML or JSON with the fields of the chip catalog"),
    Term("gpus", "GPUs in total", "GPUs", 1, MAX_GPUS, short="n"),
    Term("tp", "tensor-parallel degree per replica", "", 1, MAX_DEGREE),
    Term("pp", "pipeline-parallel degree per replica", "", 1, MAX_DEGREE),
    Term("ep", "expert-parallel degree (MoE); larger than tp means attention runs data-parallel", "", 1, MAX_DEGREE),
    Term("weights", "weight precision (bf16, fp16, fp8, int8, fp4, int4; nvfp4, mxfp4, awq ... accepted)", short="w"),
    Term("kv", "KV-cache precision"),
    Term("engine", "serving engine profile, optionally with a version ('tensorrt-llm 0.17')"),
    Term("input_len", "prompt tokens per request", "tokens", 1, MAX_TOKENS, short="i"),
    Term("output_len", "generated tokens per request", "tokens", 1, MAX_TOKENS, short="o"),
    Term("concurrency", "requests in flight across the whole system (a time average may be fractional)", "requests",
         1e-3, 1e9, short="k"),
    Term("rank_tokens", "step budget: tokens one attention group's step may hold, prompt chunks and decodes "
         "(TensorRT-LLM max_num_tokens; default the engine's)", "tokens", 1, MAX_TOKENS),
    Term("min_tps_user", "latency target: at least this many output tokens/s per user", "tokens/s", 1e-3, 1e6),
    Term("max_ttft", "latency target: time to first token at most this", "s", 1e-6, 1e6),
    Term("max_tpot", "latency target: time per output token at most this", "s", 1e-6, 1e6),
    Term("percentile", "latency targets hold at this percentile (50 = mean-like, 99 = MLPerf)", "%", 1, 99.99),
    Term("price", "rental price per GPU-hour", "$/GPU-hour", 1e-6, 1e6),
    Term("utilisation", "fraction of paid hours the GPUs serve", "", 1e-3, 1, short="u"),
    Term("cached_fraction", "fraction of each prompt served from the prefix cache", "", 0, 0.999),
    Term("watts", "rated power per GPU", "W", 1, 1e6),
    Term("load", "average draw as a fraction of rated power", "", 1e-3, 1),
    Term("pue", "facility power usage effectiveness", "", 1, 10),
    Term("samples", "Monte Carlo samples", "", 1, MAX_SAMPLES),
    Term("seed", "random seed", "", 0, 2 ** 32 - 1),
    Term("profile", "calibration profile JSON (`infercast calibrate`), or the name of a shipped one (h100-sxm)"),
    Term("year", "calendar year", "", 2015, 2040),
    Term("tokens_per_day", "demand: tokens per day", "tokens/day", 0, 1e20, lo_open=True),
    Term("requests_per_s", "demand: requests per second", "requests/s", 0, 1e12, lo_open=True),
    Term("headroom", "peak-to-mean ratio of demand the fleet must absorb", "", 1, 100),
    # techniques the planner searches
    Term("spec_method", "speculative decoding method (mtp, eagle, eagle3, draft, ngram; default: none)"),
    Term("spec_tokens", "speculative decoding: drafted tokens per verify step (default: the method's)", "tokens", 1, 16),
    Term("spec_acceptance", "speculative decoding: probability a drafted token is accepted (default: the method's)",
         "", 0, 1),
    Term("spec_draft", "speculative decoding with a draft model: the draft model's catalog id"),
    Term("disaggregated", "also search disaggregated prefill/decode pools (each with its own shape)"),
    Term("range_ratio", "request lengths drawn uniformly from [ratio x L, L] (SGLang bench_serving's "
         "--random-range-ratio); 1 = fixed lengths", "", 0, 1, lo_open=True),
    Term("trace", "CSV of requests with input_len and output_len columns: their length distribution"),
    # world capacity, the compute overhang, AI-worker equivalents and margins (issue #14)
    Term("inference_share", "share of the accelerator stock serving inference: a number, uniform:MIN,MAX or "
         "triangle:MIN,MODE,MAX within 0..1", "", 0, 1, lo_open=True),
    Term("mix", "model mix file (TOML or JSON): [[models]] with model, share (of tokens), input_len, output_len, "
         "min_tps_user"),
    Term("tokens_per_workday", "AI-worker equivalents: tokens per human workday (default: data/world/ai_worker.json, "
         "an output-side workday of 95,760 tokens, range 21,280-242,592)", "tokens", 1, 1e12),
    Term("train_flop", "training compute of the run", "FLOP", 0, 1e32, lo_open=True),
    Term("days", "wall-clock length of the training run", "days", 0, 36_500, lo_open=True),
    Term("peak_precision", "tensor precision whose dense peak the training FLOP is measured against (default bf16)"),
    Term("provider", "list price from a provider whose name (or the price row's model name) contains this text"),
    Term("date", "the list price in effect on this day (YYYY-MM-DD; default: the latest)"),
    # sweeps and files
    Term("max_gpus", "largest replica (GPUs) a sweep considers", "GPUs", 1, MAX_REPLICA_GPUS),
    Term("points", "concurrency grid points per shape in a sweep", "", 2, MAX_POINTS),
    Term("data", "measured CSV in the columns of measured-dev.csv (default: the shipped measured set)"),
    Term("scenario", "forecast scenario TOML, merged over the default"),
    Term("set", "one scenario override, KEY.PATH=VALUE"),
    Term("fleet", "fleet TOML, or the name of a shipped example"),
    Term("out", "where to write the output (a file, or a folder for the report)", short="o"),
    Term("plot", "figure to write (.png or .svg)"),
    Term("claim", "which essay claim to check"),
    # measuring a device (infercast calibrate / measure)
    Term("device", "cuda (a GPU), cuda:N, or cpu (tiny sizes)", short="d"),
    Term("repeats", "timed repeats per step (median)", "", 1, 10_000),
    Term("layers", "build only the first N layers", "", 1, 100_000),
    Term("host", "address to listen on"),
    Term("port", "TCP port", "", 1, 65_535),
)}

# Older spellings still accepted by the CLI (not shown in --help): old -> current flag.
FLAG_ALIASES: dict[str, str] = {
    "--min-tokens-per-s-user": "--min-tps-user",
    "--min-tps": "--min-tps-user",
    "--ttft-max": "--max-ttft",
    "--tpot-max": "--max-tpot",
    "--cached": "--cached-fraction",
    "--precision": "--weights",
    "-p": "-w",
}


def flag(name: str) -> str:
    """The CLI flag for a field (`min_tps_user` -> `--min-tps-user`); file fields pass through."""
    t = TERMS.get(name)
    return t.flag if t else name


def _g(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) and abs(x) >= 1e4 and abs(x) < 1e16 else f"{x:g}"


def describe_range(t: Term, integer: bool = False) -> str:
    """'a whole number from 1 to 1,024' / 'a number > 0 and <= 1' / 'a number >= 1'."""
    kind = "a whole number" if integer else "a number"
    unit = f" {t.unit}" if t.unit else ""
    lo, hi = t.lo, t.hi
    if lo is not None and hi is not None and not t.lo_open:
        return f"{kind} from {_g(lo)} to {_g(hi)}{unit}"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if t.lo_open else '>='} {_g(lo)}")
    if hi is not None:
        parts.append(f"<= {_g(hi)}")
    return f"{kind} {' and '.join(parts)}{unit}" if parts else kind


def _shown(value) -> str:
    from infercast.format import truncate

    return truncate(repr(value) if isinstance(value, str) else str(value), 40)


def check_number(name: str, value, *, integer: bool = False, allow_none: bool = True, field: str | None = None,
                 label: str | None = None, lo: float | None = None, hi: float | None = None,
                 lo_open: bool | None = None):
    """Reject NaN, infinities, non-numbers and values outside the term's range, naming the field.

    name: the term whose unit and range apply (`lo`, `hi`, `lo_open` override them, e.g. for a file
    field); field: the input the error is about (default `name`); label: how the value is named in
    the message (default `name`; e.g. "'cfg/config.json': num_hidden_layers").
    Returns the value as int (integer=True) or float.
    """
    t = TERMS.get(name) or Term(name, "")
    if lo is not None or hi is not None or lo_open is not None:
        t = Term(t.name, t.help, t.unit, t.lo if lo is None else lo, t.hi if hi is None else hi,
                 t.lo_open if lo_open is None else lo_open)
    field = field if field is not None else name
    label = label or name
    want = describe_range(t, integer)
    if value is None:
        if allow_none:
            return None
        raise InfercastError(f"{label} is required: give {want}", field=field)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) and not hasattr(value, "__float__"):
        raise InfercastError(f"{label} must be {want}, got {_shown(value)}", field=field, value=value)
    try:
        x = float(value)
    except OverflowError:
        raise InfercastError(f"{label} must be {want}, got a number too large to use", field=field,
                             value=value) from None
    except (TypeError, ValueError):
        raise InfercastError(f"{label} must be {want}, got {_shown(value)}", field=field, value=value) from None
    if not math.isfinite(x):
        raise InfercastError(f"{label} must be {want} (a finite number), got {_shown(value)}", field=field,
                             value=value)
    if integer and x != int(x):
        raise InfercastError(f"{label} must be {want}, got {_shown(value)}", field=field, value=value)
    if (t.lo is not None and (x < t.lo or (t.lo_open and x == t.lo))) or (t.hi is not None and x > t.hi):
        raise InfercastError(f"{label} must be {want}, got {_shown(value)}", field=field, value=value)
    return int(x) if integer else x
