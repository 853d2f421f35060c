"""Measured MoE tables: one routed-expert layer (grouped GEMMs, permutation, combine) per GPU.

Rows of `moe_perf.parquet`: dtype, num_tokens (tokens entering the layer across the expert-parallel
group: the dispatch gathers every rank's tokens), hidden, expert inter size, top-k, experts,
moe_tp, moe_ep, routing distribution -> ms. The routing follows aiconfigurator's default
(`power_law` with alpha 1.01, sdk/config.py and sdk/models/deepseek.py: real routers are
imbalanced) where measured, else balanced.

Efficiency = roofline / measured, the roofline being the larger of the layer's FLOPs on this GPU
(2 x 3 x hidden x inter per token-expert pair, pairs split over moe_tp x moe_ep GPUs) at the
dtype's peak, and the bytes of the experts it touches (E/ep experts, each hit with probability
1 - (1 - k/E)^tokens [EP-nb MoE weight traffic], 1/moe_tp of each) at HBM bandwidth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infercast.engine.kernels import grid as G
from infercast.engine.kernels.cache import load_or_build
from infercast.engine.kernels.gemm import DTYPES as GEMM_DTYPES
from infercast.engine.kernels.source import measured_chip, TableRef, chip_key, find_all, read_columns
from infercast.specs.hardware import Chip

# MXFP4: one e8m0 scale per 32 elements; with MXFP8 activations the MMA runs at the fp8 rate [OCP MX spec v1.0]
DTYPES = dict(GEMM_DTYPES, w4a16_mxfp4=("bf16", 0.53125, 2.0), w4a8_mxfp4_mxfp8=("fp8", 0.53125, 1.03125))
DISTRIBUTIONS = ("power_law_1.01", "balanced", "uniform", "power_law_1.2")
# kernel paths a table measured that the engine does not run for these weights, each with why: vLLM serves MXFP4
# experts with FlashInfer's MoE kernel on Blackwell and OpenAI's Triton kernel on Hopper (blog.vllm.ai 2025-08-05
# "vLLM Now Supports gpt-oss"; aiconfigurator's vLLM 0.24 tables measure those, kernel_source
# vllm_gptossmxfp4moe_*), while its 0.19 tables measure a generic vllm_mxfp4_moe path 3-4x slower on B200
UNUSED_KERNELS = {"vllm_mxfp4_moe"}
# SGLang's wide-EP tables: DeepEP dispatch + DeepGEMM grouped GEMM (attention data-parallel, experts over EP
# ranks), one for prefill-sized token counts (normal mode) and one for decode (low-latency mode)
WIDE_EP_FILES = ("wideep_generation_moe_perf.parquet", "wideep_context_moe_perf.parquet")
# CURRENT_ROUTING_ENGINES: a release older than every measured MoE release is timed from aiconfigurator's current
# release, not the oldest: the routing the older collections stand for differs. Same kernel
# (moe_torch_flow_cutlass), same shape, H200, TensorRT-LLM 1.3.0rc10 against rc20 (aiconfigurator-core 0.12.0): the
# balanced rows agree within 5-30 %, but at T x k <= E with EP > 1 the power-law rows of rc10 take 2-5x longer
# (DeepSeek's layer at 4 tokens, EP 8: 0.27 ms, the weights of ~27 of a rank's 32 experts, against 0.09 ms; balanced
# 0.08 against 0.07 ms). The current generator (aiconfigurator collector helper `_generate_power_law_distribution`)
# rounds a power-law sample on [0.01, 2] to T x k tokens when T x k <= E, so only a few tens of experts get any:
# rc10's rows stand for another routing (rc23's collection notes call the rc10 folders "bridging dirs"). Only
# TensorRT-LLM's releases differ this way: vLLM 0.19 is 1.2-1.5x slower than 0.24 on B200 in balanced and power-law
# rows alike (a faster engine, so the oldest release stays the proxy for older ones), SGLang 0.5.10 and 0.5.14 agree.
CURRENT_ROUTING_ENGINES = {"tensorrt-llm"}


@dataclass(frozen=True)
class MoEShape:
    hidden: int
    inter: int
    topk: int
    experts: int
    moe_tp: int
    moe_ep: int
    dtype: str


def roofline(chip: Chip, s: MoEShape, tokens, gated: bool = True):
    tokens = np.asarray(tokens, dtype=float)
    prec, wb, _ = DTYPES[s.dtype]
    mats = 3 if gated else 2
    gpus = s.moe_tp * s.moe_ep
    flops = 2.0 * mats * s.hidden * s.inter * tokens * s.topk / gpus
    local = s.experts / s.moe_ep
    touched = local * (1.0 - (1.0 - s.topk / s.experts) ** tokens)
    nbytes = touched * mats * s.hidden * s.inter / s.moe_tp * wb + tokens * s.topk / gpus * s.hidden * 4.0
    return np.maximum(flops / chip.peak_flops(prec), nbytes / chip.bandwidth)


@dataclass
class MoETable:
    ref: TableRef
    distribution: dict  # shape -> distribution used
    tokens: dict  # shape -> token grid
    eff: dict  # shape -> eff over the token grid
    origin: dict | None = None  # shape -> the release's table that measured it, when not `ref` (merged releases)

    def detail(self, shape: MoEShape) -> str:
        """The table a shape's numbers come from (another release's, when the preferred one lacks the shape)."""
        return ((self.origin or {}).get(shape) or self.ref).detail

    def nearest(self, want: MoEShape) -> tuple[MoEShape | None, bool]:
        """The measured shape to time `want` with: itself, or the closest with the same routing (top-k of E)
        and expert sizes within 2x; None when nothing is that close (the caller falls back)."""
        if want in self.eff:
            return want, True
        cand = [c for c in self.eff if c.dtype == want.dtype and c.topk == want.topk and c.experts == want.experts
                and 0.5 <= c.hidden / want.hidden <= 2 and 0.5 <= c.inter / want.inter <= 2]
        if not cand:
            return None, False

        def dist(c: MoEShape) -> float:
            return (2 * abs(np.log((c.topk / c.experts) / (want.topk / want.experts)))
                    + abs(np.log(c.hidden * c.inter / (want.hidden * want.inter)))
                    + abs(np.log(c.moe_tp * c.moe_ep / (want.moe_tp * want.moe_ep)))
                    + 0.5 * abs(np.log(c.moe_ep / want.moe_ep)) + 0.25 * abs(np.log(c.experts / want.experts)))

        return min(cand, key=dist), False

    def dtypes(self) -> set[str]:
        return {s.dtype for s in self.eff}

    def time(self, chip: Chip, want: MoEShape, tokens) -> tuple[np.ndarray, MoEShape, bool] | None:
        """Seconds per MoE layer on one GPU for `tokens` (array) entering the layer; None when no measured
        shape is close enough."""
        s, exact = self.nearest(want)
        if s is None:
            return None
        tokens = np.asarray(tokens, dtype=float)
        grid, eff_g = self.tokens[s], self.eff[s]
        eff = G.interp1(grid, eff_g, np.maximum(tokens, 1.0))
        t = roofline(chip, want, tokens) / np.maximum(eff, 1e-6)
        if len(grid) > 1:
            # beyond the largest measured count the layer takes the measured time per extra token at the top of
            # the grid (a clamped efficiency would keep a small batch's low efficiency for any size)
            t_hi = roofline(chip, want, grid[-1]) / eff_g[-1]
            t_lo = roofline(chip, want, grid[-2]) / eff_g[-2]
            slope = max(0.0, float((t_hi - t_lo) / (grid[-1] - grid[-2])))
            big = tokens > grid[-1]
            t = np.where(big, np.maximum(t_hi + slope * (tokens - grid[-1]), roofline(chip, want, tokens)), t)
        return np.where(tokens > 0, t, 0.0), s, exact


def _build(ref: TableRef, chip: Chip) -> MoETable | None:
    names = ("moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size",
             "moe_ep_size", "distribution", "latency")
    cols = read_columns(ref.path, names + ("kernel_source",))  # cached and shared: read, never modified
    keep = ~np.isin(cols["kernel_source"].astype(str), list(UNUSED_KERNELS))
    c = {k: cols[k][keep] for k in names}
    dt, dist = c["moe_dtype"].astype(str), c["distribution"].astype(str)
    num = {n: c[n].astype(float) for n in names if n not in ("moe_dtype", "distribution")}
    keys = np.stack([num[n] for n in ("hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size",
                                      "moe_ep_size")], axis=1).astype(int)
    out_d, out_t, out_e = {}, {}, {}
    rank = {x: i for i, x in enumerate(DISTRIBUTIONS)}
    dcode = np.array([rank.get(x, len(DISTRIBUTIONS)) for x in dist])
    _, dtcode = np.unique(dt, return_inverse=True)
    full = np.concatenate([keys, dtcode[:, None]], axis=1)
    uniq, inv = np.unique(full, axis=0, return_inverse=True)
    order = np.lexsort((dcode, inv))
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
    for gi, row in enumerate(uniq):
        d = str(dt[order[bounds[gi]]])
        if d not in DTYPES or DTYPES[d][0] not in chip.tflops:
            continue
        idx = order[bounds[gi]:bounds[gi + 1]]
        best = dcode[idx].min()  # preferred distribution measured for this shape
        idx = idx[dcode[idx] == best]
        shape = MoEShape(*(int(x) for x in row[:6]), dtype=d)
        tok = num["num_tokens"][idx]
        grid = np.unique(tok)
        e = roofline(chip, shape, tok) / (num["latency"][idx] * 1e-3)
        vals = np.full(len(grid), np.nan)
        np.fmax.at(vals, np.searchsorted(grid, tok), e)
        vals = G.monotone_latency(vals, roofline(chip, shape, grid), axis=0, median=5)  # routed-load noise
        out_d[shape], out_t[shape], out_e[shape] = DISTRIBUTIONS[best] if best < len(DISTRIBUTIONS) else "other", grid, vals
    if not out_e:
        return None
    return MoETable(ref=ref, distribution=out_d, tokens=out_t, eff=out_e)


_CACHE: dict = {}


def _cached(refs: list[TableRef], chip: Chip) -> MoETable | None:
    """The merged table of every release, through the disk cache (one ragged array per field)."""
    def build():
        merged, origin = None, {}
        for ref in refs:
            t = _build(ref, chip)
            if t is None:
                continue
            if merged is None:
                merged = t
                continue
            for s in t.eff:
                if s not in merged.eff:
                    merged.distribution[s], merged.tokens[s], merged.eff[s] = t.distribution[s], t.tokens[s], t.eff[s]
                    origin[s] = t.ref
        if merged is None:
            return None
        shapes = list(merged.eff)
        sizes = [len(merged.tokens[s]) for s in shapes]
        meta = {"ref": merged.ref.as_meta(), "dist": [merged.distribution[s] for s in shapes], "sizes": sizes,
                "origin": [origin[s].as_meta() if s in origin else None for s in shapes],
                "shapes": [[int(s.hidden), int(s.inter), int(s.topk), int(s.experts), int(s.moe_tp), int(s.moe_ep),
                            str(s.dtype)] for s in shapes]}
        return meta, {"tok": np.concatenate([merged.tokens[s] for s in shapes]),
                      "eff": np.concatenate([merged.eff[s] for s in shapes])}

    got = load_or_build("moe", [r.path for r in refs], chip_key(chip), build)
    if got is None:
        return None
    meta, a = got
    shapes = [MoEShape(*x) for x in meta["shapes"]]
    cuts = np.cumsum([0] + meta["sizes"])
    asked = refs[0].requested
    origin = {s: TableRef.from_meta(o, asked) for s, o in zip(shapes, meta.get("origin") or []) if o}
    return MoETable(ref=TableRef.from_meta(meta["ref"], asked),
                    distribution=dict(zip(shapes, meta["dist"])),
                    tokens={s: a["tok"][cuts[i]:cuts[i + 1]] for i, s in enumerate(shapes)},
                    eff={s: a["eff"][cuts[i]:cuts[i + 1]] for i, s in enumerate(shapes)}, origin=origin)


def moe_table(chip: Chip, engine: str, version: str | None = None,
              filename: str = "moe_perf.parquet", current_routing: bool = False) -> MoETable | None:
    """The MoE table of the preferred release, with shapes only other releases measured filled in. With
    `current_routing`, a TensorRT-LLM version older than every measured release takes aiconfigurator's current
    release (see CURRENT_ROUTING_ENGINES) instead of the oldest."""
    chip = measured_chip(chip)
    current = current_routing and engine in CURRENT_ROUTING_ENGINES  # other engines: the same table either way
    key = (chip_key(chip), engine, version, filename, current)
    if key not in _CACHE:
        refs = find_all(chip.id, engine, "moe", filename, version, older_takes_current=current)
        _CACHE[key] = _cached(refs, chip) if refs else None
    return _CACHE[key]


def wide_ep_time(chip: Chip, want: MoEShape, tokens, version: str | None = None):
    """(seconds, table, used shape, exact) for a DeepEP wide-EP MoE layer from SGLang's wide-EP tables, or None.
    Token counts up to the decode table's largest are timed by the low-latency (decode) table, larger ones by
    the normal-mode (prefill) table; only the measured model shape (or one within the `nearest` rules) is used."""
    tokens = np.asarray(tokens, dtype=float)
    gen, ctx = (moe_table(chip, "sglang", version, f) for f in WIDE_EP_FILES)
    got_g = gen.time(chip, want, tokens) if gen is not None else None
    got_c = ctx.time(chip, want, tokens) if ctx is not None else None
    if got_g is None and got_c is None:
        return None
    if got_g is None or got_c is None:
        tab, got = (gen, got_g) if got_c is None else (ctx, got_c)
        return got[0], tab, got[1], got[2]
    top = gen.tokens[got_g[1]][-1]
    t = np.where(tokens <= top, got_g[0], got_c[0])
    tab = ctx if np.any(tokens > top) else gen
    return t, tab, (got_c if tab is ctx else got_g)[1], got_g[2] and got_c[2]
