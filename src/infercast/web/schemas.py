"""The web API's request and response models (pydantic): what the OpenAPI document describes.

`Inputs` is the query string every results endpoint and the page's own URL share. Its fields take
their names, help and limits from the one vocabulary (`infercast.vocabulary`), so a new input is one
line here (`pp: int = term("pp", 1)`) plus its keyword in `compute.library_kwargs`.
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from infercast.analyses.cost import CostReport
from infercast.analyses.essay import Bounds
from infercast.engine.estimate import Estimate
from infercast.specs.hardware import Price
from infercast.vocabulary import TERMS

MAX_CHIPS = 12
MAX_ID_CHARS = 200  # longer ids are no catalog id, alias or upload token
DEFAULT_CHIPS = ("h100-sxm", "h200-sxm", "b200", "mi300x")  # the page's starting view
DEFAULT_MODEL = "llama-3.1-70b"


def term(name: str, default: Any, help: str | None = None, **extra: Any) -> Any:
    """A pydantic Field for the vocabulary term `name`: its help, unit and range."""
    t = TERMS[name]
    limits: dict[str, Any] = {}
    if t.lo is not None:
        limits["gt" if t.lo_open else "ge"] = t.lo
    if t.hi is not None:
        limits["le"] = t.hi
    if "ge" in extra or "gt" in extra:  # a tighter bound given here replaces the term's lower limit
        limits.pop("ge", None)
        limits.pop("gt", None)
    limits.update(extra)
    text = help or t.help
    return Field(default, description=text + (f" ({t.unit})" if t.unit else ""), **limits)


class Inputs(BaseModel):
    """What the page (and every results endpoint) takes as query parameters. Unknown parameters are
    refused (422 naming them), so a misspelt or unsupported input is never silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: str = term("model", DEFAULT_MODEL, "catalog id or alias, or an upload token from POST /api/model",
                      max_length=MAX_ID_CHARS)
    chip: list[str] = Field(list(DEFAULT_CHIPS), description="chip ids (repeat the parameter, or comma-separate); "
                                                             f"at most {MAX_CHIPS}")
    weights: Optional[str] = term("weights", None, "weight precision (default: the model's released dtype); the "
                                  "frontier sweeps all native precisions when unset", max_length=40)
    kv: Optional[str] = term("kv", None, "KV-cache precision (default: the engine's choice)", max_length=40)
    engine: Optional[str] = term("engine", None, "serving engine profile (default tensorrt-llm)", max_length=80)
    input_len: int = term("input_len", 1024)
    output_len: int = term("output_len", 256)
    gpus: Optional[int] = term("gpus", None, "GPUs in total (default: one replica)")
    tp: int = term("tp", 4, "tensor-parallel degree per replica (default 4: the default model, 70 B at bf16, "
                            "does not fit on one 80 GB GPU)")
    pp: int = term("pp", 1)
    ep: int = term("ep", 1)
    concurrency: Optional[float] = term("concurrency", None, "requests in flight (whole system), at least 1; unset: "
                                        "the largest batch that fits or meets the targets", ge=1)
    min_tps_user: Optional[float] = term("min_tps_user", None)
    max_ttft: Optional[float] = term("max_ttft", None)
    max_gpus: int = Field(8, ge=1, le=128, description="frontier: largest replica (GPUs) to sweep")
    points: int = Field(32, ge=2, le=128, description="frontier: concurrency grid points per shape")

    @field_validator("chip", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            v = [v]
        return [s.strip() for item in (v or []) for s in str(item).split(",") if s.strip()]

    @field_validator("chip")
    @classmethod
    def _count(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("pick at least one chip")
        if len(v) > MAX_CHIPS:
            raise ValueError(f"at most {MAX_CHIPS} chips at once (got {len(v)})")
        if any(len(s) > MAX_ID_CHARS for s in v):
            raise ValueError(f"a chip id is at most {MAX_ID_CHARS} characters")
        return v

    @field_validator("weights", "kv", "engine", mode="before")
    @classmethod
    def _blank_is_default(cls, v):
        return None if isinstance(v, str) and not v.strip() else v


class CsvInputs(Inputs):
    table: str = Field("summary", pattern="^(summary|frontier)$",
                       description="summary: one row per chip; frontier: every frontier point")


class ErrorLoc(BaseModel):
    loc: list[Any]
    msg: str


class ErrorOut(BaseModel):
    """Every 4xx body: the message, and the query parameter or form field to show it beside."""

    detail: str
    field: Optional[str] = Field(None, description="query parameter, form field or header to blame; null: none")
    suggestions: Optional[list[str]] = Field(None, description="close matches, for an unknown id")
    errors: Optional[list[ErrorLoc]] = Field(None, description="every validation problem, for a malformed request")


def _error_doc(text: str) -> dict:
    return {"model": ErrorOut, "description": text}


# The 4xx answers any route may give (the security layer answers before routing); see errors.py.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error_doc("malformed request, a Host header this server does not answer to, or an unreadable upload"),
    403: _error_doc("a cross-site request (foreign Origin, or a cross-site fetch that is not a navigation)"),
    404: _error_doc("unknown chip, model or upload token"),
    413: _error_doc("request body or uploaded file too large"),
    422: _error_doc("an input out of range or impossible for this model and chip; `field` names it"),
    429: {**_error_doc("too many requests queued for computation; retry after `Retry-After` seconds"),
          "headers": {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}},
}


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
    max_configs: int = Field(description="most frontier configurations (chips x precisions x shapes x points) "
                                         "one request may ask for")


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
