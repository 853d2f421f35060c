"""Capacity planning: how many GPUs of each chip serve a demand at latency targets, and what they cost.

Demand is a mean request rate with its lengths (`Demand`): from tokens per day (input + output
tokens, the way providers count "tokens processed"), from requests per second with fixed or
distributed lengths, or from what an existing fleet serves (`demand_from_fleet`, one part per
workload). Per chip (`size`):

1. The planner (`engine.planner.plan`) evaluates every shape, precision and batch; of the
   configurations meeting the targets (tokens/s per user, TTFT, TPOT at a percentile) the one chosen
   needs the fewest GPUs for the peak demand, ties going to the highest output tokens/s per GPU.
2. A replica of g GPUs at that point serves r = g x (output tokens/s per GPU) / O requests/s; the
   peak is the mean x headroom (peak-to-mean ratio), so replicas = ceil(peak / r) and GPUs =
   replicas x g. Rounding up leaves replicas below their batch, which only lowers latency.
3. Utilisation at the mean = mean requests/s / (replicas x r). Cost per month = GPUs x $/GPU-hour x
   730 h (8,760 h / 12); $/M tokens = that cost over the mean month's input + output tokens.
4. Energy: every GPU of the fleet draws rated watts x load fraction x PUE (`analyses.cost.gpu_watts`,
   Epoch's 0.7 and 1.2 by default), busy or idle, as `analyses.fleet` counts it; J/token = fleet watts
   over mean tokens/s.

The inverse (`serves`): given N GPUs, the configuration meeting the targets that makes the most tokens
with whole replicas of N, and the demand it carries (its capacity, and the mean it carries with the
headroom). Lengths drawn from a distribution are planned at their means: throughput follows the
mean tokens per request; the KV cache of the longest requests is not modelled (a note says so).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from infercast.analyses.cost import DEFAULT_LOAD_FRACTION, DEFAULT_PUE, gpu_watts, resolve_price, resolve_watts
from infercast.engine.estimate import data_ready
from infercast.engine.planner import Plan, Space, Targets, Workload, plan
from infercast.engine.speculative import Speculation
from infercast.errors import InfercastError
from infercast.format import num
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model
from infercast.vocabulary import check_number

HOURS_PER_MONTH = 8760 / 12  # 730 h: a calendar year's hours over 12
SECONDS_PER_DAY = 86_400
# chips sized when none is named: one per generation and vendor, each with a dated catalog price
DEFAULT_CHIPS = ("a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "mi300x", "mi325x")


@dataclass(frozen=True)
class Demand:
    """One workload's mean demand: a model at a request rate with lengths and latency targets."""

    model: str
    requests_per_s: float  # mean
    input_len: float  # mean prompt tokens per request
    output_len: float  # mean generated tokens per request
    targets: Targets = Targets()
    name: str = "demand"
    described: str = ""  # how the demand was given, for the output
    notes: tuple[str, ...] = ()
    weights: tuple[str, ...] | None = None  # precisions to consider (None: every one the chip runs)
    kv: str | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.requests_per_s * (self.input_len + self.output_len)

    @property
    def workload(self) -> Workload:
        return Workload(max(1, round(self.input_len)), max(1, round(self.output_len)))

    def as_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "requests_per_s": self.requests_per_s,
                "input_len": self.input_len, "output_len": self.output_len, "tokens_per_s": self.tokens_per_s,
                "tokens_per_day": self.tokens_per_s * SECONDS_PER_DAY, "targets": self.targets.describe(),
                "described": self.described}


def _lengths(input_len, output_len, lengths=None) -> tuple[float, float, tuple[str, ...]]:
    """Mean input and output lengths, from fixed lengths or a length distribution (engine.workload.Lengths)."""
    if lengths is None:
        return (float(check_number("input_len", input_len, integer=True, allow_none=False)),
                float(check_number("output_len", output_len, integer=True, allow_none=False)), ())
    i, o = lengths.mean_input, lengths.mean_output
    note = (f"lengths vary (mean {num(i)} in / {num(o)} out, longest request {num(lengths.max_total)} tokens): planned at "
            "the means, so throughput follows the mean tokens per request; the KV cache of the longest requests is "
            "not checked")
    return float(i), float(o), (note,)


