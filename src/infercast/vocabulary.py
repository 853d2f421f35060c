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
    Term("concurrency", "requests in flight across the whole system", "requests", 0, 1e9, lo_open=True, short="k"),
    Term("min_tps_user", "latency target: at least this many output tokens/s per user", "tokens/s", 0, 1e6,
         lo_open=True),
    Term("max_ttft", "latency target: time to first token at most this", "s", 0, 1e6, lo_open=True),
    Term("max_tpot", "latency target: time per output token at most this", "s", 0, 1e6, lo_open=True),
    Term("percentile", "latency targets hold at this percentile (50 = mean-like, 99 = MLPerf)", "%", 1, 99.99),
    Term("price", "rental price per GPU-hour", "$/GPU-hour", 0, 1e6, lo_open=True),
    Term("utilisation", "fraction of paid hours the GPUs serve", "", 0, 1, lo_open=True, short="u"),
    Term("cached_fraction", "fraction of each prompt served from the prefix cache", "", 0, 0.999),
    Term("watts", "rated power per GPU", "W", 0, 1e6, lo_open=True),
    Term("load", "average draw as a fraction of rated power", "", 0, 1, lo_open=True),
    Term("pue", "facility power usage effectiveness", "", 1, 10),
    Term("samples", "Monte Carlo samples", "", 1, 200_000),
    Term("seed", "random seed", "", 0, 2 ** 32 - 1),
    Term("profile", "calibration profile JSON (`infercast calibrate`), or the name of a shipped one (h100-sxm)"),
    Term("year", "calendar year", "", 2015, 2040),
    Term("tokens_per_day", "demand: tokens per day", "tokens/day", 0, 1e20, lo_open=True),
    Term("requests_per_s", "demand: requests per second", "requests/s", 0, 1e12, lo_open=True),
    Term("headroom", "peak-to-mean ratio of demand the fleet must absorb", "", 1, 100),
)}


def flag(name: str) -> str:
    """The CLI flag for a field (`min_tps_user` -> `--min-tps-user`); file fields pass through."""
    t = TERMS.get(name)
    return t.flag if t else name


def check_number(name: str, value, *, integer: bool = False, allow_none: bool = True):
    """Reject NaN, infinities, non-numbers and values outside the term's range, naming the field."""
    if value is None:
        if allow_none:
            return None
        raise InfercastError(f"{name} is required", field=name)
    t = TERMS.get(name)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InfercastError(f"{name} must be a number, got {str(value)[:40]!r}", field=name, value=value) from None
    if not math.isfinite(x):
        raise InfercastError(f"{name} must be a finite number, got {value}", field=name, value=value)
    if integer and x != int(x):
        raise InfercastError(f"{name} must be a whole number, got {value}", field=name, value=value)
    if t is not None:
        if t.lo is not None and (x < t.lo or (t.lo_open and x == t.lo)):
            rel = ">" if t.lo_open else ">="
            raise InfercastError(f"{name} must be {rel} {t.lo:g}{(' ' + t.unit) if t.unit else ''}, got {value}",
                                 field=name, value=value)
        if t.hi is not None and x > t.hi:
            raise InfercastError(f"{name} must be <= {t.hi:g}{(' ' + t.unit) if t.unit else ''}, got {value}",
                                 field=name, value=value)
    return int(x) if integer else x
