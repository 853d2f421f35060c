"""Measured attention tables: decode (generation) and prefill (context) attention per head layout.

Decode rows (`generation_attention_perf.parquet`): batch, cached tokens (isl + step), query heads,
KV heads, head dim, KV dtype -> ms for one layer's attention kernel (in TensorRT-LLM it includes
RoPE and the KV-cache write of the new token). Efficiency = max(KV bytes / HBM bandwidth,
FLOPs / 16-bit peak) / measured, on a (batch, context) grid per head layout.

Prefill rows (`context_attention_perf.parquet`): batch, prompt length -> ms for causal attention
over the prompts; efficiency = (2 x batch x heads x head_dim x isl^2 causal FLOPs) / peak / measured.

A head layout that was not measured borrows the efficiency grid of the nearest measured one (same
KV dtype and head dim where possible, then nearest KV heads and grouping ratio in log distance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infercast.engine.kernels import grid as G
from infercast.engine.kernels.cache import load_or_build
from infercast.engine.kernels.source import measured_chip, TableRef, chip_key, find, read_columns
from infercast.specs.hardware import Chip

KV_BYTES = {"bfloat16": 2.0, "float16": 2.0, "fp8": 1.0}


def kv_table_dtype(kv: str) -> str:
    return "fp8" if kv in ("fp8", "int8", "fp4", "int4") else "bfloat16"


@dataclass(frozen=True)
class Layout:
    heads: int
    kv_heads: int
    head_dim: int
    dtype: str  # kv dtype (decode) or "attn/kv" (prefill)


@dataclass
class AttnTable:
    ref: TableRef
    kind: str  # "decode" | "prefill"
    g0: dict  # layout -> batch grid
    g1: dict  # layout -> context grid
    eff: dict  # layout -> eff[batch, context]

    def nearest(self, want: Layout) -> tuple[Layout, bool]:
        if want in self.eff:
            return want, True
        cand = list(self.eff)
        same_dt = [c for c in cand if c.dtype == want.dtype] or cand
        same_hd = [c for c in same_dt if c.head_dim == want.head_dim] or same_dt

        def dist(c: Layout) -> float:
            return (abs(np.log(c.kv_heads / want.kv_heads)) + abs(np.log((c.heads / c.kv_heads) / (want.heads / want.kv_heads)))
                    + 0.5 * abs(np.log(c.head_dim / want.head_dim)))

        return min(same_hd, key=dist), False

    def efficiency(self, want: Layout, batch, context) -> tuple[np.ndarray, bool]:
        lay, exact = self.nearest(want)
        e = G.interp2(self.g0[lay], self.g1[lay], self.eff[lay], np.maximum(batch, 1.0), np.maximum(context, 1.0))
        return np.maximum(e, 1e-6), exact


def decode_roofline(chip: Chip, batch, context, heads, kv_heads, head_dim, kv_bytes):
    """One layer's decode attention at the roofline: stream every cached K and V byte, or the
    4 x heads x head_dim FLOPs per cached token, whichever is slower [SB-inf 1.5]."""
    b, s = np.asarray(batch, dtype=float), np.asarray(context, dtype=float)
    nbytes = b * s * 2.0 * kv_heads * head_dim * kv_bytes
    flops = 4.0 * b * heads * head_dim * s
    return np.maximum(nbytes / chip.bandwidth, flops / chip.peak_flops("bf16"))


def prefill_flops(seqs, isl, heads, head_dim):
    """Causal attention FLOPs over `seqs` prompts of `isl` tokens: QK^T and AV over half the square."""
    return 2.0 * np.asarray(seqs, dtype=float) * heads * head_dim * np.asarray(isl, dtype=float) ** 2


def _build(ref: TableRef, chip: Chip, kind: str) -> AttnTable | None:
    names = ("batch_size", "isl", "num_heads", "num_key_value_heads", "head_dim", "window_size", "attn_dtype",
             "kv_cache_dtype", "step", "latency")
    c = read_columns(ref.path, names)
    keep = (c["window_size"] == 0)
    b, isl, h, g, hd = (c[n][keep].astype(float) for n in ("batch_size", "isl", "num_heads", "num_key_value_heads",
                                                           "head_dim"))
    step, lat = c["step"][keep].astype(float), c["latency"][keep].astype(float) * 1e-3
    kvd = c["kv_cache_dtype"][keep].astype(str)
    atd = c["attn_dtype"][keep].astype(str)
    if kind == "decode":
        ctx = isl + step
        kvb = np.array([KV_BYTES.get(x, 2.0) for x in kvd])
        e = decode_roofline(chip, b, ctx, h, g, hd, kvb) / lat
        dts = kvd
    else:
        ctx = isl
        peak = np.where(atd == "fp8", chip.peak_flops("fp8") if "fp8" in chip.tflops else chip.peak_flops("bf16"),
                        chip.peak_flops("bf16"))
        e = prefill_flops(b, isl, h, hd) / peak / lat
        dts = np.char.add(np.char.add(atd, "/"), kvd)
    g0, g1, eff = {}, {}, {}
    keys = np.stack([h, g, hd], axis=1)
    for key in {(int(x), int(y), int(z), d) for (x, y, z), d in zip(keys, dts)}:
        sel = (h == key[0]) & (g == key[1]) & (hd == key[2]) & (dts == key[3])
        bg, sg = np.unique(b[sel]), np.unique(ctx[sel])
        grid = np.full((len(bg), len(sg)), np.nan)
        np.fmax.at(grid, (np.searchsorted(bg, b[sel]), np.searchsorted(sg, ctx[sel])), e[sel])
        grid = G.fill_log(sg, G.fill_log(bg, grid, axis=0), axis=1)
        if not np.isfinite(grid).all():
            continue
        if kind == "decode":
            roof = decode_roofline(chip, bg[:, None], sg[None, :], key[0], key[1], key[2], KV_BYTES.get(key[3], 2.0))
        else:
            peak = chip.peak_flops("fp8") if key[3].startswith("fp8") and "fp8" in chip.tflops else chip.peak_flops("bf16")
            roof = prefill_flops(bg[:, None], sg[None, :], key[0], key[2]) / peak
        grid = G.monotone_latency(G.monotone_latency(grid, roof, axis=0), roof, axis=1)
        if kind == "decode" and np.median(grid[:, -1]) > 1.1:
            continue  # faster than the datasheet bandwidth at the longest context: not an HBM measurement
        grid = np.minimum(grid, 1.0)
        lay = Layout(*key)
        g0[lay], g1[lay], eff[lay] = bg, sg, grid
    if not eff:
        return None
    return AttnTable(ref=ref, kind=kind, g0=g0, g1=g1, eff=eff)


_CACHE: dict = {}


def attention_table(chip: Chip, engine: str, kind: str, version: str | None = None) -> AttnTable | None:
    """Decode ('decode') or prefill ('prefill') attention table for a chip and engine, or None."""
    fname = "generation_attention_perf.parquet" if kind == "decode" else "context_attention_perf.parquet"
    return memoised(_CACHE, chip, engine, kind, version, "attention", fname, _build)


def memoised(cache: dict, chip: Chip, engine: str, kind: str, version: str | None, op: str, filename: str,
             builder, cache_kind: str | None = None) -> AttnTable | None:
    """An attention-like table for (chip, engine, phase, release), built once per process from the release that
    serves it (`source.find`) through the disk cache; None where no release measured it."""
    chip = measured_chip(chip)
    key = (chip_key(chip), engine, kind, version)
    if key not in cache:
        ref = find(chip.id, engine, op, filename, version)
        cache[key] = cached_grids(ref, chip, cache_kind or kind, builder) if ref else None
    return cache[key]


def cached_grids(ref: TableRef, chip: Chip, kind: str, builder) -> AttnTable | None:
    """An attention-like table (grids per layout) through the disk cache."""
    def build():
        t = builder(ref, chip, kind)
        if t is None:
            return None
        lays = list(t.eff)
        arrays = {"g0": np.concatenate([t.g0[x] for x in lays]), "g1": np.concatenate([t.g1[x] for x in lays]),
                  "eff": np.concatenate([t.eff[x].ravel() for x in lays])}
        return {"ref": ref.as_meta(), "kind": t.kind, "n0": [len(t.g0[x]) for x in lays],
                "n1": [len(t.g1[x]) for x in lays],
                "layouts": [[int(x.heads), int(x.kv_heads), int(x.head_dim), str(x.dtype)] for x in lays]}, arrays

    got = load_or_build(f"attention-{kind}", [ref.path], chip_key(chip), build)
    if got is None:
        return None
    meta, a = got
    lays = [Layout(*x) for x in meta["layouts"]]
    n0, n1 = meta["n0"], meta["n1"]
    c0, c1 = np.cumsum([0] + n0), np.cumsum([0] + n1)
    ce = np.cumsum([0] + [x * y for x, y in zip(n0, n1)])
    return AttnTable(ref=ref, kind=meta["kind"],  # this caller's request, as in gemm._cached
                     g0={x: a["g0"][c0[i]:c0[i + 1]] for i, x in enumerate(lays)},
                     g1={x: a["g1"][c1[i]:c1[i + 1]] for i, x in enumerate(lays)},
                     eff={x: a["eff"][ce[i]:ce[i + 1]].reshape(n0[i], n1[i]) for i, x in enumerate(lays)})