def demand_from_tokens(model, tokens_per_day: float, *, input_len=1024, output_len=256, lengths=None,
                       targets: Targets | None = None, weights=None, kv=None) -> Demand:
    """Demand given as tokens per day, input and output tokens together (how providers count tokens served)."""
    tpd = check_number("tokens_per_day", tokens_per_day, allow_none=False)
    i, o, notes = _lengths(input_len, output_len, lengths)
    rps = tpd / SECONDS_PER_DAY / (i + o)
    return Demand(get_model(model).id, rps, i, o, targets or Targets(), described=f"{num(tpd)} tokens/day "
                  f"(input + output) = {num(rps)} requests/s of {num(i)} in / {num(o)} out", notes=notes,
                  weights=_precisions(weights), kv=kv)


def demand_from_requests(model, requests_per_s: float, *, input_len=1024, output_len=256, lengths=None,
                         targets: Targets | None = None, weights=None, kv=None) -> Demand:
    """Demand given as a mean request rate with fixed lengths or a length distribution."""
    rps = check_number("requests_per_s", requests_per_s, allow_none=False)
    i, o, notes = _lengths(input_len, output_len, lengths)
    return Demand(get_model(model).id, rps, i, o, targets or Targets(),
                  described=f"{num(rps)} requests/s of {num(i)} in / {num(o)} out", notes=notes,
                  weights=_precisions(weights), kv=kv)


def demand_from_fleet(fleet, profile=None) -> list[Demand]:
    """What a fleet serves (analyses.fleet.evaluate), one demand per workload: its requests/s, lengths and targets."""
    from infercast.analyses.fleet import evaluate, load_fleet

    fl = fleet if not isinstance(fleet, str) else load_fleet(fleet)
    r = evaluate(fl, profile=profile)
    out = []
    for w in fl.workloads:
        rps = sum(p.requests_per_s for p in r.parts if p.workload == w.name)
        t = Targets(min_tps_user=w.min_tokens_per_s_per_user, max_ttft=w.max_ttft_s)
        out.append(Demand(w.model, rps, float(w.input_len), float(w.output_len), t, name=w.name,
                          described=f"what fleet '{fl.name}' serves of workload '{w.name}': {num(rps)} requests/s "
                                    f"of {num(w.input_len)} in / {num(w.output_len)} out",
                          weights=(w.weights,) if w.weights else None, kv=w.kv))
    return out


def _precisions(weights) -> tuple[str, ...] | None:
    if not weights:
        return None
    from infercast.specs import precision as P

    return tuple(P.check(w, "weights") for w in ([weights] if isinstance(weights, str) else weights))


# ---------------------------------------------------------------- choosing a point

