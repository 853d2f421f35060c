"""A fleet: pools of chips serving a mix of models and workloads. Load (TOML, pydantic) and evaluate.

Allocation (docs/fleet.md):

1. Every pool serves every workload, in proportion to the workloads' traffic shares (shares are
   fractions of requests and sum to 1).
2. For each (pool, workload) part, the operating point is the deployment shape and batch with the
   highest output tokens/s per GPU that meets the workload's latency targets (tokens/s per user,
   TTFT): the shape comes from a frontier sweep (or the workload's own tp/pp/ep), the batch from
   `estimate.estimate` with those targets (max throughput when a workload has none).
   Cached input (`cached_fraction`) speeds the step as in `cost.phase_split`.
3. A request of workload w costs O_w / (output tokens/s per GPU) GPU-seconds on pool p. The pool's
   busy GPU-time (count x utilisation) is divided so the request rates are in the traffic ratio:
   GPUs(p, w) = count_p x share_w g_pw / sum_v share_v g_pv. Fractional replicas are time-sharing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infercast.specs import precision as P
from infercast.analyses.cost import DEFAULT_LOAD_FRACTION, DEFAULT_PUE, gpu_watts, phase_split, resolve_price, resolve_watts
from infercast.errors import InfercastError
from infercast.engine.estimate import estimate
from infercast.analyses.frontier import best_point, sweep
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model
from infercast.engine.step import deployment
from infercast.files import parse_toml, read_toml, shown
from infercast.specs.store import read_data_text
from infercast.vocabulary import MAX_DEGREE, MAX_GPUS, MAX_REPLICA_GPUS, MAX_TOKENS, TERMS


def _range(term: str) -> dict:
    """pydantic bounds from the vocabulary's range of `term` (one definition for CLI, web and files)."""
    t = TERMS[term]
    return {"gt" if t.lo_open else "ge": t.lo, "le": t.hi}

SHARE_TOLERANCE = 1e-3


# limits: as for the CLI's options (infercast.vocabulary); NaN and infinities are refused everywhere
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=False)


class Pool(BaseModel):
    model_config = _STRICT
    chip: str
    count: int = Field(gt=0, le=MAX_GPUS, description="GPUs in the pool")
    price: float | None = Field(None, **_range("price"), description="$/GPU-hour; default: the catalog's dated price")
    utilisation: float = Field(1.0, **_range("utilisation"), description="fraction of hours the pool is serving")
    engine: str | None = Field(None, max_length=200)
    watts: float | None = Field(None, **_range("watts"), description="rated power per GPU; default the catalog TDP")

    @field_validator("chip")
    @classmethod
    def _chip(cls, v: str) -> str:
        return get_chip(v).id  # UnknownIdError (a ValueError) names the chip and suggests ids


class Workload(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=200)
    model: str
    share: float = Field(gt=0, le=1, description="fraction of requests")
    input_len: int = Field(gt=0, le=MAX_TOKENS)
    output_len: int = Field(gt=0, le=MAX_TOKENS)
    cached_fraction: float = Field(0.0, ge=0, le=0.999)
    min_tokens_per_s_per_user: float | None = Field(None, **_range("min_tps_user"))
    max_ttft_s: float | None = Field(None, **_range("max_ttft"))
    weights: str | None = None
    kv: str | None = None
    tp: int | None = Field(None, gt=0, le=MAX_DEGREE)
    pp: int | None = Field(None, gt=0, le=MAX_DEGREE)
    ep: int | None = Field(None, gt=0, le=MAX_DEGREE)
    max_gpus_per_replica: int = Field(64, gt=0, le=MAX_REPLICA_GPUS)
    disaggregated: bool = Field(False, description="also plan prefill and decode on pools of their own (the "
                                                   "planner's best of both), as large MoE models are served")

    @model_validator(mode="after")
    def _shape_or_pools(self) -> "Workload":
        if self.disaggregated and (self.tp or self.pp or self.ep):
            raise ValueError("disaggregated: the planner chooses both pools' shapes; drop tp/pp/ep or disaggregated")
        return self

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return get_model(v).id

    @field_validator("weights", "kv")
    @classmethod
    def _prec(cls, v: str | None) -> str | None:
        return None if v is None else P.check(v)


