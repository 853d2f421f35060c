"""One request's results: resolve the inputs, call the library once per chip, wrap what comes back.

Each `do_*` is a loop over chips calling the library (`essay.bounds`; the planner and `estimate`
through `web.operating_point.ChipRun`, one search per chip shared by the sections of a request;
`cost.cost` at the chip's operating point); an error on one chip becomes that chip's `error` while
the others keep their results. The loops call `cancel.check()` between chips, so work whose client
has gone stops early. Models and chips resolve from the catalogs (and this server's uploads) only:
nothing the user types is ever read as a path. Uploaded chips travel in `Resolved.custom`: the work
pool makes them known by id in the thread that computes (`web.work.with_chips`).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Iterator

from infercast.analyses.cost import cost as run_cost
from infercast.analyses.essay import Bounds, bounds as run_bounds
from infercast.engine.efficiency import engine_names, get_engine
from infercast.engine.estimate import Estimate
from infercast.errors import InfercastError
from infercast.specs import precision as P
from infercast.specs.hardware import Chip, all_chips
from infercast.specs.model import ModelSpec, all_models
from infercast.specs.store import lookup
from infercast.web.errors import WebInputError, field_of, short
from infercast.web.operating_point import ChipRun, check_inputs, speculation_of
from infercast.web.schemas import (BoundsItem, ChipError, CostItem, EstimateItem, ErrorOut, FrontierItem, Inputs,
                                   ModelOut, OperatingPoint, ResultsOut)
from infercast.web.upload_store import UploadStore
from infercast.web.work import Cancelled, check_work

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


def resolve_chip(name: str, chip_uploads: UploadStore[Chip] | None) -> tuple[Chip, bool]:
    """A chip by catalog id or alias, or by the token of an uploaded chip file; (chip, uploaded)."""
    key = name.strip()
    if chip_uploads is not None:
        chip = chip_uploads.get(key)
        if chip is not None:
            return chip, True
        if key.startswith(chip_uploads.prefix) and key not in _chips()[0]:
            raise WebInputError(f"uploaded chip '{key[:40]}' is not in this server's memory (it keeps the "
                                f"{chip_uploads.capacity} most recent chip files until it restarts); upload the "
                                "chip file again", "chip", 404)
    if key.lower().endswith((".toml", ".json")):
        raise WebInputError("the web app does not read files on the server; upload the chip file "
                            "(POST /api/chip) and use the token it returns", "chip", 422)
    with blame("chip"):
        return lookup("chip", key, *_chips()), False


def uploaded_together(chips: list[Chip]) -> tuple[Chip, ...]:
    """The uploaded chips of one request, refused (422, `chip`) when two different ones share an id: each
    result row is named by its chip's id."""
    seen: dict[str, Chip] = {}
    for c in chips:
        if c.id in seen and seen[c.id] != c:
            raise WebInputError(f"two different uploaded chips share the id '{c.id}'; pick one of them, or give "
                                "each chip file its own id", "chip", 422)
        seen[c.id] = c
    return tuple(seen.values())


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


@dataclass(frozen=True)
class Resolved:
    """A request's inputs resolved against the catalogs and this server's uploads."""

    model: ModelSpec
    token: str | None
    chips: list[Chip]
    draft: str | None = None  # the draft model's catalog id (speculative decoding with a draft model)
    custom: tuple[Chip, ...] = ()  # the uploaded chips among `chips`, to make known by id where the work runs


def resolve(q: Inputs, uploads: UploadStore, chip_uploads: UploadStore[Chip] | None = None) -> Resolved:
    """Check and resolve every input that names something (cheap: bad input is answered at once)."""
    check_inputs(q)
    m, token = resolve_model(q.model, uploads)
    chips: list[Chip] = []
    uploaded: list[Chip] = []
    for name in q.chip:
        c, is_upload = resolve_chip(name, chip_uploads)
        if c not in chips:
            chips.append(c)
            if is_upload:
                uploaded.append(c)
    custom = uploaded_together(uploaded)
    for name in ("weights", "kv"):
        v = getattr(q, name)
        if v is not None:
            with blame(name):
                P.check(v, name if name == "weights" else "kv cache")
    if q.engine is not None and q.engine not in engine_names():
        with blame("engine"):
            get_engine(q.engine)
    draft = None
    if q.spec_draft is not None:  # a catalog id only: nothing the user types is read as a path
        try:
            draft = lookup("model", q.spec_draft, *_models()).id
        except InfercastError as e:
            e.field = "spec_draft"  # the unknown model is the draft, not `model`
            raise
    with blame("spec_method"):
        speculation_of(q, draft)
    return Resolved(m, token, chips, draft, custom)


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
        state_bytes_per_seq=m.state_bytes_per_seq,
        weight_bytes=m.weight_bytes(), params_source=m.params_source, rumoured=m.rumoured, notes=m.notes)


