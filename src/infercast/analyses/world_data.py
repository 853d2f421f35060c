"""The world data files (`infercast/data/world/*.json`, docs/research/world-data.md), read and validated.

Each loader returns frozen pydantic models of the rows an analysis uses; every row keeps its `source`
and `date`. A shipped file that is missing, not JSON or malformed is a damaged installation
(`DamagedInstallError`), never a traceback. Fields the analyses do not read are kept as they are in
the files (extra keys are allowed and ignored).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from infercast.errors import DamagedInstallError
from infercast.specs.store import build, read_json

STOCK = "world/accelerator_stock.json"
VOLUMES = "world/token_volumes.json"
PRICES = "world/api_prices.json"
DEEPSEEK = "world/deepseek_inference_2025.json"
RUNS = "world/training_runs.json"
WORKER = "world/ai_worker.json"

_ROW = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


class Interval(BaseModel):
    """A published estimate: central value with its interval (the file says which, e.g. a 90 % CI)."""

    model_config = _ROW
    low: Optional[float] = Field(None, ge=0)
    central: Optional[float] = Field(None, ge=0)
    high: Optional[float] = Field(None, ge=0)


class Shipment(BaseModel):
    """One chip's sales in one calendar year (Epoch AI, AI Chip Sales), in units and Epoch H100e."""

    model_config = _ROW
    designer: str
    chip: str
    chip_id: Optional[str] = None
    nearest_chip_id: Optional[str] = None
    year: int
    quarters: list[str]
    units: Interval
    h100e: Interval
    h100e_per_unit: float = Field(gt=0)
    interval: str = ""
    source: str
    date: str = ""


class StockRow(BaseModel):
    """A designer's cumulative stock at a date (Epoch's own cumulative totals and 90 % CI)."""

    model_config = _ROW
    designer: str
    window_start: str
    as_of: str
    units: Interval
    h100e: Interval
    source: str


class Share(BaseModel):
    model_config = _ROW
    quantity: str
    year: int
    value: Interval
    source: str
    date: str = ""
    note: str = ""


class Volume(BaseModel):
    """A disclosed token volume, normalised to tokens/day (the file's derivation)."""

    model_config = _ROW
    provider: str
    scope: str
    value: float = Field(gt=0)
    unit: str
    tokens_per_day: float = Field(gt=0)
    tokens_per_day_derivation: str = ""
    period: str
    date: str
    source: str
    note: str = ""


class ListPrice(BaseModel):
    """A dated public API list price in USD per 1M tokens."""

    model_config = _ROW
    model: str
    model_id: Optional[str] = None
    provider: str
    date: str
    until: Optional[str] = None
    input: Optional[float] = Field(None, ge=0)
    cached_input: Optional[float] = Field(None, ge=0)
    output: Optional[float] = Field(None, ge=0)
    source: str
    confidence: str = ""
    note: str = ""


class TrainingRun(BaseModel):
    model_config = _ROW
    model: str
    model_id: Optional[str] = None
    developer: str = ""
    date: str = ""
    chip: str = ""
    chip_id: Optional[str] = None
    nearest_chip_id: Optional[str] = None
    gpus: Optional[int] = Field(None, gt=0)
    days: Optional[Interval] = None
    training_flop: Optional[Interval] = None
    sources: list[str] = []
    note: str = ""


class Stock(BaseModel):
    model_config = _ROW
    shipments: tuple[Shipment, ...]
    stock: tuple[StockRow, ...]
    inference_share: tuple[Share, ...]
    about: str = ""


def _rows(name: str, key: str, kind) -> tuple:
    raw = read_json(name)
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list):
        raise DamagedInstallError(name, f"it must hold a list '{key}'")
    return build(name, lambda: tuple(kind(**r) for r in raw[key]))


@lru_cache(maxsize=1)
def stock_data() -> Stock:
    raw = read_json(STOCK)
    if not isinstance(raw, dict):
        raise DamagedInstallError(STOCK, "not a JSON object")
    return build(STOCK, lambda: Stock(shipments=_rows(STOCK, "shipments", Shipment),
                                      stock=_rows(STOCK, "stock", StockRow),
                                      inference_share=_rows(STOCK, "inference_share", Share),
                                      about=str(raw.get("about", ""))))


@lru_cache(maxsize=1)
def volumes() -> tuple[Volume, ...]:
    return _rows(VOLUMES, "volumes", Volume)


@lru_cache(maxsize=1)
def list_prices() -> tuple[ListPrice, ...]:
    return _rows(PRICES, "prices", ListPrice)


@lru_cache(maxsize=1)
def training_runs() -> tuple[TrainingRun, ...]:
    return _rows(RUNS, "runs", TrainingRun)


@lru_cache(maxsize=1)
def worker_data() -> dict:
    raw = read_json(WORKER)
    if not isinstance(raw, dict) or not isinstance(raw.get("suggested_default"), dict):
        raise DamagedInstallError(WORKER, "it must hold 'suggested_default'")
    return raw


@lru_cache(maxsize=1)
def deepseek_data() -> dict:
    raw = read_json(DEEPSEEK)
    if not isinstance(raw, dict) or not isinstance(raw.get("quoted"), dict) or not isinstance(raw.get("derived"), dict):
        raise DamagedInstallError(DEEPSEEK, "it must hold 'quoted' and 'derived'")
    return raw


__all__ = ["Interval", "Shipment", "StockRow", "Share", "Volume", "ListPrice", "TrainingRun", "Stock", "stock_data",
           "volumes", "list_prices", "training_runs", "worker_data", "deepseek_data", "STOCK", "VOLUMES", "PRICES",
           "DEEPSEEK", "RUNS", "WORKER"]
