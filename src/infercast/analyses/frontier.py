"""Throughput-vs-latency frontiers: the planner's sweep, kept under the names the interfaces use.

`sweep(model, chip, ...)` is `engine.planner.plan` with no targets: every shape (TP, PP with
micro-batches, EP with attention data-parallel), precision and concurrency, and the two Pareto
frontiers (output tokens/s per GPU against tokens/s per user, and against TTFT). `best_point`
picks the best configuration meeting latency targets from a sweep already made.
"""
from __future__ import annotations

from infercast.engine.planner import PP_DEGREES, PRECISIONS, Plan, Space, Targets, Workload, native_precisions, pareto, plan
from infercast.engine.speculative import Speculation

Sweep = Plan  # the result type of a sweep


def sweep(model, chip, *, input_len: int = 1024, output_len: int = 256, precisions=None, tps=None, pps=None,
          eps=None, max_gpus: int = 128, n_concurrency: int = 48, engine: str | None = None, kv: str | None = None,
          frontiers: bool = True, profile=None, speculative: tuple[Speculation | None, ...] = (None,),
          disaggregated: bool = False) -> Plan:
    """Evaluate every (shape, precision, concurrency) configuration; return arrays and frontiers."""
    space = Space(precisions=tuple(precisions) if precisions else None, kv=kv, tps=tuple(tps) if tps else None,
                  pps=tuple(pps) if pps else None, eps=tuple(eps) if eps else None, max_gpus=max_gpus,
                  points=n_concurrency, engine=engine, profile=profile, speculative=tuple(speculative),
                  disaggregated=disaggregated)
    return plan(model, chip, Workload(input_len, output_len), Targets(), space, frontiers=frontiers)


def best_point(sw: Plan, min_tokens_per_s_per_user: float | None = None, max_ttft_s: float | None = None) -> dict | None:
    """Highest output tokens/s per GPU among configurations meeting the latency targets."""
    return sw.best_meeting(Targets(min_tps_user=min_tokens_per_s_per_user, max_ttft=max_ttft_s))


__all__ = ["Sweep", "sweep", "pareto", "best_point", "native_precisions", "PRECISIONS", "PP_DEGREES"]
