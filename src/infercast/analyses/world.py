"""What the world's accelerators can serve: tokens/day for a model (or a mix) at a usable speed, P10/P50/P90.

tokens/day = sum over chip lines of units x scale x r(chip) x inference share x utilisation x 86,400,
times the model's own error, where

* units: the stock at the year's end (`analyses.stock`), each designer's count drawn from its 90 % CI
  (one standard-normal draw per designer and sample, shared by its chips: comonotonic);
* r(chip): input + output tokens per GPU-second of the best deployment meeting the target, from the
  planner (`engine.planner.plan`, called once per chip, model and target and reused by every sample);
  for a mix, the chip serves the models in their token shares: r = 1 / sum(share_m / r_m);
* inference share and utilisation: distributions (`analyses.uncertainty`), defaults below with sources;
* the model's error: a lognormal multiplier from the validation summary (`uncertainty.load_model_error`),
  one draw per sample shared by all chips (a systematic error: the widest reading).

Every input is drawn from its own named stream (`uncertainty.rng_for`), so a seed reproduces a run.
Drivers: each input varied alone (the others at their medians) gives the P10-P90 range it causes.
Bounds: the same stock, share and utilisation at the essay's FLOP bound (peak / matmul FLOP per token)
and batch-1 bandwidth bound (bandwidth / active weight bytes), per chip at the precision chosen.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infercast import format as F
from infercast.analyses import uncertainty as U
from infercast.analyses.essay import bounds as essay_bounds
from infercast.analyses.stock import Stock, split_lognormal, stock
from infercast.analyses.workers import Conversion, ai_workers, conversion
from infercast.analyses.world_data import stock_data, volumes
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.errors import InfercastError
from infercast.specs.model import ModelSpec, get_model
from infercast.vocabulary import MAX_TOKENS, check_number

SECONDS_PER_DAY = 86_400
DEFAULT_MODEL = "deepseek-v3"  # a 2024-25 frontier-class MoE served at scale, with a published architecture
DEFAULT_INPUT_LEN = 2000
DEFAULT_OUTPUT_LEN = 500
DEFAULT_MIN_TPS_USER = 20.0
DEFAULT_MAX_GPUS = 64
DEFAULT_SAMPLES = 4000
WORKLOAD_SOURCE = ("workload: 2,000 prompt + 500 generated tokens (4:1, near DeepSeek's published 608B input : 168B "
                   "output tokens a day, 3.6:1, data/world/deepseek_inference_2025.json) at >= 20 tokens/s per user "
                   "(DeepSeek's published 20-22 tokens/s per user)")
UTILISATION_DEFAULT = "triangle:0.4,0.6,0.82"
UTILISATION_SOURCE = ("max 0.82 = DeepSeek's average / peak serving nodes over a day (226.75 / 278, "
                      "data/world/deepseek_inference_2025.json): a fleet sized for its peak hour and busy at it; "
                      "mode 0.6 and min 0.4 are our assumption (bursts, failures, regions off-peak)")
MAX_MIX = 20


# ---------------------------------------------------------------- inputs

class MixEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=False)
    model: str = Field(max_length=500)
    share: float = Field(gt=0, le=1, description="fraction of the tokens served")
    input_len: int = Field(DEFAULT_INPUT_LEN, gt=0, le=MAX_TOKENS)
    output_len: int = Field(DEFAULT_OUTPUT_LEN, gt=0, le=MAX_TOKENS)
    min_tps_user: float | None = Field(None, ge=1e-3, le=1e6)
    name: str = Field("", max_length=200)

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return get_model(v).id


class Mix(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    models: list[MixEntry] = Field(min_length=1, max_length=MAX_MIX)
    description: str = Field("", max_length=10_000)

    @model_validator(mode="after")
    def _shares(self) -> "Mix":
        total = sum(e.share for e in self.models)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"models.share: token shares sum to {total:g}; they must sum to 1")
        return self


def _loc(err: dict) -> str:
    s = ""
    for x in err.get("loc", ()):
        s += f"[{x}]" if isinstance(x, int) else (("." if s else "") + str(x))
    return s


def parse_mix(data: Any, where: str = "mix") -> Mix:
    """A validated model mix; each problem named by its place in the file (models[1].share)."""
    if not isinstance(data, dict):
        raise InfercastError(f"{where}: a mix is a table with [[models]] entries (model, share, input_len, "
                             "output_len, min_tps_user)", field="mix")
    try:
        return Mix(**data)
    except ValidationError as e:
        msgs = []
        for err in e.errors()[:3]:
            msg = str(err.get("msg", "")).removeprefix("Value error, ").replace("Input should be", "must be")
            loc = _loc(err)
            msgs.append(f"{loc}: {msg}" if loc else msg)
        raise InfercastError(f"{where}: " + "; ".join(msgs), field="mix") from None
    except InfercastError as e:  # an unknown model id inside the file
        raise InfercastError(f"{where}: {e.message}", field="mix") from None
    except TypeError as e:
        raise InfercastError(f"{where}: {e}", field="mix") from None


def load_mix(path) -> Mix:
    """A mix from a TOML or JSON file ([[models]]: model, share, input_len, output_len, min_tps_user)."""
    from infercast.files import read_json, read_toml, shown

    p = Path(path)
    data = read_json(p, field="mix", what="mix file") if p.suffix.lower() == ".json" else \
        read_toml(p, field="mix", what="mix file")
    return parse_mix(data, shown(p))


def bounded(name: str, spec: Any, lo: float, hi: float) -> U.Dist:
    """A distribution for a quantity bounded to (lo, hi]: a number, uniform or triangle whose support lies
    inside (unbounded kinds are refused: a share above 1 would be a silent wrong number)."""
    try:
        d = U.parse(spec, name)
    except InfercastError as e:
        raise InfercastError(e.message, field=name, value=str(spec)) from None
    if d.kind in ("lognormal", "normal"):
        raise InfercastError(f"{name} must be a number, uniform:MIN,MAX or triangle:MIN,MODE,MAX within "
                             f"{lo:g}..{hi:g}, got {d} (unbounded)", field=name, value=str(spec))
    ends = (d.params[0],) if d.kind == "fixed" else (d.params[0], d.params[-1])
    for x in ends:
        if not (lo < x <= hi):
            raise InfercastError(f"{name} must lie within {lo:g}..{hi:g} (above {lo:g}), got {d}", field=name,
                                 value=str(spec))
    return d


def default_inference_share(year: int) -> tuple[str, str]:
    """triangle(0.3, mode, 0.7): mode = Deloitte's share for the year (linear between the years it gives)."""
    rows = sorted((r.year, r.value.central) for r in stock_data().inference_share
                  if r.quantity.startswith("share of all AI compute") and r.value.central is not None)
    ys, vs = [r[0] for r in rows], [r[1] for r in rows]
    mode = float(np.interp(year, ys, vs)) if rows else 0.5
    mode = min(max(mode, 0.3), 0.7)
    src = (f"triangle 0.3-0.7 (the range of published estimates: OpenAI ~0.28 of 2024 compute dollars (Epoch), "
           f"Deloitte ~1/3 (2023), 1/2 (2025), 2/3 (2026 prediction)), mode {mode:.2f} = Deloitte interpolated to "
           f"{year}; data/world/accelerator_stock.json inference_share")
    return f"triangle:0.3,{mode:.4g},0.7", src


