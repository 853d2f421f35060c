"""A calibration profile's per-shape measurements (`infercast calibrate`) as time curves.

A profile times GEMMs at the shapes of chosen models (`gemm_shapes`, each (dtype, N, K) over several
M), attention at several sizes (`attention_prefill`, `attention_decode`) and MoE models' routed-expert
layers (`moe`, each (hidden, inter, top-k, experts) over the tokens entering the layer). Each becomes a
curve of time against one size variable: M for a GEMM of fixed weight, KV bytes for decode attention,
causal FLOPs for prefill attention, tokens for a MoE layer. Between measured sizes the time is
interpolated in log-log; below the smallest the kernel is taken at the smallest one's time (a kernel
this small is latency-bound: launch, ramp, tail); above the largest, at the largest one's rate (time
proportional to size).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infercast.errors import InfercastError


@dataclass(frozen=True)
class Curve:
    x: np.ndarray  # sizes, increasing
    t: np.ndarray  # seconds, non-decreasing

    def time(self, x) -> np.ndarray:
        x = np.maximum(np.asarray(x, dtype=float), 1e-30)
        lx, lt = np.log(self.x), np.log(self.t)
        inside = np.exp(np.interp(np.log(x), lx, lt))  # clamped at both ends
        above = self.t[-1] * x / self.x[-1]
        return np.where(x > self.x[-1], above, inside)


def curve(x, t) -> Curve | None:
    """A curve through (size, seconds) points: the fastest time per size, made non-decreasing in size
    (more work never takes less time; a faster larger measurement bounds the smaller one)."""
    x, t = np.asarray(x, dtype=float), np.asarray(t, dtype=float)
    ok = np.isfinite(x) & np.isfinite(t) & (x > 0) & (t > 0)
    if not ok.any():
        return None
    xs = np.unique(x[ok])
    ts = np.array([t[ok][x[ok] == v].min() for v in xs])
    ts = np.minimum.accumulate(ts[::-1])[::-1]  # t(x) <= t(x') for x < x'
    return Curve(xs, ts)


def _num(r: dict, key: str, name: str, what: str) -> float:
    try:
        v = float(r[key])
    except (KeyError, TypeError, ValueError):
        raise InfercastError(f"profile '{name}': a {what} row needs a number '{key}'", field="profile") from None
    if not (np.isfinite(v) and v > 0):
        raise InfercastError(f"profile '{name}': a {what} row has a non-positive or non-finite '{key}'",
                             field="profile")
    return v


def gemm_curves(rows: list, dtypes: dict[str, str], name: str) -> dict[tuple[str, float, float], Curve]:
    """(table dtype, N, K) -> time over M, for every weight shape measured at two or more M."""
    pts: dict[tuple[str, float, float], list[tuple[float, float]]] = {}
    for r in rows if isinstance(rows, list) else []:
        if not isinstance(r, dict):
            raise InfercastError(f"profile '{name}': every gemm_shapes row must be an object", field="profile")
        dt = dtypes.get(str(r.get("dtype")))
        if dt is None:
            continue
        m, n, k, ms = (_num(r, c, name, "gemm") for c in ("M", "N", "K", "ms"))
        pts.setdefault((dt, n, k), []).append((m, ms * 1e-3))
    return _curves(pts)


def _curves(pts: dict) -> dict:
    """key -> curve through its (size, seconds) points, for every key measured at two or more sizes."""
    out = {}
    for key, p in pts.items():
        if len({x for x, _ in p}) >= 2:
            c = curve([x for x, _ in p], [t for _, t in p])
            if c is not None:
                out[key] = c
    return out


def attention_curves(prof: dict, name: str) -> tuple[Curve | None, Curve | None]:
    """(decode: seconds over KV bytes read, prefill: seconds over causal FLOPs), None where not measured."""
    dec = prof.get("attention_decode") or []
    pre = prof.get("attention_prefill") or []
    dx, dt, px, pt = [], [], [], []
    for r in dec if isinstance(dec, list) else []:
        b, kv, c, d, ms = (_num(r, k, name, "attention_decode") for k in ("batch", "kv_heads", "context", "head_dim",
                                                                         "ms"))
        esize = _num(r, "kv_bytes", name, "attention_decode") / (2 * b * kv * c * d) if r.get("kv_bytes") else 2.0
        dx.append(2.0 * b * kv * c * d * esize)  # K and V of every cached token [calibrate.measure_attention_decode]
        dt.append(ms * 1e-3)
    for r in pre if isinstance(pre, list) else []:
        b, h, s, d, ms = (_num(r, k, name, "attention_prefill") for k in ("batch", "heads", "seq", "head_dim", "ms"))
        px.append(4.0 * b * h * s * s * d / 2)  # QK^T and AV over half the square [calibrate.measure_attention_prefill]
        pt.append(ms * 1e-3)
    return (curve(dx, dt) if len(dx) >= 2 else None), (curve(px, pt) if len(px) >= 2 else None)


MoEKey = tuple  # (dtype, hidden, inter, top-k, experts)


def moe_curves(rows: list, name: str) -> dict[MoEKey, Curve]:
    """(dtype, hidden, inter, top-k, experts) -> seconds over tokens, for every routed-expert layer the profile
    timed at two or more token counts on one GPU [calibrate.measure_moe]."""
    pts: dict[MoEKey, list[tuple[float, float]]] = {}
    for r in rows if isinstance(rows, list) else []:
        if not isinstance(r, dict):
            raise InfercastError(f"profile '{name}': every moe row must be an object", field="profile")
        h, f, k, e, n, ms = (_num(r, c, name, "moe") for c in ("hidden", "inter", "topk", "experts", "tokens", "ms"))
        pts.setdefault((str(r.get("dtype", "bf16")), h, f, k, e), []).append((n, ms * 1e-3))
    return _curves(pts)
