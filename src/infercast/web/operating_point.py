"""Where each chip serves: the planner's best shape for the targets, or the shape the user fixed.

The inputs become the planner's `Workload`, `Targets` and `Space` (`engine.planner`). Per chip,
`ChipRun` makes at most one full search (`plan` over every shape up to `max_gpus`, shared by the
frontier and the planner's choice) and then the operating point:

* planner (no `tp`): the plan's best point for the targets (shape, precision, batch, and speculative
  decoding or disaggregated pools when asked for);
* fixed shape (`tp`, with `pp`, `ep`): the same search restricted to that shape and precision, so
  only the batch is chosen (the percentile and the techniques apply as in the planner);
* fixed concurrency (`tp` and `concurrency`): `engine.estimate.estimate` at that batch.

The breakdown (operators, memory, bound shares) is `estimate` at the point's shape and batch. It
models the plain aggregated step: for a speculative or disaggregated point it says so in a note.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

from infercast.engine.estimate import Estimate, estimate as run_estimate
from infercast.engine.planner import Plan, Space, Targets, Workload, plan
from infercast.engine.speculative import Speculation, speculation
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip
from infercast.specs.model import ModelSpec
from infercast.web.errors import WebInputError
from infercast.web.schemas import Inputs, OperatingPoint

FIXED_ONLY = ("pp", "ep", "gpus", "concurrency")  # inputs of a fixed shape (meaningless without tp)
SPEC_DETAILS = ("spec_tokens", "spec_acceptance", "spec_draft")


def check_inputs(q: Inputs) -> None:
    """Combinations the web app refuses, naming the input (before any work)."""
    if not q.fixed_shape:
        for name in FIXED_ONLY:
            if getattr(q, name) is not None:
                raise WebInputError(f"{name} belongs to a fixed shape: give tp too, or leave {name} blank and the "
                                    "planner chooses the shape and batch", name, 422)
    if q.spec_method is None:
        for name in SPEC_DETAILS:
            if getattr(q, name) is not None:
                raise WebInputError(f"{name} needs a speculative decoding method (spec_method)", name, 422)
    if q.concurrency is not None and (q.spec_method is not None or q.disaggregated):
        what = "speculative decoding" if q.spec_method is not None else "disaggregated pools"
        raise WebInputError(f"requests in flight fixes the batch, and the estimate at a fixed batch does not model "
                            f"{what}; leave concurrency blank (the planner picks the batch)", "concurrency", 422)


def speculation_of(q: Inputs, draft_id: str | None = None) -> Speculation | None:
    """The speculation setting (the method's sourced defaults, overridden by what is given)."""
    return speculation(q.spec_method, q.spec_tokens, q.spec_acceptance, draft_model=draft_id)


def targets_of(q: Inputs) -> Targets:
    return Targets(min_tps_user=q.min_tps_user, max_ttft=q.max_ttft, max_tpot=q.max_tpot, percentile=q.percentile)


def workload_of(q: Inputs) -> Workload:
    return Workload(q.input_len, q.output_len)


def search_space(q: Inputs, spec: Speculation | None) -> Space:
    """Every shape up to max_gpus (the frontier, and the planner's choice)."""
    return Space(precisions=(q.weights,) if q.weights else None, kv=q.kv, max_gpus=q.max_gpus, points=q.points,
                 engine=q.engine, speculative=(spec,), disaggregated=q.disaggregated)


def _target_field(q: Inputs) -> str:
    for name in ("min_tps_user", "max_tpot", "max_ttft"):
        if getattr(q, name) is not None:
            return name
    return "max_gpus"


def _point(best: dict, chosen_by: str, targets: Targets, replicas: int = 1) -> OperatingPoint:
    return OperatingPoint(
        chosen_by=chosen_by, targets=targets.describe(), precision=best["precision"], kv=best["kv"],
        engine=best["engine"], tp=best["tp"], pp=best["pp"], ep=best["ep"], dp=best["dp"], gpus=best["gpus"],
        replicas=replicas, concurrency=best["concurrency"] * replicas,
        **{k: best[k] for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s",
                                "tpot_s", "e2e_s")},
        speculative=best.get("speculative"), disaggregated=best.get("disaggregated"),
        rank_tokens=best.get("rank_tokens"))


