"""One request's results: resolve the inputs, call the library once per chip, wrap what comes back.

Each `do_*` is a loop over chips calling one library function (`essay.bounds`, `estimate.estimate`,
`frontier.sweep`/`best_point`, `cost.cost`); an error on one chip becomes that chip's `error` while
the others keep their results. The loops call `cancel.check()` between chips, so work whose client
has gone stops early. Models and chips resolve from the catalogs (and this server's uploads) only:
nothing the user types is ever read as a path.
"""
from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable, Iterator

from infercast.analyses.cost import cost as run_cost
from infercast.analyses.essay import Bounds, bounds as run_bounds
from infercast.analyses.frontier import best_point, sweep
from infercast.engine.efficiency import engine_names, get_engine
from infercast.engine.estimate import Estimate, estimate as run_estimate
from infercast.errors import InfercastError
from infercast.specs import precision as P
from infercast.specs.hardware import Chip, all_chips
from infercast.specs.model import ModelSpec, all_models
from infercast.specs.store import lookup
from infercast.web.errors import WebInputError, field_of, short
from infercast.web.schemas import (BoundsItem, CostItem, EstimateItem, ErrorOut, FrontierItem, Inputs, ModelOut,
                                   ResultsOut)
from infercast.web.upload_store import UploadStore
from infercast.web.work import Cancelled, check_work

Resolved = tuple[ModelSpec, "str | None", list[Chip]]


@contextmanager
def blame(field: str) -> Iterator[None]:
    """Attribute InfercastErrors raised inside to `field` (unless already attributed)."""
    try:
        yield
    except InfercastError as e:
        if not e.field:
            e.field = field
        raise


@lru_cache(maxsize=1)
def _models() -> tuple[dict[str, ModelSpec], dict[str, str]]:
    items = {m.id: m for m in all_models()}
    return items, {a.lower(): m.id for m in items.values() for a in m.aliases}


@lru_cache(maxsize=1)
def _chips() -> tuple[dict[str, Chip], dict[str, str]]:
    items = {c.id: c for c in all_chips()}
    return items, {a.lower(): c.id for c in items.values() for a in c.aliases}


def resolve_model(name: str, uploads: UploadStore) -> tuple[ModelSpec, str | None]:
    key = name.strip()
    spec = uploads.get(key)
    if spec is not None:
        return spec, key
    if key.startswith("upload-"):
        raise WebInputError(f"uploaded model '{key[:40]}' is not in this server's memory (it keeps the "
                            f"{uploads.capacity} most recent uploads until it restarts); upload the config.json "
                            "again", "model", 404)
    if key.lower().endswith(".json"):
        raise WebInputError("the web app does not read files on the server; upload the config.json "
                            "(POST /api/model) and use the token it returns", "model", 422)
    with blame("model"):
        return lookup("model", key, *_models()), None


def resolve(q: Inputs, uploads: UploadStore) -> Resolved:
    m, token = resolve_model(q.model, uploads)
    chips: list[Chip] = []
    for name in q.chip:
        with blame("chip"):
            c = lookup("chip", name, *_chips())
        if c not in chips:
            chips.append(c)
    for name in ("weights", "kv"):
        v = getattr(q, name)
        if v is not None:
            with blame(name):
                P.check(v, name if name == "weights" else "kv cache")
    if q.engine is not None and q.engine not in engine_names():
        with blame("engine"):
            get_engine(q.engine)
    return m, token, chips


def model_out(m: ModelSpec, token: str | None = None) -> ModelOut:
    moe = None
    if m.moe:
        moe = f"{m.moe.active} of {m.moe.experts} experts" + (
            f" + {m.moe.shared_experts} shared" if m.moe.shared_experts else "")
    return ModelOut(
        id=m.id, name=m.name, family=m.family, year=m.year, token=token, uploaded=token is not None,
        total_params=m.total_params, active_params=m.active_params, layers=m.layers, d_model=m.d_model,
        heads=m.heads, kv_heads=m.kv_heads, head_dim=m.head_dim, attention=m.attention_kind, moe=moe,
        dtype=m.dtype, max_context=m.max_context, kv_bytes_per_token_bf16=m.kv_bytes_per_token("bf16"),
        weight_bytes=m.weight_bytes(), params_source=m.params_source, rumoured=m.rumoured, notes=m.notes)


def err(e: InfercastError) -> ErrorOut:
    return ErrorOut(detail=short(str(e)), field=field_of(e))


