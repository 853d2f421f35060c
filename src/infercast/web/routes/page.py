"""The page: index.html, its script and style, and Plotly from the installed `plotly` package (no CDN).

The page's own files (a few tens of kB) are read once into memory and served from there: a request
names a file of a fixed list, never a path, and answering costs the event loop no file I/O.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from infercast.web.errors import WebInputError

router = APIRouter(include_in_schema=False)
STATIC = resources.files("infercast.web").joinpath("static")
_TYPES = {".js": "application/javascript", ".css": "text/css", ".html": "text/html"}
_FILES = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.is_file() and Path(p.name).suffix in _TYPES}


def _file(name: str) -> Response:
    return Response(_FILES[name], media_type=_TYPES[Path(name).suffix] + "; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


def plotly_path() -> str:
    import plotly

    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.is_file():
        raise WebInputError("plotly.min.js is missing from the installed plotly package; reinstall infercast[web]",
                            None, 404)
    return str(p)


@router.get("/")
async def index() -> Response:
    return _file("index.html")


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in _FILES or name == "index.html":
        raise WebInputError(f"no static file '{name[:60]}'", None, 404)
    return _file(name)


@router.get("/vendor/plotly.min.js")
async def plotly_js() -> Response:
    return FileResponse(plotly_path(), media_type="application/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=86400"})
