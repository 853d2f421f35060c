"""Bounded work: how much one request may ask for, and a small pool that runs the computations.

Heavy endpoints (results, frontier, cost, estimate, bounds) run their computation in a few worker
threads (`WorkPool`), so the event loop keeps answering the light ones (catalog, meta, static files)
while they queue. Past the queue limit a request is refused at once with 429 and `Retry-After` (a 4xx:
the client may retry; the server is not failing). While a request waits or runs, its connection is
watched: when the client goes away its work stops (before it starts, or between chips).
"""
from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from typing import Callable, Sequence, TypeVar

import anyio
from starlette.requests import Request

from infercast.engine.planner import Space, native_precisions, shapes
from infercast.specs import precision as P
from infercast.specs.hardware import Chip, custom_chips
from infercast.specs.model import ModelSpec
from infercast.web.errors import ClientGone, WebInputError

T = TypeVar("T")

MAX_CONFIGS = 50_000  # frontier configurations (chips x precisions x shapes x points) per request: a few s
# Computations hold the GIL most of the time: a second thread adds little throughput and delays the
# event loop; one worker on a 2-core machine, two above (measured with benchmarks/web_load.py).
DEFAULT_WORKERS = 1 if (os.cpu_count() or 2) <= 2 else 2
DEFAULT_QUEUE = 4  # requests waiting for a worker, beyond those running (the page keeps at most one)
POLL_S = 0.1  # how often a waiting or running request's connection is checked


# Relative cost of one configuration: speculative decoding times the drafter too (a second step per
# configuration); disaggregation adds a decode-pool grid per aggregated shape (at most as many again);
# targets at a percentile above 50 evaluate every configuration again at its tail occupancy.
# Measured: speculation or disaggregation adds 10-40 % to a plan's time, a tail percentile 60-90 %
# (deepseek-v3 / gpt-4 / llama-3.1-70b, max_gpus 64); counting each as x2 keeps the bound an upper bound.
SPECULATIVE_WEIGHT = 2
DISAGGREGATED_WEIGHT = 2
TAIL_WEIGHT = 2


def frontier_configs(m: ModelSpec, chips: list[Chip], weights: str | None, max_gpus: int, points: int,
                     speculative: bool = False, disaggregated: bool = False, tail: bool = False) -> int:
    """An upper bound on the configurations the planner evaluates per request (before memory-fit pruning),
    weighted by what the search options cost."""
    wanted = [weights] if weights else P.PRECISIONS
    n = sum(len(native_precisions(c, m, wanted)) * len(shapes(m, c, Space(max_gpus=max_gpus))) for c in chips) * points
    return (n * (SPECULATIVE_WEIGHT if speculative else 1) * (DISAGGREGATED_WEIGHT if disaggregated else 1)
            * (TAIL_WEIGHT if tail else 1))


def check_work(m: ModelSpec, chips: list[Chip], weights: str | None, max_gpus: int, points: int,
               speculative: bool = False, disaggregated: bool = False, tail: bool = False) -> int:
    """Refuse (422, naming the input to reduce) a request past MAX_CONFIGS; return its size."""
    n = frontier_configs(m, chips, weights, max_gpus, points, speculative, disaggregated, tail)
    if n > MAX_CONFIGS:
        per_point = max(1, n // points)
        field = "points" if MAX_CONFIGS // per_point >= 2 else ("max_gpus" if max_gpus > 8 else "chip")
        hint = {"points": f"use points <= {MAX_CONFIGS // per_point}", "max_gpus": "use a smaller max_gpus",
                "chip": "pick fewer chips"}[field]
        options = (" (speculative decoding, disaggregation and a tail percentile each count twice)"
                   if speculative or disaggregated or tail else "")
        raise WebInputError(f"this asks for {n:,} frontier configurations (chips x precisions x shapes x points"
                            f"{options}); the limit is {MAX_CONFIGS:,} per request: {hint}, or fewer chips or a "
                            "fixed weights precision", field, 422)
    return n


class Cancelled:
    """Handed to the computation: `check()` raises ClientGone once the client has gone."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def check(self) -> None:
        if self.event.is_set():
            raise ClientGone()


def with_chips(fn: Callable[[Cancelled], T], chips: Sequence[Chip]) -> Callable[[Cancelled], T]:
    """`fn` with a request's uploaded chips known by id (`specs.hardware.custom_chips`). The context variable is
    set inside the call, so in the worker thread that computes: nothing else ever sees these chips."""
    if not chips:
        return fn

    def run(cancel: Cancelled) -> T:
        with custom_chips(*chips):
            return fn(cancel)
    return run


class WorkPool:
    """At most `workers` computations at once and `queue` more waiting; the rest get 429 at once."""

    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE):
        if workers < 1 or queue < 0:
            raise ValueError("workers >= 1 and queue >= 0")
        self.workers, self.queue = workers, queue
        self.limiter = anyio.CapacityLimiter(workers)
        self.admitted = 0  # running + waiting
        self.mean_s = 0.5  # moving average of one computation's time, for Retry-After
        self.stats = {"done": 0, "refused": 0, "stopped": 0}

    def retry_after(self) -> int:
        return max(1, math.ceil(self.mean_s * (self.admitted / self.workers)))

    async def run(self, request: Request, fn: Callable[[Cancelled], T], chips: Sequence[Chip] = ()) -> T:
        """Run `fn(cancel)` in a worker thread, with the uploaded `chips` known by id there; raise ClientGone
        if the client leaves first."""
        if self.admitted >= self.workers + self.queue:
            self.stats["refused"] += 1
            wait = self.retry_after()
            raise WebInputError(f"the server is busy ({self.admitted} computations queued or running); "
                                f"retry in {wait} s", None, 429, headers={"Retry-After": str(wait)})
        self.admitted += 1
        cancel = Cancelled()
        scope = anyio.CancelScope()
        result: list[T] = []

        async def watch() -> None:
            while True:
                await asyncio.sleep(POLL_S)
                if await request.is_disconnected():
                    cancel.event.set()  # a running computation stops before its next chip
                    scope.cancel()  # a waiting one stops waiting
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            with scope:
                async with self.limiter:
                    cancel.check()
                    t0 = time.perf_counter()
                    result.append(await anyio.to_thread.run_sync(with_chips(fn, chips), cancel))
                    self.mean_s = 0.8 * self.mean_s + 0.2 * (time.perf_counter() - t0)
        except ClientGone:
            self.stats["stopped"] += 1
            raise
        finally:
            watcher.cancel()
            self.admitted -= 1
        if not result:
            self.stats["stopped"] += 1
            raise ClientGone()
        self.stats["done"] += 1
        return result[0]