# ---------------------------------------------------------------- per-chip rates (the planner, once each)

@dataclass(frozen=True)
class Rate:
    chip: str
    model: str
    input_len: int
    output_len: int
    min_tps_user: float
    served: bool
    output_tok_s_per_gpu: float
    input_tok_s_per_gpu: float
    tokens_per_s_per_user: float  # 0 when the chip serves nothing
    precision: str | None
    shape: str | None
    flop_bound_tok_s_per_gpu: float  # essay upper bound at the chosen precision (forward passes per chip-second)
    bandwidth_bound_tok_s_per_gpu: float  # essay lower bound (batch 1)
    why_not: str = ""

    @property
    def tok_s_per_gpu(self) -> float:
        return self.output_tok_s_per_gpu + self.input_tok_s_per_gpu

    def as_dict(self) -> dict:
        return dict(asdict(self), tok_s_per_gpu=self.tok_s_per_gpu)


def _rate_from(m: ModelSpec, chip: str, I: int, O: int, tps: float, best: dict | None, weights: str | None,
               why: str) -> Rate:
    prec = best["precision"] if best else (weights or m.dtype)
    try:
        b = essay_bounds(m, chip, prec)
        up, low = b.upper_forward_passes_per_s, b.lower_forward_passes_per_s
    except InfercastError:
        up = low = 0.0
    if best is None:  # serves nothing: its rates and speed are 0, `why_not` says why
        return Rate(chip, m.id, I, O, tps, False, 0.0, 0.0, 0.0, None, None, up, low, why)
    shape = (f"tp{best['tp']} pp{best['pp']}" + (f" ep{best['ep']}" if best["ep"] > 1 else "")
             + (" disaggregated" if best.get("disaggregated") else ""))
    return Rate(chip, m.id, I, O, tps, True, float(best["output_tok_s_per_gpu"]), float(best["input_tok_s_per_gpu"]),
                float(best["tokens_per_s_per_user"]), prec, shape, up, low)


