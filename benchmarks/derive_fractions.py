"""Derive the fallback fractions of the NVIDIA chip families from measured kernel tables at model shapes.

    .venv/bin/python benchmarks/derive_fractions.py            # print the table, write the JSON
    .venv/bin/python benchmarks/derive_fractions.py --check    # exit 1 if the committed JSON is stale

When an operator has no calibration profile and no measured table (a chip NVIDIA did not measure, or the
core install without `infercast[kernels]`), infercast times it as datasheet peak x a per-family fraction
(engine/timing.py). This script takes every such fraction of the hopper, blackwell, ampere and ada
families from NVIDIA's per-kernel measurements shipped in aiconfigurator-core (read through
`infercast.engine.kernels`, the same tables the table path uses), as a median over the operator shapes
of a stated set of models, and writes src/infercast/data/kernel_fractions.json, which
engine/efficiency.py reads over efficiency.json's family numbers. Nothing here reads an end-to-end
benchmark row: the numbers cannot be tuned to the validation set.

Each quantity is defined so that the fallback formula reproduces the measurement it came from:
a GEMM's fallback time is the p-norm of 2MNK / (peak x gemm_compute) and bytes / (HBM x weight_stream)
plus a fixed cost per kernel, with bytes = N K w + M (N + K) 2 (engine/operators.py). Definitions are
in DEFINITIONS below and are written into the JSON beside the numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from infercast.engine.kernels import attention as KA
from infercast.engine.kernels import gemm as KG
from infercast.engine.kernels import moe as KMoE
from infercast.engine.kernels.source import data_root, find, find_all, package_version, read_columns
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model
from infercast.specs.store import read_json

OUT = Path(__file__).resolve().parents[1] / "src" / "infercast" / "data" / "kernel_fractions.json"

# families and the chips NVIDIA measured in each; the RTX PRO 6000 (GB202, GDDR7, 128 MB L2, no
# tcgen05 tensor memory) is not the B200-class silicon of the other Blackwell parts: it is reported as
# its own group and not pooled into "blackwell"
FAMILIES = {
    "hopper": ("h100-sxm", "h200-sxm"),
    "blackwell": ("b200", "b300", "gb200", "gb300"),
    "ampere": ("a100-sxm-80gb",),
    "ada": ("l40s",),
    "blackwell-gddr": ("rtx-pro-6000",),
}
ENGINE = "tensorrt-llm"  # the values; the others are reported beside them
BESIDE = ("vllm", "sglang")

# the model shapes: every projection GEMM (N, K) of these models at TP 1, 2, 4, 8, as engine/operators.py builds them
MODELS = ("llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "qwen2.5-72b", "qwen3-32b", "mixtral-8x7b", "deepseek-v3")
MOE_MODELS = ("mixtral-8x7b", "mixtral-8x22b", "qwen3-235b-a22b", "deepseek-v3", "llama-4-maverick", "minimax-m2.5")
TPS = (1, 2, 4, 8)
M_COMPUTE = (4096, 8192, 16384)  # "large M"; only M values inside a table's measured range are used
M_STREAM = (1, 2, 4, 8, 16)  # "skinny": decode batches
M_FIT = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
COMPUTE_BOUND = 2.0  # a large-M point counts for gemm_compute when its compute roofline is >= 2x its memory roofline
# a benchmark that repeats one GEMM keeps weights smaller than the L2 cache on chip, so they do not stream from
# HBM as a model's layers do; streaming fractions use only weights (or KV caches) of at least 256 MiB, twice the
# largest L2 of the measured chips (GB202 / RTX PRO 6000: 128 MB; B200: 126 MB, chipsandcheese.com 'Nvidia's
# B200: Keeping the CUDA Juggernaut Rolling'; H100: 50 MB)
STREAM_MIN_BYTES = 256 * 2 ** 20
LONG_CONTEXT = 4096  # decode attention: cached tokens per sequence >= this
LONG_PROMPT = 4096  # prefill attention: prompt tokens >= this
MOE_TOKENS = 4096  # MoE layer: tokens entering the layer >= this
TINY = (32, 64, 128, 256)  # N, K of the tiny GEMMs whose latency is the per-kernel floor

# table dtype -> (fallback precision key, weight bytes per element as engine/operators.py counts them)
GEMM_KEYS = {"bfloat16": ("bf16", 2.0), "fp8_any": ("fp8", 1.0), "nvfp4": ("fp4", 0.5), "sq": ("int8", 1.0),
             "int8_wo": ("int8", 1.0), "int4_wo": ("int4", 0.5)}
# which measured kernel gives each fallback key: compute precision -> table dtype; weight format -> table dtype
COMPUTE_FROM = {"bf16": "bfloat16", "fp8": "fp8_any", "fp4": "nvfp4", "int8": "sq"}
STREAM_FROM = {"bf16": ["bfloat16"], "fp8": ["fp8_any", "int8_wo"], "int8": ["sq", "int8_wo"],
               "fp4": ["nvfp4", "int4_wo"], "int4": ["int4_wo", "nvfp4"]}

DEFINITIONS = {
    "gemm_compute": "achieved 2MNK / time / dense datasheet peak, median over the model GEMM shapes at M in "
                    f"{list(M_COMPUTE)} (within the table's measured M) whose compute roofline is >= {COMPUTE_BOUND:g}x "
                    "their memory roofline; fp8 is the faster of the per-tensor and block-scaled FP8 kernels "
                    "per shape (as the table path does), fp4 the NVFP4 kernels, int8 SmoothQuant W8A8",
    "weight_stream": f"bytes (weights + activations in and out) / time / datasheet HBM bandwidth, median over the "
                     f"model GEMM shapes with >= {STREAM_MIN_BYTES >> 20} MiB of weights at M in {list(M_STREAM)}",
    "overlap_p": f"the exponent p of the fallback's p-norm of compute and memory time that minimises the mean "
                 f"|log(fallback / measured)| over the model GEMM shapes with >= {STREAM_MIN_BYTES >> 20} MiB of "
                 f"weights at M in {list(M_FIT)}, with the family's gemm_compute, weight_stream and the engine's "
                 "fixed cost per kernel",
    "kernel_us": "median latency of the tiny GEMMs (N, K in 32..256, M <= 16): a kernel's floor inside the "
                 "benchmark's timing loop; reported beside the engine's kernel_us, not used",
    "kv_stream": f"KV-cache bytes / time / HBM bandwidth of decode attention, median over the attention head layouts "
                 f"of the models at TP 1..8 (bf16 and fp8 caches), measured points with >= {LONG_CONTEXT} cached "
                 f"tokens per sequence and >= {STREAM_MIN_BYTES >> 20} MiB of KV per layer",
    "attention_compute": "causal prefill attention FLOPs (2 x seqs x heads x head_dim x prompt^2) / time / 16-bit "
                         f"dense peak, median over the models' head layouts, bf16 attention and cache, prompts of "
                         f">= {LONG_PROMPT} tokens",
    "moe_grouped_gemm": "a routed-expert layer's achieved FLOP/s (grouped GEMMs with routing, permutation and "
                        "combine) over the dense GEMM rate at the same precision (gemm_compute), median over the "
                        "measured expert shapes of the MoE models, moe_tp x moe_ep <= 8, power-law routing where "
                        f"measured (as the table path), >= {MOE_TOKENS} tokens, compute roofline >= "
                        f"{COMPUTE_BOUND:g}x memory roofline",
}


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def _stat(values) -> dict:
    v = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": _r(med), "iqr": [_r(q1), _r(q3)], "n": int(v.size)}


def _rel(path) -> str:
    root = data_root()
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return Path(path).name


# ---------------------------------------------------------------- shapes
def gemm_shapes() -> list[tuple[float, float]]:
    """(N, K) of every projection GEMM of MODELS at TPS, as engine/operators.py builds them."""
    out: set[tuple[float, float]] = set()
    for name in MODELS:
        m = get_model(name)
        d = m.d_model
        for tp in TPS:
            if m.mla:
                a = m.mla
                qk = a.qk_nope_head_dim + a.qk_rope_head_dim
                out |= {((a.q_lora_rank or 0) + a.kv_lora_rank + a.qk_rope_head_dim, d),
                        (m.heads * qk / tp, a.q_lora_rank or d),
                        (m.heads * (a.qk_nope_head_dim + a.v_head_dim) / tp, a.kv_lora_rank),
                        (d, m.heads * a.v_head_dim / tp)}
            else:
                out |= {((m.heads + 2 * m.kv_heads) * m.head_dim / tp, d), (d, m.heads * m.head_dim / tp)}
            if m.dense_mlp_layers:
                f = m.d_ff / tp
                out |= {((2 if m.mlp == "gated" else 1) * f, d), (d, f)}
            if m.moe and m.moe.shared_experts:
                f = m.moe.shared_experts * (m.moe.shared_d_ff or m.moe.expert_d_ff) / tp
                out |= {(2 * f, d), (d, f)}
            out.add((m.vocab / tp, d))
    return sorted((float(n), float(k)) for n, k in out)


def attention_layouts() -> list[tuple[int, int, int]]:
    """(query heads, KV heads, head dim) per GPU of the non-MLA MODELS at TPS."""
    out = set()
    for name in MODELS:
        m = get_model(name)
        if m.mla:
            continue
        for tp in TPS:
            out.add((m.heads // tp, max(1, m.kv_heads // tp), m.head_dim))
    return sorted(out)


def moe_shapes() -> set[tuple[int, int, int, int]]:
    """(hidden, expert inter, top-k, experts) of MOE_MODELS."""
    return {(get_model(n).d_model, get_model(n).moe.expert_d_ff, get_model(n).moe.active, get_model(n).moe.experts)
            for n in MOE_MODELS}


# ---------------------------------------------------------------- GEMM
def _gemm_roofs(chip, tdt, m, n, k):
    """Fallback compute and memory times (engine/timing.py, engine/operators.py)."""
    prec = KG.DTYPES[tdt][0]
    wb = GEMM_KEYS[tdt][1]
    m = np.asarray(m, dtype=float)
    return 2.0 * m * n * k / chip.peak_flops(prec), (n * k * wb + m * (n + k) * 2.0) / chip.bandwidth


def gemm_points(chip, engine: str, shapes) -> dict:
    """Per table dtype: compute fractions, streaming fractions, kernel floors and (M, N, K, t) for the p fit."""
    tab = KG.gemm_table(chip, engine)
    if tab is None:
        return {}
    out = {}
    mmax = float(tab.m[-1])
    for tdt in tab.dtypes:
        if tdt not in GEMM_KEYS:
            continue
        comp, stream, fit = [], [], []
        for n, k in shapes:
            wbytes = n * k * GEMM_KEYS[tdt][1]
            for m in M_COMPUTE:
                if m > mmax:
                    continue
                t = float(tab.time(chip, tdt, m, n, k))
                tc, tm = _gemm_roofs(chip, tdt, m, n, k)
                if tc >= COMPUTE_BOUND * tm:
                    comp.append(tc / t)
            if wbytes >= STREAM_MIN_BYTES:
                for m in M_STREAM:
                    t = float(tab.time(chip, tdt, m, n, k))
                    stream.append(_gemm_roofs(chip, tdt, m, n, k)[1] / t)
            for m in M_FIT:
                if m <= mmax:
                    fit.append((m, n, k, float(tab.time(chip, tdt, m, n, k)), wbytes >= STREAM_MIN_BYTES))
        floor = [float(tab.time(chip, tdt, m, n, k)) for n in TINY for k in TINY for m in M_STREAM]
        out[tdt] = {"compute": comp, "stream": stream, "fit": fit, "floor": floor}
    out["_ref"] = tab.ref
    return out


def fit_p(points, fractions, kernel_us: float) -> tuple[float, dict]:
    """The p-norm exponent minimising mean |log(fallback / measured)| over the shapes whose weights stream from
    HBM; |fallback / measured - 1| there at it and at p = 3, and over every model shape at it (smaller weights
    stay in the benchmark's L2, so the fallback, which streams them from HBM, is slower there by design).

    points: [(chip, tdt, m, n, k, t, streamed)]; fractions: tdt -> (gemm_compute, weight_stream)."""
    grid = np.round(np.arange(1.0, 8.0001, 0.05), 2)
    ratio = _fallback_ratio([x for x in points if x[6]], fractions, kernel_us)
    best = float(grid[int(np.argmin([np.abs(np.log(ratio(p))).mean() for p in grid]))])
    every = _fallback_ratio(points, fractions, kernel_us)

    def summary(r):
        e = np.abs(r - 1.0)
        return {"median_abs_error": _r(np.median(e)), "p90_abs_error": _r(np.percentile(e, 90)), "n": int(e.size)}

    return best, {"at_fit": summary(ratio(best)), "at_3": summary(ratio(3.0)), "every_shape_at_fit": summary(every(best))}


def _fallback_ratio(points, fractions, kernel_us: float):
    """p -> fallback time / measured time at each point: p-norm of compute and memory time + a fixed cost."""
    rows = [x for x in points if x[1] in fractions]
    roofs = np.array([_gemm_roofs(c, d, m, n, k) for c, d, m, n, k, *_ in rows])
    eta = np.array([fractions[d] for _, d, *_ in rows])
    tc, tm = roofs[:, 0] / eta[:, 0], roofs[:, 1] / eta[:, 1]
    t = np.array([x[5] for x in rows])
    return lambda p: ((tc ** p + tm ** p) ** (1.0 / p) + kernel_us * 1e-6) / t


# ---------------------------------------------------------------- attention
def _attention_columns(path, names: tuple[str, ...]) -> dict:
    """Columns of an attention table; tables without `window_size` (A100 vLLM 0.14.0 and SGLang 0.5.10) measured
    full attention only, so it reads as 0 there."""
    import pyarrow.parquet as pq

    have = set(pq.read_schema(path).names)
    c = read_columns(path, tuple(n for n in names if n in have))
    if "window_size" not in c:
        c["window_size"] = np.zeros(len(c["latency"]), dtype=int)
    return c


def decode_points(chip, engine: str, layouts) -> tuple[list[float], str | None]:
    ref = find(chip.id, engine, "attention", "generation_attention_perf.parquet")
    if ref is None:
        return [], None
    c = _attention_columns(ref.path, ("batch_size", "isl", "num_heads", "num_key_value_heads", "head_dim",
                                      "window_size", "kv_cache_dtype", "step", "latency"))
    b, ctx = c["batch_size"].astype(float), c["isl"].astype(float) + c["step"].astype(float)
    h, g, hd = (c[x].astype(int) for x in ("num_heads", "num_key_value_heads", "head_dim"))
    kvb = np.array([KA.KV_BYTES.get(str(x), 2.0) for x in c["kv_cache_dtype"]])
    keep = (c["window_size"] == 0) & np.isin(c["kv_cache_dtype"].astype(str), ("bfloat16", "fp8"))
    keep &= np.array([(x, y, z) in set(layouts) for x, y, z in zip(h, g, hd)])
    nbytes = b * ctx * 2.0 * g * hd * kvb
    keep &= (ctx >= LONG_CONTEXT) & (nbytes >= STREAM_MIN_BYTES)
    return list(nbytes[keep] / chip.bandwidth / (c["latency"][keep].astype(float) * 1e-3)), _rel(ref.path)


def prefill_points(chip, engine: str, layouts) -> tuple[list[float], str | None]:
    ref = find(chip.id, engine, "attention", "context_attention_perf.parquet")
    if ref is None:
        return [], None
    c = _attention_columns(ref.path, ("batch_size", "isl", "num_heads", "num_key_value_heads", "head_dim",
                                      "window_size", "attn_dtype", "kv_cache_dtype", "latency"))
    h, g, hd = (c[x].astype(int) for x in ("num_heads", "num_key_value_heads", "head_dim"))
    keep = (c["window_size"] == 0) & (c["attn_dtype"].astype(str) == "bfloat16")
    keep &= (c["kv_cache_dtype"].astype(str) == "bfloat16") & (c["isl"] >= LONG_PROMPT)
    keep &= np.array([(x, y, z) in set(layouts) for x, y, z in zip(h, g, hd)])
    fl = KA.prefill_flops(c["batch_size"][keep], c["isl"][keep], h[keep], hd[keep])
    return list(fl / chip.peak_flops("bf16") / (c["latency"][keep].astype(float) * 1e-3)), _rel(ref.path)


# ---------------------------------------------------------------- MoE
MOE_PREC = {"bfloat16": "bf16", "fp8": "fp8", "fp8_block": "fp8", "nvfp4": "fp4"}


def _moe_bytes_time(chip, s, tokens: int) -> float:
    """The memory side of engine/kernels/moe.py's roofline: the experts the tokens touch, and their activations."""
    wb = KMoE.DTYPES[s.dtype][1]
    touched = s.experts / s.moe_ep * (1.0 - (1.0 - s.topk / s.experts) ** tokens)
    nbytes = touched * 3 * s.hidden * s.inter / s.moe_tp * wb + tokens * s.topk / (s.moe_tp * s.moe_ep) * s.hidden * 4.0
    return nbytes / chip.bandwidth


def moe_points(chip, engine: str, shapes) -> tuple[dict[str, list[float]], list[str]]:
    """Per precision: achieved compute fraction of routed-expert layers.

    As engine/kernels/moe.py merges releases: a (shape, tp, ep, dtype) takes the rows of the most preferred
    release that measured it, and of those the most preferred routing distribution; per point the faster of
    the two FP8 kernel families counts (the table path tries both)."""
    rank = {x: i for i, x in enumerate(KMoE.DISTRIBUTIONS)}
    rows: dict[tuple, dict] = {}  # (dtype, shape, tp, ep) -> {"ref", "dist", tokens -> latency}
    for ref in find_all(chip.id, engine, "moe", "moe_perf.parquet"):
        c = read_columns(ref.path, ("moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts",
                                    "moe_tp_size", "moe_ep_size", "distribution", "latency"))
        fresh: dict[tuple, dict] = {}
        for i in range(len(c["latency"])):
            tdt, dist = str(c["moe_dtype"][i]), str(c["distribution"][i])
            shape = tuple(int(c[x][i]) for x in ("hidden_size", "inter_size", "topk", "num_experts"))
            tp, ep = int(c["moe_tp_size"][i]), int(c["moe_ep_size"][i])
            if tdt not in MOE_PREC or shape not in shapes or tp * ep > 8 or dist not in rank:
                continue
            key = (tdt, shape, tp, ep)
            if key in rows:
                continue  # a more preferred release measured it
            cur = fresh.setdefault(key, {"ref": ref, "dist": rank[dist], "lat": {}})
            if rank[dist] < cur["dist"]:
                cur["dist"], cur["lat"] = rank[dist], {}
            if rank[dist] == cur["dist"]:
                cur["lat"][int(c["num_tokens"][i])] = float(c["latency"][i])
        rows.update(fresh)
    best: dict[tuple, tuple[float, float]] = {}  # (prec, shape, tp, ep, tokens) -> (latency, compute roofline)
    for (tdt, (hid, inter, topk, experts), tp, ep), r in rows.items():
        s = KMoE.MoEShape(hid, inter, topk, experts, tp, ep, tdt)
        for tok, lat in r["lat"].items():
            if tok < MOE_TOKENS:
                continue
            tc = 2.0 * 3 * hid * inter * tok * topk / (tp * ep) / chip.peak_flops(KMoE.DTYPES[tdt][0])
            # engine/kernels/moe.py: the larger of compute and touched-expert bytes; compute must dominate
            if tc < COMPUTE_BOUND * _moe_bytes_time(chip, s, tok):
                continue
            k = (MOE_PREC[tdt], (hid, inter, topk, experts), tp, ep, tok)
            if k not in best or lat < best[k][0]:
                best[k] = (lat, tc)
    out: dict[str, list[float]] = {}
    for k, (lat, tc) in sorted(best.items()):
        out.setdefault(k[0], []).append(tc / (lat * 1e-3))
    used = sorted({_rel(r["ref"].path) for r in rows.values()})
    return out, used


# ---------------------------------------------------------------- one family
def _entry(pooled: list[float], by_chip: dict[str, list[float]], files: list[str], what: str) -> dict:
    st = _stat(pooled)
    return {"value": st["median"], **st, "by_chip": {c: _r(np.median(v)) for c, v in by_chip.items() if v},
            "kernel": what, "tables": sorted(set(files))}


def derive(family: str, engine: str) -> dict:
    """Every quantity of one family from one engine's tables (pooled over the family's chips)."""
    chips = [get_chip(c) for c in FAMILIES[family]]
    shapes, layouts, mshapes = gemm_shapes(), attention_layouts(), moe_shapes()
    kernel_us = float(read_json("efficiency.json")["engines"][engine]["kernel_us"])
    g = {c.id: gemm_points(c, engine, shapes) for c in chips}
    files = {c.id: [_rel(g[c.id]["_ref"].path)] if "_ref" in g[c.id] else [] for c in chips}
    out: dict = {"gemm_compute": {}, "weight_stream": {}}

    def gemm_entry(tdt: str, part: str) -> dict | None:
        by = {c: g[c][tdt][part] for c in g if tdt in g[c] and g[c][tdt][part]}
        if not by:
            return None
        return _entry([x for v in by.values() for x in v], by, [f for c in by for f in files[c]], tdt)

    for key, tdt in COMPUTE_FROM.items():
        e = gemm_entry(tdt, "compute")
        if e:
            out["gemm_compute"][key] = e
    for key, tdts in STREAM_FROM.items():
        for tdt in tdts:
            e = gemm_entry(tdt, "stream")
            if e:
                out["weight_stream"][key] = e
                break
    # the p-norm exponent over the precisions with both fractions measured
    fr = {}
    for key, tdt in COMPUTE_FROM.items():
        if key in out["gemm_compute"] and key in out["weight_stream"] and out["weight_stream"][key]["kernel"] == tdt:
            fr[tdt] = (out["gemm_compute"][key]["value"], out["weight_stream"][key]["value"])
    pts = [(c, tdt, *p) for c in chips for tdt in fr for p in g[c.id][tdt]["fit"]]
    if pts:
        p, errs = fit_p(pts, fr, kernel_us)
        out["overlap_p"] = {"value": p, "fit_error": errs, "kernels": sorted(fr), "engine_kernel_us": kernel_us,
                            "tables": sorted({f for c in chips for f in files[c.id]})}
    floors = {c: g[c]["bfloat16"]["floor"] for c in g if "bfloat16" in g[c]}
    if floors:
        e = _entry([x * 1e6 for v in floors.values() for x in v], {c: [x * 1e6 for x in v] for c, v in floors.items()},
                   [f for c in floors for f in files[c]], "bfloat16")
        by_kernel = {tdt: _r(np.median([x * 1e6 for c in g if tdt in g[c] for x in g[c][tdt]["floor"]]), 2)
                     for tdt in GEMM_KEYS if any(tdt in g[c] for c in g)}
        out["kernel_us"] = {**e, "value": _r(e["value"], 2), "by_kernel": by_kernel, "engine_kernel_us": kernel_us}
    dec = {c.id: decode_points(c, engine, layouts) for c in chips}
    if any(v[0] for v in dec.values()):
        out["kv_stream"] = _entry([x for v in dec.values() for x in v[0]], {c: v[0] for c, v in dec.items()},
                                  [v[1] for v in dec.values() if v[1]], "generation attention")
    pre = {c.id: prefill_points(c, engine, layouts) for c in chips}
    if any(v[0] for v in pre.values()):
        out["attention_compute"] = _entry([x for v in pre.values() for x in v[0]], {c: v[0] for c, v in pre.items()},
                                          [v[1] for v in pre.values() if v[1]], "context attention, bf16")
    moe = {c.id: moe_points(c, engine, mshapes) for c in chips}
    ratio: dict[str, list[float]] = {}
    by_prec: dict[str, list[float]] = {}
    for cid, (per, _) in moe.items():
        for prec, vals in per.items():
            if prec in out["gemm_compute"]:
                r = [v / out["gemm_compute"][prec]["value"] for v in vals]
                ratio.setdefault(cid, []).extend(r)
                by_prec.setdefault(prec, []).extend(r)
    if ratio:
        e = _entry([x for v in ratio.values() for x in v], ratio, [f for v in moe.values() for f in v[1]],
                   "routed-expert layer / dense GEMM")
        e["by_precision"] = {p: _r(np.median(v)) for p, v in sorted(by_prec.items())}
        out["moe_grouped_gemm"] = e
    return out


def _values(d: dict) -> dict:
    """The bare numbers of a derivation (for the engines reported beside the chosen one)."""
    out = {}
    for q, v in d.items():
        if q in ("gemm_compute", "weight_stream"):
            out[q] = {k: e["value"] for k, e in v.items()}
        else:
            out[q] = v["value"]
    return out


# ---------------------------------------------------------------- what the fallback uses
# keys a family's tables do not measure, filled by a stated rule (precision -> (rule, where from))
SAME_AS = {"fp16": ("bf16", "fp16 runs the bf16 kernels at the same datasheet peak"),
           "int8": ("fp8", "no int8 GEMM table for this family; int8 and fp8 share the tensor-core rate and byte width")}
BORROW = {"weight_stream": {"fp4": "ampere", "int4": "ampere"}}  # 4-bit weight-only kernels: measured on A100 only


def _versions(files) -> str:
    """'trtllm 1.3.0rc20' from table paths system/op/backend/version/file."""
    vs = sorted({" ".join(Path(f).parts[2:4]) for f in files})
    return ", ".join(vs)


def _source(q: str, e: dict, chips) -> str:
    files = e.get("tables", [])
    return (f"median of {e['n']} points (IQR {e['iqr'][0]:g}-{e['iqr'][1]:g}) on {', '.join(chips)}, "
            f"{_versions(files)} {', '.join(sorted({Path(f).name for f in files}))} [{e['kernel']}]")


def family_record(family: str, derived: dict[str, dict], beside_full: dict) -> dict:
    """The values the fallback applies for one family, their derivation and one-line sources."""
    d = derived[family]
    chips = list(FAMILIES[family])
    values: dict = {"gemm_compute": {}, "weight_stream": {}}
    sources: dict = {"gemm_compute": {}, "weight_stream": {}}
    rejected = {}
    used: dict[str, dict] = {}  # scalar quantity -> the derivation entry its value came from
    for q in ("gemm_compute", "weight_stream"):
        for key, e in d[q].items():
            if 0 < e["value"] <= 1:
                values[q][key], sources[q][key] = e["value"], _source(q, e, chips)
            else:
                rejected[f"{q}.{key}"] = f"median {e['value']} is outside (0, 1]: not a physical fraction of the datasheet"
        for key, (base, why) in SAME_AS.items():
            if key not in values[q] and base in values[q]:
                values[q][key], sources[q][key] = values[q][base], f"as {base}: {why}"
        for key, fam in BORROW.get(q, {}).items():
            if key not in values[q] and family != fam and key in derived.get(fam, {}).get(q, {}):
                e = derived[fam][q][key]
                values[q][key] = e["value"]
                sources[q][key] = f"borrowed from {fam} (no such kernel in this family's tables): {_source(q, e, FAMILIES[fam])}"
    for q in ("kv_stream", "attention_compute", "moe_grouped_gemm"):
        if q not in d:
            continue
        e = d[q]
        if 0 < e["value"] <= 1:
            values[q], sources[q], used[q] = e["value"], _source(q, e, chips), e
            continue
        why = f"{ENGINE} median {e['value']} (IQR {e['iqr'][0]:g}-{e['iqr'][1]:g}) is above the datasheet peak"
        for b in BESIDE:
            eb = beside_full.get(family, {}).get(b, {}).get(q)
            if eb and 0 < eb["value"] <= 1:
                values[q], sources[q], used[q] = eb["value"], f"{b} tables ({why}): {_source(q, eb, chips)}", eb
                rejected[q] = f"{why}: not a physical measurement; {b}'s taken"
                break
        else:
            rejected[q] = f"{why}: not a physical measurement; efficiency.json's value stays"
    if "overlap_p" in d:
        o = d["overlap_p"]
        values["overlap_p"] = o["value"]
        sources["overlap_p"] = (f"fitted on {o['fit_error']['at_fit']['n']} points ({', '.join(o['kernels'])}): fallback vs "
                                f"measured |error| median {o['fit_error']['at_fit']['median_abs_error']:g}, p90 "
                                f"{o['fit_error']['at_fit']['p90_abs_error']:g} (at p=3: "
                                f"{o['fit_error']['at_3']['median_abs_error']:g}, {o['fit_error']['at_3']['p90_abs_error']:g})")

    def short(entries: list, label: str) -> str:
        files = [f for e in entries if e for f in e.get("tables", [])]
        return f"{label} of {', '.join(chips)}: {_versions(files)}, {_package_label()}"

    gemm_files = [e for q in ("gemm_compute", "weight_stream") for e in d[q].values()]
    files = [f for e in gemm_files + list(used.values()) for f in e["tables"]]
    return {"chips": chips, "values": values, "sources": sources, "rejected": rejected,
            "short": short(gemm_files, "GEMM kernel tables"),
            "attention_short": short([used.get("attention_compute"), used.get("kv_stream")], "attention kernel tables"),
            "moe_short": short([used.get("moe_grouped_gemm")], "MoE kernel tables"),
            "source": (f"fractions derived by benchmarks/derive_fractions.py from NVIDIA's measured kernel tables of "
                       f"{', '.join(chips)} ({_package_label()}, {_versions(files)}) at the GEMM, attention and MoE shapes "
                       f"of {', '.join(MODELS)} at TP {', '.join(map(str, TPS))}; per-quantity sources below"),
            "derivation": d, "beside": {b: _values(x) for b, x in beside_full.get(family, {}).items()}}


def _package_label() -> str:
    return f"aiconfigurator-core {package_version() or '?'}"


def build() -> dict:
    derived = {f: derive(f, ENGINE) for f in FAMILIES}
    beside = {f: {e: derive(f, e) for e in BESIDE} for f in FAMILIES}
    return {
        "about": "Fallback fractions of datasheet peaks for the NVIDIA families, derived from measured kernel tables "
                 "(never from end-to-end benchmark rows). engine/efficiency.py applies each family's `values` over "
                 "efficiency.json's; `blackwell-gddr` applies to chips whose family is named so. Regenerate with "
                 "`.venv/bin/python benchmarks/derive_fractions.py`; tests run its --check.",
        "package": _package_label(),
        "engine": ENGINE,
        "beside": list(BESIDE),
        "definitions": DEFINITIONS,
        "shapes": {"models": list(MODELS), "moe_models": list(MOE_MODELS), "tp": list(TPS),
                   "m_compute": list(M_COMPUTE), "m_stream": list(M_STREAM), "m_fit": list(M_FIT),
                   "stream_min_bytes": STREAM_MIN_BYTES,
                   "gemm_nk": [[_r(n, 1), _r(k, 1)] for n, k in gemm_shapes()],
                   "attention_layouts": [list(x) for x in attention_layouts()],
                   "moe": [list(x) for x in sorted(moe_shapes())]},
        "families": {f: family_record(f, derived, beside) for f in FAMILIES},
    }


def _underneath() -> dict:
    """efficiency.json's family numbers (what the fallback uses where this file gives none), for the printout."""
    from infercast.engine.efficiency import _family

    raw = read_json("efficiency.json")
    return {f: {**_family(raw["families"], f), "overlap_p": raw["overlap_exponent"]["value"]} for f in FAMILIES}


def print_table(doc: dict) -> None:
    today = _underneath()
    print(f"{doc['package']}, engine {doc['engine']} (vllm / sglang beside); {len(doc['shapes']['gemm_nk'])} GEMM shapes")
    print("efficiency.json: the value the fallback would take without this file")
    print(f"{'family':15s} {'quantity':22s} {'derived':>8s} {'IQR':>13s} {'n':>5s} {'eff.json':>8s}   " + "  ".join(BESIDE))
    for fam, rec in doc["families"].items():
        v, d, t = rec["values"], rec["derivation"], today.get(fam, {})
        rows = [(f"{q}[{k}]", x, d.get(q, {}).get(k), t.get(q, {}).get(k)) for q in ("gemm_compute", "weight_stream")
                for k, x in v[q].items()]
        rows += [(q, v[q], d.get(q), t.get(q)) for q in
                 ("kv_stream", "attention_compute", "moe_grouped_gemm", "overlap_p") if q in v]
        for name, x, e, old in rows:
            iqr = (f"{e['iqr'][0]:.3f}-{e['iqr'][1]:.3f}" if isinstance(e, dict) and "iqr" in e and x == e["value"]
                   else "(fit)" if name == "overlap_p" else "(rule)")
            n = str(e["n"]) if isinstance(e, dict) and "n" in e else ""
            q, _, k = name.partition("[")
            bs = []
            for b in BESIDE:
                bv = rec["beside"].get(b, {}).get(q)
                bv = bv.get(k.rstrip("]")) if isinstance(bv, dict) else bv
                bs.append(f"{bv:.3f}" if isinstance(bv, (int, float)) else "  -  ")
            old_s = f"{old:.3f}" if isinstance(old, (int, float)) else "  -  "
            print(f"{fam:15s} {name:22s} {x:8.3f} {iqr:>13s} {n:>5s} {old_s:>8s}   " + "  ".join(bs))
        if "kernel_us" in d:
            k = d["kernel_us"]
            print(f"{fam:15s} {'kernel floor (us)':22s} {k['value']:8.2f} {k['iqr'][0]:6.2f}-{k['iqr'][1]:<6.2f} "
                  f"{k['n']:>5d} {k['engine_kernel_us']:8.2f}   (the engine's kernel_us; reported, not applied) "
                  + " ".join(f"{x}={y:g}" for x, y in k["by_kernel"].items()))
        if "overlap_p" in d:
            fe = d["overlap_p"]["fit_error"]
            print(f"{fam:15s} {'  GEMM fallback error':22s} median {fe['at_fit']['median_abs_error']:.3f} p90 "
                  f"{fe['at_fit']['p90_abs_error']:.3f} (p=3: {fe['at_3']['median_abs_error']:.3f} / "
                  f"{fe['at_3']['p90_abs_error']:.3f}; every shape: {fe['every_shape_at_fit']['median_abs_error']:.3f} / "
                  f"{fe['every_shape_at_fit']['p90_abs_error']:.3f})")
        for q, why in rec["rejected"].items():
            print(f"{fam:15s} {q:22s} rejected: {why}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed JSON differs from a fresh derivation")
    args = ap.parse_args(argv)
    if data_root() is None:
        print("the kernel tables are not installed (pip install 'infercast[kernels]'), or INFERCAST_KERNEL_TABLES is off",
              file=sys.stderr)
        return 2
    doc = build()
    text = json.dumps(doc, indent=1) + "\n"
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT.name} differs from a fresh derivation: run benchmarks/derive_fractions.py and commit it",
                  file=sys.stderr)
            return 1
        print(f"{OUT.name} matches a fresh derivation")
        return 0
    print_table(doc)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
