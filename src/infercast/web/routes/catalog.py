"""Catalog endpoints: light and always answering (served on the event loop, catalog JSON cached)."""
from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Depends, Path

from infercast import __version__
from infercast.engine.efficiency import engine_names
from infercast.engine.speculative import METHODS
from infercast.specs import precision as P
from infercast.specs.hardware import Chip, all_chips
from infercast.specs.model import all_models
from infercast.specs.store import read_json
from infercast.web.compute import model_out, resolve_model
from infercast.web.routes.deps import chip_uploads, json_bytes, json_response, uploads
from infercast.web.schemas import (ERROR_RESPONSES, MAX_CHIPS, MAX_ID_CHARS, PERCENTILES, ChipUploadOut, Inputs, MetaOut,
                                   ModelOut, SpecMethodOut)
from infercast.web.upload_store import UploadStore
from infercast.web.work import MAX_CONFIGS

router = APIRouter(prefix="/api", tags=["catalog"], responses=ERROR_RESPONSES)


@lru_cache(maxsize=1)
def _meta() -> bytes:
    methods = {name: SpecMethodOut(tokens=d["tokens"], acceptance=d["first_acceptance"],
                                   later_acceptance=d["later_acceptance"], draft=d["draft"], source=d["source"])
               for name, d in read_json("speculative.json")["methods"].items() if name in METHODS}
    return json_bytes(MetaOut(version=__version__, precisions=list(P.PRECISIONS), engines=engine_names(),
                              spec_methods=methods, percentiles=list(PERCENTILES), defaults=Inputs(),
                              max_chips=MAX_CHIPS, max_configs=MAX_CONFIGS), MetaOut)


@lru_cache(maxsize=1)
def _chips() -> bytes:
    return json_bytes(all_chips(), list[Chip])


@lru_cache(maxsize=1)
def _catalog_models() -> list[ModelOut]:
    return [model_out(m) for m in all_models()]


@router.get("/meta", response_model=MetaOut)
async def meta():
    """Version, precision and engine names, the default inputs and the request limits."""
    return json_response(_meta())


@router.get("/chips", response_model=list[Chip])
async def chips():
    """The accelerator catalog: dense peaks per precision, memory, links, TDP, dated price, sources."""
    return json_response(_chips())


@router.get("/chips/uploaded", response_model=list[ChipUploadOut])
async def uploaded_chips(store: UploadStore[Chip] = Depends(chip_uploads)):
    """The chip files uploaded to this server (POST /api/chip), least recently used first, with their tokens."""
    items = [ChipUploadOut(token=t, chip=c) for t, c in store.items()]
    return json_response(json_bytes(items, list[ChipUploadOut]))


@router.get("/models", response_model=list[ModelOut])
async def models(store: UploadStore = Depends(uploads)):
    """The model catalog (derived parameter counts), then the configs uploaded to this server."""
    items = _catalog_models() + [model_out(m, t) for t, m in store.items()]
    return json_response(json_bytes(items, list[ModelOut]))


@router.get("/model/{name}", response_model=ModelOut)
async def model_summary(name: str = Path(..., max_length=MAX_ID_CHARS, description="catalog id, alias or upload token"),
                        store: UploadStore = Depends(uploads)):
    """One model by catalog id, alias or upload token."""
    m, token = resolve_model(name, store)
    return json_response(json_bytes(model_out(m, token), ModelOut))
