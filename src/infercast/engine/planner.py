"""The one planner: every deployment shape an engine runs, searched for a model on a chip.

`plan(model, chip, workload, targets, space)` evaluates, vectorised over concurrency:

* shapes: tensor parallel TP (inside the scale-up domain; up to 8 over PCIe), pipeline parallel PP
  with one micro-batch per stage in flight, expert parallel EP for MoE models, either over the TP
  group or wider with attention data-parallel (DEP: dp = ep / tp groups), and replicas;
* precisions: every weight precision the chip computes natively (bf16, fp8, fp4), plus the model's
  released format run weight-only where the chip lacks its tensor rate (MXFP4 on Hopper as W4A16);
* techniques: speculative decoding options, and disaggregated prefill/decode pools (each pool with
  its own shape, the pools in the ratio that balances them, the KV cache crossing between them);
* concurrency: a geometric grid from 1 to what fits in memory and the engine's batch cap.

It returns the best point meeting the targets (highest output tokens/s per GPU with at least
`min_tps_user` tokens/s per user, TTFT and TPOT within their limits, at a percentile: above 50 the
targets are checked at the Poisson occupancy K + z sqrt(K), as MLPerf's p99 limits are), and the
Pareto frontiers of throughput against interactivity and against TTFT. Every analysis that needs a
shape (estimate without one, frontier, cost, table, fleet, forecast, claims, validate, the web app)
asks this function.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from statistics import NormalDist

import numpy as np

from infercast.engine import serving as S
from infercast.engine.disagg import Pools, decode_tpot, kv_transfer_time, prefill_rate
from infercast.engine.memory import max_sequences
from infercast.engine.speculative import Speculation
from infercast.engine.step import deployment, with_rank_tokens
from infercast.errors import DamagedInstallError, InfercastError
from infercast.specs.hardware import Chip, get_chip
from infercast.specs.model import ModelSpec, get_model
from infercast.vocabulary import check_number

PRECISIONS = ("bf16", "fp8", "fp4")
PP_DEGREES = (1, 2, 4, 8, 16)
FIELDS = ("tp", "pp", "ep", "dp", "gpus", "concurrency", "output_tok_s_per_gpu", "input_tok_s_per_gpu",
          "tokens_per_s_per_user", "ttft_s", "tpot_s", "e2e_s")


@dataclass(frozen=True)
class Workload:
    input_len: int = 1024
    output_len: int = 256

    def __post_init__(self):
        check_number("input_len", self.input_len, integer=True, allow_none=False)
        check_number("output_len", self.output_len, integer=True, allow_none=False)


@dataclass(frozen=True)
class Targets:
    min_tps_user: float | None = None  # tokens/s per user at least
    max_ttft: float | None = None  # seconds
    max_tpot: float | None = None  # seconds
    percentile: float = 50.0  # 50: means; 99: MLPerf-style tail limits

    def __post_init__(self):
        for n in ("min_tps_user", "max_ttft", "max_tpot"):
            check_number(n, getattr(self, n))
        check_number("percentile", self.percentile, allow_none=False)
        if not 50.0 <= self.percentile < 100.0:
            raise InfercastError(f"percentile {self.percentile:g}: give 50 (means) up to 99.9 (tail limits), below 100",
                                 field="percentile")

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.min_tps_user, self.max_ttft, self.max_tpot))

    @property
    def tpot_limit(self) -> float | None:
        lims = [v for v in (self.max_tpot, 1.0 / self.min_tps_user if self.min_tps_user else None) if v is not None]
        return min(lims) if lims else None

    def describe(self) -> str:
        parts = []
        if self.min_tps_user:
            parts.append(f">= {self.min_tps_user:g} tokens/s per user")
        if self.max_tpot:
            parts.append(f"TPOT <= {self.max_tpot * 1e3:g} ms")
        if self.max_ttft:
            parts.append(f"TTFT <= {self.max_ttft:g} s")
        s = " and ".join(parts) or "maximum throughput"
        return s + (f" (at the {self.percentile:g}th percentile)" if self.percentile != 50 and parts else "")


@dataclass(frozen=True)
class Space:
    """Which shapes to search. None means every sensible value."""

    precisions: tuple[str, ...] | None = None
    kv: str | None = None
    tps: tuple[int, ...] | None = None
    pps: tuple[int, ...] | None = None
    eps: tuple[int, ...] | None = None  # expert shards (ep); ep > tp means attention data-parallel
    max_gpus: int = 128  # per replica (per pool for disaggregation)
    speculative: tuple[Speculation | None, ...] = (None,)
    disaggregated: bool = False
    points: int = 48  # concurrency grid points per shape
    engine: str | None = None
    profile: object = None
    speed_of_light: bool = False


@dataclass
class Plan:
    """Every evaluated configuration (arrays), the shapes they came from, the best point and frontiers."""

    model: str
    chip: str
    workload: Workload
    targets: Targets
    engine: str
    arrays: dict[str, np.ndarray]
    labels: list[dict]  # per shape: precision, kv, speculative, disaggregated description
    label_index: np.ndarray  # per configuration: index into labels
    best: dict | None = None
    frontier_index: dict = field(default_factory=dict, repr=False)  # frontier name -> indices of its points
    notes: list[str] = field(default_factory=list)
    prefill_search: tuple | None = field(default=None, repr=False)  # (aggregated shapes, I): best_prefill's input

    @property
    def n(self) -> int:
        return int(self.arrays["tp"].size)

    @property
    def input_len(self) -> int:
        return self.workload.input_len

    @property
    def output_len(self) -> int:
        return self.workload.output_len

    @property
    def precision(self) -> np.ndarray:
        """Weight precision per configuration (array of str)."""
        return np.asarray([lab["precision"] for lab in self.labels], dtype=object)[self.label_index]

    @property
    def kv(self) -> dict[str, str]:
        """KV-cache precision per weight precision searched."""
        return {lab["precision"]: lab["kv"] for lab in self.labels}

    def points(self, idx) -> list[dict]:
        idx = np.asarray(idx, dtype=np.int64)
        # columns first (one numpy gather per field), then rows: the frontiers hold thousands of points
        cols = [self.arrays[k][idx].astype(int if k in ("tp", "pp", "ep", "dp", "gpus") else float).tolist()
                for k in FIELDS]
        labs = self.label_index[idx].tolist()
        return [dict(chip=self.chip, model=self.model, **self.labels[lab], **dict(zip(FIELDS, row)))
                for lab, row in zip(labs, zip(*cols))]

    def point(self, i: int) -> dict:
        return self.points([i])[0]

    def _frontier(self, name: str) -> list[dict]:
        """A frontier's points as dicts, built when first asked for (the sweep keeps only their indices)."""
        cache = self.__dict__.setdefault("_frontier_points", {})
        if name not in cache:
            cache[name] = self.points(self.frontier_index[name]) if name in self.frontier_index else []
        return cache[name]

    @property
    def frontier_interactivity(self) -> list[dict]:
        """Pareto points of output tokens/s per GPU against tokens/s per user, by throughput descending."""
        return self._frontier("interactivity")

    @property
    def frontier_ttft(self) -> list[dict]:
        """Pareto points of output tokens/s per GPU against time to first token."""
        return self._frontier("ttft")

    @property
    def best_prefill(self) -> dict | None:
        """The shape that prefills the most prompt tokens per GPU-second (computed when first asked for)."""
        if not hasattr(self, "_prefill_best"):
            pre = _best_prefill(*self.prefill_search) if self.prefill_search else None
            self._prefill_best = None if pre is None else {
                "tp": pre[0].tp, "pp": 1, "ep": pre[0].ep, "dp": pre[0].attn_dp, "gpus": pre[0].gpus,
                "precision": pre[0].weights, "input_tok_s_per_gpu": pre[1] * self.prefill_search[1],
                "prefill_s": pre[2]}
        return self._prefill_best

    def max_throughput(self) -> dict | None:
        return self.point(int(np.argmax(self.arrays["output_tok_s_per_gpu"]))) if self.n else None

    def meeting(self, targets: Targets | None = None) -> np.ndarray:
        """Mask of configurations meeting the targets (the plan's own when none are given)."""
        t = targets or self.targets
        a = self.arrays
        ok = np.isfinite(a["output_tok_s_per_gpu"])
        tp_lim = t.tpot_limit
        if tp_lim is not None:
            ok &= a["tpot_tail_s"] <= tp_lim * (1 + 1e-9)
        if t.max_ttft is not None:
            ok &= a["ttft_tail_s"] <= t.max_ttft * (1 + 1e-9)
        return ok

    def best_meeting(self, targets: Targets | None = None) -> dict | None:
        ok = self.meeting(targets)
        if not ok.any():
            return None
        i = np.flatnonzero(ok)[np.argmax(self.arrays["output_tok_s_per_gpu"][ok])]
        return self.point(int(i))

    def best_by_precision(self, targets: Targets | None = None) -> dict[str, dict]:
        """Per weight precision, the best configuration meeting the targets."""
        ok = self.meeting(targets)
        prec = self.precision
        out = {}
        for p in dict.fromkeys(lab["precision"] for lab in self.labels):
            m = ok & (prec == p)
            if m.any():
                idx = np.flatnonzero(m)
                out[p] = self.point(int(idx[np.argmax(self.arrays["output_tok_s_per_gpu"][m])]))
        return out

    def as_dict(self, all_points: bool = False) -> dict:
        d = {"model": self.model, "chip": self.chip, "input_len": self.workload.input_len,
             "output_len": self.workload.output_len, "targets": self.targets.describe(), "engine": self.engine,
             "configs": self.n, "best": self.best, "max_throughput": self.max_throughput(),
             "frontier_interactivity": self.frontier_interactivity, "frontier_ttft": self.frontier_ttft,
             "notes": self.notes}
        if all_points:
            d["points"] = {k: v.tolist() for k, v in self.arrays.items()}
        return d


