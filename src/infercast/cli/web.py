"""`infercast serve`: the local web app (FastAPI + uvicorn) over the same library."""
from __future__ import annotations

import logging
import socket

import typer

from infercast.cli.kit import console, opt, user_errors
from infercast.errors import InfercastError
from infercast.format import truncate


def _check_port(host: str, port: int) -> None:
    """Fail with a clear message (not a uvicorn traceback) when the address is taken or unknown."""
    shown = truncate(host, 60)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):  # unknown name, a label too long, a NUL byte
        raise InfercastError(f"'{shown}' is not an address this machine can listen on; use 127.0.0.1",
                             field="host", value=host) from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise InfercastError(f"cannot listen on {shown}:{port} ({e.strerror}); pick another port",
                                 field="port") from None


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def serve(
        host: str = opt("host", "127.0.0.1", help="address to listen on (127.0.0.1: this machine only)"),
        port: int = opt("port", 8000),
        open_browser: bool = typer.Option(False, "--open", help="open the page in the default browser"),
        allow_host: list[str] = typer.Option([], "--allow-host", help="another host name the server answers to "
                                             "(repeatable); it always answers to 127.0.0.1, localhost, [::1] "
                                             "and --host"),
    ):
        """Start the local web app: pick chips, a model, precision, workload and targets; see bounds,
        the realistic estimate, the frontier chart and the cost, updating as you type."""
        import uvicorn

        from infercast.web.app import create_app

        _check_port(host, port)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
        url = f"http://{shown}:{port}/"
        console.print(f"infercast web app: [bold]{url}[/]  (JSON API: {url}api/..., schema: {url}openapi.json; "
                      "Ctrl+C to stop)")
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print("[yellow]note:[/] listening beyond this machine; the app has no authentication.")
        web_app = create_app(allowed_hosts=allow_host, bound_host=host)
        # a malformed upload is answered 400; the multipart parser need not also log it
        logging.getLogger("python_multipart").setLevel(logging.ERROR)
        if host in ("0.0.0.0", "::") and not allow_host:
            console.print("[yellow]note:[/] requests must name this machine as 127.0.0.1 or localhost; add "
                          "--allow-host NAME for each other name or address clients use to reach it.")
        if open_browser:
            import threading
            import webbrowser

            threading.Timer(1.0, webbrowser.open, args=(url,)).start()
        uvicorn.run(web_app, host=host, port=port, log_level="warning")
