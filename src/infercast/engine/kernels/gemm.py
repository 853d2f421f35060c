"""Measured GEMM tables: time of an [M, K] x [K, N] product per (chip, engine, dtype), any shape.

Rows of `gemm_perf.parquet` (gemm_dtype, m, n, k, latency in ms) become an efficiency grid
eff[m, n, k] = roofline time / measured time, where the roofline is max(2MNK / peak, bytes / HBM
bandwidth) at the chip's datasheet peaks. A query interpolates eff in (log m, log n, log k)
(clamped) and returns roofline / eff. Where several kernels were measured for one shape, the
fastest is kept (engines autotune their GEMM kernels).

A kernel family whose fastest measured GEMM of any shape takes more than FLOOR_RATIO x the table's fastest BF16
GEMM is not a kernel time (a per-call host, JIT or conversion cost is in it) and is left out of the table: vLLM
0.24.0's block-FP8 rows take 55-280 us even at M = 1 on every chip, where every other engine's block-FP8 kernels and
its own BF16 and per-tensor FP8 ones take 2-12 us.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from infercast.engine.kernels import grid as G
from infercast.engine.kernels.cache import load_or_build
from infercast.engine.kernels.source import TableRef, chip_key, find, measured_chip, read_columns
from infercast.specs.hardware import Chip

# table dtype -> (peak precision, weight bytes/element, activation bytes/element)
# nvfp4 stores one fp8 scale per 16 elements: 0.5 + 1/16 bytes [NVIDIA NVFP4 blog, 2025-06]
DTYPES = {
    "bfloat16": ("bf16", 2.0, 2.0), "fp8": ("fp8", 1.0, 1.0), "fp8_block": ("fp8", 1.0, 1.0),
    "nvfp4": ("fp4", 0.5625, 0.5625), "int4_wo": ("bf16", 0.5, 2.0), "int8_wo": ("bf16", 1.0, 2.0),
    "sq": ("int8", 1.0, 1.0), "fp8_any": ("fp8", 1.0, 1.0),
}


def table_dtype(weights: str, compute: str, block_scaled: bool = False) -> str | None:
    """The measured kernel family that runs weights stored at `weights` computing at `compute`."""
    if weights in ("bf16", "fp16"):
        return "bfloat16"
    if weights == "fp8":
        if compute == "fp8":
            return "fp8_block" if block_scaled else "fp8_any"
        return "int8_wo"  # 8-bit weight-only kernel (dequantise to 16-bit in the kernel) on chips without fp8
    if weights == "int8":
        return "sq" if compute == "int8" else "int8_wo"
    if weights in ("fp4", "int4"):
        return "nvfp4" if compute == "fp4" else "int4_wo"
    return None


def roofline(chip: Chip, dtype: str, m, n, k):
    """max(2MNK / peak, bytes / bandwidth): weights once, activations in and out."""
    prec, wb, ab = DTYPES[dtype]
    m = np.asarray(m, dtype=float)
    bw = chip.bandwidth
    # grouped so that scalar N, K cost one array operation each (the sweep's hot path)
    return np.maximum(m * (2.0 * n * k / chip.peak_flops(prec)), m * ((k * ab + n * 2.0) / bw) + n * k * wb / bw)


FLOOR_RATIO = 10.0


@dataclass
class GemmTable:
    ref: TableRef
    m: np.ndarray
    n: np.ndarray
    k: np.ndarray
    eff: dict[str, np.ndarray]  # dtype -> eff[m, n, k]
    dropped: dict[str, float] = field(default_factory=dict)  # dtype -> its fastest GEMM (s), left out (FLOOR_RATIO)
    _curves: dict = field(default_factory=dict, repr=False)
    _last: tuple = field(default=(None, None), repr=False)

    def __post_init__(self):
        self.log_m = np.log(self.m)

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(self.eff)

    def curve(self, dtype: str, n: float, k: float) -> np.ndarray:
        """Efficiency over the m grid at (n, k): bilinear in (log n, log k)."""
        key = (dtype, float(n), float(k))
        c = self._curves.get(key)
        if c is None:
            e = self.eff[dtype]
            a0, b0, w0 = G.axis_weights(self.n, np.array([n]))
            a1, b1, w1 = G.axis_weights(self.k, np.array([k]))
            a0, b0, w0, a1, b1, w1 = (int(a0[0]), int(b0[0]), float(w0[0]), int(a1[0]), int(b1[0]), float(w1[0]))
            c = ((1 - w0) * (1 - w1) * e[:, a0, a1] + (1 - w0) * w1 * e[:, a0, b1]
                 + w0 * (1 - w1) * e[:, b0, a1] + w0 * w1 * e[:, b0, b1])
            self._curves[key] = c
        return c

    def time(self, chip: Chip, dtype: str, m, n: float, k: float) -> np.ndarray:
        """Seconds for GEMMs of M rows (array) by a fixed [K, N] weight; 0 where M == 0."""
        m = np.asarray(m, dtype=float)
        last = self._last  # one read: (M, log M) stay paired when threads share the table
        if last[0] is m:  # a step's projections share one M array: its log once
            lm = last[1]
        else:
            lm = np.log(np.maximum(m, 1.0))
            self._last = (m, lm)
        eff = np.interp(lm, self.log_m, self.curve(dtype, n, k))  # linear in log M, clamped [grid]
        t = roofline(chip, dtype, m, n, k) / np.maximum(eff, 1e-6)
        return np.where(m > 0, t, 0.0)


def _build(ref: TableRef, chip: Chip) -> GemmTable | None:
    cols = read_columns(ref.path, ("gemm_dtype", "m", "n", "k", "latency"))
    dt, m, n, k, lat = (cols[c] for c in ("gemm_dtype", "m", "n", "k", "latency"))
    mg, ng, kg = (np.unique(x).astype(float) for x in (m, n, k))
    effs, dropped = {}, {}
    dts = dt.astype(str)
    floor = {d: float(np.min(lat[dts == d])) * 1e-3 for d in np.unique(dts)}
    for d in np.unique(dts):
        if d not in DTYPES or DTYPES[d][0] not in chip.tflops:
            continue
        if "bfloat16" in floor and floor[d] > FLOOR_RATIO * floor["bfloat16"]:
            dropped[d] = floor[d]
            continue
        sel = dt == d
        grid = np.full((len(mg), len(ng), len(kg)), np.nan)
        im, in_, ik = (np.searchsorted(g, x[sel]) for g, x in ((mg, m), (ng, n), (kg, k)))
        e = roofline(chip, d, m[sel], n[sel], k[sel]) / (lat[sel] * 1e-3)
        # several kernels per shape: keep the fastest (highest efficiency)
        np.fmax.at(grid, (im, in_, ik), e)
        grid = G.fill_log(mg, grid, axis=0)
        valid = np.isfinite(grid).all(axis=0)
        if not valid.any():
            continue
        grid = np.clip(G.fill_nearest([ng, kg], grid, valid), 1e-6, None)
        roof = roofline(chip, d, mg[:, None, None], ng[None, :, None], kg[None, None, :])
        effs[d] = G.monotone_latency(grid, roof, axis=0)
    if not effs:
        return None
    # a per-tensor FP8 checkpoint can run the per-tensor or the block-scaled FP8 kernels (engines ship
    # both; e.g. skinny per-tensor cuBLAS FP8 GEMMs are slow on Blackwell, DeepGEMM's are not): the faster
    if "fp8" in effs or "fp8_block" in effs:
        effs["fp8_any"] = np.maximum(effs.get("fp8", 0.0), effs.get("fp8_block", 0.0))
    return GemmTable(ref=ref, m=mg, n=ng, k=kg, eff=effs, dropped=dropped)


_CACHE: dict = {}


def gemm_table(chip: Chip, engine: str, version: str | None = None) -> GemmTable | None:
    """The GEMM table for a chip and engine (built once, then read from the disk cache), or None."""
    chip = measured_chip(chip)
    key = (chip_key(chip), engine, version)
    if key not in _CACHE:
        ref = find(chip.id, engine, "gemm", "gemm_perf.parquet", version)
        _CACHE[key] = _cached(ref, chip) if ref else None
    return _CACHE[key]


def _cached(ref: TableRef, chip: Chip) -> GemmTable | None:
    def build():
        t = _build(ref, chip)
        if t is None:
            return None
        return ({"ref": ref.as_meta(), "dtypes": list(t.eff), "dropped": t.dropped},
                {"m": t.m, "n": t.n, "k": t.k, **{f"eff_{d}": e for d, e in t.eff.items()}})

    got = load_or_build("gemm", [ref.path], chip_key(chip), build)
    if got is None:
        return None
    meta, a = got  # the provenance names this caller's request: the cache is shared by every release asked for
    return GemmTable(ref=ref, m=a["m"], n=a["n"], k=a["k"],
                     eff={d: a[f"eff_{d}"] for d in meta["dtypes"]}, dropped=meta.get("dropped", {}))


PROFILE_DTYPES = {"bf16": "bfloat16", "fp16": "bfloat16", "fp8": "fp8", "int8": "sq", "fp4": "nvfp4"}


def from_rows(chip: Chip, rows: list, name: str) -> GemmTable | None:
    """A GEMM table from a calibration profile's rows ({dtype, M, N, K, ms}); None without rows.

    A profile measured a few (N, K) shapes; other shapes take the efficiency of the nearest measured
    one (clamped interpolation), which is what the card showed at that size."""
    from infercast.errors import InfercastError

    if not rows:
        return None
    if not isinstance(rows, list):
        raise InfercastError(f"profile '{name}': 'gemm' must be a list of rows", field="profile")
    cols: dict[str, list] = {"dt": [], "m": [], "n": [], "k": [], "s": []}
    for i, r in enumerate(rows):
        try:
            dt = PROFILE_DTYPES[str(r["dtype"])]
            vals = [float(r[c]) for c in ("M", "N", "K", "ms")]
        except (KeyError, TypeError, ValueError):
            raise InfercastError(f"profile '{name}': gemm row {i} needs dtype (bf16, fp16, fp8, int8, fp4) and "
                                 "positive numbers M, N, K, ms", field="profile") from None
        if not all(np.isfinite(v) and v > 0 for v in vals):
            raise InfercastError(f"profile '{name}': gemm row {i} has a non-positive or non-finite M, N, K or ms",
                                 field="profile")
        if DTYPES[dt][0] not in chip.tflops:
            continue
        for c, v in zip(("dt", "m", "n", "k", "s"), (dt, *vals)):
            cols[c].append(v)
    if not cols["m"]:
        return None
    dt = np.array(cols["dt"])
    m, n, k, s = (np.array(cols[c]) for c in ("m", "n", "k", "s"))
    mg, ng, kg = (np.unique(x) for x in (m, n, k))
    effs = {}
    for d in np.unique(dt):
        sel = dt == d
        grid = np.full((len(mg), len(ng), len(kg)), np.nan)
        e = roofline(chip, d, m[sel], n[sel], k[sel]) / (s[sel] * 1e-3)
        np.fmax.at(grid, (np.searchsorted(mg, m[sel]), np.searchsorted(ng, n[sel]), np.searchsorted(kg, k[sel])), e)
        grid = G.fill_log(mg, grid, axis=0)
        valid = np.isfinite(grid).all(axis=0)
        if valid.any():
            effs[str(d)] = np.clip(G.fill_nearest([ng, kg], grid, valid), 1e-6, None)
    if not effs:
        return None
    ref = TableRef(path=__import__("pathlib").Path(name), system=chip.id, op="gemm", backend="profile",
                   version="", requested=None)
    return GemmTable(ref=ref, m=mg, n=ng, k=kg, eff=effs)