def err(e: InfercastError) -> ErrorOut:
    return ErrorOut(detail=short(str(e)), field=field_of(e))


def runs_for(q: Inputs, r: Resolved) -> dict[str, ChipRun]:
    """One ChipRun per chip, shared by the sections of one request (one search per chip)."""
    return {c.id: ChipRun(q, r.model, c, r.draft) for c in r.chips}


def _per_chip(chips: list[Chip], fn: Callable[[Chip], Any], cancel: Cancelled):
    out = []
    for c in chips:
        cancel.check()
        try:
            out.append((c, fn(c), None))
        except InfercastError as e:
            out.append((c, None, e))
    return out


def _source(c: Chip, key: str) -> str:
    """Where a chip's number comes from: its own source, else the chip file's, else the catalog."""
    if key in c.sources:
        return c.sources[key]
    return c.sources.get("all") or ("catalog" if c.id in _chips()[0] else "a chip file that gives no source")


def _bounds_sources(b: Bounds, c: Chip, m: ModelSpec) -> dict[str, str]:
    return {
        "upper": f"{c.id} dense {b.compute_precision} peak {c.tflops[b.compute_precision]:g} TFLOP/s "
                 f"({_source(c, 'tflops')}) / (2 x {m.active_params / 1e9:.1f} B active parameters; "
                 f"{m.params_source})",
        "lower": f"{c.id} HBM {c.memory_bw_tbps:g} TB/s ({_source(c, 'bandwidth')}) / "
                 f"{b.bytes_per_forward / 1e9:.1f} GB of active weights at {b.precision}",
        "market": b.market_source or f"no market quote for {m.id} on {c.id} in the catalog (data/market.json)",
    }


def _estimate_sources(p: OperatingPoint, e: Estimate | None, c: Chip) -> dict[str, str]:
    how = {"planner": "the planner's best shape, precision and batch for the targets (engine.planner.plan)",
           "fixed shape": "the given shape; the planner's best batch for the targets (engine.planner.plan)",
           "fixed concurrency": "the given shape and requests in flight (engine.estimate.estimate)"}[p.chosen_by]
    step = "step model (engine.step) under continuous batching (engine.serving.continuous)"
    out = {"point": f"{how}; {step}", "throughput": f"{how}; {step}", "step": step}
    if e is not None:
        out.update({
            "throughput": f"{how}; {step}; efficiencies: {e.efficiency_source}",
            "step": f"{step}; engine: {e.engine_source}",
            "memory": f"capacity {c.memory_gb:g} GB {c.memory_type} ({_source(c, 'memory')}); "
                      f"weights and KV from the model's architecture; KV pool per the engine profile",
            "efficiency": e.efficiency_source, "engine": e.engine_source})
    return out


def _precision_of(q: Inputs, m: ModelSpec, run: ChipRun | None) -> str:
    """The weight precision of the chip's operating point when it has one, else the asked or released one."""
    if run is not None:
        try:
            return run.operating_point[0].precision
        except InfercastError:
            pass
    return q.weights or m.dtype


def do_bounds(q: Inputs, r: Resolved, cancel: Cancelled, runs: dict[str, ChipRun] | None = None) -> list[BoundsItem]:
    """The essay's bounds per chip, at the operating point's precision (results) or the asked one."""
    m = r.model
    rows = _per_chip(r.chips, lambda c: run_bounds(m, c, _precision_of(q, m, (runs or {}).get(c.id))), cancel)
    return [BoundsItem(chip=c.id, bounds=b, sources=_bounds_sources(b, c, m) if b else {},
                       error=err(e) if e else None) for c, b, e in rows]