def _rate(m: ModelSpec, chip: str, I: int, O: int, tps: float, max_gpus: int, weights: str | None,
          engine: str | None, points: int = 24) -> Rate:
    try:
        p = plan(m, chip, Workload(I, O), Targets(min_tps_user=tps),
                 Space(max_gpus=max_gpus, points=points, precisions=(weights,) if weights else None, engine=engine,
                       disaggregated=True),
                 frontiers=False)
        best = p.best
        why = "" if best else f"no deployment up to {max_gpus} GPUs reaches {F.num(tps)} tokens/s per user"
    except InfercastError as e:
        best, why = None, str(e)
    return _rate_from(m, chip, I, O, tps, best, weights, why)


def rate_from_plan(p, tps: float, weights: str | None = None) -> Rate:
    """A Rate from a plan already made (e.g. the report's sweeps): its best point meeting `tps`."""
    m = get_model(p.model)
    best = p.best_meeting(Targets(min_tps_user=tps))
    why = "" if best else f"no configuration of the given plan reaches {F.num(tps)} tokens/s per user"
    return _rate_from(m, p.chip, p.workload.input_len, p.workload.output_len, tps, best, weights, why)


@lru_cache(maxsize=512)
def _rate_cached(model_id: str, chip: str, I: int, O: int, tps: float, max_gpus: int, weights: str | None,
                 engine: str | None, points: int) -> Rate:
    return _rate(get_model(model_id), chip, I, O, tps, max_gpus, weights, engine, points)


def chip_rate(model: ModelSpec, chip: str, I: int, O: int, tps: float, max_gpus: int = DEFAULT_MAX_GPUS,
              weights: str | None = None, engine: str | None = None, points: int = 24) -> Rate:
    """The planner's best point for one chip (cached for catalog models: reused across samples and calls)."""
    try:
        catalog = get_model(model.id) is model
    except InfercastError:
        catalog = False
    if catalog:
        return _rate_cached(model.id, chip, I, O, float(tps), max_gpus, weights, engine, points)
    return _rate(model, chip, I, O, tps, max_gpus, weights, engine, points)


# ---------------------------------------------------------------- the result

@dataclass
class World:
    year: int
    as_of: str
    models: list[dict]  # the mix: model, share, input_len, output_len, min_tps_user
    stock: dict
    tokens_per_day: dict  # p10, p50, p90 (input + output)
    output_tokens_per_day: dict
    h100e: dict  # p10, p50, p90 of the sampled stock (bf16 basis)
    inference_gpu_equivalents: dict  # H100e serving on average: stock x share x utilisation
    drivers: list[dict]
    inputs: dict  # each uncertain input: spec, p10, p50, p90, source
    rates: list[dict]  # per chip (and model): the planner's point
    bounds: dict  # FLOP and bandwidth bounds on tokens/day at the medians
    ai_workers: dict
    disclosures: list[dict]
    samples: int
    seed: int
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _year_of(period: str) -> int | None:
    m = re.search(r"(20\d\d)", period)
    return int(m.group(1)) if m else None


