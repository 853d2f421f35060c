"""Results endpoints: each resolves its inputs on the event loop (cheap, so bad input is answered at
once), then runs the per-chip computation and its JSON rendering in the work pool (work.WorkPool)."""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from infercast.web import compute as C
from infercast.web.export import to_csv
from infercast.web.routes.deps import json_bytes, json_response
from infercast.web.schemas import (ERROR_RESPONSES, BoundsItem, CostItem, CsvInputs, EstimateItem, FrontierItem,
                                   Inputs, ResultsOut)
from infercast.web.security import attachment
from infercast.web.work import Cancelled

router = APIRouter(prefix="/api", tags=["results"], responses=ERROR_RESPONSES)
QueryInputs = Annotated[Inputs, Query()]
Job = Callable[[C.Resolved, Cancelled], Any]


async def _run(request: Request, q: Inputs, job: Job, search: bool = True) -> Any:
    """Resolve on the event loop, bound the work (search: the request makes the full shape search),
    then run the job in the work pool."""
    state = request.app.state
    r = C.resolve(q, state.uploads, state.chip_uploads)
    if search:
        C.check_search(q, r)
    return await state.pool.run(request, lambda cancel: job(r, cancel), chips=r.custom)


def _job(q: Inputs, do: Callable, kind: Any, priced_only: bool = False) -> Job:
    def job(r: C.Resolved, cancel: Cancelled) -> bytes:
        items = do(q, r, cancel)
        C.raise_if_all_failed([i for i in items if i.priced] if priced_only else items)
        return json_bytes(items, kind)
    return job


@router.get("/bounds", response_model=list[BoundsItem])
async def bounds(request: Request, q: QueryInputs):
    """The essay's three estimates per chip: FLOP upper bound, bandwidth lower bound, market figure
    (forward passes per chip-second) at the weight precision (given, else the model's released one)."""
    return json_response(await _run(request, q, _job(q, C.do_bounds, list[BoundsItem]), search=False))


@router.get("/estimate", response_model=list[EstimateItem])
async def estimate(request: Request, q: QueryInputs):
    """The operating point per chip (the planner's best shape for the targets, or the given shape) with
    the breakdown of its step (per-operator ms, bound shares, memory, batch limit, sources, notes)."""
    return json_response(await _run(request, q, _job(q, C.do_estimate, list[EstimateItem]), search=not q.fixed_shape))


@router.get("/frontier", response_model=list[FrontierItem])
async def frontier(request: Request, q: QueryInputs):
    """Throughput-vs-interactivity Pareto frontier per chip (TP/PP/EP shapes up to `max_gpus`,
    precisions, concurrency, and speculative decoding or disaggregated pools when asked for), and the
    best point meeting the latency targets."""
    return json_response(await _run(request, q, _job(q, C.do_frontier, list[FrontierItem])))


@router.get("/cost", response_model=list[CostItem])
async def cost(request: Request, q: QueryInputs):
    """$ per million input and output tokens per chip at its operating point (as /api/estimate), with the
    chip's dated catalog price; chips without a price say so."""
    return json_response(await _run(request, q, _job(q, C.do_cost, list[CostItem], priced_only=True),
                                    search=not q.fixed_shape))


@router.get("/results", response_model=ResultsOut)
async def results(request: Request, q: QueryInputs):
    """Everything the page shows, in one response (also the JSON download). When every chip fails, a
    422 whose `chips` gives each chip's reason."""
    def job(r: C.Resolved, cancel: Cancelled) -> bytes:
        return json_bytes(C.results(q, r, cancel), ResultsOut)
    return json_response(await _run(request, q, job))


@router.get("/results.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "CSV with a header row"}})
async def results_csv(request: Request, q: Annotated[CsvInputs, Query()]):
    """The current results as CSV: one row per chip, or every frontier point."""
    inputs = Inputs.model_validate(q.model_dump(exclude={"table"}))

    def job(r: C.Resolved, cancel: Cancelled) -> tuple[str, str]:
        res = C.results(inputs, r, cancel)
        return to_csv(res, q.table), res.model.id

    text, model_id = await _run(request, inputs, job)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers=attachment(f"infercast-{model_id}-{q.table}.csv"))