def _from_estimate(e: Estimate, targets: Targets) -> OperatingPoint:
    return OperatingPoint(
        chosen_by="fixed concurrency", targets=targets.describe(), precision=e.weights, kv=e.kv_cache,
        engine=e.engine, tp=e.tp, pp=e.pp, ep=e.ep, dp=max(1, e.gpus // e.replicas // (e.tp * e.pp)),
        gpus=e.gpus // e.replicas, replicas=e.replicas, concurrency=e.concurrency,
        output_tok_s_per_gpu=e.output_tok_s_per_gpu, input_tok_s_per_gpu=e.input_tok_s_per_gpu,
        tokens_per_s_per_user=e.tokens_per_s_per_user, ttft_s=e.ttft_s, tpot_s=e.tpot_s, e2e_s=e.e2e_s)


def _missed(e: Estimate, t: Targets) -> list[str]:
    """Targets a fixed batch misses (means: a fixed batch has no occupancy spread)."""
    out = []
    if t.min_tps_user is not None and e.tokens_per_s_per_user < t.min_tps_user:
        out.append(f"{e.tokens_per_s_per_user:.3g} tokens/s per user, below the target {t.min_tps_user:g}")
    if t.max_tpot is not None and e.tpot_s > t.max_tpot:
        out.append(f"TPOT {e.tpot_s:.3g} s, above the target {t.max_tpot:g} s")
    if t.max_ttft is not None and e.ttft_s > t.max_ttft:
        out.append(f"TTFT {e.ttft_s:.3g} s, above the target {t.max_ttft:g} s")
    return out


class ChipRun:
    """One chip's work for one request: the full search (lazily, once) and the operating point."""

    def __init__(self, q: Inputs, m: ModelSpec, chip: Chip, draft_id: str | None = None):
        self.q, self.m, self.chip = q, m, chip
        self.spec = speculation_of(q, draft_id)
        self.targets = targets_of(q)

    @cached_property
    def full_plan(self) -> Plan:
        return plan(self.m, self.chip, workload_of(self.q), self.targets, search_space(self.q, self.spec))

    def _estimate(self, **kw: Any) -> Estimate:
        q = self.q
        return run_estimate(self.m, self.chip, kv=kw.pop("kv", q.kv), engine=q.engine, input_len=q.input_len,
                            output_len=q.output_len, **kw)

    @cached_property
    def operating_point(self) -> tuple[OperatingPoint, Estimate | None, list[str]]:
        """(the point, the breakdown at its shape and batch, notes); raises InfercastError for this chip."""
        return self._fixed() if self.q.fixed_shape else self._planned()

    def _planned(self) -> tuple[OperatingPoint, Estimate | None, list[str]]:
        p, t = self.full_plan, self.targets
        best = p.best
        if best is None:
            raise InfercastError(f"no shape up to {self.q.max_gpus} GPUs per replica meets {t.describe()} on "
                                 f"{self.chip.id}; relax the targets, or allow larger replicas (max_gpus)",
                                 field=_target_field(self.q))
        point = _point(best, "planner", t)
        return (point, *self._breakdown(best, replicas=1, gpus=None))

    def _fixed(self) -> tuple[OperatingPoint, Estimate | None, list[str]]:
        q, t = self.q, self.targets
        tp, pp, ep = q.tp, q.pp or 1, q.ep or 1
        shape = dict(tp=tp, pp=pp, ep=ep, weights=q.weights, gpus=q.gpus)
        if q.concurrency is not None:
            e = self._estimate(**shape, concurrency=q.concurrency)
            missed = _missed(e, t)
            notes = [f"at {e.concurrency:g} requests in flight: " + "; ".join(missed)] if missed else []
            return _from_estimate(e, t), e, notes
        # the library's own checks of the shape first (divisibility, memory fit, total GPUs, context)
        e0 = self._estimate(**shape, max_throughput=True)
        per_replica = e0.gpus // e0.replicas
        space = Space(precisions=(e0.weights,), kv=q.kv, tps=(tp,), pps=(pp,), eps=(ep,), max_gpus=per_replica,
                      points=max(q.points, 48), engine=q.engine, speculative=(self.spec,),
                      disaggregated=q.disaggregated)
        p = plan(self.m, self.chip, workload_of(q), t, space, frontiers=False)
        best = p.best
        if best is None:
            raise InfercastError(f"no batch size meets {t.describe()} at TP {tp} x PP {pp}" + (f" x EP {ep}" if ep > 1
                                 else "") + f" on {self.chip.id}; relax the targets, or change the shape (or leave "
                                 "tp blank and the planner chooses one)", field=_target_field(q))
        return (_point(best, "fixed shape", t, e0.replicas), *self._breakdown(best, e0.replicas, q.gpus))

    def _breakdown(self, best: dict, replicas: int, gpus: int | None) -> tuple[Estimate | None, list[str]]:
        notes = []
        if best.get("speculative"):
            notes.append(f"{best['speculative']}; the breakdown shows the step without the drafter "
                         "(engine.estimate does not model speculative decoding yet)")
        if best.get("disaggregated"):
            notes.append(f"disaggregated pools: {best['disaggregated']}; the breakdown shows the aggregated step at "
                         "the decode pool's shape")
        try:
            e = self._estimate(tp=best["tp"], pp=best["pp"], ep=best["ep"], weights=best["precision"], kv=best["kv"],
                               gpus=gpus, concurrency=best["concurrency"] * replicas,
                               rank_tokens=best.get("rank_tokens"))
        except InfercastError as err:
            return None, notes + [f"no breakdown at this point: {err}"]
        return e, notes