def pareto(x, y) -> np.ndarray:
    """Indices of points not dominated when maximising both x and y, ordered by x descending."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return idx
    if idx.size > 4096:  # drop points strictly dominated by the frontier of a strided sample (exact: see below)
        idx = idx[~_strictly_dominated(x[idx], y[idx], pareto(x[idx[::16]], y[idx[::16]]), x[idx[::16]], y[idx[::16]])]
    order = idx[np.lexsort((-y[idx], -x[idx]))]
    ys = y[order]
    prev_best = np.concatenate(([-np.inf], np.maximum.accumulate(ys)[:-1]))
    return order[ys > prev_best]


def _strictly_dominated(x, y, front, xs, ys) -> np.ndarray:
    """Whether each (x, y) has a sample point with both coordinates strictly larger. Removing such points
    leaves the frontier unchanged: whatever they would have hidden, their dominator hides too."""
    fx, fy = xs[front], ys[front]
    o = np.argsort(fx)
    fx, fy = fx[o], fy[o]
    best_after = np.maximum.accumulate(fy[::-1])[::-1]  # max y among sample points at or beyond each x
    j = np.searchsorted(fx, x, side="right")  # first sample point with x strictly larger
    return (j < fx.size) & (np.concatenate((best_after, [-np.inf]))[j] > y)


def native_precisions(chip: Chip, model: ModelSpec, wanted=None) -> list[str]:
    """Weight precisions to search: those of `wanted` (default bf16/fp8/fp4) the chip has its own tensor
    rate for, plus the model's released format when it is narrower (run weight-only if need be)."""
    base = list(wanted or PRECISIONS)
    out = [p for p in base if chip.compute_precision(p)[0] == p or (p == "bf16" and "fp16" in chip.tflops)]
    if wanted is None and model.dtype in ("fp8", "fp4", "int4") and model.dtype not in out:
        out.append(model.dtype)
    if wanted and not out:
        out = [p for p in base]  # asked for explicitly: run it weight-only where the chip lacks the rate
    return out