class Energy(BaseModel):
    model_config = _STRICT
    load_fraction: float = Field(DEFAULT_LOAD_FRACTION, **_range("load"))
    pue: float = Field(DEFAULT_PUE, **_range("pue"))


class Fleet(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=200)
    description: str = Field("", max_length=10_000)
    # every pool serves every workload (one sweep each): at most 20 x 20 parts, well under a minute
    pools: list[Pool] = Field(min_length=1, max_length=20)
    workloads: list[Workload] = Field(min_length=1, max_length=20)
    energy: Energy = Energy()
    notes: list[str] = Field([], max_length=100)

    @model_validator(mode="after")
    def _check(self) -> "Fleet":
        total = sum(w.share for w in self.workloads)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"workloads.share: traffic shares sum to {total:g}; they must sum to 1 "
                             f"({', '.join(f'{w.name}={w.share:g}' for w in self.workloads)})")
        names = [w.name for w in self.workloads]
        if len(set(names)) != len(names):
            raise ValueError(f"workloads.name: names must be unique, got {names}")
        return self


# ---------------------------------------------------------------- loading

def _shipped() -> dict[str, Path]:
    d = resources.files("infercast").joinpath("data")
    return {p.name[len("fleet_"):-len(".toml")]: Path(str(p)) for p in d.iterdir()
            if p.name.startswith("fleet_") and p.name.endswith(".toml")}


def shipped_fleets() -> dict[str, str]:
    """Name -> description of the example fleets shipped in infercast/data/fleet_*.toml."""
    out = {}
    for name, path in sorted(_shipped().items()):
        raw = parse_toml(read_data_text(path.name), path.name, field=None)
        out[name] = str(raw.get("description", ""))
    return out


def _loc(err: dict) -> str:
    s = ""
    for x in err.get("loc", ()):
        s += f"[{x}]" if isinstance(x, int) else (("." if s else "") + str(x))
    return s


def _got(v) -> str:
    from infercast.format import truncate

    try:
        return truncate(repr(v), 40)
    except ValueError:  # an integer too long to print
        return "a number too long to print"


def parse_fleet(data: dict, source: str = "fleet") -> Fleet:
    """A validated Fleet; every problem (up to three) named by its place in the file: pools[0].count."""
    if not isinstance(data, dict):
        raise InfercastError(f"{source}: a fleet is a table with name, pools and workloads", field="fleet")
    try:
        return Fleet(**data)
    except ValidationError as e:
        msgs = []
        for err in e.errors()[:3]:
            msg = str(err.get("msg", "")).removeprefix("Value error, ").replace("Input should be", "must be")
            loc = _loc(err)
            if "input" in err and not isinstance(err["input"], (dict, list)) and loc and err["type"] != "missing":
                msg += f" (got {_got(err['input'])})"
            msgs.append(f"{loc}: {msg}" if loc else msg)
        more = f" (and {len(e.errors()) - 3} more)" if len(e.errors()) > 3 else ""
        raise InfercastError(f"{source}: " + "; ".join(msgs) + more, field="fleet") from None
    except TypeError as e:
        raise InfercastError(f"{source}: {e}", field="fleet") from None


def load_fleet(name_or_path: str | Path) -> Fleet:
    """A fleet from a TOML file, or a shipped example by name (`essay-gpt4`)."""
    p = Path(name_or_path)
    shipped = _shipped()
    try:
        exists = p.exists()
    except (OSError, ValueError):
        exists = False
    if not exists:
        key = str(name_or_path).removeprefix("fleet_").removesuffix(".toml")
        if key in shipped:
            data = parse_toml(read_data_text(shipped[key].name), shipped[key].name, field=None)
            return parse_fleet(data, shipped[key].name)
        raise InfercastError(f"no fleet file {shown(name_or_path)} and no shipped fleet of that name; "
                             f"shipped: {', '.join(sorted(shipped))}", field="fleet", value=str(name_or_path))
    data = read_toml(p, field="fleet", what="fleet file")
    return parse_fleet(data, shown(p))


# ---------------------------------------------------------------- evaluation

