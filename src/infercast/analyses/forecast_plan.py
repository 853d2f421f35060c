"""The forecast's per-chip throughput: `engine.planner.plan` on a few chips per year, interpolated over samples.

Every Monte Carlo sample of a year has its own chip (compute rates, HBM bandwidth, HBM capacity). Planning
each one (every shape, precision and batch; 10-80 ms a chip) would cost minutes, so the planner runs
on a *star* of chips per year and weight precision: the centre (each axis at its median), and each axis
alone at its 10th and 90th percentile with the others at the centre, 1 + 2 x 3 = 7 plans. For a sample at
log-coordinates x (ln of compute, bandwidth and capacity relative to the centre),

    ln T(x) = ln T(centre) + sum over axes a of g_a(x_a)

where g_a is piecewise linear in x_a through the axis's three plans (linear beyond the end points):
additive in logs, so interactions between the axes are left out. The `grid` design (scenario
`run.interpolation = "grid"`) plans the full 3 x 3 x 3 grid of those nodes, 27 chips, and interpolates
multilinearly in the logs, which keeps the interactions at four times the cost.
`benchmarks/forecast_interpolation.py` measures both against planning every sample directly
(docs/forecast.md gives the numbers).
An axis with no spread (a fixed chip) gets one node: a year whose chip is known costs one plan.
Plans are cached by chip, model, precision and operating point, so runs of one scenario share them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from infercast.analyses.trends import ChipParams
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.errors import InfercastError
from infercast.specs import precision as P

AXES = ("compute", "bandwidth", "capacity")
NODE_QUANTILES = (0.1, 0.5, 0.9)
DESIGNS = ("star", "grid")


@dataclass(frozen=True)
class Serving:
    """The forecast's operating point (hashable: part of the plan cache key)."""

    input_len: int
    output_len: int
    tpot_max_s: float
    engine: str | None = None
    kv_cache: str = "match"  # "match": bf16 KV with bf16 weights, fp8 KV otherwise; or a precision
    max_gpus: int = 128
    disaggregated: bool = False

    def kv_for(self, weights: str) -> str:
        if self.kv_cache == "match":
            return "bf16" if weights in ("bf16", "fp16") else "fp8"
        return P.check(self.kv_cache, "operating_point.kv_cache")


