"""Request and response models of the world endpoints (/api/world, /api/overhang, /api/margin): what the
OpenAPI document describes. Inputs take their names, help and limits from the one vocabulary (`schemas.term`);
a few limits are tighter than the CLI's so that one request stays a bounded amount of work."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from infercast.web.schemas import MAX_ID_CHARS, term

MAX_WEB_TOKENS = 131_072  # prompt or output tokens per request on the web (the CLI takes up to 10M)
MAX_WEB_SAMPLES = 20_000
_IN = ConfigDict(extra="forbid", allow_inf_nan=False)
_OUT = ConfigDict(extra="allow")


def _blank(v):
    return None if isinstance(v, str) and not v.strip() else v


class WorldInputs(BaseModel):
    """The installed accelerator stock at a year's end and the tokens/day it serves."""

    model_config = _IN
    year: int = term("year", 2025, "the stock at the end of this year (2026: its first quarter)", ge=2022, le=2026)
    model: str = term("model", "deepseek-v3", "catalog id or alias, or an upload token", max_length=MAX_ID_CHARS)
    input_len: int = term("input_len", 2000, le=MAX_WEB_TOKENS)
    output_len: int = term("output_len", 500, le=MAX_WEB_TOKENS)
    min_tps_user: float = term("min_tps_user", 20.0)
    inference_share: Optional[str] = Field(None, max_length=100, description="share of the stock serving "
                                           "inference: a number, uniform:MIN,MAX or triangle:MIN,MODE,MAX within "
                                           "0..1 (default: triangle 0.3-0.7, mode Deloitte's share for the year)")
    utilisation: Optional[str] = Field(None, max_length=100, description="average load of the inference stock at "
                                       "the operating point: a number, uniform or triangle within 0..1 (default "
                                       "triangle:0.4,0.6,0.82)")
    samples: int = term("samples", 2000, le=MAX_WEB_SAMPLES)
    seed: int = term("seed", 0)
    tokens_per_workday: Optional[float] = term("tokens_per_workday", None)

    _b = field_validator("inference_share", "utilisation", mode="before")(_blank)


class OverhangInputs(BaseModel):
    """A training run (default: GPT-4's reported run) and what its cluster serves once trained."""

    model_config = _IN
    train_flop: float = term("train_flop", 2.15e25)
    chip: str = term("chip", "a100-sxm-80gb", "chip id or alias, or a chip-file token from POST /api/chip",
                     max_length=MAX_ID_CHARS)
    gpus: int = term("gpus", 25_000)
    days: float = term("days", 95.0)
    model: str = term("model", "gpt-4", "catalog id or alias, or an upload token", max_length=MAX_ID_CHARS)
    min_tps_user: float = term("min_tps_user", 10.0)
    peak_precision: Optional[str] = term("peak_precision", None, max_length=40)
    input_len: int = term("input_len", 2000, le=MAX_WEB_TOKENS)
    output_len: int = term("output_len", 500, le=MAX_WEB_TOKENS)
    tokens_per_workday: Optional[float] = term("tokens_per_workday", None)

    _b = field_validator("peak_precision", mode="before")(_blank)


class MarginInputs(BaseModel):
    """Serving cost at the planner's point against a dated list price."""

    model_config = _IN
    model: str = term("model", "deepseek-v3", "catalog id or alias", max_length=MAX_ID_CHARS)
    chip: str = term("chip", "h800", "chip id or alias, or a chip-file token from POST /api/chip",
                     max_length=MAX_ID_CHARS)
    provider: Optional[str] = term("provider", None, max_length=100)
    date: Optional[str] = term("date", None, max_length=40)
    input_len: int = term("input_len", 2000, le=MAX_WEB_TOKENS)
    output_len: int = term("output_len", 500, le=MAX_WEB_TOKENS)
    cached_fraction: float = term("cached_fraction", 0.0)
    min_tps_user: float = term("min_tps_user", 20.0)
    price: Optional[float] = term("price", None, "rental price per GPU-hour (default: the catalog's dated price)")
    utilisation: float = term("utilisation", 1.0)
    disaggregated: bool = Field(False, description="separate prefill and decode pools")

    _b = field_validator("provider", "date", mode="before")(_blank)


class Pct(BaseModel):
    p10: float
    p50: float
    p90: float


class WorldOut(BaseModel):
    model_config = _OUT
    year: int
    as_of: str
    models: list[dict[str, Any]]
    stock: dict[str, Any] = Field(description="units and H100e by chip line, family and designer, with sources")
    tokens_per_day: Pct = Field(description="input + output tokens per day the inference share serves")
    output_tokens_per_day: Pct
    h100e: Pct
    inference_gpu_equivalents: Pct
    drivers: list[dict[str, Any]] = Field(description="each input varied alone: the P10-P90 it causes")
    inputs: dict[str, Any]
    rates: list[dict[str, Any]] = Field(description="per chip and model: the planner's point")
    bounds: dict[str, Any]
    ai_workers: dict[str, Any]
    disclosures: list[dict[str, Any]]
    samples: int
    seed: int
    notes: list[str]
    sources: list[str]


class OverhangOut(BaseModel):
    model_config = _OUT
    implied_training_utilisation: float
    tokens_per_s: float
    copies: float = Field(description="tokens_per_s / min_tps_user")
    tokens_per_day: float
    shape: dict[str, Any]
    peak_precision: str
    ai_workers: dict[str, Any]
    notes: list[str]


class MarginOut(BaseModel):
    model_config = _OUT
    model: str
    chip: str
    cost_usd_per_m_uncached_input: float
    cost_usd_per_m_cached_input: float
    cost_usd_per_m_input: float
    cost_usd_per_m_output: float
    list_price: dict[str, Any] = Field(description="the dated list-price row used, with its source")
    gross_margin: Optional[float] = Field(description="(revenue - cost) / revenue; null when the price is 0")
    cost_profit_margin: float
    shape: dict[str, Any]
    assumptions: list[str]


class DeepSeekOut(BaseModel):
    model_config = _OUT
    predicted_nodes: float
    published_nodes: float
    nodes_ratio: float
    cost_profit_margin: float
    published_cost_profit_margin: float
    margin_ratio: float
    decode_step_ms: dict[str, float]
    prefill_step_ms: dict[str, float]
    notes: list[str]
    sources: list[str]


__all__ = ["WorldInputs", "OverhangInputs", "MarginInputs", "WorldOut", "OverhangOut", "MarginOut", "DeepSeekOut",
           "MAX_WEB_TOKENS", "MAX_WEB_SAMPLES"]
