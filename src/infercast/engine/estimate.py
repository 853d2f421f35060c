"""The realistic estimate for one configuration, with its parts and where each number came from.

When no shape is given (tp, pp and ep all None) the planner chooses it (`planned_shape`): the shape
and batch with the highest output tokens/s per GPU meeting the latency targets (max throughput when
there are none), among shapes that divide `gpus` when it is given. A shape the caller gives in part
(tp alone, say) is completed with 1s: the caller chose it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from infercast.engine.memory import plan
from infercast.engine.serving import _micro, best_under_latency, continuous, max_concurrency, static_batch
from infercast.engine.step import BOUND_CLASSES, Deployment, bound_breakdown, deployment, with_rank_tokens
from infercast.errors import InfercastError
from infercast.specs import precision as P
from infercast.vocabulary import check_number


@dataclass(frozen=True)
class Estimate:
    model: str
    chip: str
    gpus: int
    tp: int
    pp: int
    ep: int
    replicas: int
    weights: str
    kv_cache: str
    compute: str
    engine: str
    input_len: int
    output_len: int
    mode: str  # continuous | static | max-throughput | latency-target
    concurrency: float  # requests in flight, whole system
    output_tok_s_per_gpu: float
    input_tok_s_per_gpu: float
    output_tok_s_total: float
    tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
    e2e_s: float
    forward_passes_per_chip_s: float  # the essay's unit: tokens (input + output) per chip-second
    decode_step_ms: dict[str, float]  # by operator group, one token's step through the replica
    operators: list[dict]  # every operator: name, kind, ms per step, provenance {source, detail}
    measured_share: float  # share of the step's operator time timed from measurements (table or profile)
    bound_by: str  # the largest of compute / weights / kv_cache / activations / communication / overhead
    bound_shares: dict[str, float]
    batch_limit: str  # what stops the batch from growing
    memory: dict
    efficiency_source: str
    engine_source: str
    upper_forward_passes_per_s: float  # FLOP bound on matmul FLOPs (never exceeded)
    essay_upper_forward_passes_per_s: float  # the essay's approximation: peak / (2 x active parameters)
    lower_forward_passes_per_s: float
    notes: list[str] = field(default_factory=list)
    # tokens one attention group's step may hold where not the engine's default (the planner's choice for a speed
    # target, or given); None: the engine's own step budget
    rank_tokens: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _f(x) -> float:
    return float(np.asarray(x).reshape(-1)[0])


def operators_of(step: dict, pp: int) -> tuple[list[dict], float]:
    """The operators of a token's step with their provenance, and the measured share of their time."""
    ops, measured, total = [], 0.0, 0.0
    for x in step["_timed"]:
        per = _f(x.seconds) * (1 if x.op.group == "lm_head" else pp)
        total += per
        if x.provenance.source in ("table", "profile"):
            measured += per
        ops.append({"name": x.op.name, "kind": x.op.kind, "group": x.op.group, "seconds": per,
                    "provenance": x.provenance.as_dict()})
    return ops, (measured / total if total > 0 else 0.0)


def check_context(model, input_len: int, output_len: int, allow_long_context: bool) -> None:
    """A request longer than the model's trained context is an error unless the caller says otherwise."""
    if input_len + output_len > model.max_context and not allow_long_context:
        raise InfercastError(f"input_len + output_len = {input_len + output_len:,} tokens exceeds {model.id}'s maximum "
                             f"context of {model.max_context:,}; shorten the request, or allow it explicitly "
                             "(allow_long_context) if the model was extended", field="input_len")


def data_ready(chip, engine: str | None = None) -> None:
    """Read the engine profile and the chip's efficiencies once before a planner search: the planner skips a
    shape that raises, so a damaged data file would otherwise read as 'no shape fits'."""
    from infercast.engine.efficiency import efficiency_for, get_engine

    get_engine(engine)
    efficiency_for(chip)


