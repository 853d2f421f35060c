"""Dollars and joules per token at an operating point.

Pure arithmetic first (`usd_per_mtok`, `gpu_watts`, `joules_per_token`, `tokens_per_kwh`,
`epoch_query_wh`), then `cost()`, which picks an operating point with `estimate.estimate` and
prices it.

Method (also in docs/fleet.md):

* $/M tokens = 1e6 x $/GPU-hour / 3600 / (tokens/s per GPU x utilisation). Utilisation is the
  fraction of paid GPU-hours spent serving at the operating point (1.0 = always busy).
* Input vs output: in continuous batching one engine step decodes a token for every request and
  prefills the prompts of the requests that arrive meanwhile. GPU-time is split between the two
  by their share of step time: each part is timed alone with `roofline.step_time` (decode: b
  sequences at mean context I + O/2; prefill: b*I/O prompt tokens from b/O sequences) and the
  prefill share is t_prefill / (t_prefill + t_decode). Input tokens carry that share of the cost,
  output tokens the rest.
* Cached input: a fraction f of each prompt is a prefix-cache hit. Those tokens skip prefill
  compute (only (1-f)*I tokens are prefilled, attending to the cached prefix), but their KV still
  sits in memory and is read by every decode step, which output tokens pay for. The step shortens
  by (t_decode + t_prefill(f)) / (t_decode + t_prefill(0)), so throughput rises by the inverse.
* Energy: watts per GPU = power basis (TDP unless given) x load fraction (default 0.7, the
  partial-load factor of Epoch's GPT-4o estimate, theory.md §2.1) x PUE (default 1.2, same
  source). J/token = watts / tokens/s per GPU at the operating point; idle time is not charged,
  so utilisation does not change energy per token. The same step-time split divides joules
  between input and output tokens.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from infercast.errors import InfercastError
from infercast.engine.estimate import estimate
from infercast.vocabulary import check_number
from infercast.specs.hardware import get_chip
from infercast.engine.step import Deployment, deployment, step_time

DEFAULT_LOAD_FRACTION = 0.7
DEFAULT_PUE = 1.2
ENERGY_SOURCE = ("Epoch AI, 'How much energy does ChatGPT use?' (theory.md §2.1): 0.7 partial-load factor "
                 "on rated power, PUE 1.2")


# ---------------------------------------------------------------- pure arithmetic

def usd_per_mtok(usd_per_gpu_hour, tok_s_per_gpu, utilisation=1.0, share=1.0):
    """$ per million tokens: `share` of a GPU-hour's price over the tokens it makes at `utilisation`."""
    u = np.asarray(utilisation, dtype=float)
    if not np.all(np.isfinite(u)) or np.any(u <= 0) or np.any(u > 1):
        raise InfercastError("utilisation must be a number > 0 and <= 1", field="utilisation")
    return 1e6 * np.asarray(usd_per_gpu_hour, dtype=float) * share / 3600.0 / (np.asarray(tok_s_per_gpu, dtype=float) * u)


def gpu_watts(rated_w, load_fraction=DEFAULT_LOAD_FRACTION, pue=DEFAULT_PUE):
    """Average wall power per GPU, facility overhead included: rated x load fraction x PUE."""
    load_fraction = check_number("load", load_fraction, allow_none=False)
    pue = check_number("pue", pue, allow_none=False)
    return rated_w * load_fraction * pue


def joules_per_token(watts, tok_s_per_gpu, share=1.0):
    return np.asarray(watts, dtype=float) * share / np.asarray(tok_s_per_gpu, dtype=float)


def tokens_per_kwh(j_per_token):
    return 3.6e6 / np.asarray(j_per_token, dtype=float)


def epoch_query_wh(active_params=100e9, output_tokens=500, peak_flops=989e12, utilisation=0.10,
                   rated_w=10_200 / 8, load_fraction=0.7, pue=1.2) -> float:
    """Epoch's energy per query: FLOP = 2 x active x output tokens; GPU-seconds = FLOP / (peak x util);
    Wh = GPU-seconds x rated x load x PUE / 3600. Defaults are their GPT-4o baseline (0.301 Wh):
    100 B active, 500 tokens, H100 989 TFLOP/s at 10 %, DGX H100 10.2 kW / 8 GPUs."""
    gpu_s = 2.0 * active_params * output_tokens / (peak_flops * utilisation)
    return gpu_s * gpu_watts(rated_w, load_fraction, pue) / 3600.0


# ---------------------------------------------------------------- step-time split

