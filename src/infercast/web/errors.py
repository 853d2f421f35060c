"""Every problem the web app reports is a 4xx JSON body `{detail, field}` (schemas.ErrorOut).

`field` is the query parameter, form field or header to show the message beside. Library errors
carry it (`InfercastError.field`, named in the shared vocabulary); the few web names that differ are
mapped here. A library error that still lacks a field falls back to a look at its message (to be
removed once every library error carries its field).
"""
from __future__ import annotations

import difflib
import json
import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infercast.errors import InfercastError, UnknownIdError
from infercast.web.schemas import CsvInputs

log = logging.getLogger("infercast.web")
# request path -> the query model whose fields an unknown-parameter message lists (default: CsvInputs)
QUERY_MODELS: dict[str, Any] = {}


class WebInputError(InfercastError):
    """An input problem found by the web layer itself (its status and field are known)."""

    def __init__(self, message: str, field: str | None = None, status_code: int = 422,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message, field=field)
        self.status_code, self.headers = status_code, headers or {}
        self.extra = extra or {}  # more ErrorOut fields (e.g. `chips`: each chip's own reason)


class ClientGone(Exception):
    """The client closed the connection while its work was queued or running: the work was stopped."""


# vocabulary names (or library keyword names) -> the web's query parameter, where they differ
_WEB_NAMES = {"tpot_max": "max_tpot", "min_tps": "min_tps_user",
              "min_tokens_per_s_per_user": "min_tps_user", "ttft_max": "max_ttft", "max_ttft_s": "max_ttft",
              "kv_cache": "kv", "precision": "weights"}

# Fallback for library messages without a field: message fragment -> query parameter, first match wins.
_FIELD_HINTS: tuple[tuple[str, str], ...] = (
    (r"--gpus\b", "gpus"), (r"--tpot-max|--min-tps|--min-tokens|latency target", "min_tps_user"),
    (r"--ttft-max|--max-ttft", "max_ttft"), (r"--tp\b", "tp"), (r"--pp\b", "pp"), (r"--ep\b", "ep"),
    (r"--input-len", "input_len"), (r"--output-len", "output_len"), (r"--concurrency", "concurrency"),
    (r"\bkv cache\b|--kv\b", "kv"), (r"\bweights\b|--weights|precision|tensor rate", "weights"),
    (r"\bengine\b", "engine"),
)


def web_field(name: str | None) -> str | None:
    if not name:
        return None
    if name.startswith("config.json") or name.startswith("config:"):
        return "file"  # a field inside an uploaded config: the upload's form field
    return _WEB_NAMES.get(name, name)


def field_of(e: Exception) -> str | None:
    """The input to show the message beside: carried by the error, else guessed from its message."""
    f = getattr(e, "field", None)
    if f:
        return web_field(str(f))
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


MAX_DETAIL = 600


def short(detail: str) -> str:
    """A message fit to show: quoted values an input echoes are cut to 60 characters, the whole to 600."""
    s = re.sub(r"'([^']{80,})'", lambda m: "'" + m.group(1)[:57] + "...'", detail)
    return s if len(s) <= MAX_DETAIL else s[: MAX_DETAIL - 3] + "..."


def error_body(e: InfercastError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": short(str(e)), "field": field_of(e)}
    if isinstance(e, UnknownIdError):
        body["suggestions"] = list(e.suggestions)
    body.update(getattr(e, "extra", None) or {})
    return body


def _finite(o: Any) -> Any:
    """JSON has no NaN/Infinity: send null instead (the page shows '-')."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def strict_json(content: Any) -> bytes:
    return json.dumps(_finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class SafeJSONResponse(JSONResponse):
    """Strict JSON: never NaN or Infinity."""

    def render(self, content: Any) -> bytes:
        return strict_json(content)


def error_response(status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None,
                   **extra: Any) -> SafeJSONResponse:
    return SafeJSONResponse({"detail": short(detail), "field": field, **extra}, status_code=status, headers=headers)


def _validation_response(errs: list[dict], path: str = "") -> SafeJSONResponse:
    first = errs[0] if errs else {}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "body", "path", "header")]
    field = loc[0][:60] if loc else None
    kind = first.get("type", "")
    msg = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
    if kind == "extra_forbidden" and field:
        known = sorted(QUERY_MODELS.get(path, CsvInputs).model_fields)
        close = difflib.get_close_matches(field, known, n=1, cutoff=0.6)
        msg = "unknown query parameter" + (f"; did you mean {close[0]}?" if close else f"; known: {', '.join(known)}")
    elif kind == "missing" and field:
        msg = "required"
    detail = f"{field[:60]}: {msg}" if field else msg
    return SafeJSONResponse({"detail": short(detail), "field": field,
                             "errors": [{"loc": [str(p)[:60] if isinstance(p, str) else p for p in x.get("loc", ())],
                                         "msg": short(str(x.get("msg")))} for x in errs[:20]]},
                            status_code=422)


def install_handlers(app: FastAPI) -> None:
    """Map every exception a request can raise on purpose to its 4xx body."""

    @app.exception_handler(InfercastError)
    async def _infercast(request: Request, e: InfercastError):
        return SafeJSONResponse(error_body(e), status_code=status_of(e), headers=getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, e: RequestValidationError):
        return _validation_response(list(e.errors()), request.url.path)

    @app.exception_handler(ValidationError)
    async def _pydantic(request: Request, e: ValidationError):
        return _validation_response(list(e.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        status = e.status_code if 400 <= e.status_code < 500 else 400
        return error_response(status, str(e.detail), None, headers=getattr(e, "headers", None))

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, e: ClientGone):
        # nobody reads this answer; a 4xx keeps the server's log free of false 5xx
        return error_response(499, "the client closed the connection; its work was stopped")


class LastResort:
    """ASGI middleware: an exception no handler expected still gets a 4xx JSON answer, never a 5xx or a
    dropped connection. It is logged with its traceback and counted (`app.state.unexpected_errors`), and
    the tests require that count to stay 0: every cause found is fixed where it arises."""

    def __init__(self, app: ASGIApp, counter: list[int]):
        self.app, self.counter = app, counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as e:  # noqa: BLE001 - the last resort, by design
            self.counter[0] += 1
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return  # the status is already sent; end the body quietly
            resp = error_response(422, f"infercast could not answer this request ({type(e).__name__}); this is a "
                                       "bug in infercast: please report the request that caused it")
            await resp(scope, receive, send)