def library_kwargs(q: Inputs) -> dict[str, Any]:
    """The inputs as the library's keyword arguments (estimate; cost takes the shape and targets)."""
    return dict(gpus=q.gpus, tp=q.tp, pp=q.pp, ep=q.ep, weights=q.weights, kv=q.kv, engine=q.engine,
                input_len=q.input_len, output_len=q.output_len, concurrency=q.concurrency,
                max_throughput=q.concurrency is None, tpot_max=1.0 / q.min_tps_user if q.min_tps_user else None,
                ttft_max=q.max_ttft)


def _per_chip(chips: list[Chip], fn: Callable[[Chip], Any], cancel: Cancelled):
    out = []
    for c in chips:
        cancel.check()
        try:
            out.append((c, fn(c), None))
        except InfercastError as e:
            out.append((c, None, e))
    return out


def _bounds_sources(b: Bounds, c: Chip, m: ModelSpec) -> dict[str, str]:
    return {
        "upper": f"{c.id} dense {b.compute_precision} peak {c.tflops[b.compute_precision]:g} TFLOP/s "
                 f"({c.sources.get('tflops', 'catalog')}) / (2 x {m.active_params / 1e9:.1f} B active parameters; "
                 f"{m.params_source})",
        "lower": f"{c.id} HBM {c.memory_bw_tbps:g} TB/s ({c.sources.get('bandwidth', 'catalog')}) / "
                 f"{b.bytes_per_forward / 1e9:.1f} GB of active weights at {b.precision}",
        "market": b.market_source or f"no market quote for {m.id} on {c.id} in the catalog (data/market.json)",
    }


def _estimate_sources(e: Estimate, c: Chip) -> dict[str, str]:
    step = "roofline step model (roofline.step_time) under continuous batching (serving.continuous)"
    return {
        "throughput": f"{step}; efficiencies: {e.efficiency_source}",
        "step": f"{step}; engine: {e.engine_source}",
        "memory": f"capacity {c.memory_gb:g} GB {c.memory_type} ({c.sources.get('memory', 'catalog')}); "
                  f"weights and KV from the model's architecture; KV pool per the engine profile",
        "efficiency": e.efficiency_source,
        "engine": e.engine_source,
    }


def do_bounds(q: Inputs, m: ModelSpec, chips: list[Chip], cancel: Cancelled) -> list[BoundsItem]:
    prec = q.weights or m.dtype
    rows = _per_chip(chips, lambda c: run_bounds(m, c, prec), cancel)
    return [BoundsItem(chip=c.id, bounds=b, sources=_bounds_sources(b, c, m) if b else {},
                       error=err(e) if e else None) for c, b, e in rows]


def do_estimate(q: Inputs, m: ModelSpec, chips: list[Chip], cancel: Cancelled) -> list[EstimateItem]:
    kw = library_kwargs(q)
    rows = _per_chip(chips, lambda c: run_estimate(m, c, **kw), cancel)
    return [EstimateItem(chip=c.id, estimate=r, sources=_estimate_sources(r, c) if r else {},
                         error=err(e) if e else None) for c, r, e in rows]


def do_frontier(q: Inputs, m: ModelSpec, chips: list[Chip], cancel: Cancelled) -> list[FrontierItem]:
    check_work(m, chips, q.weights, q.max_gpus, q.points)
    targets = q.min_tps_user is not None or q.max_ttft is not None

    def one(c: Chip) -> FrontierItem:
        sw = sweep(m, c, input_len=q.input_len, output_len=q.output_len,
                   precisions=[q.weights] if q.weights else None, engine=q.engine, kv=q.kv,
                   max_gpus=q.max_gpus, n_concurrency=q.points)
        best = best_point(sw, q.min_tps_user, q.max_ttft) if targets else None
        return FrontierItem(chip=c.id, configs=sw.n, engine=sw.engine, points=sw.frontier_interactivity,
                            max_throughput=sw.max_throughput() if sw.n else None,
                            best_meeting_targets=best, notes=list(sw.notes))

    rows = _per_chip(chips, one, cancel)
    return [r if r else FrontierItem(chip=c.id, error=err(e)) for c, r, e in rows]