def phase_split(dep: Deployment, input_len, output_len, concurrency, cached_fraction=0.0):
    """(prefill share of step time, throughput gain from cached input) for continuous batching.

    `concurrency` is requests in flight per replica; arrays broadcast.
    """
    f = np.asarray(cached_fraction, dtype=float)
    if not np.all(np.isfinite(f)) or np.any(f < 0) or np.any(f >= 1):
        raise InfercastError("cached_fraction must be in [0, 1): the last prompt token is always computed",
                             field="cached_fraction")
    I = np.asarray(input_len, dtype=float)
    O = np.maximum(np.asarray(output_len, dtype=float), 1.0)
    b = np.asarray(concurrency, dtype=float) / dep.pp / dep.attn_dp  # one micro-batch per stage
    t_dec = step_time(dep, decode_seqs=b, decode_ctx=I + O / 2)["total"]

    def pre(frac):
        new = I * (1 - frac)
        return step_time(dep, prefill_tokens=b * new / O, prefill_seqs=b / O,
                         prefill_ctx=I * frac + (new + 1) / 2)["total"]

    t_full = pre(0.0)
    t_cached = pre(f) if np.any(f > 0) else t_full
    share = t_cached / (t_cached + t_dec)
    gain = (t_dec + t_full) / (t_dec + t_cached)
    return share, gain


# ---------------------------------------------------------------- one operating point

@dataclass(frozen=True)
class CostReport:
    model: str
    chip: str
    tp: int
    pp: int
    ep: int
    gpus_per_replica: int
    weights: str
    engine: str
    input_len: int
    output_len: int
    cached_fraction: float
    operating_point: str
    concurrency_per_replica: float
    tokens_per_s_per_user: float
    ttft_s: float
    output_tok_s_per_gpu: float
    input_tok_s_per_gpu: float
    prefill_share: float
    usd_per_gpu_hour: float
    price_source: str
    utilisation: float
    usd_per_m_input: float  # all input tokens, cached ones included
    usd_per_m_uncached_input: float  # per prompt token actually prefilled
    usd_per_m_output: float
    usd_per_m_blended: float  # (input + output) tokens of this workload
    rated_w: float
    power_basis: str
    load_fraction: float
    pue: float
    watts_per_gpu: float
    j_per_input_token: float
    j_per_output_token: float
    j_per_token: float
    tokens_per_kwh: float
    bound_by: str
    batch_limit: str
    assumptions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def resolve_price(chip, price: float | None) -> tuple[float, str]:
    c = get_chip(chip)
    if price is not None:
        return check_number("price", price), "given"
    if c.price is None:
        raise InfercastError(f"{c.id} has no $/GPU-hour price in the catalog; give one", field="price")
    return c.price.usd_per_hour, f"catalog: {c.price.kind} {c.price.date} ({c.price.source})"


def resolve_watts(chip, watts: float | None) -> tuple[float, str]:
    c = get_chip(chip)
    if watts is not None:
        return check_number("watts", watts), "given watts per GPU"
    if c.tdp_w is None:
        raise InfercastError(f"{c.id} has no TDP in the catalog; give the rated power per GPU in watts",
                             field="watts")
    return c.tdp_w, f"{c.id} TDP (GPU board only: host, network and cooling not included beyond PUE)"


def _check_inputs(**kw) -> dict:
    """Every numeric input checked against the vocabulary's range (NaN, infinities, out of range refused)."""
    ints = {"tp", "pp", "ep", "gpus", "input_len", "output_len"}
    return {k: check_number(k, v, integer=k in ints) for k, v in kw.items()}


