"""Interpolation on measured grids, in log space: the shared arithmetic of every kernel table.

Tables store an *efficiency* (a simple roofline's time over the measured time, so ~1 at a
kernel's best and smaller where fixed costs dominate). Efficiency varies smoothly with log size
and extrapolates sensibly when clamped at a grid's edge: a shape larger than any measured one
runs at the efficiency of the largest measured shape, i.e. its time scales with its work.
"""
from __future__ import annotations

import numpy as np


def axis_weights(grid: np.ndarray, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower index, upper index and upper weight for linear interpolation of log(x) on log(grid),
    clamped to the grid's ends (vectorised over x): the fractional grid position of log(x), by np.interp."""
    n = len(grid)
    lx = np.log(np.maximum(np.asarray(x, dtype=float), grid[0]))
    if n == 1:
        z = np.zeros(np.shape(lx), dtype=np.intp)
        return z, z, np.zeros(np.shape(lx))
    pos = np.interp(lx, np.log(grid), np.arange(n, dtype=float))  # in [0, n - 1]: clamped at both ends
    lo = np.minimum(np.where(pos >= 0, pos, 0.0).astype(np.intp), n - 2)  # a NaN keeps index 0 and a NaN weight
    return lo, lo + 1, pos - lo


def interp1(grid: np.ndarray, values: np.ndarray, x) -> np.ndarray:
    """values[i] at grid[i]; linear in log(x), clamped."""
    return np.interp(np.log(np.maximum(np.asarray(x, dtype=float), 1e-300)), np.log(grid), values)


def interp2(g0: np.ndarray, g1: np.ndarray, values: np.ndarray, x0, x1) -> np.ndarray:
    """values[i, j] at (g0[i], g1[j]); bilinear in (log x0, log x1), clamped; broadcasts x0, x1."""
    # each axis's weights on its own array (a context shared by a whole sweep is one number): they broadcast below
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    if x1.ndim == 0 and len(g0) > 1:  # one context for the whole array: the line at it, then linear in log x0
        a1, b1, w1 = axis_weights(g1, x1)
        line = (1 - w1) * values[:, a1] + w1 * values[:, b1]
        return np.interp(np.log(np.maximum(x0, g0[0])), np.log(g0), line)
    if x0.ndim == 0 and len(g1) > 1:  # one batch for the whole array: likewise along the other axis
        a0, b0, w0 = axis_weights(g0, x0)
        line = (1 - w0) * values[a0, :] + w0 * values[b0, :]
        return np.interp(np.log(np.maximum(x1, g1[0])), np.log(g1), line)
    a0, b0, w0 = axis_weights(g0, x0)
    a1, b1, w1 = axis_weights(g1, x1)
    return ((1 - w0) * (1 - w1) * values[a0, a1] + (1 - w0) * w1 * values[a0, b1]
            + w0 * (1 - w1) * values[b0, a1] + w0 * w1 * values[b0, b1])


def fill_log(grid: np.ndarray, values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Fill NaNs along `axis` by interpolation in log(grid) from the measured points of that line
    (constant beyond the ends); lines with no measurement stay NaN."""
    v = np.moveaxis(np.array(values, dtype=float), axis, 0)
    flat = v.reshape(v.shape[0], -1)
    lg = np.log(grid)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = np.isfinite(col)
        if ok.any() and not ok.all():
            flat[:, j] = np.interp(lg, lg[ok], col[ok])
    return np.moveaxis(flat.reshape(v.shape), 0, axis)


def fill_nearest(coords: list[np.ndarray], values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace entries where `valid` is False (a boolean mask over the last len(coords) axes) by the
    nearest valid entry in log-coordinate distance."""
    grids = np.meshgrid(*[np.log(c) for c in coords], indexing="ij")
    pts = np.stack([g[valid] for g in grids], axis=1)
    if len(pts) == 0:
        return values
    out = values.copy()
    lead = values.shape[: values.ndim - len(coords)]
    for idx in zip(*np.nonzero(~valid)):
        q = np.array([g[idx] for g in grids])
        near = np.argmin(((pts - q) ** 2).sum(axis=1))
        src = tuple(np.array(np.nonzero(valid))[:, near])
        out[(slice(None),) * len(lead) + tuple(idx)] = values[(slice(None),) * len(lead) + src]
    return out


def isotonic(y: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to y in least squares (pool-adjacent-violators)."""
    vals: list[float] = []
    wts: list[int] = []
    for v in y:
        vals.append(float(v))
        wts.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            w = wts[-2] + wts[-1]
            vals[-2] = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / w
            wts[-2] = w
            vals.pop()
            wts.pop()
    return np.repeat(vals, wts)


def monotone_latency(eff: np.ndarray, roof: np.ndarray, axis: int, median: int = 1) -> np.ndarray:
    """Efficiencies whose implied latency (roof / eff) never falls as the work along `axis` grows:
    a kernel given more rows, tokens or context does not finish sooner, so a measured dip (or an
    isolated slow point) is noise. Latency along the axis is first median-filtered over `median`
    neighbouring points (odd; 1 = none), then replaced by its isotonic least-squares fit."""
    lat = np.moveaxis(np.broadcast_to(roof / eff, np.broadcast(roof, eff).shape).copy(), axis, 0)
    flat = lat.reshape(lat.shape[0], -1)
    h = median // 2
    for j in range(flat.shape[1]):
        col = flat[:, j]
        if h:
            col = np.array([np.median(col[max(0, i - h):i + h + 1]) for i in range(len(col))])
        flat[:, j] = isotonic(col)
    lat = np.moveaxis(flat.reshape(lat.shape), 0, axis)
    return np.broadcast_to(roof, lat.shape) / lat