@dataclass
class Part:
    pool: str  # chip id
    workload: str
    model: str
    tp: int
    pp: int
    ep: int
    weights: str
    engine: str
    shape_chosen_by: str
    gpus: float  # GPUs of the pool given to this workload (fractional = time-shared)
    replicas: float
    concurrency_per_replica: float
    tokens_per_s_per_user: float
    ttft_s: float
    output_tok_s_per_gpu: float  # busy rate at the operating point
    input_tok_s_per_gpu: float
    output_tok_s: float  # this part's total, utilisation applied
    input_tok_s: float
    requests_per_s: float
    prefill_share: float
    usd_per_hour: float
    usd_per_m_input: float
    usd_per_m_output: float
    watts: float
    binding: str  # what limits the batch and what dominates the step

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class FleetResult:
    name: str
    description: str
    gpus: int
    output_tok_s: float
    input_tok_s: float
    output_tok_per_day: float
    input_tok_per_day: float
    requests_per_s: float
    forward_passes_per_chip_s: float  # (input + output) tokens per GPU-second, whole fleet
    usd_per_hour: float
    usd_per_m_input: float
    usd_per_m_output: float
    usd_per_m_tokens: float  # all tokens
    power_mw: float
    j_per_token: float
    parts: list[Part]
    pools: list[dict]
    ai_workers: dict = field(default_factory=dict)  # output tokens/day in human workdays (analyses.workers)
    assumptions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _choose_shape(w: Workload, chip: str, count: int, engine: str | None) -> tuple[int, int, int, str, str]:
    """Shape and precision with the best output tokens/s per GPU meeting the targets."""
    m = get_model(w.model)
    if w.tp or w.pp or w.ep:
        return w.tp or 1, w.pp or 1, w.ep or 1, w.weights or m.dtype, "given in the fleet file"
    precs = [w.weights or m.dtype]
    sw = sweep(m, chip, input_len=w.input_len, output_len=w.output_len, precisions=precs,
               max_gpus=min(count, w.max_gpus_per_replica), engine=engine, kv=w.kv, n_concurrency=24,
               frontiers=False)
    pt = best_point(sw, w.min_tokens_per_s_per_user, w.max_ttft_s)
    if pt is None:
        raise InfercastError(f"workload '{w.name}' ({m.id}) on {chip}: no shape up to "
                             f"{min(count, w.max_gpus_per_replica)} GPUs per replica meets "
                             f"{_targets(w) or 'the targets'}; relax the targets or change the precision",
                             field="fleet")
    return pt["tp"], pt["pp"], pt["ep"], pt["precision"], "best output tokens/s per GPU meeting the targets (sweep)"


@dataclass(frozen=True)
class _Point:
    """The operating point of one (pool, workload) part, from `estimate` or from the planner."""

    model: str
    tp: int
    pp: int
    ep: int
    weights: str
    engine: str
    gpus: int  # one replica's (both pools' when disaggregated)
    replicas: float
    concurrency: float
    tokens_per_s_per_user: float
    ttft_s: float
    output_tok_s_per_gpu: float
    input_tok_s_per_gpu: float
    binding: str


def _estimated(w: Workload, pool: Pool, prof, tp: int, pp: int, ep: int, prec: str, how: str) -> tuple[_Point, str]:
    """An aggregated shape's operating point: `estimate` at the workload's targets (max throughput without)."""
    tpot_max = 1.0 / w.min_tokens_per_s_per_user if w.min_tokens_per_s_per_user else None
    targets = tpot_max is not None or w.max_ttft_s is not None
    e = estimate(w.model, pool.chip, tp=tp, pp=pp, ep=ep, weights=prec, kv=w.kv, engine=pool.engine, profile=prof,
                 input_len=w.input_len, output_len=w.output_len, max_throughput=not targets, tpot_max=tpot_max,
                 ttft_max=w.max_ttft_s)
    return _Point(e.model, e.tp, e.pp, e.ep, e.weights, e.engine, e.gpus, e.replicas, e.concurrency,
                  e.tokens_per_s_per_user, e.ttft_s, e.output_tok_s_per_gpu, e.input_tok_s_per_gpu,
                  f"batch: {e.batch_limit}; step: {e.bound_by}-bound"), how