def _rates(p: Plan, w: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Per configuration: GPUs per replica and requests/s one replica serves at its operating point."""
    a = p.arrays
    g = np.maximum(a["gpus"], 1.0)
    return g, g * a["output_tok_s_per_gpu"] / w.output_len


def _meeting(p: Plan, t: Targets) -> np.ndarray:
    ok = p.meeting(t) if t.any else np.isfinite(p.arrays["output_tok_s_per_gpu"])
    return ok & (p.arrays["output_tok_s_per_gpu"] > 0)


def fewest_gpus(p: Plan, t: Targets, w: Workload, peak_rps: float) -> tuple[int, int] | None:
    """(configuration index, GPUs) of the configuration meeting `t` that serves `peak_rps` on the fewest GPUs."""
    ok = _meeting(p, t)
    if not ok.any():
        return None
    g, r = _rates(p, w)
    idx = np.flatnonzero(ok)
    need = np.ceil(peak_rps / r[idx] * (1 - 1e-12)) * g[idx]
    # fewest GPUs; among those, the highest output tokens/s per GPU (the most spare capacity)
    order = np.lexsort((-p.arrays["output_tok_s_per_gpu"][idx], need))
    i = int(idx[order[0]])
    return i, int(need[order[0]])


def most_served(p: Plan, t: Targets, w: Workload, gpus: int) -> tuple[int, int] | None:
    """(configuration index, replicas) meeting `t` that serves the most requests/s with whole replicas in `gpus`."""
    ok = _meeting(p, t)
    g, r = _rates(p, w)
    reps = np.floor(gpus / g)
    ok &= reps >= 1
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    served = reps[idx] * r[idx]
    i = int(idx[np.argmax(served)])
    return i, int(reps[i])


# ---------------------------------------------------------------- results

@dataclass
class SizedPart:
    """One workload's share of a chip's fleet."""

    workload: str
    model: str
    gpus: int
    replicas: int
    shape: dict  # tp, pp, ep, dp, gpus_per_replica, precision, kv, engine, concurrency_per_replica, ...
    output_tok_s_per_gpu: float  # at the operating point (busy)
    input_tok_s_per_gpu: float
    tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
    capacity_requests_per_s: float  # all replicas at the operating point
    demand: dict
    utilisation: float | None  # mean demand / capacity (None: no demand given)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Sized:
    """A chip's answer: GPUs (or, for the inverse, what the given GPUs serve), cost and energy."""

    chip: str
    gpus: int | None
    shape: dict | None  # the shape of the part with the most GPUs (the only one for a single workload)
    precision: str | None
    cost_per_month: float | None  # $ for all GPUs, 730 h
    usd_per_gpu_hour: float | None
    price_source: str | None
    usd_per_m_tokens: float | None  # at the mean demand (idle hours paid)
    utilisation: float | None  # mean demand / capacity, all parts
    capacity_tokens_per_day: float | None  # input + output tokens/day at the operating points
    demand_tokens_per_day: float | None  # mean
    peak_tokens_per_day: float | None  # mean x headroom
    meets_peak: bool | None
    power_kw: float | None
    energy_mwh_per_month: float | None
    j_per_token: float | None  # fleet power over mean tokens/s
    watts_per_gpu: float | None
    headroom: float = 1.0
    mode: str = "size"  # size: GPUs for the demand; serves: what the given GPUs carry
    parts: list[SizedPart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # why this chip has no answer (the others keep theirs)
    error_field: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["parts"] = [p.as_dict() for p in self.parts]
        return d


def _shape(p: Plan, i: int, replicas: int) -> dict:
    pt = p.point(i)
    return {"tp": pt["tp"], "pp": pt["pp"], "ep": pt["ep"], "dp": pt["dp"], "gpus_per_replica": pt["gpus"],
            "replicas": replicas, "precision": pt["precision"], "kv": pt["kv"], "engine": pt["engine"],
            "concurrency_per_replica": pt["concurrency"], "speculative": pt["speculative"],
            "disaggregated": pt["disaggregated"], "rank_tokens": pt.get("rank_tokens")}


def _space(d: Demand, base: Space) -> Space:
    from dataclasses import replace

    return replace(base, precisions=d.weights if d.weights else base.precisions, kv=d.kv or base.kv)


def _part(p: Plan, i: int, replicas: int, d: Demand, w: Workload) -> SizedPart:
    pt = p.point(i)
    g, r = _rates(p, w)
    cap = replicas * float(r[i])
    return SizedPart(workload=d.name, model=d.model, gpus=int(replicas * g[i]), replicas=replicas,
                     shape=_shape(p, i, replicas), output_tok_s_per_gpu=pt["output_tok_s_per_gpu"],
                     input_tok_s_per_gpu=pt["input_tok_s_per_gpu"], tokens_per_s_per_user=pt["tokens_per_s_per_user"],
                     ttft_s=pt["ttft_s"], tpot_s=pt["tpot_s"], capacity_requests_per_s=cap, demand=d.as_dict(),
                     utilisation=d.requests_per_s / cap if d.requests_per_s > 0 and cap > 0 else None)


def size(demands: Demand | list[Demand], chip, *, headroom: float = 1.0, space: Space | None = None,
         price: float | None = None, watts: float | None = None, load_fraction: float = DEFAULT_LOAD_FRACTION,
         pue: float = DEFAULT_PUE, gpus: int | None = None) -> Sized:
    """GPUs of `chip` for the demand at its peak (mean x headroom), or with `gpus`, what those GPUs serve.

    Raises InfercastError for bad input; a chip on which no configuration meets the targets is
    answered with `error` set (callers sizing several chips keep the others)."""
    ds = [demands] if isinstance(demands, Demand) else list(demands)
    if not ds:
        raise InfercastError("no demand to size: give tokens_per_day, requests_per_s or a fleet", field="tokens_per_day")
    headroom = check_number("headroom", headroom, allow_none=False)
    gpus = check_number("gpus", gpus, integer=True)
    if gpus is not None and len(ds) > 1:
        raise InfercastError("gpus with several workloads: the split between them is a fleet's question; evaluate "
                             "the fleet instead", field="gpus")
    c = get_chip(chip)
    try:
        usd, price_src = resolve_price(c, price)
        rated, _ = resolve_watts(c, watts)
    except InfercastError as e:  # a chip without a catalog price or TDP: its answer says what to give
        if e.field in ("price", "watts"):
            return _failed(c.id, e, headroom, gpus)
        raise
    w_gpu = float(gpu_watts(rated, load_fraction, pue))
    base = space or Space()
    data_ready(c, base.engine)
    parts: list[SizedPart] = []
    notes: list[str] = []
    for d in ds:
        wl = d.workload
        try:
            p = plan(d.model, c, wl, d.targets, _space(d, base), frontiers=False)
        except InfercastError as e:
            if e.field in ("max_gpus",):  # the model does not fit this chip: this chip's answer, not an input error
                return _failed(c.id, e, headroom, gpus)
            raise
        if gpus is None:
            pick = fewest_gpus(p, d.targets, wl, d.requests_per_s * headroom)
            if pick is None:
                return _failed(c.id, InfercastError(f"no configuration of {d.model} on {c.id} meets "
                                                    f"{d.targets.describe()}", field="min_tps_user"), headroom, gpus)
            i, n = pick
            g, _ = _rates(p, wl)
            parts.append(_part(p, i, int(round(n / g[i])), d, wl))
        else:
            pick = most_served(p, d.targets, wl, gpus)
            if pick is None:
                smallest = int(np.min(p.arrays["gpus"][_meeting(p, d.targets)])) if _meeting(p, d.targets).any() else None
                why = (f"the smallest replica meeting {d.targets.describe()} needs {smallest} GPUs" if smallest
                       else f"no configuration meets {d.targets.describe()}")
                return _failed(c.id, InfercastError(f"{gpus} x {c.id} cannot serve {d.model}: {why}", field="gpus"),
                               headroom, gpus)
            i, reps = pick
            parts.append(_part(p, i, reps, d, wl))
            if reps * int(p.arrays["gpus"][i]) < gpus:
                notes.append(f"{gpus - reps * int(p.arrays['gpus'][i])} of the {gpus} GPUs are left over: replicas of "
                             f"{int(p.arrays['gpus'][i])} GPUs")
        notes += list(d.notes)
    n_gpus = gpus if gpus is not None else sum(pt.gpus for pt in parts)
    demand_tps = sum(d.tokens_per_s for d in ds)
    cap_tps = sum(pt.capacity_requests_per_s * (pt.demand["input_len"] + pt.demand["output_len"]) for pt in parts)
    cost_month = n_gpus * usd * HOURS_PER_MONTH
    power_w = n_gpus * w_gpu
    big = max(parts, key=lambda pt: pt.gpus)
    util = demand_tps / cap_tps if cap_tps > 0 else None
    if gpus is not None and demand_tps == 0:
        util = 1.0 / headroom  # the inverse without a demand: the fleet carries capacity / headroom on average
    served_mean = demand_tps if demand_tps > 0 else cap_tps / headroom
    notes.append(f"cost: {n_gpus:,} GPUs x ${usd:.2f}/GPU-hour ({price_src}) x {HOURS_PER_MONTH:.0f} h per month")
    notes.append(f"power: rated {rated:.0f} W x load {load_fraction:g} x PUE {pue:g} = {w_gpu:.0f} W per GPU for every "
                 "GPU, busy or idle (Epoch's factors by default)")
    if headroom != 1.0:
        notes.append(f"sized for the peak: mean demand x headroom {headroom:g}")
    if not any(d.targets.any for d in ds):
        notes.append(f"no latency target: sized at maximum throughput ({num(big.tokens_per_s_per_user)} tokens/s per "
                     "user); give a target (min_tps_user, max_ttft) for an interactive service")
    return Sized(
        chip=c.id, gpus=n_gpus, shape=big.shape, precision=big.shape["precision"], cost_per_month=cost_month,
        usd_per_gpu_hour=usd, price_source=price_src,
        usd_per_m_tokens=cost_month / (served_mean * 3600 * HOURS_PER_MONTH / 1e6) if served_mean > 0 else None,
        utilisation=util, capacity_tokens_per_day=cap_tps * SECONDS_PER_DAY,
        demand_tokens_per_day=demand_tps * SECONDS_PER_DAY if demand_tps > 0 else None,
        peak_tokens_per_day=demand_tps * headroom * SECONDS_PER_DAY if demand_tps > 0 else None,
        meets_peak=bool(cap_tps >= demand_tps * headroom * (1 - 1e-9)) if demand_tps > 0 else None,
        power_kw=power_w / 1e3, energy_mwh_per_month=power_w * HOURS_PER_MONTH / 1e6,
        j_per_token=power_w / served_mean if served_mean > 0 else None, watts_per_gpu=w_gpu, headroom=headroom,
        mode="size" if gpus is None else "serves", parts=parts, notes=notes)


def _failed(chip: str, e: InfercastError, headroom: float, gpus: int | None) -> Sized:
    return Sized(chip=chip, gpus=None, shape=None, precision=None, cost_per_month=None, usd_per_gpu_hour=None,
                 price_source=None, usd_per_m_tokens=None, utilisation=None, capacity_tokens_per_day=None,
                 demand_tokens_per_day=None, peak_tokens_per_day=None, meets_peak=None, power_kw=None,
                 energy_mwh_per_month=None, j_per_token=None, watts_per_gpu=None, headroom=headroom,
                 mode="size" if gpus is None else "serves", error=e.message, error_field=e.field)


def size_chips(demands, chips, **kw) -> list[Sized]:
    """`size` for each chip; a chip that cannot serve the demand carries its error, the others their answers.
    When every chip fails, the first chip's error is raised (nothing to compare)."""
    out = [size(demands, c, **kw) for c in chips]
    if out and all(s.error for s in out):
        first = out[0]
        raise InfercastError(first.error if len(out) == 1 else
                             f"no chip can serve this demand; {first.chip}: {first.error}", field=first.error_field)
    return out


def speculative_space(spec: Speculation | None, base: Space | None = None) -> Space:
    """A planner space that also tries speculative decoding with `spec` (the planner keeps it where it pays)."""
    from dataclasses import replace

    b = base or Space()
    return b if spec is None else replace(b, speculative=(None, spec))


__all__ = ["Demand", "Sized", "SizedPart", "size", "size_chips", "demand_from_tokens", "demand_from_requests",
           "demand_from_fleet", "fewest_gpus", "most_served", "speculative_space", "DEFAULT_CHIPS",
           "HOURS_PER_MONTH"]
