"""The realistic estimate for one configuration, with its parts and where each number came from."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from infercast.engine.memory import plan
from infercast.engine.serving import best_under_latency, continuous, max_concurrency, static_batch
from infercast.engine.step import BOUND_CLASSES, Deployment, bound_breakdown, deployment
from infercast.errors import InfercastError
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


def estimate(model, chip, *, gpus: int | None = None, tp: int = 1, pp: int = 1, ep: int = 1,
             weights: str | None = None, kv: str | None = None, engine: str | None = None,
             input_len: int = 1024, output_len: int = 256, concurrency: float | None = None,
             max_throughput: bool = False, static: bool = False, tpot_max: float | None = None,
             ttft_max: float | None = None, profile=None, speed_of_light: bool = False,
             allow_long_context: bool = False) -> Estimate:
    """Estimate serving `model` on `gpus` x `chip` (replicas of tp*pp GPUs).

    Give `concurrency` (requests in flight across all GPUs), or `max_throughput=True` (largest
    batch that fits), or latency targets (`tpot_max`, `ttft_max` seconds): the largest batch
    that meets them, judged under the same batching (`static` or continuous) that is reported.
    """
    input_len = check_number("input_len", input_len, integer=True, allow_none=False)
    output_len = check_number("output_len", output_len, integer=True, allow_none=False)
    tpot_max = check_number("max_tpot", tpot_max)
    ttft_max = check_number("max_ttft", ttft_max)
    concurrency = check_number("concurrency", concurrency)
    gpus = check_number("gpus", gpus, integer=True)
    dep = deployment(model, chip, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine, profile=profile,
                     speed_of_light=speed_of_light)
    check_context(dep.model, input_len, output_len, allow_long_context)
    per = dep.gpus
    gpus = per if gpus is None else gpus
    if gpus < per or gpus % per:
        raise InfercastError(f"gpus {gpus} is not a multiple of the {per} GPUs one replica uses (tp x pp, or ep x pp); "
                             f"use gpus {max(per, gpus - gpus % per)} or change tp/pp/ep", field="gpus")
    replicas = gpus // per
    mp = plan(dep, input_len + output_len)
    cmax, limiter = max_concurrency(dep, input_len, output_len)
    cmax = float(cmax)
    notes = list(dep.notes)
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
    parts = r["step"]
    pp_ = dep.pp
    dec = {k: _f(v) * (1 if k in ("lm_head", "scheduler") else pp_) * 1e3 for k, v in parts.items()
           if not k.startswith("_") and k not in ("total", "stage", "cycle", "latency")}
    ops, measured = operators_of(parts, pp_)
    shares = {k: _f(v) for k, v in bound_breakdown(parts).items()}
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
        lower_forward_passes_per_s=b.lower_forward_passes_per_s, notes=notes)


__all__ = ["Estimate", "estimate", "BOUND_CLASSES", "Deployment", "check_context", "operators_of"]