@lru_cache(maxsize=8192)
def planned(model: str, chip: ChipParams, precision: str, op: Serving) -> dict:
    """The planner's best configuration for `model` on `chip` at `precision` with TPOT <= op.tpot_max_s:
    the most output tokens/s per GPU over every shape and batch it searches. Where nothing meets the TPOT
    limit, the fastest configuration (most tokens/s per user), marked `met: False`."""
    p = plan(model, chip.chip(), Workload(op.input_len, op.output_len), Targets(max_tpot=op.tpot_max_s),
             Space(precisions=(precision,), kv=op.kv_for(precision), max_gpus=op.max_gpus,
                   disaggregated=op.disaggregated, engine=op.engine), frontiers=False)
    best, met = p.best, True
    if best is None:
        best, met = p.point(int(np.argmax(p.arrays["tokens_per_s_per_user"]))), False
    keep = ("precision", "kv", "tp", "pp", "ep", "dp", "gpus", "concurrency", "disaggregated", "speculative",
            "output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "tpot_s", "ttft_s")
    return dict({k: best.get(k) for k in keep}, met=met)


def _nodes(ref: np.ndarray) -> np.ndarray:
    """Node coordinates of one axis from reference draws: P10, P50, P90 (one node when there is no spread)."""
    q = np.quantile(ref, NODE_QUANTILES)
    return q[1:2] if q[2] - q[0] < 1e-9 else q


def _piecewise(x: np.ndarray, nodes: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Piecewise-linear through (nodes, vals), extended linearly beyond both ends."""
    if nodes.size == 1:
        return np.full(x.shape, float(vals[0]))
    i = np.clip(np.searchsorted(nodes, x) - 1, 0, nodes.size - 2)
    w = (x - nodes[i]) / (nodes[i + 1] - nodes[i])
    return vals[i] + w * (vals[i + 1] - vals[i])


@dataclass
class StarResult:
    output: np.ndarray  # output tokens/s per GPU per sample
    input: np.ndarray
    centre: dict  # the planner's choice at the centre chip (shape, batch, precisions)
    plans: int  # distinct chips planned
    missed: float  # share of the star's plans where no configuration met the TPOT limit


def star(model: str, base: ChipParams, coords: np.ndarray, ref: np.ndarray, precision: str, op: Serving,
         design: str = "star") -> StarResult:
    """Throughput per sample for chips `base` scaled by exp(coords[:, a]) along the axes (compute,
    bandwidth, capacity); `ref` are reference draws of the same coordinates that place the nodes.
    `design`: "star" (1 + 2 per axis plans, additive in logs) or "grid" (3 per axis, all combinations)."""
    coords, ref = np.atleast_2d(coords), np.atleast_2d(ref)
    if coords.shape[1] != len(AXES) or ref.shape[1] != len(AXES):
        raise InfercastError(f"star: coordinates need {len(AXES)} columns ({', '.join(AXES)})")
    if design not in DESIGNS:
        raise InfercastError(f"run.interpolation must be one of {', '.join(DESIGNS)}, got '{str(design)[:20]}'",
                             field="scenario")
    nodes = [_nodes(ref[:, a]) for a in range(len(AXES))]
    centre = np.array([nd[len(nd) // 2] for nd in nodes])
    seen: dict[tuple, dict] = {}

    def at(x) -> dict:
        key = tuple(float(v) for v in x)
        if key not in seen:
            c, b, m = np.exp(np.asarray(x, dtype=float))
            seen[key] = planned(model, base.scaled(compute=c, bandwidth=b, capacity=m), precision, op)
        return seen[key]

    c0 = at(centre)
    if c0["output_tok_s_per_gpu"] <= 0:
        raise InfercastError(f"{model} at {precision} on {base.name}: the planner found no throughput")

    def logs(r: dict) -> tuple[float, float]:
        return np.log(r["output_tok_s_per_gpu"]), np.log(r["input_tok_s_per_gpu"] or 1e-300)

    n = coords.shape[0]
    if design == "grid":
        shape = tuple(nd.size for nd in nodes)
        vo, vi = np.zeros(shape), np.zeros(shape)
        for ii in np.ndindex(*shape):
            vo[ii], vi[ii] = logs(at([nodes[a][ii[a]] for a in range(len(AXES))]))
        out_g, in_g = np.zeros(n), np.zeros(n)
        idx, wt = [], []
        for a, nd in enumerate(nodes):
            if nd.size == 1:
                idx.append(np.zeros(n, dtype=int))
                wt.append(np.zeros(n))
                continue
            i = np.clip(np.searchsorted(nd, coords[:, a]) - 1, 0, nd.size - 2)
            idx.append(i)
            wt.append((coords[:, a] - nd[i]) / (nd[i + 1] - nd[i]))
        for corner in np.ndindex(*(2 if nd.size > 1 else 1 for nd in nodes)):
            w = np.ones(n)
            for a in range(len(AXES)):
                w = w * (wt[a] if corner[a] else 1.0 - wt[a]) if nodes[a].size > 1 else w
            sel = tuple(idx[a] + corner[a] for a in range(len(AXES)))
            out_g += w * vo[sel]
            in_g += w * vi[sel]
    else:
        lo, li = logs(c0)
        out_g, in_g = np.full(n, lo), np.full(n, li)
        for a, nd in enumerate(nodes):
            if nd.size == 1:
                continue
            vo, vi = np.zeros(nd.size), np.zeros(nd.size)
            for j, v in enumerate(nd):
                if j == len(nd) // 2:
                    continue
                x = centre.copy()
                x[a] = v
                o, i_ = logs(at(x))
                vo[j], vi[j] = o - lo, i_ - li
            out_g += _piecewise(coords[:, a], nd, vo)
            in_g += _piecewise(coords[:, a], nd, vi)
    missed = sum(not r["met"] for r in seen.values())
    return StarResult(output=np.exp(out_g), input=np.exp(in_g), centre=c0, plans=len(seen), missed=missed / len(seen))


def cache_clear() -> None:
    planned.cache_clear()


__all__ = ["Serving", "planned", "star", "StarResult", "AXES", "NODE_QUANTILES", "DESIGNS", "cache_clear"]