def tp_degrees(model: ModelSpec, chip: Chip) -> list[int]:
    ok = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= model.heads and model.heads % t == 0]
    if chip.scaleup_domain < 8:  # a PCIe pair or small board: TP over the network up to 8
        return [t for t in ok if t <= 8]
    return [t for t in ok if t <= chip.scaleup_domain]


def expert_layouts(model: ModelSpec, tp: int, max_gpus: int) -> list[int]:
    """Expert shards for a TP degree: the TP group itself, or wider groups (attention data-parallel)."""
    if not model.moe:
        return [1]
    out = [1]
    E = model.moe.experts
    for e in (2, 4, 8, 16, 32, 64, 128, 256):
        # beyond one expert per GPU an expert is tensor-split over e / E GPUs (up to 8: a node)
        if e > tp and e % tp == 0 and e <= max_gpus and (e <= E or (e % E == 0 and e // E <= 8)):
            out.append(e)
    return out


def shapes(model, chip, space: Space | None = None) -> list[tuple[int, int, int]]:
    """(tp, pp, ep) shapes a plan searches for one precision (before memory decides which fit)."""
    m, c = get_model(model), get_chip(chip)
    sp = space or Space()
    out = []
    for tp in [x for x in (sp.tps or tp_degrees(m, c)) if x <= m.heads and m.heads % x == 0]:
        for es in (sp.eps or expert_layouts(m, tp, sp.max_gpus)):
            if es > 1 and (not m.moe or (es > tp and es % tp) or (es > m.moe.experts and es % m.moe.experts)):
                continue
            width = max(tp, es)
            out += [(tp, p, es if es > 1 else 1) for p in (sp.pps or PP_DEGREES) if p <= m.layers and width * p <= sp.max_gpus]
    return out


def _grid(cmax: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Geometric integer grid 1..cmax per row: (row index, concurrency)."""
    frac = np.linspace(0.0, 1.0, n)
    c = np.round(np.power(np.maximum(cmax, 1.0)[:, None], frac[None, :]))
    keep = np.ones_like(c, dtype=bool)
    keep[:, 1:] = c[:, 1:] != c[:, :-1]
    rows = np.broadcast_to(np.arange(cmax.size)[:, None], c.shape)
    return rows[keep], c[keep]


class _Collector:
    def __init__(self):
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in FIELDS + ("tpot_tail_s", "ttft_tail_s")}
        self.labels: list[dict] = []
        self.index: list[np.ndarray] = []

    def add(self, label: dict, cols: dict):
        n = int(np.size(cols["concurrency"]))
        self.labels.append(label)
        self.index.append(np.full(n, len(self.labels) - 1, dtype=np.int32))
        for k in self.parts:
            self.parts[k].append(np.broadcast_to(np.asarray(cols[k], dtype=float), (n,)).astype(float))

    def arrays(self) -> dict:
        return {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.parts.items()}


def plan(model, chip, workload: Workload | None = None, targets: Targets | None = None,
         space: Space | None = None, frontiers: bool = True) -> Plan:
    """Search every shape of `space` for `model` on `chip`; see the module docstring."""
    m, c = get_model(model), get_chip(chip)
    w = workload or Workload()
    t = targets or Targets()
    sp = space or Space()
    if not 1 <= sp.max_gpus <= 4096:
        raise InfercastError(f"max_gpus must be 1..4096 GPUs per replica, got {sp.max_gpus}", field="max_gpus")
    if not 2 <= sp.points <= 4096:
        raise InfercastError(f"points must be 2..4096 per shape, got {sp.points}", field="points")
    I, O = float(w.input_len), float(w.output_len)
    z = NormalDist().inv_cdf(t.percentile / 100.0)  # standard-normal quantile of the target percentile
    precs = native_precisions(c, m, sp.precisions)
    tps = [x for x in (sp.tps or tp_degrees(m, c)) if x <= m.heads and m.heads % x == 0]
    pps = [p for p in (sp.pps or PP_DEGREES) if p <= m.layers]
    col = _Collector()
    notes: list[str] = []
    engine_name = ""
    agg: list[tuple] = []  # (dep, pp array) of every aggregated shape that fits, for disaggregation
    for prec in precs:
        for tp in tps:
            for es in (sp.eps or expert_layouts(m, tp, sp.max_gpus)):
                if es > 1 and (not m.moe or (es > tp and es % tp)
                                or (es > m.moe.experts and es % m.moe.experts)):
                    continue
                ep = es if es > 1 else 1
                try:
                    dep = deployment(m, c, tp=tp, pp=1, ep=ep, weights=prec, kv=sp.kv, engine=sp.engine,
                                     profile=sp.profile, speed_of_light=sp.speed_of_light)
                except DamagedInstallError:
                    raise  # a damaged data file is not "does not fit"
                except InfercastError as e:
                    notes.append(f"skipped {prec} tp {tp} ep {ep}: {e}")
                    continue
                engine_name = dep.engine.name
                width = dep.expert_shards
                pp_ok = np.array([p for p in pps if width * p <= sp.max_gpus], dtype=float)
                if not pp_ok.size:
                    continue
                cmax, _ = S.max_concurrency(dep, I, O, pp=pp_ok)
                cmax = np.broadcast_to(np.asarray(cmax, dtype=float), pp_ok.shape)
                fit = cmax >= 1
                if not fit.any():
                    continue
                pp_s, cmax = pp_ok[fit], cmax[fit]
                agg.append((dep, pp_s))
                rows, conc = _grid(cmax, sp.points)
                for d, rows, conc in ((dep, rows, conc), *_budget_variants(dep, pp_s, cmax, sp.points, t)):
                    pp_a = pp_s[rows]
                    for spec in sp.speculative:
                        r = S.continuous(d, I, O, conc, pp=pp_a, spec=spec)
                        tail = r
                        if z > 0:
                            occ = np.minimum(conc + z * np.sqrt(conc), cmax[rows])
                            tail = S.continuous(d, I, O, occ, pp=pp_a, spec=spec)
                        label = {"precision": prec, "kv": d.kv, "engine": d.engine.name,
                                 "speculative": spec.describe() if spec else None, "disaggregated": None,
                                 "rank_tokens": d.rank_tokens if d is not dep else None}
                        col.add(label, {"tp": tp, "pp": pp_a, "ep": ep, "dp": d.attn_dp, "gpus": width * pp_a,
                                        "concurrency": conc, "tpot_tail_s": tail["tpot_s"],
                                        "ttft_tail_s": tail["ttft_s"],
                                        **{k: r[k] for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu",
                                                             "tokens_per_s_per_user", "ttft_s", "tpot_s", "e2e_s")}})
    if sp.disaggregated:
        pre = _best_prefill(agg, I)
        if pre is not None:
            _disaggregated(agg, pre, I, O, sp, col, z)
    arrays = col.arrays()
    if not col.labels:
        raise InfercastError(f"{m.id} does not fit on {c.id} in any shape up to {sp.max_gpus} GPUs per replica at "
                             f"{int(I + O):,} tokens of context; use a shorter context or allow more GPUs (max_gpus)",
                             field="max_gpus")
    p = Plan(model=m.id, chip=c.id, workload=w, targets=t, engine=engine_name, arrays=arrays, labels=col.labels,
             label_index=np.concatenate(col.index), notes=notes, prefill_search=(agg, I))
    p.best = p.best_meeting() if t.any else p.max_throughput()
    if frontiers:
        p.frontier_index = {"interactivity": pareto(arrays["output_tok_s_per_gpu"], arrays["tokens_per_s_per_user"]),
                            "ttft": pareto(arrays["output_tok_s_per_gpu"], -arrays["ttft_s"])}
    if t.any and p.best is None:
        p.notes.append(f"no configuration meets {t.describe()}")
    return p


# step budgets per attention group searched below the engine's default, under a speed target only
BUDGETS = (512, 1024, 2048, 4096)


def _budget_variants(dep, pp_s, cmax, points: int, t: Targets) -> list:
    """The deployment with smaller step budgets (tokens per attention group's step: TensorRT-LLM max_num_tokens,
    vLLM max_num_batched_tokens, SGLang chunked-prefill-size / dp), searched when a speed target is set and the
    shape has lanes a step waits for (attention-DP groups or pipeline micro-batches): there each prompt chunk
    holds up the whole step (`serving.busiest_share`), and an engine tuned for latency chunks prompts finer at
    the price of TTFT. Without lanes the budget moves TTFT but barely the mean step, so only the pipeline depths
    with lanes are searched. Returns (deployment, grid rows, concurrency) per budget."""
    lanes = np.ones_like(pp_s, dtype=bool) if dep.attn_dp > 1 else pp_s > 1
    if t.tpot_limit is None or not lanes.any():
        return []
    rows, conc = _grid(cmax[lanes], points)
    rows = np.flatnonzero(lanes)[rows]
    return [(with_rank_tokens(dep, b), rows, conc) for b in BUDGETS if b < dep.rank_tokens]


def _best_prefill(agg, I):
    """(deployment, prompts per GPU-second, seconds for one prompt) of the shape that prefills fastest per GPU."""
    best = None
    for dep, _ in agg:
        rp, t_pre = prefill_rate(dep, I)
        rate = float(rp) / dep.gpus
        if best is None or rate > best[1]:
            best = (dep, rate, float(t_pre))
    return best


def _disaggregated(agg, pre, I, O, sp: Space, col: _Collector, z: float) -> None:
    """Pools: the prefill shape with the most prompts per GPU-second, every decode shape over a batch grid,
    the pools in the GPU ratio that balances their request rates (fractional: replicas time-share)."""
    best_p, best_rate, t_one = pre
    for spec in sp.speculative:
        for dep, pp_s in agg:
            if dep.pp != 1:
                continue
            bmax = float(np.minimum(max_sequences(dep, I + O) * dep.attn_dp, dep.engine.max_batch * dep.attn_dp))
            if bmax < 1:
                continue
            b = np.unique(np.round(np.geomspace(1, bmax, sp.points)))
            tpot = decode_tpot(dep, b, I + O / 2, spec)
            tpot_tail = decode_tpot(dep, np.minimum(b + z * np.sqrt(b), bmax), I + O / 2, spec) if z > 0 else tpot
            rd = b / (O * tpot)  # requests/s per decode replica
            gpus_per_req = best_p.gpus / (best_rate * best_p.gpus) + dep.gpus / rd  # GPU-seconds per request/s
            out = O / gpus_per_req
            pools = Pools(best_p, dep, 1, 1)
            xfer = float(kv_transfer_time(pools, I))
            ttft = t_one + xfer
            label = {"precision": dep.weights, "kv": dep.kv, "engine": dep.engine.name,
                     "speculative": spec.describe() if spec else None, "rank_tokens": None,
                     "disaggregated": f"prefill tp{best_p.tp}" + (f"ep{best_p.expert_shards}" if best_p.model.moe else "")
                                      + f" ({best_p.weights}); decode tp{dep.tp}" + (f"dp{dep.attn_dp}ep{dep.expert_shards}"
                                                                                     if dep.attn_dp > 1 else "")
                                      + f" ({dep.weights}); GPUs prefill:decode = "
                                      + f"{best_p.gpus / best_rate:.3g}:{dep.gpus / float(np.median(rd)):.3g} per request/s"}
            col.add(label, {"tp": dep.tp, "pp": 1, "ep": dep.ep, "dp": dep.attn_dp, "gpus": dep.gpus + best_p.gpus,
                            "concurrency": b, "tpot_tail_s": tpot_tail, "ttft_tail_s": ttft,
                            "output_tok_s_per_gpu": out, "input_tok_s_per_gpu": out * I / O,
                            "tokens_per_s_per_user": 1.0 / tpot, "ttft_s": ttft, "tpot_s": tpot,
                            "e2e_s": ttft + (O - 1) * tpot})


__all__ = ["Workload", "Targets", "Space", "Plan", "plan", "pareto", "native_precisions", "tp_degrees", "shapes",
           "expert_layouts", "PRECISIONS", "PP_DEGREES"]
