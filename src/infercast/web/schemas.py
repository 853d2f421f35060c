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
from infercast.specs.hardware import Chip, Price
from infercast.vocabulary import TERMS

MAX_CHIPS = 12
MAX_ID_CHARS = 200  # longer ids are no catalog id, alias or upload token
DEFAULT_CHIPS = ("h100-sxm", "h200-sxm", "b200", "mi300x")  # the page's starting view
DEFAULT_MODEL = "llama-3.1-70b"
DEFAULT_MAX_GPUS = 64  # large enough for GPT-4 (1.8 T) or DeepSeek-V3 (671 B) on 80 GB GPUs
MAX_SWEEP_GPUS = 128  # replicas the web app searches: MAX_CONFIGS bounds the work (web.work)
PERCENTILES = (50.0, 90.0, 95.0, 99.0)  # the percentiles the page offers (service-level targets in use)


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
    refused (422 naming them), so a misspelt or unsupported input is never silently ignored.

    The shape: with `tp` unset the planner (`engine.planner.plan`) chooses TP, PP, EP, the weight
    precision (unless `weights` is given) and the batch for the targets, over replicas of up to
    `max_gpus` GPUs; with `tp` given the shape is fixed (`pp`, `ep` default 1) and only the batch is
    chosen, or given as `concurrency`. `pp`, `ep`, `gpus` and `concurrency` belong to a fixed shape."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: str = term("model", DEFAULT_MODEL, "catalog id or alias, or an upload token from POST /api/model",
                      max_length=MAX_ID_CHARS)
    chip: list[str] = Field(list(DEFAULT_CHIPS), description="chip ids or aliases, or chip-file tokens from POST "
                                                             "/api/chip (repeat the parameter, or comma-separate); "
                                                             f"at most {MAX_CHIPS}")
    weights: Optional[str] = term("weights", None, "weight precision (default: the planner's choice among the "
                                  "chip's native precisions; with a fixed shape, the model's released dtype)",
                                  max_length=40)
    kv: Optional[str] = term("kv", None, "KV-cache precision (default: the engine's choice)", max_length=40)
    engine: Optional[str] = term("engine", None, "serving engine profile (default tensorrt-llm)", max_length=80)
    input_len: int = term("input_len", 1024)
    output_len: int = term("output_len", 256)
    tp: Optional[int] = term("tp", None, "tensor-parallel degree per replica; unset: the planner chooses the "
                                         "shape (TP, PP, EP) for the targets")
    pp: Optional[int] = term("pp", None, "pipeline-parallel degree per replica (a fixed shape: with tp; default 1)")
    ep: Optional[int] = term("ep", None, "expert-parallel degree, MoE (a fixed shape: with tp; default 1); larger "
                                         "than tp runs attention data-parallel over ep / tp groups")
    gpus: Optional[int] = term("gpus", None, "GPUs in total (a fixed shape: with tp; default one replica)")
    concurrency: Optional[float] = term("concurrency", None, "requests in flight, whole system (a fixed shape: "
                                        "with tp); unset: the largest batch that fits or meets the targets", ge=1)
    min_tps_user: Optional[float] = term("min_tps_user", None)
    max_ttft: Optional[float] = term("max_ttft", None)
    max_tpot: Optional[float] = term("max_tpot", None)
    percentile: float = term("percentile", 50.0, "latency targets hold at this percentile of the requests in "
                             f"flight (Poisson occupancy): one of {', '.join(f'{p:g}' for p in PERCENTILES)}")
    spec_method: Optional[str] = term("spec_method", None, max_length=40)
    spec_tokens: Optional[int] = term("spec_tokens", None)
    spec_acceptance: Optional[float] = term("spec_acceptance", None)
    spec_draft: Optional[str] = term("spec_draft", None, max_length=MAX_ID_CHARS)
    disaggregated: bool = term("disaggregated", False)
    max_gpus: int = term("max_gpus", DEFAULT_MAX_GPUS, "largest replica (GPUs) the planner and the frontier "
                         "consider (per pool when disaggregated)", le=MAX_SWEEP_GPUS)
    points: int = term("points", 32, "frontier: concurrency grid points per shape", le=128)

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

    @field_validator("weights", "kv", "engine", "spec_method", "spec_draft", mode="before")
    @classmethod
    def _blank_is_default(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("percentile")
    @classmethod
    def _tabulated(cls, v: float) -> float:
        if float(v) not in PERCENTILES:
            raise ValueError(f"use one of {', '.join(f'{p:g}' for p in PERCENTILES)} (the service-level "
                             "percentiles the page offers)")
        return float(v)

    @property
    def fixed_shape(self) -> bool:
        return self.tp is not None


class CsvInputs(Inputs):
    table: str = Field("summary", pattern="^(summary|frontier)$",
                       description="summary: one row per chip; frontier: every frontier point")


class ErrorLoc(BaseModel):
    loc: list[Any]
    msg: str


class ChipError(BaseModel):
    chip: str
    detail: str
    field: Optional[str] = None


class ErrorOut(BaseModel):
    """Every 4xx body: the message, and the query parameter or form field to show it beside."""

    detail: str
    field: Optional[str] = Field(None, description="query parameter, form field or header to blame; null: none")
    suggestions: Optional[list[str]] = Field(None, description="close matches, for an unknown id")
    errors: Optional[list[ErrorLoc]] = Field(None, description="every validation problem, for a malformed request")
    chips: Optional[list[ChipError]] = Field(None, description="when every chip failed: each chip's own reason")


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
    state_bytes_per_seq: float = Field(0.0, description="fixed state one sequence holds whatever its length "
                                                        "(Gated DeltaNet layers); 0 for attention-only models")
    weight_bytes: float = Field(description="all weights at the released dtype")
    params_source: str
    rumoured: bool = False
    notes: str = ""


class SpecMethodOut(BaseModel):
    tokens: int = Field(description="default drafted tokens per verify step")
    acceptance: float = Field(description="default acceptance of the first drafted token")
    later_acceptance: float = Field(description="default acceptance of each later drafted token")
    draft: str = Field(description="what drafts the tokens")
    source: str


class MetaOut(BaseModel):
    version: str
    precisions: list[str]
    engines: list[str]
    spec_methods: dict[str, SpecMethodOut] = Field(description="speculative decoding methods and their sourced "
                                                               "defaults (data/speculative.json)")
    percentiles: list[float]
    defaults: Inputs
    max_chips: int
    max_configs: int = Field(description="most frontier configurations (chips x precisions x shapes x points) "
                                         "one request may ask for")


class BoundsItem(BaseModel):
    chip: str
    bounds: Optional[Bounds] = None
    sources: dict[str, str] = {}
    error: Optional[ErrorOut] = None


class OperatingPoint(BaseModel):
    """Where one chip serves: the shape, precision and batch, and what they give (per GPU, per user)."""

    chosen_by: str = Field(description="planner: the planner's best shape for the targets; fixed shape: the "
                                       "given shape, the planner's batch; fixed concurrency: the given shape "
                                       "and requests in flight")
    targets: str = Field(description="the targets the point was chosen for")
    precision: str
    kv: str
    engine: str
    tp: int
    pp: int
    ep: int
    dp: int = Field(description="attention data-parallel groups (ep / tp when ep > tp)")
    gpus: int = Field(description="GPUs per replica (both pools when disaggregated)")
    replicas: int
    concurrency: float = Field(description="requests in flight, whole system")
    output_tok_s_per_gpu: float
    input_tok_s_per_gpu: float
    tokens_per_s_per_user: float
    ttft_s: float
    tpot_s: float
    e2e_s: float
    speculative: Optional[str] = None
    disaggregated: Optional[str] = None
    rank_tokens: Optional[int] = Field(None, description="step budget per attention group when the planner chose one "
                                                         "below the engine's default (prompts chunked finer)")


class EstimateItem(BaseModel):
    chip: str
    point: Optional[OperatingPoint] = None
    estimate: Optional[Estimate] = Field(None, description="the breakdown (operators, memory, bounds) of one "
                                                           "engine step at the point's shape and batch")
    sources: dict[str, str] = {}
    notes: list[str] = []
    error: Optional[ErrorOut] = None


class FrontierPoint(BaseModel):
    model_config = ConfigDict(extra="allow")
    chip: str
    precision: str
    tp: int
    pp: int
    ep: int = 1
    dp: int = 1
    gpus: int
    speculative: Optional[str] = None
    disaggregated: Optional[str] = None
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


class ChipUploadOut(BaseModel):
    """An uploaded chip file: the token to pass as `chip=` and the chip's numbers as validated."""

    token: str = Field(description="this server's id for the upload, to pass as `chip=` (results rows are named "
                                   "by the chip's own id)")
    chip: Chip
    reused: bool = Field(False, description="the same file was uploaded before: same token")
