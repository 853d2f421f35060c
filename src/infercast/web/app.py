"""The local web app: a JSON API over the library and one static page that calls it.

`create_app()` assembles the routers (`web.routes`: catalog, results, uploads, world, page), the error
handlers (`web.errors`: every problem is a 4xx `{detail, field}`), the security layer
(`web.security`: Host/Origin checks, body cap, headers) and the work pool (`web.work`).

Query parameters are shared by every results endpoint and by the page's own URL, so a view is shared
by copying its address: `/?model=llama-3.1-70b&chip=h100-sxm&chip=b200&tp=4&output_len=512`.
"""
from __future__ import annotations

from typing import Iterable

from fastapi import FastAPI

from infercast import __version__
from infercast.web.chip_upload import TOKEN_PREFIX as CHIP_TOKEN_PREFIX
from infercast.web.errors import LastResort, SafeJSONResponse, install_handlers
from infercast.web.routes import catalog, page, results, uploads, world
from infercast.web.routes.page import plotly_path
from infercast.web.schemas import Inputs, ResultsOut
from infercast.web.security import MAX_BODY_BYTES, BodyLimit, HostGuard, SecurityHeaders, allowed_host_names
from infercast.web.upload_store import MAX_UPLOADS, UploadStore
from infercast.web.work import DEFAULT_QUEUE, DEFAULT_WORKERS, WorkPool


def create_app(allowed_hosts: Iterable[str] = (), *, bound_host: str | None = None, workers: int = DEFAULT_WORKERS,
               queue: int = DEFAULT_QUEUE, max_uploads: int = MAX_UPLOADS, max_body: int = MAX_BODY_BYTES) -> FastAPI:
    """The FastAPI application; uploaded model specs and chip files live in this instance's memory.

    allowed_hosts: host names (besides the loopback names and `bound_host`) the server answers to,
    as they appear in the `Host` header without the port (`infercast serve --allow-host`).
    workers, queue: computations run at once, and waiting beyond them before 429.
    max_uploads: model configs kept, and as many chip files (least recently used dropped first).
    """
    app = FastAPI(
        title="infercast", version=__version__, default_response_class=SafeJSONResponse,
        docs_url=None, redoc_url=None,  # the interactive docs need a CDN and inline script: the CSP forbids both
        description="How much LLM inference can some accelerators do: the essay's bounds, the realistic "
                    "estimate with its breakdown, the throughput-vs-interactivity frontier and the cost per "
                    "million tokens. Every error is a 4xx `{detail, field}`; `field` names the query parameter, "
                    "form field or header to change.")
    app.state.uploads = UploadStore(max_uploads)
    app.state.chip_uploads = UploadStore(max_uploads, prefix=CHIP_TOKEN_PREFIX)
    app.state.pool = WorkPool(workers, queue)
    app.state.unexpected_errors = [0]  # counted by LastResort; the tests require 0
    app.state.allowed_hosts = allowed_host_names(bound_host, allowed_hosts)

    install_handlers(app)
    for r in (catalog.router, uploads.router, results.router, world.router, page.router):
        app.include_router(r)

    # middleware: the last added is the outermost
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(HostGuard, allowed_hosts=app.state.allowed_hosts)
    app.add_middleware(LastResort, counter=app.state.unexpected_errors)
    app.add_middleware(SecurityHeaders)
    return app


__all__ = ["create_app", "Inputs", "ResultsOut", "plotly_path"]
