"""A disk cache of built kernel tables, so a command pays the parquet parsing and smoothing once.

Each built table is saved as a plain `.npz` (arrays only, `allow_pickle=False`) plus a JSON index of
its keys, under `$XDG_CACHE_HOME/infercast/kernels/` (default `~/.cache/...`), named by a hash of the
source files (path, size, mtime), the chip's numbers and this module's format version. A cache that
cannot be read or written is ignored: the table is rebuilt in memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

FORMAT = 12  # bump when a builder's output changes


def cache_dir() -> Path | None:
    if os.environ.get("INFERCAST_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "infercast" / "kernels"


def _digest(kind: str, paths: list[Path], extra: tuple) -> str:
    h = hashlib.sha256(f"{FORMAT}|{kind}|{extra!r}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"|{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def load_or_build(kind: str, paths: list[Path], extra: tuple,
                  build: Callable[[], tuple[dict, dict[str, np.ndarray]] | None]):
    """(meta, arrays) from the cache, else from `build()` (then saved). `meta` is JSON-able."""
    folder = cache_dir()
    name = _digest(kind, paths, extra) if folder else None
    if folder and name:
        try:
            meta = json.loads((folder / f"{name}.json").read_text())
            with np.load(folder / f"{name}.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            return meta, arrays
        except (OSError, ValueError, KeyError):
            pass
    built = build()
    if built is None:
        return None
    meta, arrays = built
    if folder and name:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for suffix, write in ((".npz", lambda f: np.savez(f, **arrays)),
                                  (".json", lambda f: f.write(json.dumps(meta).encode()))):
                fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix + ".tmp")
                with os.fdopen(fd, "wb") as f:
                    write(f)
                os.replace(tmp, folder / f"{name}{suffix}")
        except OSError:
            pass
    return meta, arrays