def cost(model, chip, *, tp: int | None = None, pp: int | None = None, ep: int | None = None, weights: str | None = None, kv: str | None = None,
         engine: str | None = None, input_len: int = 1024, output_len: int = 256, cached_fraction: float = 0.0,
         min_tokens_per_s_per_user: float | None = None, max_ttft_s: float | None = None,
         price: float | None = None, utilisation: float = 1.0, watts: float | None = None,
         load_fraction: float = DEFAULT_LOAD_FRACTION, pue: float = DEFAULT_PUE, profile=None,
         gpus: int | None = None, concurrency: float | None = None) -> CostReport:
    """$/M input and output tokens and J/token at max throughput, at `concurrency` requests in flight
    (whole system), or at the best point meeting the targets. tp, pp, ep all None: the planner
    chooses the shape for the targets (`estimate.planned_shape`); some given: the others are 1."""
    v = _check_inputs(tp=tp, pp=pp, ep=ep, gpus=gpus, input_len=input_len, output_len=output_len,
                      cached_fraction=cached_fraction, min_tps_user=min_tokens_per_s_per_user, max_ttft=max_ttft_s,
                      price=price, utilisation=utilisation, watts=watts, load=load_fraction, pue=pue,
                      concurrency=concurrency)
    tp, pp, ep, input_len, output_len = v["tp"], v["pp"], v["ep"], v["input_len"], v["output_len"]
    min_tokens_per_s_per_user, max_ttft_s = v["min_tps_user"], v["max_ttft"]
    cached_fraction = v["cached_fraction"]
    usd, price_src = resolve_price(chip, price)
    rated, basis = resolve_watts(chip, watts)
    w = gpu_watts(rated, load_fraction, pue)
    tpot_max = 1.0 / min_tokens_per_s_per_user if min_tokens_per_s_per_user else None
    targets = tpot_max is not None or max_ttft_s is not None
    fixed = concurrency is not None and not targets
    e = estimate(model, chip, gpus=gpus, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine,
                 input_len=input_len, output_len=output_len, concurrency=concurrency if fixed else None,
                 max_throughput=not targets and not fixed, tpot_max=tpot_max, ttft_max=max_ttft_s, profile=profile)
    dep = deployment(model, chip, tp=e.tp, pp=e.pp, ep=e.ep, weights=weights, kv=kv, engine=engine, profile=profile)
    c = e.concurrency / e.replicas
    share, gain = (float(x) for x in phase_split(dep, input_len, output_len, c, cached_fraction))
    out, inp = e.output_tok_s_per_gpu * gain, e.input_tok_s_per_gpu * gain
    op = (f"{e.concurrency:g} requests in flight ({e.batch_limit})" if fixed else
          "max throughput (largest batch that fits)" if not targets else
          "best throughput meeting " + " and ".join(
              s for s in (f">= {min_tokens_per_s_per_user:g} tokens/s per user" if tpot_max else "",
                          f"TTFT <= {max_ttft_s:g} s" if max_ttft_s is not None else "") if s))
    uncached = usd_per_mtok(usd, inp * (1 - cached_fraction), utilisation, share)
    j_in = float(joules_per_token(w, inp, share))
    j_out = float(joules_per_token(w, out, 1 - share))
    j_all = float(joules_per_token(w, inp + out))
    assumptions = [
        f"price ${usd:.2f}/GPU-hour ({price_src}); utilisation {utilisation:.0%} of paid hours",
        f"GPU-time split by step-time share: prefill {share:.1%}, decode {1 - share:.1%} "
        "(each part timed alone with the step model)",
        f"power {rated:.0f} W ({basis}) x load {load_fraction:g} x PUE {pue:g} = {w:.0f} W per GPU; "
        f"defaults from {ENERGY_SOURCE}",
        "energy per token counts busy time only (idle power not charged)",
    ]
    if cached_fraction:
        assumptions.append(f"{cached_fraction:.0%} of each prompt is a prefix-cache hit: skips prefill compute, "
                           f"its KV is still read by decode; step {gain:.2f}x faster than uncached "
                           "(operating point chosen uncached; TTFT shown uncached)")
    return _finite(CostReport(
        model=e.model, chip=e.chip, tp=e.tp, pp=e.pp, ep=e.ep, gpus_per_replica=e.gpus // e.replicas,
        weights=e.weights, engine=e.engine, input_len=input_len, output_len=output_len,
        cached_fraction=cached_fraction, operating_point=op, concurrency_per_replica=c,
        tokens_per_s_per_user=e.tokens_per_s_per_user * gain, ttft_s=e.ttft_s,
        output_tok_s_per_gpu=out, input_tok_s_per_gpu=inp, prefill_share=share,
        usd_per_gpu_hour=usd, price_source=price_src, utilisation=utilisation,
        usd_per_m_input=float(usd_per_mtok(usd, inp, utilisation, share)),
        usd_per_m_uncached_input=float(uncached),
        usd_per_m_output=float(usd_per_mtok(usd, out, utilisation, 1 - share)),
        usd_per_m_blended=float(usd_per_mtok(usd, inp + out, utilisation)),
        rated_w=rated, power_basis=basis, load_fraction=load_fraction, pue=pue, watts_per_gpu=w,
        j_per_input_token=j_in, j_per_output_token=j_out, j_per_token=j_all,
        tokens_per_kwh=float(tokens_per_kwh(j_all)), bound_by=e.bound_by, batch_limit=e.batch_limit,
        assumptions=assumptions + list(e.notes)))


def _finite(r: CostReport) -> CostReport:
    """Every number finite: extreme inputs inside their ranges can still overflow a ratio."""
    import math

    bad = [k for k, v in asdict(r).items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise InfercastError(f"these inputs make {', '.join(bad)} overflow (not a finite number); use less "
                             "extreme values of price, utilisation, watts and concurrency")
    return r


__all__ = ["usd_per_mtok", "gpu_watts", "joules_per_token", "tokens_per_kwh", "epoch_query_wh", "phase_split",
           "CostReport", "cost", "resolve_price", "resolve_watts"]