def disclosed(year: int) -> list:
    """Disclosed token volumes whose period falls in `year`."""
    return [v for v in volumes() if _year_of(v.period) == year]


def world(year: int = 2025, *, model=None, mix: Mix | None = None, input_len: int = DEFAULT_INPUT_LEN,
          output_len: int = DEFAULT_OUTPUT_LEN, min_tps_user: float = DEFAULT_MIN_TPS_USER,
          inference_share: Any = None, utilisation: Any = None, samples: int = DEFAULT_SAMPLES, seed: int = 0,
          max_gpus: int = DEFAULT_MAX_GPUS, weights: str | None = None, engine: str | None = None,
          tokens_per_workday: float | None = None, designers: tuple[str, ...] | None = None,
          points: int = 24, plans: dict | None = None, check=None) -> World:
    """The stock at the end of `year` and the tokens/day it serves for `model` (or `mix`), P10/P50/P90.

    `plans`: {(model id, chip id): Plan} already made for the same workload (the report's sweeps); their best
    point meeting the target stands in for a new plan of that chip. `check()`, if given, is called before each
    chip's plan (the web app stops there when its client has gone)."""
    st: Stock = stock(year)
    n = check_number("samples", samples, integer=True, allow_none=False)
    seed = check_number("seed", seed, integer=True, allow_none=False)
    max_gpus = check_number("max_gpus", max_gpus, integer=True, allow_none=False)
    points = check_number("points", points, integer=True, allow_none=False)
    tps_default = check_number("min_tps_user", min_tps_user, allow_none=False)
    if mix is not None and model is not None:
        raise InfercastError("give a model or a mix, not both", field="mix")
    if mix is None:  # one model, which may be a spec not in the catalog (a config.json, an upload)
        m0 = get_model(model or DEFAULT_MODEL)
        one = MixEntry.model_construct(model=m0.id, share=1.0, name="", min_tps_user=tps_default,
                                       input_len=check_number("input_len", input_len, integer=True, allow_none=False),
                                       output_len=check_number("output_len", output_len, integer=True,
                                                               allow_none=False))
        mix = Mix.model_construct(models=[one], description="")
        entries = [(m0, one)]
    else:
        entries = [(get_model(e.model), e) for e in mix.models]
    conv: Conversion = conversion(tokens_per_workday)
    share_spec, share_src = (inference_share, "given") if inference_share is not None else \
        default_inference_share(st.year)
    util_spec, util_src = (utilisation, "given") if utilisation is not None else (UTILISATION_DEFAULT,
                                                                                  UTILISATION_SOURCE)
    share_d = bounded("inference_share", share_spec, 0.0, 1.0)
    util_d = bounded("utilisation", util_spec, 0.0, 1.0)
    me = U.load_model_error()
    lines = [ln for ln in st.lines if designers is None or ln.designer in designers]
    if not lines:
        raise InfercastError(f"no stock for designers {designers}")

    # per chip, per model: the planner's point (once each)
    chips = sorted({ln.served_as for ln in lines if ln.served_as})
    rates: dict[tuple[str, str], Rate] = {}
    for m, e in entries:
        for c in chips:
            if check is not None:
                check()
            tps = e.min_tps_user or tps_default
            given = (plans or {}).get((m.id, c))
            if given is not None and (given.workload.input_len, given.workload.output_len) == (e.input_len,
                                                                                                 e.output_len):
                rates[(c, m.id)] = rate_from_plan(given, tps, weights)
            else:
                rates[(c, m.id)] = chip_rate(m, c, e.input_len, e.output_len, tps, max_gpus, weights, engine, points)

    def mixed(c: str, attr: str) -> tuple[float, float]:
        """(tokens per GPU-second for the mix, output share of those tokens) on chip c; 0 when it serves none."""
        ok = [(m, e) for m, e in entries if rates[(c, m.id)].served]
        if not ok:
            return 0.0, 0.0
        tot = sum(e.share for _, e in ok)
        inv = sum(e.share / tot / getattr(rates[(c, m.id)], attr) for m, e in ok)
        out_share = sum(e.share / tot * e.output_len / (e.input_len + e.output_len) for _, e in ok)
        return 1.0 / inv, out_share

    per_line = np.array([ln.units * ln.scale * mixed(ln.served_as, "tok_s_per_gpu")[0] if ln.served_as else 0.0
                         for ln in lines])
    out_frac = np.array([mixed(ln.served_as, "tok_s_per_gpu")[1] if ln.served_as else 0.0 for ln in lines])
    up_line = np.array([ln.units * ln.scale * mixed(ln.served_as, "flop_bound_tok_s_per_gpu")[0]
                        if ln.served_as else 0.0 for ln in lines])
    low_line = np.array([ln.units * ln.scale * mixed(ln.served_as, "bandwidth_bound_tok_s_per_gpu")[0]
                         if ln.served_as else 0.0 for ln in lines])
    h100e_line = np.array([ln.h100e for ln in lines])
    designers_ = sorted({ln.designer for ln in lines})
    d_index = np.array([designers_.index(ln.designer) for ln in lines])

    # samples: one draw per designer (comonotonic within), share, utilisation, model error
    z = {d: U.rng_for(seed, f"stock.{d}").standard_normal(n) for d in designers_}
    mult = np.stack([split_lognormal(z[d], st.designer_interval[d]["low"], st.designer_interval[d]["high"])
                     for d in designers_])  # (designers, n)
    share = share_d.sample(n, U.rng_for(seed, "inference_share"))
    util = util_d.sample(n, U.rng_for(seed, "utilisation"))
    err = np.exp(me["sigma_log"] * U.rng_for(seed, "model_error").standard_normal(n))

    def total(m_: np.ndarray, s_: np.ndarray, u_: np.ndarray, e_: np.ndarray, what=per_line) -> np.ndarray:
        serving = (what[:, None] * m_[d_index]).sum(axis=0)  # tokens/s of the whole stock, all busy
        return serving * s_ * u_ * e_ * SECONDS_PER_DAY

    tok = total(mult, share, util, err)
    out_tok = total(mult, share, util, err, per_line * out_frac)
    h100e = (h100e_line[:, None] * mult[d_index]).sum(axis=0)
    med = {"share": np.full(n, share_d.median), "util": np.full(n, util_d.median), "err": np.ones(n),
           "mult": np.ones_like(mult)}

    drivers = []
    for d_i, d in enumerate(designers_):
        mm = np.ones_like(mult)
        mm[d_i] = mult[d_i]
        drivers.append((f"stock: {d}", total(mm, med["share"], med["util"], med["err"])))
    drivers += [("inference share", total(med["mult"], share, med["util"], med["err"])),
                ("utilisation", total(med["mult"], med["share"], util, med["err"])),
                ("per-chip throughput (model error)", total(med["mult"], med["share"], med["util"], err))]
    full = U.percentiles(tok)
    drv = []
    for name, x in drivers:
        q = U.percentiles(x)
        lv = float(np.var(np.log(np.maximum(x, 1e-300)))) if np.all(x > 0) else 0.0
        drv.append({"input": name, "p10": q["p10"], "p90": q["p90"], "ratio_p90_p10": q["p90"] / q["p10"]
                    if q["p10"] > 0 else None, "log_variance": lv})
    lv_all = sum(d["log_variance"] for d in drv) or 1.0
    for d in drv:
        d["variance_share"] = d["log_variance"] / lv_all
    drv.sort(key=lambda d: -d["log_variance"])

    central = dict(share=share_d.median, util=util_d.median)
    bnds = {"flop_bound_tokens_per_day": float(up_line.sum() * central["share"] * central["util"] * SECONDS_PER_DAY),
            "bandwidth_bound_tokens_per_day": float(low_line.sum() * central["share"] * central["util"]
                                                    * SECONDS_PER_DAY),
            "realistic_tokens_per_day_at_medians": float(per_line.sum() * central["share"] * central["util"]
                                                         * SECONDS_PER_DAY),
            "basis": "central stock, median inference share and utilisation, no model error; per chip the essay's "
                     "bounds (analyses.essay.bounds) at the precision the planner chose"}
    inp = {"inference_share": dict(share_d.describe(), source=share_src),
           "utilisation": dict(util_d.describe(), source=util_src),
           "model_error": {"spec": f"lognormal:p10={me['multiplier_p10']:.4g},p90={me['multiplier_p90']:.4g}",
                           "p10": me["multiplier_p10"], "p50": 1.0, "p90": me["multiplier_p90"],
                           "source": me["source"]}}
    for d in designers_:
        di = st.designer_interval[d]
        inp[f"stock.{d}"] = {"spec": f"split lognormal, P5 x{di['low']:.3f}, P95 x{di['high']:.3f} of the central "
                                     "count", "p10": None, "p50": 1.0, "p90": None, "source": di["basis"]}
    served_h = sum(ln.h100e for ln in lines if ln.served_as and any(rates[(ln.served_as, m.id)].served
                                                                    for m, _ in entries))
    p50_tok = full["p50"]
    disc = []
    for v in disclosed(st.year):
        disc.append({"provider": v.provider, "scope": v.scope, "period": v.period, "tokens_per_day": v.tokens_per_day,
                     "fraction_of_capacity_p50": v.tokens_per_day / p50_tok if p50_tok > 0 else None,
                     "fraction_range": [v.tokens_per_day / full["p90"] if full["p90"] > 0 else None,
                                        v.tokens_per_day / full["p10"] if full["p10"] > 0 else None],
                     "source": v.source, "date": v.date})
    out_q = U.percentiles(out_tok)
    workers = ai_workers(out_q["p50"], conv)
    workers["workers_p10"] = out_q["p10"] / conv.tokens_per_workday
    workers["workers_p90"] = out_q["p90"] / conv.tokens_per_workday
    notes = list(st.notes) + [
        f"stock at {st.as_of}; chips serve the mix at the planner's best point meeting each model's target "
        "(input + output tokens per GPU-second); capacity = what the inference share of the stock serves at that "
        "point, at the utilisation, for a day",
        f"not served: {sum(ln.h100e for ln in lines) - served_h:,.0f} H100e (chips outside the catalog, or where the "
        "model does not reach the target)",
        "the model error is drawn once per sample for all chips (systematic), the widest reading",
        "disclosed volumes: providers do not say whether cached input, reasoning and multimodal tokens count; "
        "they overlap; their sum is a lower bound on the world's tokens, not a total",
    ]
    if weights is None:
        notes.append("each chip runs the precision the planner finds best (bf16, fp8 or fp4 where native): an "
                     "optimistic reading for older deployments")
    return World(
        year=st.year, as_of=st.as_of,
        models=[dict(e.model_dump(), min_tps_user=e.min_tps_user or tps_default) for e in mix.models],
        stock=st.as_dict(), tokens_per_day=full, output_tokens_per_day=out_q, h100e=U.percentiles(h100e),
        inference_gpu_equivalents=U.percentiles(h100e * share * util),
        drivers=drv, inputs=inp, rates=[r.as_dict() for r in rates.values()], bounds=bnds, ai_workers=workers,
        disclosures=disc, samples=n, seed=int(seed), notes=notes, sources=list(st.sources) + [WORKLOAD_SOURCE])


__all__ = ["World", "Mix", "MixEntry", "Rate", "world", "load_mix", "parse_mix", "chip_rate", "rate_from_plan", "bounded",
           "default_inference_share", "disclosed", "DEFAULT_MODEL", "UTILISATION_DEFAULT", "UTILISATION_SOURCE"]
