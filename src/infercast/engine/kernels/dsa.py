"""Measured DeepSeek Sparse Attention modules (DeepSeek-V3.2, GLM-5): one layer's whole attention block, timed.

Rows of `sparse_attention/<backend>/<version>/dsa_{generation,context}_module_perf.parquet` (TensorRT-LLM, SGLang,
vLLM): architecture (DeepseekV32ForCausalLM, GlmMoeDsaForCausalLM), projection dtype (`gemm_type` bfloat16 /
fp8_block), KV dtype, heads on this GPU, batch, and cached tokens (decode: isl + step) or prompt length (prefill, no
cached prefix: step 0) -> ms for the module: the q/kv/o projections, the lightning indexer with its top-k, and sparse
MLA, as the engine runs them. Where an engine measured several kernel paths for one shape (SGLang's dense MHA for
short prompts beside its sparse kernels) the faster is taken, as the engine picks by shape.

Efficiency = the module's roofline (`roofline`: its weights, latent and index-key bytes over HBM bandwidth, or its
FLOPs over the 16-bit peak, whichever is slower) / measured, on a (batch, length) grid per layout; cells the sweep did
not measure (long contexts at large batches) take the efficiency of the same batch at the nearest measured length,
so their time grows with the work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infercast.engine.kernels import grid as G
from infercast.engine.kernels.attention import AttnTable, Layout, memoised
from infercast.engine.kernels.source import TableRef, read_columns
from infercast.engine.operators import sparse_attended
from infercast.specs.hardware import Chip
from infercast.specs.model import get_model

FILES = {"decode": "dsa_generation_module_perf.parquet", "prefill": "dsa_context_module_perf.parquet"}
# the table's architectures by the model dimensions that tell them apart (aiconfigurator-core's DSA_MODEL_DIMS)
ARCHITECTURES = {7168: "DeepseekV32ForCausalLM", 6144: "GlmMoeDsaForCausalLM"}
KV = {"bf16": "bfloat16", "fp16": "bfloat16", "fp8": "fp8"}


@dataclass(frozen=True)
class Want:
    arch: str
    gemm: str  # "bfloat16" | "fp8_block"
    kv: str  # "bfloat16" | "fp8"
    heads: int


# the catalog model whose dimensions each measured architecture has (the tables' own model ids)
SPECS = {"DeepseekV32ForCausalLM": "deepseek-v3.2", "GlmMoeDsaForCausalLM": "glm-5"}
BYTES = {"bfloat16": 2.0, "fp8_block": 1.0, "fp8": 1.0}


def module_weights(spec, heads: float) -> float:
    """Weights of one layer's attention block on a GPU with `heads` heads: the replicated down-projections and
    indexer, the per-head up- and output projections (DeepSeek-V3.2-Exp inference/model.py, MLA and Indexer)."""
    a, x, d = spec.mla, spec.dsa, spec.d_model
    qk = a.qk_nope_head_dim + a.qk_rope_head_dim
    q_in = a.q_lora_rank or d
    down = d * ((a.q_lora_rank or 0) + a.kv_lora_rank + a.qk_rope_head_dim)
    up = q_in * heads * qk + a.kv_lora_rank * heads * (a.qk_nope_head_dim + a.v_head_dim) + heads * a.v_head_dim * d
    return down + up + q_in * x.index_heads * x.index_head_dim + d * (x.index_head_dim + x.index_heads)


def roofline(chip: Chip, spec, heads, gemm: str, kv: str, batch, length, kind: str):
    """One layer's module at the roofline: `batch` decode tokens over `length` cached tokens, or `batch` prompts of
    `length` tokens (queries at positions 0..length attend min(position, top-k) in the latent)."""
    a, x = spec.mla, spec.dsa
    b, s = np.asarray(batch, dtype=float), np.asarray(length, dtype=float)
    w = module_weights(spec, heads)
    lat = a.kv_lora_rank + a.qk_rope_head_dim
    key = x.index_head_dim + 4.0  # FP8 index key and its FP32 scale
    per_att = 2.0 * heads * (2 * a.kv_lora_rank + a.qk_rope_head_dim)
    per_idx = 2.0 * x.index_heads * x.index_head_dim
    if kind == "decode":
        att = np.minimum(s, x.topk)
        flops = b * (2.0 * w + per_att * att + per_idx * s)
        nbytes = w * BYTES[gemm] + b * (att * lat * BYTES[kv] + s * key)
    else:
        att = sparse_attended(s / 2.0, x.topk)
        flops = b * s * (2.0 * w + per_att * att + per_idx * s / 2.0)
        nbytes = w * BYTES[gemm] + b * s * (lat * BYTES[kv] + key)
    return np.maximum(nbytes / chip.bandwidth, flops / chip.peak_flops("bf16"))


def _key(lay: Layout) -> tuple[str, str, str]:
    arch, gemm, kv = lay.dtype.split("/")
    return arch, gemm, kv


def _build(ref: TableRef, chip: Chip, kind: str) -> AttnTable | None:
    names = ("architecture", "gemm_type", "kv_cache_dtype", "kernel_source", "num_heads", "batch_size", "isl",
             "step", "latency")
    c = read_columns(ref.path, names)
    step = c["step"].astype(float)
    keep = np.ones(len(step), dtype=bool) if kind == "decode" else step == 0
    arch, gemm, kv, src = (c[n][keep].astype(str) for n in ("architecture", "gemm_type", "kv_cache_dtype",
                                                             "kernel_source"))
    h, b, isl = (c[n][keep].astype(float) for n in ("num_heads", "batch_size", "isl"))
    ctx = isl + step[keep] if kind == "decode" else isl
    lat = c["latency"][keep].astype(float) * 1e-3
    ok = np.isfinite(lat) & (lat > 0)
    cells: dict = {}
    for i in np.nonzero(ok)[0]:
        cells.setdefault((arch[i], gemm[i], kv[i], int(h[i])), {}).setdefault((b[i], ctx[i]), {}) \
            .setdefault(src[i], []).append(lat[i])
    g0, g1, out = {}, {}, {}
    for (a, gm, k, hh), pts in cells.items():
        bg = np.unique([p[0] for p in pts])
        sg = np.unique([p[1] for p in pts])
        grid = np.full((len(bg), len(sg)), np.nan)
        for (bb, ss), by_src in pts.items():
            grid[np.searchsorted(bg, bb), np.searchsorted(sg, ss)] = min(float(np.median(v)) for v in by_src.values())
        if a not in SPECS or gm not in BYTES or k not in BYTES:
            continue
        spec = get_model(SPECS[a])
        eff = roofline(chip, spec, hh, gm, k, bg[:, None], sg[None, :], kind) / grid
        # a batch's unmeasured lengths first (its own efficiency at the nearest length), then unmeasured batches
        eff = G.fill_log(bg, G.fill_log(sg, eff, axis=1), axis=0)
        if not np.isfinite(eff).all():
            continue
        lay = Layout(hh, 1, 0, f"{a}/{gm}/{k}")
        g0[lay], g1[lay], out[lay] = bg, sg, eff
    if not out:
        return None
    return AttnTable(ref=ref, kind=f"dsa_{kind}", g0=g0, g1=g1, eff=out)


def nearest(tab: AttnTable, want: Want) -> tuple[Layout, bool] | None:
    """The measured layout of the same architecture closest to `want`: projection dtype first, then KV dtype, then
    heads in log distance; None when the architecture was not measured."""
    cand = [lay for lay in tab.eff if _key(lay)[0] == want.arch]
    if not cand:
        return None

    def dist(lay: Layout) -> tuple:
        _, gm, kv = _key(lay)
        return (gm != want.gemm, kv != want.kv, abs(np.log(lay.heads / max(want.heads, 1))))

    best = min(cand, key=dist)
    return best, dist(best) == (False, False, 0.0)


def module_time(tab: AttnTable, lay: Layout, chip: Chip, spec, heads, gemm: str, kv: str, batch, length,
                kind: str) -> np.ndarray:
    """Seconds of one layer's module of `spec` (with `heads` heads on this GPU, projections `gemm`, KV `kv` in the
    table's names) for `batch` sequences (decode tokens, or prompts) at `length` cached or prompt tokens, at the
    measured layout `lay`'s efficiency; 0 where the batch is 0."""
    b = np.asarray(batch, dtype=float)
    s = np.maximum(np.asarray(length, dtype=float), 1.0)
    eff = G.interp2(tab.g0[lay], tab.g1[lay], tab.eff[lay], np.maximum(b, 1.0), s)
    t = roofline(chip, spec, heads, gemm, kv, np.maximum(b, 1.0), s, kind) / np.maximum(eff, 1e-9)
    return np.where(b > 0, t, 0.0)


_CACHE: dict = {}


def dsa_table(chip: Chip, engine: str, kind: str, version: str | None = None) -> AttnTable | None:
    """The DSA module table for a chip, engine and phase ('decode' | 'prefill'), or None."""
    return memoised(_CACHE, chip, engine, kind, version, "sparse_attention", FILES[kind],
                    lambda ref, c, _: _build(ref, c, kind), f"dsa_{kind}")
