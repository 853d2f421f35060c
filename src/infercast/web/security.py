"""A local server that other web pages cannot turn against its user: ASGI middleware and header helpers.

- `HostGuard`: answer only requests whose `Host` is the bound host or a loopback name (defeats DNS
  rebinding: a page on evil.example re-pointed at 127.0.0.1 still sends `Host: evil.example`), and
  refuse cross-site requests: a foreign `Origin` (any method), and cross-site fetches that are not
  navigations (`Sec-Fetch-Site: cross-site`, e.g. `<img src>` pointing at the API). A state-changing
  request from another site therefore never reaches a handler.
- `BodyLimit`: every request body is capped (by `Content-Length` and while streaming), so an upload
  stays in memory: Starlette spools multipart files to disk only past 1 MiB.
- `SecurityHeaders`: a Content-Security-Policy without inline script, `frame-ancestors 'none'`,
  `nosniff`, no referrer, same-origin resource and opener policies, on every response.
- `attachment(filename)`: a strict ASCII `Content-Disposition` whatever the name holds.

References: OWASP HTTP Headers Cheat Sheet; Fetch Metadata (w3c/webappsec-fetch-metadata).
"""
from __future__ import annotations

import re
from typing import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infercast.web.errors import error_response

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
MAX_BODY_BYTES = 1_048_576  # Starlette spools an uploaded file to disk past 1 MiB: never get there
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",  # no inline script, no eval
    "style-src 'self' 'unsafe-inline'",  # Plotly sets style attributes on the SVG it draws
    "img-src 'self' data: blob:",  # Plotly's "download plot as png"
    "font-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
))
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = tuple((k.encode(), v.encode()) for k, v in (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
))


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def _split_hostport(hostport: str) -> tuple[str, int | None] | None:
    """'Example.com:8000' -> ('example.com', 8000); '[::1]:80' -> ('[::1]', 80); None when malformed."""
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?", hostport.strip())
    if not m:
        return None
    port = int(m.group(2)) if m.group(2) else None
    if port is not None and not 0 < port < 65536:
        return None
    return m.group(1).lower(), port


def allowed_host_names(bound_host: str | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the host the server was bound to (not a wildcard) and any names given."""
    names = set(LOOPBACK_NAMES)
    for h in ([bound_host] if bound_host else []) + list(extra):
        h = h.strip().lower()
        if not h or h in ("0.0.0.0", "::", "[::]"):
            continue
        if ":" in h and not h.startswith("["):
            h = f"[{h}]"  # a bare IPv6 address as it appears in a Host header
        names.add(h)
    return frozenset(names)


class HostGuard:
    """Refuse a foreign Host (400) and cross-site requests (403) before any handler runs."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str]):
        self.app, self.allowed = app, allowed_hosts

    def _port_of_server(self, scope: Scope) -> int | None:
        server = scope.get("server")
        return int(server[1]) if server and server[1] is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check(scope)
        if problem:
            status, field, detail = problem
            await error_response(status, detail, field)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> tuple[int, str, str] | None:
        scheme = scope.get("scheme", "http")
        default_port = 443 if scheme == "https" else 80
        raw_host = _header(scope, b"host")
        parsed = _split_hostport(raw_host) if raw_host else None
        if parsed is None:
            return 400, "Host", "missing or malformed Host header"
        host, port = parsed
        server_port = self._port_of_server(scope)
        if host not in self.allowed or (server_port is not None and (port or default_port) != server_port):
            shown = raw_host if len(raw_host) <= 60 else raw_host[:57] + "..."
            return 400, "Host", (f"this server answers to {', '.join(sorted(self.allowed))} on its own port, not "
                                 f"'{shown}'; to reach it under another name, start it with "
                                 "`infercast serve --allow-host NAME`")
        origin = _header(scope, b"origin")
        if origin is not None:
            own = f"{scheme}://{host}" + ("" if (port or default_port) == default_port else f":{port}")
            o = re.fullmatch(r"(https?)://([^/]+)", origin.strip().lower())
            op = _split_hostport(o.group(2)) if o else None
            same = bool(o and op and o.group(1) == scheme and op[0] == host
                        and (op[1] or default_port) == (port or default_port))
            if not same:
                return 403, "Origin", (f"cross-origin request refused: this server only answers its own pages "
                                       f"({own})")
        site = (_header(scope, b"sec-fetch-site") or "").lower()
        mode = (_header(scope, b"sec-fetch-mode") or "").lower()
        method = scope.get("method", "GET")
        if site == "cross-site" and (mode != "navigate" or method not in SAFE_METHODS):
            return 403, "Sec-Fetch-Site", "cross-site request refused: open the page itself to use the app"
        return None


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 to a body over `limit` bytes (declared or streamed); the handler never sees it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"request body larger than {self.limit // 1024} KiB"
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await error_response(400, "malformed Content-Length header", "Content-Length")(scope, receive, send)
                return
            if int(declared) > self.limit:
                await error_response(413, detail, "file")(scope, receive, send)
                return
        seen = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_large = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # our 413 replaces whatever the app makes of a truncated body
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        if too_large and not started:
            await error_response(413, detail, "file")(scope, receive, send)


class SecurityHeaders:
    """Add the security headers to every response (errors and static files included)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def ascii_filename(name: str, max_len: int = 100) -> str:
    """A file name of ASCII letters, digits, '.', '_' and '-' only (no quotes, CR/LF, NUL, slashes)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "infercast"
    if len(s) > max_len:
        stem, dot, ext = s.rpartition(".")
        s = (stem[: max_len - len(ext) - 1] + "." + ext) if dot and len(ext) <= 8 else s[:max_len]
    return s


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{ascii_filename(filename)}"'}
