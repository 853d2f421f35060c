"""Shared CLI helpers: error handling without tracebacks, JSON output, rich tables."""
from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import numpy as np
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from infercast.errors import InfercastError

console = Console()
err_console = Console(stderr=True)


def _default(o: Any):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if hasattr(o, "as_dict"):
        return o.as_dict()
    if hasattr(o, "model_dump"):
        return o.model_dump()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_default, indent=2)


def print_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def user_errors(fn: Callable) -> Callable:
    """Turn InfercastError / validation errors into a one-line message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*a, **k):
        try:
            return fn(*a, **k)
        except InfercastError as e:
            from infercast.vocabulary import flag

            where = f"{flag(e.field)}: " if getattr(e, "field", None) else ""
            err_console.print(f"[bold red]error:[/] {escape(where + str(e))}")
            raise typer.Exit(2) from None
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first.get("loc", ()))
            err_console.print(f"[bold red]error:[/] {escape(loc)}: {escape(str(first.get('msg')))}")
            raise typer.Exit(2) from None
        except FileNotFoundError as e:
            err_console.print(f"[bold red]error:[/] file not found: {e.filename}")
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as e:  # a bug: say so plainly; INFERCAST_DEBUG=1 shows the traceback
            import os

            if os.environ.get("INFERCAST_DEBUG"):
                raise
            err_console.print(f"[bold red]internal error:[/] {type(e).__name__}: {escape(str(e))}. This is a bug in infercast; "
                              "rerun with INFERCAST_DEBUG=1 for the traceback and report it.")
            raise typer.Exit(1) from None

    return wrapper


def si(x: float, unit: str = "", digits: int = 3) -> str:
    """Human number: 1.23 k, 4.56 M."""
    if x is None:
        return "-"
    ax = abs(x)
    for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if ax >= div:
            return f"{x / div:.{digits}g} {suf}{unit}"
    return f"{x:.{digits}g} {unit}".rstrip()