def do_estimate(q: Inputs, r: Resolved, cancel: Cancelled, runs: dict[str, ChipRun] | None = None) -> list[EstimateItem]:
    runs = runs or runs_for(q, r)
    rows = _per_chip(r.chips, lambda c: runs[c.id].operating_point, cancel)
    out = []
    for c, got, e in rows:
        if got is None:
            out.append(EstimateItem(chip=c.id, error=err(e)))
            continue
        point, est, notes = got
        out.append(EstimateItem(chip=c.id, point=point, estimate=est, sources=_estimate_sources(point, est, c),
                                notes=notes))
    return out


def do_frontier(q: Inputs, r: Resolved, cancel: Cancelled, runs: dict[str, ChipRun] | None = None) -> list[FrontierItem]:
    runs = runs or runs_for(q, r)

    def one(c: Chip) -> FrontierItem:
        p = runs[c.id].full_plan
        return FrontierItem(chip=c.id, configs=p.n, engine=p.engine, points=p.frontier_interactivity,
                            max_throughput=p.max_throughput() if p.n else None,
                            best_meeting_targets=p.best if p.targets.any else None, notes=list(p.notes))

    rows = _per_chip(r.chips, one, cancel)
    return [f if f else FrontierItem(chip=c.id, error=err(e)) for c, f, e in rows]


def do_cost(q: Inputs, r: Resolved, cancel: Cancelled, runs: dict[str, ChipRun] | None = None) -> list[CostItem]:
    """$ per million tokens at each chip's operating point (its shape, precision and batch)."""
    runs = runs or runs_for(q, r)
    out = []
    for c in r.chips:
        cancel.check()
        if c.price is None:
            out.append(CostItem(chip=c.id, priced=False, error=ErrorOut(
                detail=f"{c.id} has no dated $/hour in the catalog, so no cost is shown")))
            continue
        try:
            point, _, _ = runs[c.id].operating_point
            rep = run_cost(r.model, c, tp=point.tp, pp=point.pp, ep=point.ep, weights=point.precision, kv=point.kv,
                           engine=q.engine, input_len=q.input_len, output_len=q.output_len,
                           concurrency=point.concurrency / point.replicas)  # one replica: cost per GPU alike
            extra = [f"{x}: cost of the same shape and batch without it (analyses.cost does not model it yet)"
                     for x in (point.speculative, point.disaggregated and "disaggregated pools") if x]
            label = {"planner": "the planner's choice", "fixed shape": "the given shape, the planner's batch",
                     "fixed concurrency": "the given shape and batch"}[point.chosen_by]
            rep = replace(rep, operating_point=f"{label}: {point.targets}", assumptions=rep.assumptions + extra)
            out.append(CostItem(chip=c.id, priced=True, price=c.price, cost=rep))
        except InfercastError as e:
            out.append(CostItem(chip=c.id, priced=True, price=c.price, error=err(e)))
    return out


def raise_if_all_failed(items: list) -> None:
    """When every chip failed, the request itself is wrong: answer 4xx with the first chip's error, and
    every chip's own reason in `chips`."""
    if items and all(i.error is not None for i in items):
        e = items[0].error
        raise WebInputError(e.detail, e.field, 422, extra={"chips": [
            ChipError(chip=i.chip, detail=i.error.detail, field=i.error.field).model_dump() for i in items]})


def results(q: Inputs, r: Resolved, cancel: Cancelled) -> ResultsOut:
    check_search(q, r)  # before any work is done
    runs = runs_for(q, r)
    est = do_estimate(q, r, cancel, runs)
    raise_if_all_failed(est)
    return ResultsOut(inputs=q, model=model_out(r.model, r.token), bounds=do_bounds(q, r, cancel, runs), estimate=est,
                      frontier=do_frontier(q, r, cancel, runs), cost=do_cost(q, r, cancel, runs))


def check_search(q: Inputs, r: Resolved) -> int:
    """The work bound (web.work.check_work) of the full search one chip's frontier or planner makes."""
    return check_work(r.model, r.chips, q.weights, q.max_gpus, q.points, speculative=q.spec_method is not None,
                      disaggregated=q.disaggregated, tail=q.percentile > 50)
