"""A calibration profile against the public kernel tables of the same chip, kernel by kernel.

`infercast calibrate` times GEMMs (PyTorch `matmul`, fp8 via `torch._scaled_mm`) and attention
(`scaled_dot_product_attention`) on one card. aiconfigurator-core's tables time the engines' own
kernels on NVIDIA's card of the same model. This module puts the two side by side for every shape
the profile measured: the table's time at that shape (a measured row where the table holds the exact
shape, else the interpolated grid the estimator reads), and the ratio profile / table. A ratio above
1 means the card (or PyTorch's kernel) is slower than the engine's kernel in the table.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from infercast.engine.kernels import attention as KA
from infercast.engine.kernels import gemm as KG
from infercast.engine.kernels.source import BACKENDS, find_all, has_tables, measured_chip, read_columns
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip, get_chip

ENGINES = tuple(BACKENDS)  # tensorrt-llm, vllm, sglang


@dataclass(frozen=True)
class Pair:
    """One profile measurement beside one engine's table at the same shape."""

    kind: str  # "gemm" | "attention_prefill" | "attention_decode" | "moe"
    shape: str  # human-readable shape, e.g. "bf16 M=8 N=4096 K=4096"
    engine: str
    table: str  # the table's file and release
    profile_ms: float
    table_ms: float
    exact: bool  # the table holds a measured row at this very shape (else interpolated / nearest layout)
    dtype: str = "bf16"
    m: int | None = None  # a GEMM's rows, a MoE layer's tokens (None for attention)

    @property
    def ratio(self) -> float:
        return self.profile_ms / self.table_ms


def _exact_gemm_ms(ref, dtype: str, m: int, n: int, k: int) -> float | None:
    """The fastest measured row of a GEMM table at exactly (dtype, m, n, k), in ms; None when absent."""
    c = read_columns(ref.path, ("gemm_dtype", "m", "n", "k", "latency"))
    sel = (c["gemm_dtype"].astype(str) == dtype) & (c["m"] == m) & (c["n"] == n) & (c["k"] == k)
    return float(np.min(c["latency"][sel])) if sel.any() else None


def gemm_pairs(chip: Chip, rows: list[dict], engine: str) -> list[Pair]:
    tab = KG.gemm_table(chip, engine)
    if tab is None:
        return []
    out = []
    for r in rows:
        dt = KG.PROFILE_DTYPES.get(r["dtype"])
        if dt == "fp8" and dt not in tab.dtypes:
            dt = "fp8_any"
        if dt not in tab.dtypes:
            continue
        m, n, k = int(r["M"]), int(r["N"]), int(r["K"])
        exact = _exact_gemm_ms(tab.ref, "fp8" if dt == "fp8_any" else dt, m, n, k)
        t = exact if exact is not None else float(tab.time(chip, dt, np.array([float(m)]), n, k)[0]) * 1e3
        what = f"{r['dtype']} M={m} N={n} K={k}" + (f" ({r['shape']})" if r.get("shape") else "")
        out.append(Pair("gemm", what, engine, tab.ref.detail, float(r["ms"]), t, exact is not None, r["dtype"], m))
    return out


def attention_pairs(chip: Chip, prof: dict, engine: str) -> list[Pair]:
    out = []
    pre = KA.attention_table(chip, engine, "prefill")
    if pre is not None:
        for r in prof.get("attention_prefill", []):
            b, h, s, d = int(r["batch"]), int(r["heads"]), int(r["seq"]), int(r["head_dim"])
            eff, exact = pre.efficiency(KA.Layout(h, h, d, "bfloat16/bfloat16"), np.array([float(b)]),
                                        np.array([float(s)]))
            t = float(KA.prefill_flops(b, s, h, d) / chip.peak_flops("bf16") / eff[0]) * 1e3
            out.append(Pair("attention_prefill", f"bf16 causal B={b} H={h} S={s} D={d}", engine, pre.ref.detail,
                            float(r["ms"]), t, exact))
    dec = KA.attention_table(chip, engine, "decode")
    if dec is not None:
        for r in prof.get("attention_decode", []):
            b, kv, g, c, d = (int(r[x]) for x in ("batch", "kv_heads", "group", "context", "head_dim"))
            eff, exact = dec.efficiency(KA.Layout(kv * g, kv, d, "bfloat16"), np.array([float(b)]),
                                        np.array([float(c)]))
            t = float(KA.decode_roofline(chip, b, c, kv * g, kv, d, 2.0) / eff[0]) * 1e3
            out.append(Pair("attention_decode", f"bf16 KV B={b} KV heads={kv} group={g} context={c} D={d}", engine,
                            dec.ref.detail, float(r["ms"]), t, exact))
    return out