def planned_shape(model, chip, *, gpus: int | None = None, weights: str | None = None, kv: str | None = None,
                  engine: str | None = None, input_len: int = 1024, output_len: int = 256,
                  tpot_max: float | None = None, ttft_max: float | None = None, profile=None,
                  speed_of_light: bool = False) -> dict:
    """The planner's best point (engine.planner.plan) at the weight precision given (default: the model's):
    highest output tokens/s per GPU meeting the TPOT/TTFT limits, max throughput without limits; with
    `gpus`, only shapes whose GPUs per replica divide it. Returns the planner's point dict (tp, pp, ep, ...)."""
    from infercast.engine.planner import Space, Targets, Workload, plan
    from infercast.specs.hardware import get_chip
    from infercast.specs.model import get_model

    m, c = get_model(model), get_chip(chip)
    weights = P.check(weights, "weights") if weights is not None else None
    kv = P.check(kv, "kv") if kv is not None else None
    data_ready(c, engine)
    targets = Targets(max_tpot=tpot_max, max_ttft=ttft_max)
    space = Space(precisions=(weights or m.dtype,), kv=kv, engine=engine, profile=profile,
                  speed_of_light=speed_of_light, max_gpus=min(gpus or 128, 128), points=32)
    p = plan(m, c, Workload(input_len, output_len), targets, space, frontiers=False)
    a = p.arrays
    ok = p.meeting() if targets.any else np.isfinite(a["output_tok_s_per_gpu"])
    if gpus is not None:
        ok &= np.asarray(gpus % np.maximum(a["gpus"], 1) == 0)
    if not ok.any():
        what = targets.describe() if targets.any else "any batch"
        within = f" whose GPUs divide gpus {gpus}" if gpus is not None else ""
        raise InfercastError(f"no shape of {m.id} on {c.id}{within} at {weights or m.dtype} meets {what}; relax the "
                             "latency targets, allow another precision (weights), or give the shape (tp, pp, ep)",
                             field="max_tpot" if tpot_max is not None else "max_ttft" if ttft_max is not None
                             else "gpus" if gpus is not None else "tp")
    idx = np.flatnonzero(ok)
    return p.point(int(idx[np.argmax(a["output_tok_s_per_gpu"][idx])]))


