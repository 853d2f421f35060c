"""Measured multi-head latent attention (DeepSeek MLA) tables: decode and prefill, per heads per GPU.

Rows of `generation_mla_perf.parquet` / `context_mla_perf.parquet` (TensorRT-LLM and SGLang
backends): heads on this GPU (128 / TP for DeepSeek-V3), batch, cached tokens (isl + step) or
prompt length, KV dtype -> ms per layer. The latent cache (kv_lora_rank + rope dims) is not split
by TP, so decode streams all of it on every GPU.

Decode efficiency = max(latent bytes / HBM bandwidth, absorbed FLOPs / 16-bit peak) / measured,
absorbed FLOPs = 2 x heads x (2 x kv_lora + rope) per cached token [DeepSeek-V2 §2.1, weight
absorption]. Prefill efficiency = causal FLOPs (heads x isl^2 x (qk_dim + v_dim) per sequence) /
peak / measured. Table shapes are DeepSeek-V3's (kv_lora 512, rope 64, qk_nope 128, v 128); other
MLA models are timed in efficiency space at the same heads and sizes.
"""
from __future__ import annotations

import numpy as np

from infercast.engine.kernels import grid as G
from infercast.engine.kernels.attention import AttnTable, Layout, memoised
from infercast.engine.kernels.source import TableRef, read_columns
from infercast.specs.hardware import Chip

DSV3 = dict(kv_lora=512, rope=64, nope=128, v=128)

# DeepSeek sparse attention's prefill kernel (token-level sparse MLA in the latent): "up to 640 TFlops during
# prefilling" on H800 (deepseek-ai/FlashMLA README, release of 2025-09-29), over H800's 989.4 dense BF16 TFLOP/s
SPARSE_PREFILL_FRACTION = 640.0 / 989.4
SPARSE_PREFILL_NOTE = "FlashMLA sparse prefill: up to 640 TFLOP/s on H800, 0.65 of its BF16 peak (FlashMLA README)"
KV_BYTES = {"bfloat16": 2.0, "fp8": 1.0}


def decode_roofline(chip: Chip, batch, context, heads, kv_lora, rope, kv_bytes):
    b, s = np.asarray(batch, dtype=float), np.asarray(context, dtype=float)
    nbytes = b * s * (kv_lora + rope) * kv_bytes
    flops = 2.0 * b * heads * s * (2 * kv_lora + rope)
    return np.maximum(nbytes / chip.bandwidth, flops / chip.peak_flops("bf16"))


def prefill_flops(seqs, isl, heads, qk_dim, v_dim):
    return np.asarray(seqs, dtype=float) * heads * np.asarray(isl, dtype=float) ** 2 * (qk_dim + v_dim)


def _build(ref: TableRef, chip: Chip, kind: str) -> AttnTable | None:
    names = ("mla_dtype", "kv_cache_dtype", "num_heads", "batch_size", "isl", "step", "latency")
    c = read_columns(ref.path, names)
    h, b, isl, step = (c[n].astype(float) for n in ("num_heads", "batch_size", "isl", "step"))
    lat = c["latency"].astype(float) * 1e-3
    kvd = c["kv_cache_dtype"].astype(str)
    d = DSV3
    if kind == "decode":
        ctx = isl + step
        kvb = np.array([KV_BYTES.get(x, 2.0) for x in kvd])
        e = decode_roofline(chip, b, ctx, h, d["kv_lora"], d["rope"], kvb) / lat
    else:
        ctx = isl
        e = prefill_flops(b, isl, h, d["nope"] + d["rope"], d["v"]) / chip.peak_flops("bf16") / lat
    g0, g1, eff = {}, {}, {}
    for hh, dt in {(int(x), y) for x, y in zip(h, kvd)}:
        sel = (h == hh) & (kvd == dt)
        bg, sg = np.unique(b[sel]), np.unique(ctx[sel])
        grid = np.full((len(bg), len(sg)), np.nan)
        # repeated measurements of a cell: the median efficiency, so one slow outlier does not count
        cells = {}
        for i, j, v in zip(np.searchsorted(bg, b[sel]), np.searchsorted(sg, ctx[sel]), e[sel]):
            cells.setdefault((i, j), []).append(v)
        for (i, j), vs in cells.items():
            grid[i, j] = float(np.median(vs))
        grid = G.fill_log(sg, G.fill_log(bg, grid, axis=0), axis=1)
        if kind == "decode":
            roof = decode_roofline(chip, bg[:, None], sg[None, :], hh, d["kv_lora"], d["rope"], KV_BYTES.get(dt, 2.0))
        else:
            roof = prefill_flops(bg[:, None], sg[None, :], hh, d["nope"] + d["rope"], d["v"]) / chip.peak_flops("bf16")
        if np.isfinite(grid).all():
            grid = G.monotone_latency(G.monotone_latency(grid, roof, axis=0), roof, axis=1)
            lay = Layout(hh, 1, d["kv_lora"] + d["rope"], dt)
            g0[lay], g1[lay], eff[lay] = bg, sg, grid
    if not eff:
        return None
    return AttnTable(ref=ref, kind=f"mla_{kind}", g0=g0, g1=g1, eff=eff)


_CACHE: dict = {}


def mla_table(chip: Chip, engine: str, kind: str, version: str | None = None) -> AttnTable | None:
    """MLA decode ('decode') or prefill ('prefill') table for a chip and engine, or None."""
    fname = "generation_mla_perf.parquet" if kind == "decode" else "context_mla_perf.parquet"
    return memoised(_CACHE, chip, engine, kind, version, "mla", fname, _build)
