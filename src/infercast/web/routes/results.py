"""Results endpoints: each resolves its inputs on the event loop (cheap, so bad input is answered at
once), then runs the per-chip computation and its JSON rendering in the work pool (work.WorkPool)."""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from infercast.specs.hardware import Chip
from infercast.specs.model import ModelSpec
from infercast.web import compute as C
from infercast.web.routes.deps import json_bytes, json_response
from infercast.web.schemas import (ERROR_RESPONSES, BoundsItem, CostItem, CsvInputs, EstimateItem, FrontierItem,
                                   Inputs, ResultsOut)
from infercast.web.security import attachment
from infercast.web.work import Cancelled, check_work

router = APIRouter(prefix="/api", tags=["results"], responses=ERROR_RESPONSES)
QueryInputs = Annotated[Inputs, Query()]
Job = Callable[[ModelSpec, "str | None", list[Chip], Cancelled], Any]


async def _run(request: Request, q: Inputs, job: Job, frontier: bool = False) -> Any:
    state = request.app.state
    m, token, chips = C.resolve(q, state.uploads)
    if frontier:
        check_work(m, chips, q.weights, q.max_gpus, q.points)
    return await state.pool.run(request, lambda cancel: job(m, token, chips, cancel))


def _job(q: Inputs, do: Callable, kind: Any, priced_only: bool = False) -> Job:
    def job(m, token, chips, cancel) -> bytes:
        items = do(q, m, chips, cancel)
        C.raise_if_all_failed([i for i in items if i.priced] if priced_only else items)
        return json_bytes(items, kind)
    return job


@router.get("/bounds", response_model=list[BoundsItem])
async def bounds(request: Request, q: QueryInputs):
    """The essay's three estimates per chip: FLOP upper bound, bandwidth lower bound, market figure
    (forward passes per chip-second) at the weight precision."""
    return json_response(await _run(request, q, _job(q, C.do_bounds, list[BoundsItem])))


@router.get("/estimate", response_model=list[EstimateItem])
async def estimate(request: Request, q: QueryInputs):
    """The realistic estimate per chip with its breakdown (per-operator ms, bound shares, memory, batch
    limit, efficiency source, notes)."""
    return json_response(await _run(request, q, _job(q, C.do_estimate, list[EstimateItem])))


@router.get("/frontier", response_model=list[FrontierItem])
async def frontier(request: Request, q: QueryInputs):
    """Throughput-vs-interactivity Pareto frontier per chip (TP/PP/EP shapes up to `max_gpus`,
    precisions, concurrency), and the best point meeting the latency targets."""
    return json_response(await _run(request, q, _job(q, C.do_frontier, list[FrontierItem]), frontier=True))


@router.get("/cost", response_model=list[CostItem])
async def cost(request: Request, q: QueryInputs):
    """$ per million input and output tokens per chip at max throughput (or the best point meeting the
    targets), with the chip's dated catalog price; chips without a price say so."""
    return json_response(await _run(request, q, _job(q, C.do_cost, list[CostItem], priced_only=True)))


@router.get("/results", response_model=ResultsOut)
async def results(request: Request, q: QueryInputs):
    """Everything the page shows, in one response (also the JSON download)."""
    def job(m, token, chips, cancel) -> bytes:
        return json_bytes(C.results(q, m, token, chips, cancel), ResultsOut)
    return json_response(await _run(request, q, job, frontier=True))


@router.get("/results.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "CSV with a header row"}})
async def results_csv(request: Request, q: Annotated[CsvInputs, Query()]):
    """The current results as CSV: one row per chip, or every frontier point."""
    inputs = Inputs.model_validate(q.model_dump(exclude={"table"}))

    def job(m, token, chips, cancel) -> tuple[str, str]:
        r = C.results(inputs, m, token, chips, cancel)
        return C.to_csv(r, q.table), r.model.id

    text, model_id = await _run(request, inputs, job, frontier=True)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers=attachment(f"infercast-{model_id}-{q.table}.csv"))
