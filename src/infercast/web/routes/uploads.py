"""POST /api/model: a Hugging Face config.json, parsed in memory (web.upload_store), never written."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, File, Form, UploadFile

from infercast.web.compute import model_out
from infercast.web.routes.deps import uploads
from infercast.web.schemas import ERROR_RESPONSES, UploadOut
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
