"""World endpoints (issue #14): /api/world, /api/overhang, /api/margin, /api/margin/deepseek, and the page
/world. Inputs resolve on the event loop (bad input answered at once); the computation runs in the work
pool (`web.work.WorkPool`: bounded, 429 past its queue, stopped when the client goes)."""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from infercast.specs import precision as P
from infercast.specs.hardware import Chip
from infercast.web import compute as C
from infercast.web.errors import QUERY_MODELS
from infercast.web.routes.deps import json_bytes, json_response
from infercast.web.routes.page import _file
from infercast.web.schemas import ERROR_RESPONSES
from infercast.web.work import Cancelled
from infercast.web.world_schemas import (DeepSeekOut, MarginInputs, MarginOut, OverhangInputs, OverhangOut,
                                         WorldInputs, WorldOut)

router = APIRouter(tags=["world"], responses=ERROR_RESPONSES)
QUERY_MODELS.update({"/api/world": WorldInputs, "/api/overhang": OverhangInputs, "/api/margin": MarginInputs})


def _chip(request: Request, name: str) -> tuple[Chip, tuple[Chip, ...]]:
    """The chip (catalog id or alias, or an uploaded chip file's token), and the uploaded chips to make known."""
    c, uploaded = C.resolve_chip(name, request.app.state.chip_uploads)
    return c, (c,) if uploaded else ()


async def _run(request: Request, fn: Callable[[Cancelled], Any], chips: tuple[Chip, ...] = ()) -> Response:
    return json_response(await request.app.state.pool.run(request, fn, chips=chips))


@router.get("/api/world", response_model=WorldOut)
async def world(request: Request, q: Annotated[WorldInputs, Query()]):
    """The accelerator stock at the end of `year` (units and H100-equivalents by chip, family and designer, from
    Epoch AI's chip-sales estimates) and the tokens/day its inference share serves for `model` at
    `min_tps_user`: P10/P50/P90 with the drivers of the interval, the essay's bounds, AI-worker equivalents and
    the disclosed token volumes of that year as a share of it."""
    from infercast.analyses.world import bounded, world as run

    m, _ = C.resolve_model(q.model, request.app.state.uploads)
    for name in ("inference_share", "utilisation"):
        if getattr(q, name) is not None:
            bounded(name, getattr(q, name), 0.0, 1.0)

    def job(cancel: Cancelled) -> bytes:
        w = run(q.year, model=m, input_len=q.input_len, output_len=q.output_len, min_tps_user=q.min_tps_user,
                inference_share=q.inference_share, utilisation=q.utilisation, samples=q.samples, seed=q.seed,
                tokens_per_workday=q.tokens_per_workday, check=cancel.check)
        return json_bytes(WorldOut.model_validate(w.as_dict()), WorldOut)

    return await _run(request, job)


@router.get("/api/overhang", response_model=OverhangOut)
async def overhang(request: Request, q: Annotated[OverhangInputs, Query()]):
    """A training run's implied utilisation (train_flop / (gpus x dense peak x days)), then what its cluster
    serves once trained: replicas of the planner's best shape meeting `min_tps_user`, tokens/s and /day,
    copies = tokens_per_s / min_tps_user, AI-worker equivalents."""
    from infercast.analyses.overhang import overhang as run

    m, _ = C.resolve_model(q.model, request.app.state.uploads)
    chip, custom = _chip(request, q.chip)
    if q.peak_precision is not None:
        P.check(q.peak_precision, "peak_precision")

    def job(cancel: Cancelled) -> bytes:
        o = run(q.train_flop, chip, q.gpus, q.days, m, q.min_tps_user, peak_precision=q.peak_precision,
                input_len=q.input_len, output_len=q.output_len, tokens_per_workday=q.tokens_per_workday)
        return json_bytes(OverhangOut.model_validate(o.as_dict()), OverhangOut)

    return await _run(request, job, custom)


@router.get("/api/margin", response_model=MarginOut)
async def margin(request: Request, q: Annotated[MarginInputs, Query()]):
    """Serving cost at the planner's operating point ($/M uncached and cached input, output) against the model's
    dated list price (data/world/api_prices.json): the implied gross margin, with the price's date and source."""
    from infercast.analyses.margin import check_date, margin as run, select_price

    m, _ = C.resolve_model(q.model, request.app.state.uploads)
    chip, custom = _chip(request, q.chip)
    check_date(q.date)
    price_row = select_price(m.id, q.provider, q.date)  # no price for the model: 422 at once, naming the field

    def job(cancel: Cancelled) -> bytes:
        r = run(m, chip, list_price=price_row, input_len=q.input_len, output_len=q.output_len,
                cached_fraction=q.cached_fraction, min_tps_user=q.min_tps_user, price=q.price,
                utilisation=q.utilisation, disaggregated=q.disaggregated)
        return json_bytes(MarginOut.model_validate(r.as_dict()), MarginOut)

    return await _run(request, job, custom)


@router.get("/api/margin/deepseek", response_model=DeepSeekOut)
async def margin_deepseek(request: Request):
    """DeepSeek's published day of V3/R1 serving (2025-02-27/28, 226.75 nodes of 8 x H800, 545 % cost-profit
    margin) against infercast's prediction from the same token volumes, cache-hit rate and speed per user."""
    from infercast.analyses.margin import deepseek_day

    return await _run(request, lambda cancel: json_bytes(DeepSeekOut.model_validate(deepseek_day().as_dict()), DeepSeekOut))


@router.get("/world", include_in_schema=False)
async def world_page() -> Response:
    return _file("world.html")


__all__ = ["router"]
