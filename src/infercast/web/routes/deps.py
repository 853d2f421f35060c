"""What handlers share: this app's upload stores and work pool (on `app.state`), and JSON rendering."""
from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import TypeAdapter

from infercast.specs.hardware import Chip
from infercast.web.upload_store import UploadStore
from infercast.web.work import WorkPool


def uploads(request: Request) -> UploadStore:
    return request.app.state.uploads


def chip_uploads(request: Request) -> UploadStore[Chip]:
    return request.app.state.chip_uploads


def pool(request: Request) -> WorkPool:
    return request.app.state.pool


_adapters: dict[Any, TypeAdapter] = {}


def json_bytes(value: Any, kind: Any) -> bytes:
    """Serialise with pydantic (NaN and infinities become null: strict JSON)."""
    ta = _adapters.get(kind)
    if ta is None:
        ta = _adapters[kind] = TypeAdapter(kind)
    return ta.dump_json(value)


def json_response(body: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)
