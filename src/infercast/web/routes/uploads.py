"""POST /api/model: a Hugging Face config.json; POST /api/chip: a chip file (TOML or JSON, as `--chip-file`).
Both are parsed in memory (web.upload_store, web.chip_upload), never written, and kept by token in an LRU."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, File, Form, UploadFile

from infercast.specs.hardware import Chip
from infercast.web.chip_upload import MAX_CHIP_BYTES, parse_chip_upload
from infercast.web.compute import model_out
from infercast.web.routes.deps import chip_uploads, uploads
from infercast.web.schemas import ERROR_RESPONSES, ChipUploadOut, UploadOut
from infercast.web.upload_store import MAX_UPLOAD_BYTES, UploadStore, parse_upload

router = APIRouter(prefix="/api", tags=["catalog"], responses=ERROR_RESPONSES)


@router.post("/model", response_model=UploadOut)
def upload_model(file: UploadFile = File(..., description=f"a Hugging Face config.json (at most "
                                                           f"{MAX_UPLOAD_BYTES // 1000} kB)"),
                 name: Optional[str] = Form(None, max_length=200,
                                            description="label when the config has no _name_or_path"),
                 store: UploadStore = Depends(uploads)):
    """Upload a Hugging Face config.json; returns a summary and a token to pass as `model=`. The server
    keeps the most recent uploads in memory only, until it restarts."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    token = store.token_for(data, name)
    known = store.get(token)
    if known is not None:
        return UploadOut(token=token, model=model_out(known, token), reused=True)
    spec = parse_upload(data, file.filename, name)
    store.put(token, spec)
    return UploadOut(token=token, model=model_out(spec, token))


@router.post("/chip", response_model=ChipUploadOut)
def upload_chip(file: UploadFile = File(..., description="a chip file: TOML or JSON with the fields of a catalog "
                                                         "entry (id, family, year, memory_gb, memory_bw_tbps, "
                                                         "tflops, scaleup_gbps, scaleup_domain, scaleout_gbps; at "
                                                         f"most {MAX_CHIP_BYTES // 1000} kB)"),
                store: UploadStore[Chip] = Depends(chip_uploads)):
    """Upload a custom accelerator (the CLI's `--chip-file`); returns the chip's numbers and a token to pass as
    `chip=` to every endpoint that takes chips. A problem is a 400 naming `file`, with `errors` pointing at each
    field of the chip file to change. The server keeps the most recent chip files in memory only."""
    data = file.file.read(MAX_CHIP_BYTES + 1)
    token = store.token_for(data)
    known = store.get(token)
    if known is not None:
        return ChipUploadOut(token=token, chip=known, reused=True)
    chip = parse_chip_upload(data, file.filename)
    store.put(token, chip)
    return ChipUploadOut(token=token, chip=chip)
