"""The local web app: a JSON API over the library and one static page that calls it.

Handlers are thin: they resolve ids, call `essay.bounds`, `estimate.estimate`, `frontier.sweep` /
`frontier.best_point` and `cost.cost` per chip, and wrap the results. Errors the user can fix
(`InfercastError`, request validation) come back as 4xx JSON `{"detail": message, "field": name}`;
`field` names the query parameter to blame when it is known, so the page can show the message
beside that input.

Query parameters are shared by every results endpoint and by the page's own URL, so a view is
shared by copying its address: `/?model=llama-3.1-70b&chip=h100-sxm&chip=b200&tp=4&output_len=512`.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import tempfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Optional

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infercast import __version__
from infercast.specs import precision as P
from infercast.analyses.cost import CostReport, cost as run_cost
from infercast.engine.efficiency import engine_names
from infercast.errors import InfercastError, UnknownIdError
from infercast.analyses.essay import Bounds, bounds as run_bounds
from infercast.engine.estimate import Estimate, estimate as run_estimate
from infercast.analyses.frontier import best_point, sweep
from infercast.specs.hardware import Chip, Price, all_chips, get_chip
from infercast.specs.model import ModelSpec, all_models, get_model

STATIC = resources.files("infercast.web").joinpath("static")
MAX_CHIPS = 12
MAX_UPLOAD_BYTES = 1_000_000
DEFAULT_CHIPS = ("h100-sxm", "h200-sxm", "b200", "mi300x")  # the page's starting view
DEFAULT_MODEL = "llama-3.1-70b"


# ------------------------------------------------------------------ errors

class WebInputError(InfercastError):
    """An input problem found by the web layer itself (status and field known)."""

    def __init__(self, message: str, field: str | None = None, status_code: int = 422):
        super().__init__(message)
        self.field, self.status_code = field, status_code


# message fragment -> query parameter, first match wins (library messages name CLI flags)
_FIELD_HINTS: tuple[tuple[str, str], ...] = (
    (r"--gpus\b", "gpus"), (r"--tpot-max|--min-tps|--min-tokens|latency target", "min_tps"),
    (r"--ttft-max", "max_ttft"), (r"--tp\b", "tp"), (r"--input-len", "input_len"),
    (r"--output-len", "output_len"), (r"--concurrency", "concurrency"), (r"\bkv cache\b|--kv\b", "kv"),
    (r"\bweights\b|--weights|precision|tensor rate", "weights"), (r"\bengine\b", "engine"),
)


def field_of(e: Exception) -> str | None:
    """The input to show the message beside: set explicitly, from the error kind, or from the message."""
    f = getattr(e, "field", None)
    if f:
        return {"max_tpot": "min_tps"}.get(f, f)  # the page asks for tokens/s per user, the library a TPOT
    if isinstance(e, UnknownIdError):
        return e.kind
    msg = str(e)
    for pat, name in _FIELD_HINTS:
        if re.search(pat, msg, flags=re.IGNORECASE):
            return name
    return None


def status_of(e: InfercastError) -> int:
    s = getattr(e, "status_code", None)
    if s:
        return int(s)
    return 404 if isinstance(e, UnknownIdError) else 422


@contextmanager
def blame(field: str) -> Iterator[None]:
    """Attribute InfercastErrors raised inside to `field` (unless already attributed)."""
    try:
        yield
    except InfercastError as e:
        if not getattr(e, "field", None):
            e.field = field
        raise


def _finite(o: Any) -> Any:
    """JSON has no NaN/Infinity: send null instead (the page shows '-')."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


# ------------------------------------------------------------------ request / response models

PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Inputs(BaseModel):
    """What the page (and every results endpoint) takes as query parameters."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(DEFAULT_MODEL, description="catalog id or alias, or an upload token from POST /api/model")
    chip: list[str] = Field(list(DEFAULT_CHIPS), description="chip ids (repeat the parameter, or comma-separate)")
    weights: Optional[str] = Field(None, description="weight precision (default: the model's released dtype); "
                                                     "the frontier sweeps all native precisions when unset")
    kv: Optional[str] = Field(None, description="KV-cache precision (default: the engine's choice)")
    engine: Optional[str] = Field(None, description="serving engine profile (default tensorrt-llm)")
    input_len: int = Field(1024, ge=1, le=10_000_000, description="prompt tokens per request")
    output_len: int = Field(256, ge=1, le=10_000_000, description="generated tokens per request")
    gpus: Optional[int] = Field(None, ge=1, le=1_000_000, description="GPUs in total (default: one replica)")
    tp: int = Field(4, ge=1, le=1024, description="tensor-parallel degree per replica (default 4: the default "
                                                  "model, 70 B at bf16, does not fit on one 80 GB GPU)")
    concurrency: Optional[PosFloat] = Field(None, description="requests in flight (whole system); "
                                                              "unset: largest batch that fits or meets the targets")
    min_tps: Optional[PosFloat] = Field(None, description="latency target: minimum tokens/s per user")
    max_ttft: Optional[PosFloat] = Field(None, description="latency target: maximum time to first token, seconds")
    max_gpus: int = Field(8, ge=1, le=128, description="frontier: largest replica (GPUs) to sweep")
    points: int = Field(32, ge=2, le=128, description="frontier: concurrency grid points per shape")

    @field_validator("chip", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            v = [v]
        out = [s.strip() for item in (v or []) for s in str(item).split(",") if s.strip()]
        return out

    @field_validator("chip")
    @classmethod
    def _count(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("pick at least one chip")
        if len(v) > MAX_CHIPS:
            raise ValueError(f"at most {MAX_CHIPS} chips at once (got {len(v)})")
        return v

    @field_validator("weights", "kv", "engine", mode="before")
    @classmethod
    def _blank_is_default(cls, v):
        return None if isinstance(v, str) and not v.strip() else v


QueryInputs = Annotated[Inputs, Query()]


class ErrorOut(BaseModel):
    detail: str
    field: Optional[str] = None


class ModelOut(BaseModel):
    id: str
    name: str
    family: str
    year: int
    token: Optional[str] = Field(None, description="upload token to pass as `model=` (uploaded configs only)")
    uploaded: bool = False
    total_params: float
    active_params: float
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    head_dim: int
    attention: str
    moe: Optional[str] = None
    dtype: str
    max_context: int
    kv_bytes_per_token_bf16: float
    weight_bytes: float = Field(description="all weights at the released dtype")
    params_source: str
    rumoured: bool = False
    notes: str = ""


class MetaOut(BaseModel):
    version: str
    precisions: list[str]
    engines: list[str]
    defaults: Inputs
    max_chips: int


class BoundsItem(BaseModel):
    chip: str
    bounds: Optional[Bounds] = None
    sources: dict[str, str] = {}
    error: Optional[ErrorOut] = None


class EstimateItem(BaseModel):
    chip: str
    estimate: Optional[Estimate] = None
    sources: dict[str, str] = {}
    error: Optional[ErrorOut] = None


class FrontierPoint(BaseModel):
    model_config = ConfigDict(extra="allow")
    chip: str
    precision: str
    tp: int
    pp: int
    ep: int = 1
    gpus: int
    concurrency: float
    output_tok_s_per_gpu: Optional[float] = None
    input_tok_s_per_gpu: Optional[float] = None
    tokens_per_s_per_user: Optional[float] = None
    ttft_s: Optional[float] = None
    tpot_s: Optional[float] = None


class FrontierItem(BaseModel):
    chip: str
    configs: int = 0
    engine: str = ""
    points: list[FrontierPoint] = Field([], description="Pareto set: output tokens/s per GPU vs tokens/s per user")
    max_throughput: Optional[FrontierPoint] = None
    best_meeting_targets: Optional[FrontierPoint] = None
    notes: list[str] = []
    error: Optional[ErrorOut] = None


class CostItem(BaseModel):
    chip: str
    priced: bool = Field(description="the catalog has a dated $/hour for this chip")
    price: Optional[Price] = None
    cost: Optional[CostReport] = None
    error: Optional[ErrorOut] = None


class ResultsOut(BaseModel):
    inputs: Inputs
    model: ModelOut
    bounds: list[BoundsItem]
    estimate: list[EstimateItem]
    frontier: list[FrontierItem]
    cost: list[CostItem]


class UploadOut(BaseModel):
    token: str
    model: ModelOut
    reused: bool = Field(False, description="the same file was uploaded before: same token")


# ------------------------------------------------------------------ thin wrappers over the library

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


def _err(e: InfercastError) -> ErrorOut:
    return ErrorOut(detail=str(e), field=field_of(e))


def _per_chip(chips: list[Chip], fn: Callable[[Chip], Any]) -> list[tuple[Chip, Any, InfercastError | None]]:
    out = []
    for c in chips:
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


def _estimate_kw(q: Inputs) -> dict:
    return dict(gpus=q.gpus, tp=q.tp, weights=q.weights, kv=q.kv, engine=q.engine, input_len=q.input_len,
                output_len=q.output_len, concurrency=q.concurrency, max_throughput=q.concurrency is None,
                tpot_max=1.0 / q.min_tps if q.min_tps else None, ttft_max=q.max_ttft)


def _check_common(q: Inputs) -> None:
    """Validate the inputs every chip shares once, so their errors name the field."""
    for name in ("weights", "kv"):
        v = getattr(q, name)
        if v is not None:
            with blame(name):
                P.check(v, name if name == "weights" else "kv cache")
    if q.engine is not None and q.engine not in engine_names():
        from infercast.engine.efficiency import get_engine

        with blame("engine"):
            get_engine(q.engine)


# ------------------------------------------------------------------ the app

def create_app() -> FastAPI:
    """The FastAPI application; uploaded model specs live in this instance's memory."""
    app = FastAPI(
        title="infercast", version=__version__, default_response_class=SafeJSONResponse,
        description="How much LLM inference can some accelerators do: the essay's bounds, the realistic "
                    "estimate with its breakdown, the throughput-vs-interactivity frontier and the cost per "
                    "million tokens. Errors: 4xx `{detail, field}`.")
    uploads: dict[str, ModelSpec] = {}
    app.state.uploads = uploads

    # ---- errors -------------------------------------------------------------------
    @app.exception_handler(InfercastError)
    async def _infercast_error(request: Request, e: InfercastError):
        body = {"detail": str(e), "field": field_of(e)}
        if isinstance(e, UnknownIdError):
            body["suggestions"] = list(e.suggestions)
        return SafeJSONResponse(body, status_code=status_of(e))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError):
        errs = e.errors()
        first = errs[0] if errs else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "body")]
        field = loc[0] if loc else None
        msg = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
        detail = f"{field}: {msg}" if field else msg
        return SafeJSONResponse({"detail": detail, "field": field,
                                 "errors": [{"loc": list(x.get("loc", ())), "msg": x.get("msg")} for x in errs]},
                                status_code=422)

    @app.exception_handler(ValidationError)
    async def _pydantic_error(request: Request, e: ValidationError):
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        return SafeJSONResponse({"detail": f"{loc}: {first.get('msg')}", "field": None}, status_code=422)

    # ---- resolving ids ------------------------------------------------------------
    def resolve_model(name: str) -> tuple[ModelSpec, str | None]:
        key = name.strip()
        if key in uploads:
            return uploads[key], key
        if key.startswith("upload-"):
            raise WebInputError(f"uploaded model '{key}' is not in this server's memory (uploads are kept until "
                                "the server restarts); upload the config.json again", "model", 404)
        if key.lower().endswith(".json"):
            raise WebInputError("model: the web app does not read files on the server; upload the config.json "
                                "(POST /api/model) and use the token it returns", "model", 422)
        with blame("model"):
            return get_model(key), None

    def resolve(q: Inputs) -> tuple[ModelSpec, str | None, list[Chip]]:
        m, token = resolve_model(q.model)
        chips: list[Chip] = []
        for name in q.chip:
            with blame("chip"):
                c = get_chip(name)
            if c not in chips:
                chips.append(c)
        _check_common(q)
        return m, token, chips

    # ---- per-part computations (each a loop over chips calling one library function)
    def do_bounds(q: Inputs, m: ModelSpec, chips: list[Chip]) -> list[BoundsItem]:
        prec = q.weights or m.dtype
        rows = _per_chip(chips, lambda c: run_bounds(m, c, prec))
        return [BoundsItem(chip=c.id, bounds=b, sources=_bounds_sources(b, c, m) if b else {},
                           error=_err(e) if e else None) for c, b, e in rows]

    def do_estimate(q: Inputs, m: ModelSpec, chips: list[Chip]) -> list[EstimateItem]:
        kw = _estimate_kw(q)
        rows = _per_chip(chips, lambda c: run_estimate(m, c, **kw))
        return [EstimateItem(chip=c.id, estimate=r, sources=_estimate_sources(r, c) if r else {},
                             error=_err(e) if e else None) for c, r, e in rows]

    def do_frontier(q: Inputs, m: ModelSpec, chips: list[Chip]) -> list[FrontierItem]:
        def one(c: Chip) -> FrontierItem:
            sw = sweep(m, c, input_len=q.input_len, output_len=q.output_len,
                       precisions=[q.weights] if q.weights else None, engine=q.engine, kv=q.kv,
                       max_gpus=q.max_gpus, n_concurrency=q.points)
            best = best_point(sw, q.min_tps, q.max_ttft) if (q.min_tps or q.max_ttft) else None
            return FrontierItem(chip=c.id, configs=sw.n, engine=sw.engine, points=sw.frontier_interactivity,
                                max_throughput=sw.max_throughput() if sw.n else None,
                                best_meeting_targets=best, notes=list(sw.notes))

        rows = _per_chip(chips, one)
        return [r if r else FrontierItem(chip=c.id, error=_err(e)) for c, r, e in rows]

    def do_cost(q: Inputs, m: ModelSpec, chips: list[Chip]) -> list[CostItem]:
        out = []
        for c in chips:
            if c.price is None:
                out.append(CostItem(chip=c.id, priced=False, error=ErrorOut(
                    detail=f"{c.id} has no dated $/hour in the catalog, so no cost is shown")))
                continue
            try:
                r = run_cost(m, c, tp=q.tp, weights=q.weights, kv=q.kv, engine=q.engine, input_len=q.input_len,
                             output_len=q.output_len, min_tokens_per_s_per_user=q.min_tps, max_ttft_s=q.max_ttft)
                out.append(CostItem(chip=c.id, priced=True, price=c.price, cost=r))
            except InfercastError as e:
                out.append(CostItem(chip=c.id, priced=True, price=c.price, error=_err(e)))
        return out

    def _raise_if_all_failed(items) -> None:
        if items and all(i.error is not None for i in items):
            i = items[0]
            raise WebInputError(i.error.detail, i.error.field, 422)

    # ---- catalog ------------------------------------------------------------------
    @app.get("/api/meta", response_model=MetaOut, tags=["catalog"])
    def meta():
        """Version, precision and engine names, and the default inputs."""
        return MetaOut(version=__version__, precisions=list(P.PRECISIONS), engines=engine_names(),
                       defaults=Inputs(), max_chips=MAX_CHIPS)

    @app.get("/api/chips", response_model=list[Chip], tags=["catalog"])
    def chips():
        """The accelerator catalog: dense peaks per precision, memory, links, TDP, dated price, sources."""
        return all_chips()

    @app.get("/api/models", response_model=list[ModelOut], tags=["catalog"])
    def models():
        """The model catalog (derived parameter counts), then any uploaded configs."""
        return [model_out(m) for m in all_models()] + [model_out(m, t) for t, m in uploads.items()]

    @app.get("/api/model/{name}", response_model=ModelOut, tags=["catalog"])
    def model_summary(name: str):
        """One model by catalog id, alias or upload token."""
        m, token = resolve_model(name)
        return model_out(m, token)

    @app.post("/api/model", response_model=UploadOut, tags=["catalog"])
    async def upload_model(file: UploadFile = File(..., description="a Hugging Face config.json"),
                           name: Optional[str] = Form(None, description="label when the config has no _name_or_path")):
        """Upload a Hugging Face config.json; returns a summary and a token to pass as `model=`."""
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise WebInputError(f"config.json is larger than {MAX_UPLOAD_BYTES // 1000} kB; is it really a "
                                "Hugging Face config?", "model", 413)
        if not data.strip():
            raise WebInputError("the uploaded file is empty", "model", 400)
        token = "upload-" + hashlib.sha256(data).hexdigest()[:12]
        if token in uploads:
            return UploadOut(token=token, model=model_out(uploads[token], token), reused=True)
        shown = Path(file.filename or "config.json").name
        label = re.sub(r"[^A-Za-z0-9._-]+", "-", (name or "").strip()) or (
            Path(shown).stem if Path(shown).stem != "config" else _upload_label(data))
        label = label.strip(".-") or "uploaded-model"  # a folder name inside the temporary directory
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / label / "config.json"
            path.parent.mkdir()
            path.write_bytes(data)
            try:
                from infercast.specs.hfconfig import from_hf_config

                spec = from_hf_config(str(path))
            except InfercastError as e:
                raise WebInputError(str(e).replace(str(path), f"uploaded '{shown}'"), "model", 400) from None
            except UnicodeDecodeError:
                raise WebInputError(f"uploaded '{shown}' is not UTF-8 text (a config.json is JSON)", "model",
                                    400) from None
        spec = spec.model_copy(update={"params_source": spec.params_source.replace(str(path), f"uploaded '{shown}'")})
        uploads[token] = spec
        return UploadOut(token=token, model=model_out(spec, token))

    # ---- results ------------------------------------------------------------------
    @app.get("/api/bounds", response_model=list[BoundsItem], tags=["results"])
    def bounds(q: QueryInputs):
        """The essay's three estimates per chip: FLOP upper bound, bandwidth lower bound, market figure
        (forward passes per chip-second) at the weight precision."""
        m, _, cs = resolve(q)
        items = do_bounds(q, m, cs)
        _raise_if_all_failed(items)
        return items

    @app.get("/api/estimate", response_model=list[EstimateItem], tags=["results"])
    def estimate(q: QueryInputs):
        """The realistic estimate per chip with its breakdown (per-operator ms, bound shares, memory,
        batch limit, efficiency source, notes)."""
        m, _, cs = resolve(q)
        items = do_estimate(q, m, cs)
        _raise_if_all_failed(items)
        return items

    @app.get("/api/frontier", response_model=list[FrontierItem], tags=["results"])
    def frontier(q: QueryInputs):
        """Throughput-vs-interactivity Pareto frontier per chip (TP/PP shapes up to `max_gpus`, precisions,
        concurrency), and the best point meeting the latency targets."""
        m, _, cs = resolve(q)
        items = do_frontier(q, m, cs)
        _raise_if_all_failed(items)
        return items

    @app.get("/api/cost", response_model=list[CostItem], tags=["results"])
    def cost(q: QueryInputs):
        """$ per million input and output tokens per chip at max throughput (or the best point meeting the
        targets), with the chip's dated catalog price; chips without a price say so."""
        m, _, cs = resolve(q)
        items = do_cost(q, m, cs)
        _raise_if_all_failed([i for i in items if i.priced])
        return items

    def results_of(q: Inputs) -> ResultsOut:
        m, token, cs = resolve(q)
        est = do_estimate(q, m, cs)
        _raise_if_all_failed(est)
        return ResultsOut(inputs=q, model=model_out(m, token), bounds=do_bounds(q, m, cs), estimate=est,
                          frontier=do_frontier(q, m, cs), cost=do_cost(q, m, cs))

    @app.get("/api/results", response_model=ResultsOut, tags=["results"])
    def results(q: QueryInputs):
        """Everything the page shows, in one response (also the JSON download)."""
        return results_of(q)

    @app.get("/api/results.csv", tags=["results"], response_class=Response,
             responses={200: {"content": {"text/csv": {}}}})
    def results_csv(q: QueryInputs, table: str = Query("summary", pattern="^(summary|frontier)$",
                                                       description="summary: one row per chip; frontier: its points")):
        """The current results as CSV: one row per chip, or every frontier point."""
        r = results_of(q)
        buf = io.StringIO()
        if table == "frontier":
            cols = ["chip", "precision", "tp", "pp", "ep", "gpus", "concurrency", "tokens_per_s_per_user",
                    "output_tok_s_per_gpu", "input_tok_s_per_gpu", "ttft_s", "tpot_s"]
            w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for f in r.frontier:
                for p in f.points:
                    w.writerow(p.model_dump())
        else:
            w = csv.writer(buf)
            w.writerow(_SUMMARY_COLS)
            for b, e, f, c in zip(r.bounds, r.estimate, r.frontier, r.cost):
                w.writerow(_summary_row(r, b, e, f, c))
        name = f"infercast-{r.model.id}-{table}.csv"
        return Response(buf.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ---- the page -----------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(str(STATIC.joinpath("index.html")), media_type="text/html")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js():
        """Plotly from the installed `plotly` Python package: the page works offline (no CDN)."""
        return FileResponse(plotly_path(), media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def _upload_label(data: bytes) -> str:
    """A name for a config without `_name_or_path` (hfconfig then uses the folder name): its model_type."""
    try:
        mt = json.loads(data).get("model_type")
    except (ValueError, AttributeError, UnicodeDecodeError):
        mt = None
    return f"{mt}-upload" if isinstance(mt, str) and mt else "uploaded-model"


def plotly_path() -> str:
    import plotly

    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.is_file():
        raise WebInputError("plotly.min.js is missing from the installed plotly package; reinstall plotly",
                            None, 404)
    return str(p)


_SUMMARY_COLS = [
    "model", "chip", "weights", "kv_cache", "engine", "input_len", "output_len", "gpus", "tp", "pp", "mode",
    "upper_forward_passes_per_s", "lower_forward_passes_per_s", "market_forward_passes_per_s",
    "concurrency", "output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s",
    "bound_by", "batch_limit", "frontier_max_output_tok_s_per_gpu", "best_meeting_targets_output_tok_s_per_gpu",
    "usd_per_gpu_hour", "price_date", "usd_per_m_input", "usd_per_m_output", "error",
]


def _summary_row(r: ResultsOut, b: BoundsItem, e: EstimateItem, f: FrontierItem, c: CostItem) -> list:
    est = e.estimate
    bd = b.bounds
    cr = c.cost
    errs = "; ".join(x.error.detail for x in (e, f, c) if x.error)
    return [
        r.model.id, e.chip, est.weights if est else "", est.kv_cache if est else "", est.engine if est else "",
        r.inputs.input_len, r.inputs.output_len, est.gpus if est else "", est.tp if est else "",
        est.pp if est else "", est.mode if est else "",
        bd.upper_forward_passes_per_s if bd else "", bd.lower_forward_passes_per_s if bd else "",
        (bd.market_forward_passes_per_s or "") if bd else "",
        est.concurrency if est else "", est.output_tok_s_per_gpu if est else "",
        est.input_tok_s_per_gpu if est else "", est.tokens_per_s_per_user if est else "",
        est.ttft_s if est else "", est.tpot_s if est else "", est.bound_by if est else "",
        est.batch_limit if est else "",
        f.max_throughput.output_tok_s_per_gpu if f.max_throughput else "",
        f.best_meeting_targets.output_tok_s_per_gpu if f.best_meeting_targets else "",
        c.price.usd_per_hour if c.price else "", c.price.date if c.price else "",
        cr.usd_per_m_input if cr else "", cr.usd_per_m_output if cr else "", errs,
    ]


__all__ = ["create_app", "Inputs", "ResultsOut", "field_of", "plotly_path"]
