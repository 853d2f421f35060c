"""Measured collectives: all-reduce (the engine's custom kernel, else NCCL) and NCCL all-to-all.

Rows: number of GPUs, message size in 16-bit elements (bus bandwidth only makes sense that way:
8 x H100 NCCL all-reduce of 2^28 elements reaches 445 GB/s bus bandwidth), latency in ms.
Lookups interpolate log latency in log message size for the measured GPU count, and scale
linearly in bytes beyond the largest message. Group sizes that were not measured (beyond one
node) return None, and the analytic NCCL model (engine.collectives) is used instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infercast.engine.kernels.cache import load_or_build
from infercast.engine.kernels.source import TableRef, chip_key, find, find_nccl, read_columns
from infercast.specs.hardware import Chip

ELEM_BYTES = 2.0


@dataclass
class CommTable:
    ref: TableRef
    op: str
    sizes: dict  # num_gpus -> message bytes grid
    lat: dict  # num_gpus -> seconds at each size

    def covers(self, group: int) -> bool:
        return int(group) in self.lat

    def time(self, nbytes, group: int) -> np.ndarray:
        """Seconds for a collective of `nbytes` (array) per GPU over `group` GPUs (measured counts only)."""
        s, t = self.sizes[int(group)], self.lat[int(group)]
        x = np.maximum(np.asarray(nbytes, dtype=float), s[0])
        out = np.exp(np.interp(np.log(x), np.log(s), np.log(t)))
        big = x > s[-1]
        return np.where(big, t[-1] * x / s[-1], out)


def _build(ref: TableRef, op: str, dtype_col: str) -> CommTable | None:
    def build():
        t = _build_raw(ref, op, dtype_col)
        if t is None:
            return None
        arrays = {}
        for g in t.lat:
            arrays[f"s_{g}"], arrays[f"t_{g}"] = t.sizes[g], t.lat[g]
        return {"ref": ref.as_meta(), "op": op, "groups": sorted(t.lat)}, arrays

    got = load_or_build(f"comm-{op}", [ref.path], (dtype_col,), build)
    if got is None:
        return None
    meta, a = got
    return CommTable(ref=TableRef.from_meta(meta["ref"], ref.requested), op=meta["op"],
                     sizes={g: a[f"s_{g}"] for g in meta["groups"]}, lat={g: a[f"t_{g}"] for g in meta["groups"]})


def _build_raw(ref: TableRef, op: str, dtype_col: str) -> CommTable | None:
    c = read_columns(ref.path, ("op_name", dtype_col, "num_gpus", "message_size", "latency"))
    keep = (c["op_name"].astype(str) == op) & np.isin(c[dtype_col].astype(str), ("bfloat16", "half", "float16"))
    if not keep.any():
        return None
    n, size, lat = c["num_gpus"][keep].astype(int), c["message_size"][keep] * ELEM_BYTES, c["latency"][keep] * 1e-3
    sizes, lats = {}, {}
    for g in np.unique(n):
        sel = n == g
        grid = np.unique(size[sel])
        best = np.full(len(grid), np.inf)
        np.fmin.at(best, np.searchsorted(grid, size[sel]), lat[sel])  # several implementations: the fastest
        sizes[int(g)], lats[int(g)] = grid, best
    return CommTable(ref=ref, op=op, sizes=sizes, lat=lats)


_CACHE: dict = {}


def allreduce_table(chip: Chip, engine: str, version: str | None = None) -> CommTable | None:
    """The engine's own all-reduce kernel (TensorRT-LLM/vLLM/SGLang custom all-reduce), else NCCL."""
    key = (chip_key(chip), engine, version, "ar")
    if key not in _CACHE:
        ref = find(chip.id, engine, "comm", "custom_allreduce_perf.parquet", version)
        t = _build(ref, "all_reduce", "allreduce_dtype") if ref else None
        if t is None:
            nref = find_nccl(chip.id)
            t = _build(nref, "all_reduce", "nccl_dtype") if nref else None
        _CACHE[key] = t
    return _CACHE[key]


def alltoall_table(chip: Chip) -> CommTable | None:
    """NCCL all-to-all (expert-parallel dispatch and combine)."""
    key = (chip_key(chip), "a2a")
    if key not in _CACHE:
        nref = find_nccl(chip.id)
        _CACHE[key] = _build(nref, "alltoall", "nccl_dtype") if nref else None
    return _CACHE[key]