MOE_DTYPES = {"bf16": "bfloat16"}
MOE_ROUTING = ("uniform", "balanced", "power_law_1.01")  # the closest to a random router's first


def moe_pairs(chip: Chip, rows: list[dict], engine: str) -> list[Pair]:
    """Each profile MoE layer beside the fastest row of the engine's MoE table at the same shape and token count
    (one GPU), in the routing closest to the profile's; shapes or counts the table lacks are left out."""
    refs = find_all(chip.id, engine, "moe", "moe_perf.parquet")
    if not refs or not rows:
        return []
    names = ("moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size",
             "moe_ep_size", "distribution", "latency")
    c = read_columns(refs[0].path, names)
    one = (c["moe_tp_size"] == 1) & (c["moe_ep_size"] == 1)
    out = []
    for r in rows:
        dt = MOE_DTYPES.get(r.get("dtype", ""))
        sel = one & (c["moe_dtype"].astype(str) == dt) & (c["num_tokens"] == r["tokens"]) \
            & (c["hidden_size"] == r["hidden"]) & (c["inter_size"] == r["inter"]) & (c["topk"] == r["topk"]) \
            & (c["num_experts"] == r["experts"])
        dist = c["distribution"].astype(str)
        for d in MOE_ROUTING:
            hit = sel & (dist == d)
            if hit.any():
                what = (f"{r['dtype']} tokens={r['tokens']} hidden={r['hidden']} inter={r['inter']} "
                        f"top-{r['topk']} of {r['experts']} ({r.get('shape', 'MoE')}; table routing {d})")
                out.append(Pair("moe", what, engine, refs[0].detail, float(r["ms"]),
                                float(np.min(c["latency"][hit])), True, r["dtype"], int(r["tokens"])))
                break
    return out


def compare(prof: dict, engines: tuple[str, ...] = ENGINES) -> list[Pair]:
    """Every profile kernel beside each engine's table for the profile's chip (empty without tables)."""
    cid = prof.get("catalog_id")
    if not cid:
        raise InfercastError("profile: no catalog_id (the card is not in the catalog), so there is no "
                             "public table to compare it with")
    chip = get_chip(cid)
    if not has_tables(chip):
        raise InfercastError(f"profile: no public kernel tables for {cid} (install infercast[kernels]; "
                             f"NVIDIA measured a100/h100/h200/b200/b300/gb200/gb300/l40s/rtx-pro-6000)")
    chip = measured_chip(chip)
    rows = list(prof.get("gemm", [])) + list(prof.get("gemm_shapes", []))
    out = []
    for e in engines:
        out += gemm_pairs(chip, rows, e) + attention_pairs(chip, prof, e) + moe_pairs(chip, prof.get("moe", []), e)
    return out


def summary(pairs: list[Pair]) -> list[dict]:
    """Median and range of profile/table per (kind, engine, dtype family, skinny or wide GEMM)."""
    groups: dict[tuple, list[float]] = {}
    for p in pairs:
        band = ""
        if p.kind == "moe":
            band = "tokens<=64" if p.m <= 64 else "tokens>=1024" if p.m >= 1024 else "64<tokens<1024"
        elif p.m is not None:
            band = ("M<=64 (weight streaming)" if p.m <= 64 else "M>=1024 (compute)" if p.m >= 1024 else "64<M<1024")
        key = (p.kind, p.engine, p.dtype, band)
        groups.setdefault(key, []).append(p.ratio)
    return [{"kind": k, "engine": e, "dtype": d, "band": b, "n": len(v), "median_ratio": statistics.median(v),
             "min_ratio": min(v), "max_ratio": max(v)} for (k, e, d, b), v in groups.items()]
