"""Measured Gated DeltaNet tables (Qwen3.5's linear-attention layers): decode and prefill, per heads per GPU.

Rows of `linear_attention/<backend>/<version>/gdn_perf.parquet` (TensorRT-LLM, vLLM and SGLang backends):
kernel (causal_conv1d_update + fused_recurrent_gated_delta_rule[_packed_decode] in generation; causal_conv1d_fn +
chunk_gated_delta_rule[_flashinfer] in context), batch, prompt length, value and key heads on this GPU (the model's
heads / TP), head dims 128 -> ms for one layer. The two kernels of a phase are summed. Efficiency = the layer's
roofline (operators.gdn_work: state, conv and activation bytes over HBM bandwidth, or its FLOPs over the 16-bit
peak, whichever is slower) / measured, on a (batch, prompt length) grid per head layout; a layout that was not
measured borrows the nearest one's efficiency (attention.AttnTable.nearest).
"""
from __future__ import annotations

import numpy as np

from infercast.engine.kernels import grid as G
from infercast.engine.kernels.attention import AttnTable, Layout, memoised
from infercast.engine.kernels.source import TableRef, read_columns
from infercast.engine.operators import gdn_work
from infercast.specs.hardware import Chip

FILE = "gdn_perf.parquet"
PHASE = {"decode": "generation", "prefill": "context"}


def roofline(chip: Chip, hv, hk, dk, dv, batch, isl, kind: str):
    """One layer's time at the roofline: `batch` decode tokens, or `batch` prompts of `isl` tokens."""
    b = np.asarray(batch, dtype=float)
    if kind == "decode":
        flops, nbytes = gdn_work(hv, hk, dk, dv, b, 0.0, 0.0)
    else:
        flops, nbytes = gdn_work(hv, hk, dk, dv, 0.0, b * np.asarray(isl, dtype=float), b)
    return np.maximum(nbytes / chip.bandwidth, flops / chip.peak_flops("bf16"))


def _build(ref: TableRef, chip: Chip, kind: str) -> AttnTable | None:
    names = ("kernel_source", "phase", "batch_size", "seq_len", "num_k_heads", "head_k_dim", "num_v_heads",
             "head_v_dim", "latency")
    c = read_columns(ref.path, names)
    keep = c["phase"].astype(str) == PHASE[kind]
    cols = {n: c[n][keep] for n in names}
    hv, hk, dk, dv, b, s = (cols[n].astype(float) for n in ("num_v_heads", "num_k_heads", "head_k_dim", "head_v_dim",
                                                              "batch_size", "seq_len"))
    lat = cols["latency"].astype(float) * 1e-3
    src = cols["kernel_source"].astype(str)
    # the phase's two kernels at one shape, summed (repeated measurements of a kernel: their median)
    cells: dict = {}
    for i in range(len(lat)):
        key = (hv[i], hk[i], dk[i], dv[i], b[i], s[i])
        cells.setdefault(key, {}).setdefault(src[i], []).append(lat[i])
    conv = "causal_conv1d_update" if kind == "decode" else "causal_conv1d_fn"
    shapes = {k: sum(float(np.median(v)) for v in ks.values()) for k, ks in cells.items()
              if conv in ks and len(ks) == 2}
    g0, g1, eff = {}, {}, {}
    for lay in {k[:4] for k in shapes}:
        pts = [(k[4], k[5], t) for k, t in shapes.items() if k[:4] == lay]
        bg = np.unique([p[0] for p in pts])
        sg = np.unique([p[1] for p in pts]) if kind == "prefill" else np.array([1.0])
        grid = np.full((len(bg), len(sg)), np.nan)
        for bb, ss, t in pts:
            j = 0 if kind == "decode" else int(np.searchsorted(sg, ss))
            grid[int(np.searchsorted(bg, bb)), j] = float(roofline(chip, *lay, bb, ss, kind)) / t
        grid = G.fill_log(sg, G.fill_log(bg, grid, axis=0), axis=1)
        if not np.isfinite(grid).all():
            continue
        roof = roofline(chip, *lay, bg[:, None], sg[None, :], kind)
        grid = G.monotone_latency(G.monotone_latency(grid, roof, axis=0), roof, axis=1)
        key = Layout(int(lay[0]), int(lay[1]), int(lay[2]), "gdn")
        g0[key], g1[key], eff[key] = bg, sg, np.minimum(grid, 1.0)
    if not eff:
        return None
    return AttnTable(ref=ref, kind=f"gdn_{kind}", g0=g0, g1=g1, eff=eff)


_CACHE: dict = {}


def gdn_table(chip: Chip, engine: str, kind: str, version: str | None = None) -> AttnTable | None:
    """Gated DeltaNet decode ('decode') or prefill ('prefill') table for a chip and engine, or None."""
    return memoised(_CACHE, chip, engine, kind, version, "linear_attention", FILE,
                    lambda ref, c, _: _build(ref, c, kind), f"gdn_{kind}")
