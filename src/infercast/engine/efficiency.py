"""Achievable rates: datasheet peaks x measured efficiency, per chip family, or a calibration profile.

Defaults live in data/efficiency.json with their sources; `--profile FILE` (the format of
shared/data/profiles/) replaces the family's fractions with what one card measured.
"""
from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from infercast.specs.store import normalise, read_json
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip


@dataclass(frozen=True)
class Efficiency:
    gemm_compute: dict[str, float]  # fraction of dense peak reached by large square GEMMs, per precision
    weight_stream: dict[str, float]  # fraction of datasheet HBM bandwidth a skinny GEMM streams weights at
    kv_stream: float  # same for attention reading the KV cache
    elementwise_stream: float  # norms, activations, residuals
    attention_compute: float  # fraction of the 16-bit peak reached by flash attention (prefill)
    source: str
    kernel_us: float = 4.0
    overlap_p: float = 3.0
    moe_grouped_gemm: float = 0.65  # routed-expert grouped GEMMs relative to dense GEMM compute
    model_shape_factor: float = 0.85  # GEMMs at model shapes vs square 8192^3 GEMMs
    speed_of_light: bool = False
    profiled_attention: bool = False  # the attention efficiency was measured on this card
    profile: str | None = None  # path of the calibration profile used, if any

    def gemm(self, precision: str) -> float:
        """Compute efficiency of a GEMM at model shapes: the square-GEMM ceiling x the shape factor."""
        return self.gemm_compute.get(precision, self.gemm_compute.get("bf16", 0.8)) * self.model_shape_factor

    def stream(self, precision: str) -> float:
        """Weight-streaming efficiency of the GEMM kernels for weights stored at `precision`."""
        return self.weight_stream.get(precision, self.weight_stream.get("bf16", 0.68))


@dataclass(frozen=True)
class Engine:
    name: str
    kernels_per_layer: float
    elementwise_passes: float
    step_overhead_us: float
    max_batch: int
    source: str
    aliases: tuple[str, ...] = field(default_factory=tuple)
    kernel_us: float = 4.0  # fixed cost per kernel (launch + ramp); lower inside CUDA graphs
    kv_fraction: float = 0.9  # share of memory given to the KV pool
    kv_fraction_of: str = "total"  # of 'total' HBM, or of what is 'free' after weights and activations
    kv_default_fp8: bool = False  # fp8 weights imply an fp8 KV cache (TensorRT-LLM FP8 checkpoints)
    attention_compute: dict[str, float] = field(default_factory=dict)  # per family, overrides the chip's
    gqa_kv_reuse: bool = True  # decode attention reads each KV head once for all its query heads (GQA-aware kernel)
    versions: tuple[dict, ...] = ()  # overrides for releases below a version, each with its source
    version: str | None = None  # the release named in the engine string, if any

    def attention_eff(self, family: str, default: float) -> float:
        return self.attention_compute.get(family, default)


def _family(fams: dict, name: str) -> dict:
    f = dict(fams.get(name) or fams["default"])
    if "inherit" in f:
        base = _family(fams, f.pop("inherit"))
        base.update(f)
        f = base
    return f


@lru_cache(maxsize=None)
def _family_eff(family: str) -> Efficiency:
    raw = read_json("efficiency.json")
    f = _family(raw["families"], family)
    return Efficiency(
        gemm_compute=dict(f["gemm_compute"]), weight_stream=dict(f["weight_stream"]), kv_stream=f["kv_stream"],
        elementwise_stream=f["elementwise_stream"], attention_compute=f["attention_compute"],
        source=f"family '{family}': {f['source']}", kernel_us=raw["kernel_us"]["value"],
        moe_grouped_gemm=f.get("moe_grouped_gemm", 0.65), model_shape_factor=f.get("model_shape_factor", 0.85),
        overlap_p=raw["overlap_exponent"]["value"])


