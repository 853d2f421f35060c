"""The compute overhang: once a model is trained, how much of it the training cluster can run.

1. Implied training utilisation u = F / (N x peak x D x 86,400 s): the training FLOP over what N GPUs
   could do at their dense peak for D days. The peak is the chip's dense bf16 rate (data/chips.json)
   unless `peak_precision` is given (e.g. fp8 for an FP8-trained run); the result names which.
2. Serving on the same N GPUs: the planner (`engine.planner.plan`) picks the deployment shape with the
   most output tokens/s per GPU meeting `min_tps_user` (replicas of at most min(N, max_gpus) GPUs);
   the cluster runs floor(N / GPUs per replica) replicas of it.
   tokens_per_s = replicas x GPUs per replica x output tokens/s per GPU; tokens_per_day = x 86,400;
   copies = tokens_per_s / T: how many instances of the model, each writing T tokens/s, the cluster
   runs at once (the planner's point may run each stream faster than T; `streams` counts those).
3. AI-worker equivalents of the output tokens/day (`analyses.workers`).
"""
from __future__ import annotations

import math

from dataclasses import asdict, dataclass, field

from infercast import format as fmt
from infercast.analyses.workers import ai_workers, conversion
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.errors import InfercastError
from infercast.specs import precision as P
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model
from infercast.vocabulary import check_number

SECONDS_PER_DAY = 86_400
DEFAULT_INPUT_LEN = 2000
DEFAULT_OUTPUT_LEN = 500
DEFAULT_MAX_GPUS = 256  # per replica: a GPT-4-class model at 16-bit needs 100+ GPUs of 80 GB


@dataclass
class Overhang:
    model: str
    chip: str
    gpus: int
    days: float
    train_flop: float
    peak_precision: str
    peak_flops_per_gpu: float
    implied_training_utilisation: float
    min_tps_user: float
    input_len: int
    output_len: int
    tokens_per_s: float  # output tokens/s of the whole cluster
    input_tokens_per_s: float
    copies: float  # tokens_per_s / min_tps_user
    streams: float  # requests in flight across the cluster at the chosen point
    tokens_per_day: float
    replicas: int
    gpus_used: int
    shape: dict
    ai_workers: dict
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def implied_utilisation(train_flop: float, chip, gpus: int, days: float,
                        peak_precision: str = "bf16") -> tuple[float, str, float]:
    """(F / (N x peak x D), the precision whose peak was used, that peak in FLOP/s per GPU)."""
    c = get_chip(chip)
    q, _ = c.compute_precision(P.check(peak_precision, "peak_precision"))
    peak = c.peak_flops(q)
    return train_flop / (gpus * peak * days * SECONDS_PER_DAY), q, peak


def overhang(train_flop: float, chip, gpus: int, days: float, model, min_tps_user: float = 10.0, *,
             peak_precision: str | None = None, input_len: int = DEFAULT_INPUT_LEN, output_len: int = DEFAULT_OUTPUT_LEN,
             max_gpus: int = DEFAULT_MAX_GPUS, weights: str | None = None, engine: str | None = None,
             tokens_per_workday: float | None = None) -> Overhang:
    F = check_number("train_flop", train_flop, allow_none=False)
    N = check_number("gpus", gpus, integer=True, allow_none=False)
    D = check_number("days", days, allow_none=False)
    T = check_number("min_tps_user", min_tps_user, allow_none=False)
    I = check_number("input_len", input_len, integer=True, allow_none=False)
    O = check_number("output_len", output_len, integer=True, allow_none=False)
    max_gpus = check_number("max_gpus", max_gpus, integer=True, allow_none=False)
    conv = conversion(tokens_per_workday)
    m, c = get_model(model), get_chip(chip)
    u, q, peak = implied_utilisation(F, c, N, D, peak_precision or "bf16")
    if not math.isfinite(u):  # e.g. days=5e-324: the run's FLOP/s overflow; never a null in the answer
        raise InfercastError(f"train_flop / (gpus x peak x days) is not a finite number for {fmt.num(F)} FLOP in "
                             f"{D:g} days; give a run of at least a few minutes", field="days")
    notes = [f"utilisation against the dense {q} peak of {c.id} ({peak / 1e12:,.1f} TFLOP/s per GPU)"
             + ("" if peak_precision else "; give peak_precision (e.g. fp8) for a run trained at another")]
    if u > 1:
        notes.append(f"implied utilisation {u:.2f} > 1: the run as given exceeds the cluster's peak at {q}; check the "
                     "FLOP, GPU count, days or peak precision")
    p = plan(m, c, Workload(I, O), Targets(min_tps_user=T),
             Space(max_gpus=min(N, max_gpus), precisions=(weights,) if weights else None, engine=engine,
                   disaggregated=True),
             frontiers=False)
    best = p.best
    if best is None:
        raise InfercastError(f"{m.id} on {c.id}: no deployment of up to {min(N, max_gpus)} GPUs reaches "
                             f"{fmt.num(T)} tokens/s per user; lower the target or give more GPUs", field="min_tps_user")
    per = int(best["gpus"])
    replicas = N // per
    used = replicas * per
    out_s = used * float(best["output_tok_s_per_gpu"])
    in_s = used * float(best["input_tok_s_per_gpu"])
    shape = {k: best[k] for k in ("precision", "kv", "engine", "tp", "pp", "ep", "dp", "gpus", "concurrency",
                                  "output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s",
                                  "tpot_s", "disaggregated")}
    if used < N:
        notes.append(f"{N - used:,} GPUs left over: {N:,} is not a multiple of the {per}-GPU replica")
    notes.append(f"serving shape: the planner's best of {p.n:,} configurations (TP, PP, EP, precision, batch, "
                 f"aggregated or prefill and decode pools apart) with >= {fmt.num(T)} tokens/s per user, {I:,} prompt "
                 f"+ {O:,} generated tokens per request")
    if best.get("disaggregated"):
        notes.append(f"disaggregated: {best['disaggregated']}; a replica counts one decode and one prefill replica, "
                     "the pools in the ratio that balances their request rates")
    day = out_s * SECONDS_PER_DAY
    return Overhang(model=m.id, chip=c.id, gpus=N, days=D, train_flop=F, peak_precision=q, peak_flops_per_gpu=peak,
                    implied_training_utilisation=u, min_tps_user=T, input_len=I, output_len=O, tokens_per_s=out_s,
                    input_tokens_per_s=in_s, copies=out_s / T, streams=replicas * float(best["concurrency"]),
                    tokens_per_day=day, replicas=replicas, gpus_used=used, shape=shape,
                    ai_workers=ai_workers(day, conv), notes=notes)


__all__ = ["Overhang", "overhang", "implied_utilisation"]