def estimate(model, chip, *, gpus: int | None = None, tp: int | None = None, pp: int | None = None,
             ep: int | None = None,
             weights: str | None = None, kv: str | None = None, engine: str | None = None,
             input_len: int = 1024, output_len: int = 256, concurrency: float | None = None,
             max_throughput: bool = False, static: bool = False, tpot_max: float | None = None,
             ttft_max: float | None = None, profile=None, speed_of_light: bool = False,
             allow_long_context: bool = False, rank_tokens: int | None = None) -> Estimate:
    """Estimate serving `model` on `gpus` x `chip` (replicas of tp*pp GPUs).

    Give `concurrency` (requests in flight across all GPUs), or `max_throughput=True` (largest
    batch that fits), or latency targets (`tpot_max`, `ttft_max` seconds): the largest batch
    that meets them, judged under the same batching (`static` or continuous) that is reported.
    tp, pp, ep all None: the planner chooses the shape for the targets (`planned_shape`; for a
    fixed concurrency, the max-throughput shape); some given: the others are 1. `rank_tokens`: the step budget
    of one attention group (default: the engine's; the planner's own choice when it chooses the shape).
    """
    input_len = check_number("input_len", input_len, integer=True, allow_none=False)
    output_len = check_number("output_len", output_len, integer=True, allow_none=False)
    tpot_max = check_number("max_tpot", tpot_max)
    ttft_max = check_number("max_ttft", ttft_max)
    concurrency = check_number("concurrency", concurrency)
    gpus = check_number("gpus", gpus, integer=True)
    budget = check_number("rank_tokens", rank_tokens, integer=True)
    notes_shape: list[str] = []
    if tp is None and pp is None and ep is None:
        from infercast.specs.model import get_model

        check_context(get_model(model), input_len, output_len, allow_long_context)
        pt = planned_shape(model, chip, gpus=gpus, weights=weights, kv=kv, engine=engine, input_len=input_len,
                           output_len=output_len, tpot_max=tpot_max, ttft_max=ttft_max, profile=profile,
                           speed_of_light=speed_of_light)
        tp, pp, ep = pt["tp"], pt["pp"], pt["ep"]
        budget = budget or pt.get("rank_tokens")
        notes_shape.append(f"shape chosen by the planner: tp {tp}, pp {pp}, ep {ep} (best output tokens/s per GPU "
                           + ("meeting the latency targets)" if tpot_max is not None or ttft_max is not None
                              else "at max throughput)"))
    tp, pp, ep = (1 if x is None else x for x in (tp, pp, ep))
    dep = deployment(model, chip, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine, profile=profile,
                     speed_of_light=speed_of_light)
    check_context(dep.model, input_len, output_len, allow_long_context)
    if budget == dep.rank_tokens:
        budget = None
    if budget:  # prompts chunked finer (or coarser) than the engine's default
        default = dep.rank_tokens
        dep = with_rank_tokens(dep, budget)
        notes_shape.append(f"step budget {dep.rank_tokens:,} tokens per attention group (the engine's default "
                           f"{default:,}; the recipe's max_num_tokens / max-num-batched-tokens / chunked-prefill-size)"
                           + (": prompts chunked finer, so a step that carries one meets the speed target"
                              if rank_tokens is None else ""))
    per = dep.gpus
    gpus = per if gpus is None else gpus
    if gpus < per or gpus % per:
        raise InfercastError(f"gpus {gpus} is not a multiple of the {per} GPUs one replica uses (tp x pp, or ep x pp); "
                             f"use gpus {max(per, gpus - gpus % per)} or change tp/pp/ep", field="gpus")
    replicas = gpus // per
    mp = plan(dep, input_len + output_len)
    cmax, limiter = max_concurrency(dep, input_len, output_len)
    cmax = float(cmax)
    notes = notes_shape + list(dep.notes)
    if tpot_max is not None or ttft_max is not None:
        c = best_under_latency(dep, input_len, output_len, tpot_max, ttft_max, static=static)
        if c is None:
            raise InfercastError("no batch size meets the latency targets on this deployment; relax max_tpot / "
                                 "max_ttft, or use more GPUs per replica (tp)", field="max_tpot" if tpot_max else "max_ttft")
        mode, limit = "latency-target", "latency target"
    elif max_throughput:
        c, mode, limit = cmax, "max-throughput", str(limiter)
    else:
        if concurrency is None:
            raise InfercastError("give concurrency, or max_throughput, or a latency target", field="concurrency")
        c = concurrency / replicas
        mode, limit = ("static" if static else "continuous"), "concurrency requested"
        if c > cmax:
            notes.append(f"requested {c:.0f} requests per replica but only {cmax:.0f} fit in memory "
                         f"({limiter}); capped at {cmax:.0f}")
            c, limit = cmax, str(limiter)
    r = (static_batch if static else continuous)(dep, input_len, output_len, c)
    lanes = dep.attn_dp * float(_micro(c / dep.attn_dp, dep.pp))  # as serving.continuous counts its batches
    if not static and lanes > 1 and not dep.engine.balanced_batches:
        what = " x ".join(x for x in (f"{dep.attn_dp} attention-DP groups" if dep.attn_dp > 1 else "",
                                      f"{dep.pp} pipeline micro-batches" if dep.pp > 1 else "") if x)
        notes.append(f"{what}: each prompt is prefilled in one of them and a step waits for the busiest, not an "
                     "even split of the prompt tokens (TensorRT-LLM tech blog 10, ADP balance)")
    parts = r["step"]
    pp_ = dep.pp
    dec = {k: _f(v) * (1 if k in ("lm_head", "scheduler") else pp_) * 1e3 for k, v in parts.items()
           if not k.startswith("_") and k not in ("total", "stage", "cycle", "latency")}
    ops, measured = operators_of(parts, pp_)
    shares = {k: _f(v) for k, v in bound_breakdown(parts, dep.eff.overlap_p).items()}
    tot = sum(shares.values()) or 1.0
    shares = {k: v / tot for k, v in shares.items()}
    from infercast.analyses.essay import bounds

    b = bounds(dep.model, dep.chip, dep.weights)
    out = _f(r["output_tok_s_per_gpu"])
    inp = _f(r["input_tok_s_per_gpu"])
    return Estimate(
        model=dep.model.id, chip=dep.chip.id, gpus=gpus, tp=dep.tp, pp=dep.pp, ep=dep.ep, replicas=replicas,
        weights=dep.weights, kv_cache=dep.kv, compute=dep.compute,
        engine=dep.engine.name + (f" {dep.engine.version}" if dep.engine.version else ""),
        input_len=input_len, output_len=output_len, mode=mode, concurrency=float(c) * replicas,
        output_tok_s_per_gpu=out, input_tok_s_per_gpu=inp, output_tok_s_total=out * gpus,
        tokens_per_s_per_user=_f(r["tokens_per_s_per_user"]), ttft_s=_f(r["ttft_s"]), tpot_s=_f(r["tpot_s"]),
        e2e_s=_f(r["e2e_s"]), forward_passes_per_chip_s=out + inp,
        decode_step_ms=dec, operators=ops, measured_share=measured,
        bound_by=max(shares, key=shares.get), bound_shares=shares, batch_limit=limit,
        memory=mp.as_dict(), efficiency_source=dep.eff.source, engine_source=dep.engine.source,
        upper_forward_passes_per_s=b.upper_forward_passes_per_s,
        essay_upper_forward_passes_per_s=b.essay_upper_forward_passes_per_s,
        lower_forward_passes_per_s=b.lower_forward_passes_per_s, notes=notes,
        rank_tokens=int(budget) if budget else None)


__all__ = ["Estimate", "estimate", "planned_shape", "BOUND_CLASSES", "Deployment", "check_context", "operators_of"]