def _planned(w: Workload, pool: Pool, prof) -> tuple[_Point, str]:
    """The planner's best of aggregated shapes and prefill/decode pools apart meeting the targets (the decode
    pool's shape is the one reported; its GPUs count both pools)."""
    from infercast.engine.planner import Space, Targets, plan
    from infercast.engine.planner import Workload as Lengths

    m = get_model(w.model)
    cap = min(pool.count, w.max_gpus_per_replica)
    p = plan(m, pool.chip, Lengths(w.input_len, w.output_len),
             Targets(min_tps_user=w.min_tokens_per_s_per_user, max_ttft=w.max_ttft_s),
             Space(precisions=(w.weights or m.dtype,), kv=w.kv, max_gpus=cap, disaggregated=True, engine=pool.engine,
                   profile=prof), frontiers=False)
    pt = p.best
    if pt is None:
        raise InfercastError(f"no shape up to {cap} GPUs per replica, pools apart or not, meets "
                             f"{_targets(w) or 'the targets'}; relax the targets or change the precision",
                             field="fleet")
    apart = pt.get("disaggregated")
    how = ("best output tokens/s per GPU meeting the targets, prefill and decode apart: " + apart if apart else
           "best output tokens/s per GPU meeting the targets (planner; pools apart serve less here)")
    return _Point(m.id, pt["tp"], pt["pp"], pt["ep"], pt["precision"], pt["engine"], pt["gpus"], 1.0,
                  pt["concurrency"], pt["tokens_per_s_per_user"], pt["ttft_s"], pt["output_tok_s_per_gpu"],
                  pt["input_tok_s_per_gpu"], "prefill and decode pools apart" if apart else
                  "aggregated (the planner's best)"), how


def _targets(w: Workload) -> str:
    t = []
    if w.min_tokens_per_s_per_user:
        t.append(f">= {w.min_tokens_per_s_per_user:g} tokens/s per user")
    if w.max_ttft_s:
        t.append(f"TTFT <= {w.max_ttft_s:g} s")
    return " and ".join(t)


def _profile_for(profile, chip: str) -> bool:
    if profile is None:
        return False
    from infercast.analyses.predict import profile_applies

    return profile_applies(profile, chip)


