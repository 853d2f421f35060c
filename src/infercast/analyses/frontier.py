"""Throughput-vs-latency frontier: sweep deployment shapes, precisions and concurrency, keep the Pareto set.

One sweep covers, for a model on one chip type:

* shape: tensor parallel degree TP in 1, 2, 4, 8 (and 16, 32, 64 where the scale-up domain is
  larger, e.g. NVL72), pipeline degree PP in 1, 2, 4, 8, 16, and for MoE models expert
  parallelism EP wider than TP (8 ... 64, attention data-parallel over EP/TP groups);
* precision: bf16, fp8, fp4 weights where the chip has a native tensor rate for them;
* concurrency: a geometric grid from 1 to the memory / engine limit of that shape
  (`serving.max_concurrency`).

Every configuration is evaluated with `serving.continuous` (steady-state continuous batching),
vectorised: one call per group of shapes that share a `Deployment`, with `tp=`/`pp=` arrays.
The frontiers are the configurations no other beats on both axes: output tokens/s per GPU
against tokens/s per user (interactivity), and against time to first token.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from infercast.errors import InfercastError
from infercast.specs.hardware import Chip, get_chip
from infercast.specs.model import ModelSpec, get_model
from infercast.engine.step import deployment
from infercast.engine.serving import continuous, max_concurrency

PRECISIONS = ("bf16", "fp8", "fp4")
PP_DEGREES = (1, 2, 4, 8, 16)
FIELDS = ("tp", "pp", "ep", "gpus", "concurrency", "output_tok_s_per_gpu", "input_tok_s_per_gpu",
          "tokens_per_s_per_user", "ttft_s", "tpot_s")


def native_precisions(chip: Chip, wanted=PRECISIONS) -> list[str]:
    """The weight precisions of `wanted` the chip has its own tensor rate for (no fallback)."""
    return [p for p in wanted if chip.compute_precision(p)[0] == p
            or (p == "bf16" and "fp16" in chip.tflops)]


def tp_degrees(model: ModelSpec, chip: Chip) -> list[int]:
    """1, 2, 4, 8 inside the scale-up domain; 16..64 where the domain is that large (NVL72, TPU pods)."""
    ok = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= model.heads and model.heads % t == 0]
    if chip.scaleup_domain < 8:  # a PCIe pair or 4-GPU board: allow TP over the network up to 8
        return [t for t in ok if t <= 8]
    return [t for t in ok if t <= chip.scaleup_domain]


def ep_degrees(model: ModelSpec, tp: int, max_gpus: int) -> list[int]:
    """EP = TP (experts split over the TP group), plus wider EP groups that are multiples of TP."""
    if not model.moe:
        return [1]
    out = [1]
    for e in (8, 16, 32, 64):
        if e > tp and e % tp == 0 and e <= model.moe.experts and e <= max_gpus:
            out.append(e)
    return out


def shapes(model, chip, tps=None, pps=None, eps=None, max_gpus: int = 128) -> list[tuple[int, int, int]]:
    """Candidate (tp, pp, ep) shapes for one replica, at most `max_gpus` GPUs."""
    m, c = get_model(model), get_chip(chip)
    tps = list(tps) if tps else tp_degrees(m, c)
    pps = [p for p in (pps or PP_DEGREES) if p <= m.layers]
    out = []
    for t in tps:
        if t > m.heads or m.heads % t:
            continue
        for e in (eps or ep_degrees(m, t, max_gpus)):
            if e > 1 and (not m.moe or e > m.moe.experts or (e > t and e % t)):
                continue
            for p in pps:
                if max(t, e) * p <= max_gpus:
                    out.append((t, p, e))
    return out


@dataclass
class Sweep:
    """All evaluated configurations (arrays) and their two Pareto frontiers (lists of dicts)."""

    model: str
    chip: str
    input_len: int
    output_len: int
    engine: str
    kv: dict[str, str]  # KV-cache precision per weight precision
    arrays: dict[str, np.ndarray]
    precision_code: np.ndarray  # index into `precisions` per configuration
    precisions: tuple[str, ...]
    frontier_interactivity: list[dict] = field(default_factory=list)
    frontier_ttft: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.arrays["tp"].size)

    @property
    def precision(self) -> np.ndarray:
        """Weight precision per configuration (array of str)."""
        return np.asarray(self.precisions, dtype=object)[self.precision_code]

    def points(self, idx) -> list[dict]:
        """Configurations `idx` as dicts (chip, model, precision, shape, concurrency, results)."""
        idx = np.asarray(idx, dtype=np.int64)
        cols = {k: (self.arrays[k][idx].astype(np.int64) if k in ("tp", "pp", "ep", "gpus") else self.arrays[k][idx]).tolist()
                for k in FIELDS}
        precs = [self.precisions[j] for j in self.precision_code[idx].tolist()]
        keys = list(cols)
        return [dict(chip=self.chip, model=self.model, precision=p, **dict(zip(keys, vals)))
                for p, *vals in zip(precs, *cols.values())]

    def point(self, i: int) -> dict:
        return self.points([i])[0]

    def max_throughput(self) -> dict:
        return self.point(int(np.argmax(self.arrays["output_tok_s_per_gpu"])))

    def as_dict(self, all_points: bool = False) -> dict:
        d = {"model": self.model, "chip": self.chip, "input_len": self.input_len, "output_len": self.output_len,
             "engine": self.engine, "kv_cache": self.kv, "configs": self.n,
             "max_throughput": self.max_throughput() if self.n else None,
             "frontier_interactivity": self.frontier_interactivity, "frontier_ttft": self.frontier_ttft,
             "notes": self.notes}
        if all_points:
            d["points"] = {k: v.tolist() for k, v in self.arrays.items()} | {"precision": self.precision.tolist()}
        return d


def pareto(x, y) -> np.ndarray:
    """Indices of points not dominated when maximising both x and y, ordered by x descending.

    The first index is the maximum-x point (best y among ties). A point is kept when its y is
    strictly above that of every point with larger (or equal, earlier) x.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return idx
    order = idx[np.argsort(-x[idx], kind="stable")]
    ys = y[order]
    prev_best = np.concatenate(([-np.inf], np.maximum.accumulate(ys)[:-1]))
    kept = order[ys > prev_best]
    # equal x: a later kept point has a higher y and dominates the earlier one
    if kept.size > 1:
        tie = np.concatenate((x[kept[:-1]] == x[kept[1:]], [False]))
        kept = kept[~tie]
    return kept


