"""Local web app over the library: `infercast serve` (FastAPI + uvicorn, Plotly shipped with the package)."""
from __future__ import annotations


def create_app(*args, **kwargs):
    """The FastAPI application (imported lazily so `import infercast` does not need FastAPI)."""
    from infercast.web.app import create_app as _create

    return _create(*args, **kwargs)


__all__ = ["create_app"]