def evaluate(fleet: Fleet | str | Path, profile=None, tokens_per_workday: float | None = None) -> FleetResult:
    """Evaluate a fleet; `profile` (a calibration profile) applies to pools of the chip it measured;
    `tokens_per_workday` converts output tokens/day to AI-worker equivalents (default: analyses.workers)."""
    from infercast.analyses.workers import ai_workers, conversion

    conv = conversion(tokens_per_workday)
    fl = fleet if isinstance(fleet, Fleet) else load_fleet(fleet)
    parts: list[Part] = []
    pools_out = []
    lf, pue = fl.energy.load_fraction, fl.energy.pue
    for i, pool in enumerate(fl.pools):
        try:
            usd, price_src = resolve_price(pool.chip, pool.price)
            rated, basis = resolve_watts(pool.chip, pool.watts)
        except InfercastError as e:
            what = {"price": "price = USD per GPU-hour", "watts": "watts = rated W per GPU"}.get(e.field)
            if what is None:
                raise
            raise InfercastError(f"pools[{i}].{e.field}: {e.message.removesuffix('; give one')}; set {what} "
                                 "in the pool", field="fleet") from None
        watts = gpu_watts(rated, lf, pue)
        rows = []
        for w in fl.workloads:
            prof = profile if _profile_for(profile, pool.chip) else None
            try:
                e, how = (_planned(w, pool, prof) if w.disaggregated else
                          _estimated(w, pool, prof, *_choose_shape(w, pool.chip, pool.count, pool.engine)))
            except InfercastError as err:
                raise InfercastError(f"workload '{w.name}' on pools[{i}] ({pool.chip}): {err}", field="fleet") from None
            if e.gpus > pool.count:
                raise InfercastError(f"workload '{w.name}': one replica needs {e.gpus} GPUs but pools[{i}] "
                                     f"({pool.chip}) has count = {pool.count}", field="fleet")
            dep = deployment(w.model, pool.chip, tp=e.tp, pp=e.pp, ep=e.ep, weights=e.weights, kv=w.kv,
                             engine=pool.engine, profile=prof)
            c = e.concurrency / e.replicas
            share, gain = (float(x) for x in phase_split(dep, w.input_len, w.output_len, c, w.cached_fraction))
            out, inp = e.output_tok_s_per_gpu * gain, e.input_tok_s_per_gpu * gain
            rows.append((w, e, share, out, inp, how, gain, c))
        # GPU-seconds per request, then split the pool so request rates follow the shares
        g = [r[0].output_len / r[3] for r in rows]
        denom = sum(w.share * gi for (w, *_), gi in zip(rows, g))
        pool_tok = {"output_tok_s": 0.0, "input_tok_s": 0.0}
        for (w, e, share, out, inp, how, gain, c), gi in zip(rows, g):
            gpus = pool.count * w.share * gi / denom
            busy = gpus * pool.utilisation
            o_s, i_s = busy * out, busy * inp
            usd_h = gpus * usd
            parts.append(Part(
                pool=pool.chip, workload=w.name, model=e.model, tp=e.tp, pp=e.pp, ep=e.ep, weights=e.weights,
                engine=e.engine, shape_chosen_by=how, gpus=gpus, replicas=gpus / e.gpus,
                concurrency_per_replica=c, tokens_per_s_per_user=e.tokens_per_s_per_user * gain, ttft_s=e.ttft_s,
                output_tok_s_per_gpu=out, input_tok_s_per_gpu=inp, output_tok_s=o_s, input_tok_s=i_s,
                requests_per_s=o_s / w.output_len, prefill_share=share, usd_per_hour=usd_h,
                usd_per_m_input=1e6 * usd_h * share / 3600 / i_s, usd_per_m_output=1e6 * usd_h * (1 - share) / 3600 / o_s,
                watts=gpus * watts, binding=e.binding))
            pool_tok["output_tok_s"] += o_s
            pool_tok["input_tok_s"] += i_s
        pools_out.append({"chip": pool.chip, "count": pool.count, "usd_per_gpu_hour": usd, "price_source": price_src,
                          "utilisation": pool.utilisation, "watts_per_gpu": watts, "power_basis": basis,
                          "power_mw": pool.count * watts / 1e6, **pool_tok})
    n = sum(p.count for p in fl.pools)
    out_s = sum(p.output_tok_s for p in parts)
    in_s = sum(p.input_tok_s for p in parts)
    usd_h = sum(p.usd_per_hour for p in parts)
    usd_in = sum(p.usd_per_hour * p.prefill_share for p in parts)
    power_w = sum(p["count"] * p["watts_per_gpu"] for p in pools_out)
    assumptions = [
        "each pool serves every workload in proportion to its traffic share (of requests); each part runs at "
        "the shape and batch with the best output tokens/s per GPU meeting that workload's latency targets",
        "fractional GPU counts are time-sharing between workloads",
        f"power: rated watts x load fraction {lf:g} x PUE {pue:g} for every GPU in the fleet, busy or idle; "
        "J/token = fleet power / fleet tokens/s",
        "cost: each part's GPU-hours split between input and output by prefill's share of step time",
    ] + list(fl.notes)
    return FleetResult(
        name=fl.name, description=fl.description, gpus=n, output_tok_s=out_s, input_tok_s=in_s,
        output_tok_per_day=out_s * 86400, input_tok_per_day=in_s * 86400,
        requests_per_s=sum(p.requests_per_s for p in parts),
        forward_passes_per_chip_s=(out_s + in_s) / n, usd_per_hour=usd_h,
        usd_per_m_input=1e6 * usd_in / 3600 / in_s, usd_per_m_output=1e6 * (usd_h - usd_in) / 3600 / out_s,
        usd_per_m_tokens=1e6 * usd_h / 3600 / (in_s + out_s), power_mw=power_w / 1e6,
        j_per_token=power_w / (in_s + out_s), parts=parts, pools=pools_out,
        ai_workers=ai_workers(out_s * 86400, conv), assumptions=assumptions)


__all__ = ["Fleet", "Pool", "Workload", "Energy", "FleetResult", "Part", "load_fleet", "parse_fleet", "evaluate",
           "shipped_fleets"]