def _grid(cmax: np.ndarray, n: int, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """Geometric grid 1..cmax per shape: returns (row index, concurrency), flattened."""
    frac = np.linspace(0.0, 1.0, n)
    c = np.power(np.maximum(cmax, 1.0)[:, None], frac[None, :])
    if integer:
        c = np.round(c)
        keep = np.ones_like(c, dtype=bool)
        keep[:, 1:] = c[:, 1:] != c[:, :-1]
    else:
        keep = np.ones_like(c, dtype=bool)
    rows = np.broadcast_to(np.arange(cmax.size)[:, None], c.shape)
    return rows[keep], c[keep]


def sweep(model, chip, *, input_len: int = 1024, output_len: int = 256, precisions=None, tps=None, pps=None,
          eps=None, max_gpus: int = 128, n_concurrency: int = 48, integer_concurrency: bool = True,
          engine: str | None = None, kv: str | None = None, frontiers: bool = True, profile=None) -> Sweep:
    """Evaluate every (shape, precision, concurrency) configuration; return arrays and frontiers."""
    m, c = get_model(model), get_chip(chip)
    if input_len < 1 or output_len < 1:
        raise InfercastError("--input-len and --output-len must be at least 1 token")
    if n_concurrency < 2:
        raise InfercastError("n_concurrency must be at least 2")
    precs = native_precisions(c, precisions or PRECISIONS)
    if precisions and not precs:
        raise InfercastError(f"{c.id} has no native tensor rate for {', '.join(precisions)}; "
                             f"it has {', '.join(c.tflops)}")
    cand = shapes(m, c, tps, pps, eps, max_gpus)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in FIELDS}
    prec_parts: list[np.ndarray] = []
    prec_names = tuple(precs)
    notes: list[str] = []
    eng_name, kv_map = None, {}
    I, O = float(input_len), float(output_len)
    for prec in precs:
        # one Deployment per (tp, ep): operator shapes and measured tables depend on them; the PP
        # degrees of a group are evaluated in one vectorised call.
        groups: dict[tuple, list[tuple[int, int, int]]] = {}
        for (t, p, e) in cand:
            key = (t, e)
            # pipeline hops use the link of the whole replica: keep in-domain and cross-domain apart
            groups.setdefault(key + (t * p <= c.scaleup_domain,), []).append((t, p, e))
        for (gt, ge, _), shp in groups.items():
            try:
                dep = deployment(m, c, tp=gt, pp=1, ep=ge, weights=prec, kv=kv, engine=engine, profile=profile)
            except InfercastError as err:
                notes.append(f"skipped {prec} tp={gt} ep={ge}: {err}")
                continue
            eng_name = dep.engine.name
            kv_map[prec] = dep.kv
            tp_s = np.array([s[0] for s in shp], dtype=float)
            pp_s = np.array([s[1] for s in shp], dtype=float)
            cmax, _ = max_concurrency(dep, I, O, pp=pp_s)
            cmax = np.broadcast_to(np.asarray(cmax, dtype=float), tp_s.shape)
            fit = cmax >= 1
            if not fit.any():
                continue
            tp_s, pp_s, cmax = tp_s[fit], pp_s[fit], cmax[fit]
            rows, conc = _grid(cmax, n_concurrency, integer_concurrency)
            tp_a, pp_a = tp_s[rows], pp_s[rows]
            r = continuous(dep, I, O, conc, pp=pp_a)
            n = conc.size
            attn_dp = dep.attn_dp
            parts["tp"].append(tp_a)
            parts["pp"].append(pp_a)
            parts["ep"].append(np.full(n, float(dep.ep)))
            parts["gpus"].append(tp_a * pp_a * attn_dp)
            parts["concurrency"].append(conc)
            for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s"):
                parts[k].append(np.broadcast_to(np.asarray(r[k], dtype=float), (n,)))
            prec_parts.append(np.full(n, prec_names.index(prec), dtype=np.int8))
    if not prec_parts:
        raise InfercastError(f"{m.id} does not fit on {c.id} in any shape up to {max_gpus} GPUs per replica "
                             f"at {int(I + O)} tokens of context; try a shorter context or --max-gpus")
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    sw = Sweep(model=m.id, chip=c.id, input_len=int(I), output_len=int(O), engine=eng_name or "", kv=kv_map,
               arrays=arrays, precision_code=np.concatenate(prec_parts), precisions=prec_names, notes=notes)
    if frontiers:
        sw.frontier_interactivity = sw.points(pareto(arrays["output_tok_s_per_gpu"], arrays["tokens_per_s_per_user"]))
        sw.frontier_ttft = sw.points(pareto(arrays["output_tok_s_per_gpu"], -arrays["ttft_s"]))
    return sw


def best_point(sw: Sweep, min_tokens_per_s_per_user: float | None = None, max_ttft_s: float | None = None) -> dict | None:
    """Highest output tokens/s per GPU among configurations meeting the latency targets."""
    a = sw.arrays
    ok = np.ones(sw.n, dtype=bool)
    if min_tokens_per_s_per_user is not None:
        ok &= a["tokens_per_s_per_user"] >= min_tokens_per_s_per_user
    if max_ttft_s is not None:
        ok &= a["ttft_s"] <= max_ttft_s
    if not ok.any():
        return None
    i = np.flatnonzero(ok)[np.argmax(a["output_tok_s_per_gpu"][ok])]
    return sw.point(int(i))


__all__ = ["Sweep", "sweep", "pareto", "shapes", "best_point", "native_precisions"]