def do_cost(q: Inputs, m: ModelSpec, chips: list[Chip], cancel: Cancelled) -> list[CostItem]:
    out = []
    for c in chips:
        cancel.check()
        if c.price is None:
            out.append(CostItem(chip=c.id, priced=False, error=ErrorOut(
                detail=f"{c.id} has no dated $/hour in the catalog, so no cost is shown")))
            continue
        try:
            r = run_cost(m, c, tp=q.tp, pp=q.pp, ep=q.ep, weights=q.weights, kv=q.kv, engine=q.engine,
                         input_len=q.input_len, output_len=q.output_len,
                         min_tokens_per_s_per_user=q.min_tps_user, max_ttft_s=q.max_ttft)
            out.append(CostItem(chip=c.id, priced=True, price=c.price, cost=r))
        except InfercastError as e:
            out.append(CostItem(chip=c.id, priced=True, price=c.price, error=err(e)))
    return out


def raise_if_all_failed(items: list) -> None:
    """When every chip failed, the request itself is wrong: answer 4xx with the first chip's error."""
    if items and all(i.error is not None for i in items):
        e = items[0].error
        raise WebInputError(e.detail, e.field, 422)


def results(q: Inputs, m: ModelSpec, token: str | None, chips: list[Chip], cancel: Cancelled) -> ResultsOut:
    check_work(m, chips, q.weights, q.max_gpus, q.points)  # before any work is done
    est = do_estimate(q, m, chips, cancel)
    raise_if_all_failed(est)
    return ResultsOut(inputs=q, model=model_out(m, token), bounds=do_bounds(q, m, chips, cancel), estimate=est,
                      frontier=do_frontier(q, m, chips, cancel), cost=do_cost(q, m, chips, cancel))


# ------------------------------------------------------------------ CSV

FRONTIER_COLS = ["chip", "precision", "tp", "pp", "ep", "gpus", "concurrency", "tokens_per_s_per_user",
                 "output_tok_s_per_gpu", "input_tok_s_per_gpu", "ttft_s", "tpot_s"]
SUMMARY_COLS = [
    "model", "chip", "weights", "kv_cache", "engine", "input_len", "output_len", "gpus", "tp", "pp", "ep", "mode",
    "upper_forward_passes_per_s", "lower_forward_passes_per_s", "market_forward_passes_per_s",
    "concurrency", "output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s",
    "bound_by", "batch_limit", "frontier_max_output_tok_s_per_gpu", "best_meeting_targets_output_tok_s_per_gpu",
    "usd_per_gpu_hour", "price_date", "usd_per_m_input", "usd_per_m_output", "error",
]


def _summary_row(r: ResultsOut, b: BoundsItem, e: EstimateItem, f: FrontierItem, c: CostItem) -> list:
    est, bd, cr = e.estimate, b.bounds, c.cost
    errs = "; ".join(x.error.detail for x in (e, f, c) if x.error)

    def g(obj, attr):
        return "" if obj is None else getattr(obj, attr)

    return [
        r.model.id, e.chip, g(est, "weights"), g(est, "kv_cache"), g(est, "engine"), r.inputs.input_len,
        r.inputs.output_len, g(est, "gpus"), g(est, "tp"), g(est, "pp"), g(est, "ep"), g(est, "mode"),
        g(bd, "upper_forward_passes_per_s"), g(bd, "lower_forward_passes_per_s"),
        (bd.market_forward_passes_per_s or "") if bd else "",
        g(est, "concurrency"), g(est, "output_tok_s_per_gpu"), g(est, "input_tok_s_per_gpu"),
        g(est, "tokens_per_s_per_user"), g(est, "ttft_s"), g(est, "tpot_s"), g(est, "bound_by"),
        g(est, "batch_limit"), g(f.max_throughput, "output_tok_s_per_gpu"),
        g(f.best_meeting_targets, "output_tok_s_per_gpu"), g(c.price, "usd_per_hour"), g(c.price, "date"),
        g(cr, "usd_per_m_input"), g(cr, "usd_per_m_output"), errs,
    ]


def _cell(v: Any) -> Any:
    """Spreadsheet-safe: a text cell starting with = + - @ is not read as a formula (OWASP CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def to_csv(r: ResultsOut, table: str) -> str:
    buf = io.StringIO()
    if table == "frontier":
        w = csv.writer(buf)
        w.writerow(FRONTIER_COLS)
        for f in r.frontier:
            for p in f.points:
                d = p.model_dump()
                w.writerow([_cell(d.get(k, "")) for k in FRONTIER_COLS])
    else:
        w = csv.writer(buf)
        w.writerow(SUMMARY_COLS)
        for b, e, f, c in zip(r.bounds, r.estimate, r.frontier, r.cost):
            w.writerow([_cell(v) for v in _summary_row(r, b, e, f, c)])
    return buf.getvalue()