def load_profile(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise InfercastError(f"--profile: no such file '{path}'; pass a profile written by `infercast calibrate`")
    try:
        prof = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise InfercastError(f"--profile: '{path}' is not valid JSON ({e})") from None
    if "copy_gbps" not in prof and "gemm" not in prof:
        raise InfercastError(f"--profile: '{path}' has neither 'copy_gbps' nor 'gemm'; not a calibration profile")
    return prof


SPEED_OF_LIGHT = Efficiency(
    gemm_compute={k: 1.0 for k in ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")},
    weight_stream={k: 1.0 for k in ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")},
    kv_stream=1.0, elementwise_stream=1.0, attention_compute=1.0, kernel_us=0.0, overlap_p=64.0,
    moe_grouped_gemm=1.0, model_shape_factor=1.0, speed_of_light=True,
    source="speed of light: datasheet peaks, no kernel, launch or scheduler overheads (an upper bound)")


def efficiency_for(chip: Chip, profile: str | Path | dict | None = None, speed_of_light: bool = False) -> Efficiency:
    """The family's sourced fractions, overridden by a calibration profile's measurements."""
    if speed_of_light:
        return SPEED_OF_LIGHT
    base = _family_eff(chip.family)
    if profile is None:
        return base
    prof = profile if isinstance(profile, dict) else load_profile(profile)
    bw = chip.bandwidth
    gemm = dict(base.gemm_compute)
    stream = dict(base.weight_stream)
    rows = prof.get("gemm", [])
    for dtype in {r["dtype"] for r in rows}:
        rs = [r for r in rows if r["dtype"] == dtype]
        peak = chip.tflops.get(dtype)
        if peak:  # large-M ceiling: best measured rate at M >= 1024
            big = [r["tflops"] for r in rs if r["M"] >= 1024]
            if big:
                gemm[dtype] = min(1.0, max(big) / peak)
                if dtype == "bf16":
                    gemm["fp16"] = gemm[dtype]
                if dtype == "fp8":
                    gemm["int8"] = gemm[dtype]
    # skinny GEMMs (M <= 64) are weight-streaming: bytes of the weight / time, per stored precision
    wb = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0}
    for dtype in {r["dtype"] for r in rows}:
        skinny = [r["N"] * r["K"] * wb.get(dtype, 2.0) / (r["ms"] * 1e-3) for r in rows
                  if r["M"] <= 64 and r["dtype"] == dtype]
        if skinny:
            stream[dtype] = min(1.0, statistics.median(skinny) / bw)
            for alias in {"bf16": ("fp16",), "fp8": ("int8", "fp4", "int4")}.get(dtype, ()):
                stream[alias] = stream[dtype]
    copy = prof.get("copy_gbps")
    elem = min(1.0, copy * 1e9 / bw) if copy else base.elementwise_stream
    attn = None  # None: keep the family/engine attention efficiency unless the profile measured it
    if prof.get("attention_prefill_tflops"):
        attn = min(1.0, prof["attention_prefill_tflops"] * 1e12 / chip.peak_flops("bf16"))
    kv = min(1.0, copy * 1e9 / bw) if copy else base.kv_stream
    if prof.get("attention_decode_gbps"):
        kv = min(1.0, prof["attention_decode_gbps"] * 1e9 / bw)
    kernel_us = prof.get("graph_kernel_us", base.kernel_us)
    name = prof.get("device", "profile")
    profiled_attention = attn is not None
    return Efficiency(gemm_compute=gemm, weight_stream=stream, kv_stream=kv, elementwise_stream=elem,
                      attention_compute=attn if profiled_attention else base.attention_compute,
                      profiled_attention=profiled_attention, kernel_us=kernel_us, overlap_p=base.overlap_p,
                      moe_grouped_gemm=base.moe_grouped_gemm, model_shape_factor=base.model_shape_factor,
                      source=f"calibration profile of {name} measured {prof.get('measured', '?')}",
                      profile=str(profile) if not isinstance(profile, dict) else name)


@lru_cache(maxsize=None)
def _engines() -> dict[str, Engine]:
    raw = read_json("efficiency.json")["engines"]
    return {k: Engine(name=k, kernels_per_layer=v["kernels_per_layer"], elementwise_passes=v["elementwise_passes"],
                      step_overhead_us=v["step_overhead_us"], max_batch=v["max_batch"], source=v["source"],
                      aliases=tuple(v["match"]), kernel_us=v.get("kernel_us", 4.0),
                      kv_fraction=v.get("kv_fraction", 0.9), kv_fraction_of=v.get("kv_fraction_of", "total"),
                      kv_default_fp8=v.get("kv_default_fp8", False),
                      attention_compute=dict(v.get("attention_compute", {})),
                      versions=tuple(v.get("versions", ())))
            for k, v in raw.items()}


_VERSION = re.compile(r"[\w\-]*[\s_=-]*v?(\d+)\.(\d+)(?:\.(\d+))?")


def _at_version(e: Engine, text: str, alias: str) -> Engine:
    """The engine as it was at the release named right after its name in `text` ('TensorRT-LLM v0.6.1'):
    older releases lacked some kernels; each override in efficiency.json says which and cites where."""
    low = text.lower()
    at = low.find(alias)
    m = _VERSION.match(low, at + len(alias)) if at >= 0 else None
    if not m:
        return e
    ver = tuple(int(x or 0) for x in m.groups())
    for o in e.versions:
        below = tuple(int(x) for x in o["below"].split("."))
        if ver < below + (0,) * (3 - len(below)):
            fields = {k: v for k, v in o.items() if k not in ("below", "source")}
            e = replace(e, source=f"{e.source}; before {o['below']}: {o['source']}", **fields)
    return replace(e, version=".".join(m.group(i) for i in (1, 2, 3) if m.group(i)))


def engine_names() -> list[str]:
    return list(_engines())


def get_engine(name: str | None, strict: bool = True) -> Engine:
    """An engine profile by name, or by the first match in a free-text engine string ('TensorRT-LLM 0.17').

    strict=False (measured rows naming stacks we have no profile for) returns the generic 'other' profile.
    """
    engines = _engines()
    if not name:
        return engines["tensorrt-llm"]
    key = normalise(name)
    if key in engines:
        return engines[key]
    for e in engines.values():
        hit = next((a for a in e.aliases if a in key), None)
        if hit:
            return _at_version(e, name, hit)
    if not strict:
        return engines["other"]
    raise InfercastError(f"unknown engine '{name}'; use one of {', '.join(engines)}")
