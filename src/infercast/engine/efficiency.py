"""Achievable rates: datasheet peaks x measured efficiency, per chip family, or a calibration profile.

Defaults live in data/efficiency.json with their sources; for the NVIDIA families, data/kernel_fractions.json
(derived from NVIDIA's measured kernel tables by benchmarks/derive_fractions.py) overrides them where it
has a number; `--profile FILE` (the format of shared/data/profiles/) replaces the family's fractions with
what one card measured.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from infercast.specs.store import normalise, read_json
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip


@dataclass(frozen=True)
class Efficiency:
    """Fallback fractions of datasheet peaks (used where no measured table covers an operator), and
    the calibration profile's measurements when one is given."""

    gemm_compute: dict[str, float]  # fraction of dense peak reached by GEMMs at model shapes, per precision
    weight_stream: dict[str, float]  # fraction of datasheet HBM bandwidth a skinny GEMM streams weights at
    kv_stream: float  # same for attention reading the KV cache
    elementwise_stream: float  # norms, activations, residuals
    attention_compute: float  # fraction of the 16-bit peak reached by flash attention (prefill)
    source: str
    kernel_us: float | None = None  # measured fixed cost per kernel (a profile's graph_kernel_us); else the engine's
    overlap_p: float = 3.0
    moe_grouped_gemm: float = 0.65  # routed-expert grouped GEMMs relative to dense GEMM compute
    speed_of_light: bool = False
    tables: bool = True  # measured kernel tables may time operators (off at speed of light)
    profiled_attention: bool = False  # the attention efficiency was measured on this card
    profiled_copy: bool = False  # the copy rate was measured on this card
    profile: str | None = None  # name or path of the calibration profile used, if any
    profile_gemm: object = None  # a per-shape GEMM table built from the profile's rows
    profile_gemm_shapes: object = None  # (dtype, N, K) -> time over M, where the profile measured that weight shape
    profile_attention_decode: object = None  # time over KV bytes (kernels.profile.Curve), measured on this card
    profile_attention_prefill: object = None  # time over causal FLOPs, measured on this card
    profile_moe: object = None  # (dtype, hidden, inter, top-k, experts) -> time over tokens, measured on this card
    comm_tables_on_pcie: bool = False  # time PCIe hosts' collectives from tables too (off: their link model)
    # a serving run's compute-bound kernels at the power-limited clock: sustained / burst GEMM rate (1.0: not measured
    # or not limited); efficiency.json `sustained_compute`, or the profile's own `gemm_sustained`
    sustained_compute: float = 1.0
    family_note: str = ""  # where the GEMM fractions come from (short)
    moe_note: str = ""
    attention_note: str = ""
    elementwise_note: str = ""

    def gemm(self, precision: str) -> float:
        """Compute efficiency of GEMMs at model shapes for a compute precision."""
        return self.gemm_compute.get(precision, self.gemm_compute.get("bf16", 0.8))

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
    # the engine computes its static pool's share of memory itself (engine.reserve: SGLang's mem_fraction_static
    # rule of this release); "" when kv_fraction applies
    mem_reserve: str = ""
    attention_compute: dict[str, float] = field(default_factory=dict)  # per family, overrides the chip's
    gqa_kv_reuse: bool = True  # decode attention reads each KV head once for all its query heads (GQA-aware kernel)
    versions: tuple[dict, ...] = ()  # overrides for releases below a version, each with its source
    version: str | None = None  # the release named in the engine string, if any
    table_backend: str | None = None  # whose measured kernel tables time this engine (None: its own name)
    table_ops: tuple[str, ...] | None = None  # operator families those tables may time (None: all)
    batch_overlap: str = ""  # attention-DP + EP: the batch split in two so one half's all-to-all hides behind the
    # other half's compute (SGLang two-batch overlap, vLLM dual batch overlap); the source, or "" when not done
    # attention-DP groups and pipeline micro-batches given equal prompt tokens in every step (True: an idealised
    # balanced scheduler, and the ablation); False, every engine's default: each prompt is prefilled in one group's
    # micro-batch and the step waits for the busiest (TensorRT-LLM tech blog 10, "ADP Balance Strategy": iteration
    # time = max over ranks; a pipeline's micro-batches pass every stage in turn, so the slowest sets the turn)
    balanced_batches: bool = False
    wide_ep_tables: bool = True  # time attention-DP + EP MoE layers from the DeepEP wide-EP tables where measured
    dsa_module_tables: bool = True  # time a DSA model's attention block from the measured module tables (kernels.dsa)
    hybrid_pools: bool = True  # SGLang's own state pool for hybrid models (memory.hybrid_split), with mem_reserve
    # a checkpoint released in MXFP4 (gpt-oss) timed by the MXFP4 MoE kernel tables on FP4 chips: off by default, the
    # choice was made on rows that turned out to be reserved data (InferenceX results, data/measured/README.md)
    mxfp4_kernels: bool = False
    moe_current_routing: bool = True  # a TensorRT-LLM release older than every MoE table: the current one (kernels.moe)
    overlap_scheduler: str = ""  # a step's outputs processed during the next step (first token one step later); source
    prefill_first: str = ""  # prefill batches apart from decode batches, run first while a request waits; source
    large_memory_batch: dict | None = None  # a larger default max batch on GPUs with much memory, with its source
    token_budget: dict | None = None  # tokens per step by the GPU's memory (tiers, else, lowest_for, source)
    step_tokens: int = 8192  # tokens one step processes, prompt chunks and decodes (TensorRT-LLM max_num_tokens)
    # the step budget is the whole replica's and split over attention-DP ranks (SGLang); its source, or "" when each
    # rank has the whole budget (TensorRT-LLM max_num_tokens and vLLM max_num_batched_tokens are per rank)
    dp_split_budget: str = ""
    releases: dict | None = None  # release -> date (ISO), with its source: the version current at a date
    # the engine's own attention kernel timed on one card: {"profile" (a shipped one), "families", "short", "source"};
    # read on chips of those families when no profile is given, sizes scaled by the peak ratio (timing.Timer.attention)
    attention_reference: dict | None = None

    def release_at(self, date: str) -> str | None:
        """The newest release out by `date` (ISO 'YYYY-MM[-DD]'), or None before the first one listed."""
        rel = {k: v for k, v in (self.releases or {}).items() if k != "source"}
        out = [k for k, d in rel.items() if d[:len(date)] <= date]
        return max(out, key=lambda v: tuple(int(x) for x in v.split("."))) if out else None

    def for_chip(self, chip) -> "Engine":
        """The engine's defaults on `chip`: vLLM V1 raises max_num_seqs on GPUs with >= 70 GiB (not A100); vLLM
        V1 and SGLang size the tokens of a step by the GPU's memory (`token_budget`)."""
        gib = chip.memory_gb if chip.memory_binary else chip.memory_gb * 1e9 / 2**30
        e, rule = self, self.large_memory_batch
        if rule and gib >= rule["min_gib"] and not any(x in chip.id.lower() for x in rule["except"]):
            e = replace(e, max_batch=int(rule["max_batch"]), source=f"{e.source}; {rule['source']}")
        tb = self.token_budget
        if tb:
            tiers = [(float(b), int(n)) for b, n in tb["tiers"]]
            low = any(x in chip.id.lower() for x in tb.get("lowest_for", ()))
            n = tiers[0][1] if low else next((n for b, n in tiers if gib < b), int(tb["else"]))
            e = replace(e, step_tokens=n, source=f"{e.source}; {tb['source']}")
        return e

    def tables_for(self, family: str) -> str | None:
        """The engine name whose tables time an operator family, or None when they may not."""
        if self.table_ops is not None and family not in self.table_ops:
            return None
        return self.table_backend or self.name

    def attention_eff(self, family: str, default: float) -> float:
        return self.attention_compute.get(family, default)


def _family(fams: dict, name: str) -> dict:
    f = dict(fams.get(name) or fams["default"])
    if "inherit" in f:
        base = _family(fams, f.pop("inherit"))
        base.update(f)
        f = base
    return f


@lru_cache(maxsize=1)
def kernel_fractions() -> dict:
    """Per family, the fallback fractions benchmarks/derive_fractions.py derived from NVIDIA's measured kernel
    tables (data/kernel_fractions.json: values, their statistics and one-line sources)."""
    return read_json("kernel_fractions.json")["families"]


@lru_cache(maxsize=None)
def _family_eff(family: str) -> Efficiency:
    """A family's fallback fractions: those derived from kernel tables (kernel_fractions.json) where the family
    has them, over efficiency.json's sourced numbers (the only ones for families NVIDIA did not measure)."""
    raw = read_json("efficiency.json")
    f = _family(raw["families"], family)
    kf = kernel_fractions().get(family)
    v = kf["values"] if kf else {}
    note = f.get("short", f"family '{family}'")
    knote = kf["short"] if kf else note

    def pick(key: str, default):
        return v.get(key, f.get(key, default))

    return Efficiency(
        gemm_compute={**f["gemm_compute"], **v.get("gemm_compute", {})},
        weight_stream={**f["weight_stream"], **v.get("weight_stream", {})},
        kv_stream=pick("kv_stream", None), elementwise_stream=f["elementwise_stream"],
        attention_compute=pick("attention_compute", None),
        source=(f"family '{family}': {kf['source']}; elsewhere (elementwise, tf32/fp32) {f['source']}" if kf
                else f"family '{family}': {f['source']}"),
        moe_grouped_gemm=pick("moe_grouped_gemm", 0.65),
        overlap_p=v.get("overlap_p", raw["overlap_exponent"]["value"]), tables=True,
        family_note=knote if v.get("gemm_compute") else note,
        moe_note=kf["moe_short"] if "moe_grouped_gemm" in v else f.get("moe_short", note),
        attention_note=kf["attention_short"] if "attention_compute" in v else f.get("attention_short", note),
        elementwise_note=f.get("elementwise_short", note))


PROFILES = "profiles"  # shipped calibration profiles: data/profiles/<name>.json


def shipped_profiles() -> list[str]:
    from importlib import resources

    folder = resources.files("infercast").joinpath("data", PROFILES)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_profile(path: str | Path) -> dict:
    """A calibration profile from a file, or a shipped one by name (`h100-sxm`)."""
    p = Path(path)
    if not p.is_file() and str(path) in shipped_profiles():
        from importlib import resources

        p = Path(str(resources.files("infercast").joinpath("data", PROFILES, f"{path}.json")))
    if not p.is_file():
        raise InfercastError(f"no such profile file '{str(path)[:80]}'; pass a profile written by `infercast calibrate` "
                             f"or a shipped one ({', '.join(shipped_profiles())})", field="profile", value=path)
    try:
        prof = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InfercastError(f"profile '{str(path)[:80]}' is not valid JSON ({e})", field="profile") from None
    if not isinstance(prof, dict) or ("copy_gbps" not in prof and "gemm" not in prof):
        raise InfercastError(f"profile '{str(path)[:80]}' has neither 'copy_gbps' nor 'gemm'; not a calibration profile",
                             field="profile")
    prof.setdefault("_name", str(path))
    return prof


@lru_cache(maxsize=None)
def reference_attention(name: str):
    """(decode curve, prefill curve, the chip they were measured on) of a shipped profile's attention timings."""
    from infercast.engine.kernels import profile as KP
    from infercast.specs.hardware import get_chip

    prof = load_profile(name)
    dec, pre = KP.attention_curves(prof, name)
    return dec, pre, get_chip(prof["catalog_id"])


SPEED_OF_LIGHT = Efficiency(
    gemm_compute={k: 1.0 for k in ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")},
    weight_stream={k: 1.0 for k in ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")},
    kv_stream=1.0, elementwise_stream=1.0, attention_compute=1.0, kernel_us=0.0, overlap_p=64.0,
    moe_grouped_gemm=1.0, speed_of_light=True, tables=False,
    family_note="speed of light", moe_note="speed of light", attention_note="speed of light",
    elementwise_note="speed of light",
    source="speed of light: datasheet peaks, no kernel, launch or scheduler overheads (an upper bound)")


def _positive(prof: dict, key: str, name: str) -> float | None:
    v = prof.get(key)
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InfercastError(f"profile '{name}': {key} must be a number, got {str(v)[:40]!r}", field="profile") from None
    if not (x > 0 and x < 1e12):
        raise InfercastError(f"profile '{name}': {key} must be a positive finite number, got {v}", field="profile")
    return x


def sustained_compute(chip: Chip) -> float:
    """Sustained over burst compute rate of a chip at its power limit, where measured (efficiency.json), else 1."""
    return float(read_json("efficiency.json")["sustained_compute"]["by_chip"].get(chip.id, 1.0))


def _profile_sustained(prof: dict, name: str) -> float | None:
    g = prof.get("gemm_sustained")
    if g is None:
        return None
    r = g.get("ratio") if isinstance(g, dict) else None
    try:
        r = float(r)
    except (TypeError, ValueError):
        r = float("nan")
    if not (0.2 <= r <= 1.2):
        raise InfercastError(f"profile '{name}': gemm_sustained.ratio must be a number between 0.2 and 1.2 (sustained "
                             f"over burst GEMM rate), got {str(g.get('ratio') if isinstance(g, dict) else g)[:40]!r}",
                             field="profile")
    return min(1.0, r)


def efficiency_for(chip: Chip, profile: str | Path | dict | None = None, speed_of_light: bool = False) -> Efficiency:
    """The family's sourced fractions, overridden by a calibration profile's measurements."""
    if speed_of_light:
        return SPEED_OF_LIGHT
    base = replace(_family_eff(chip.family), sustained_compute=sustained_compute(chip))
    if profile is None:
        return base
    prof = profile if isinstance(profile, dict) else load_profile(profile)
    name = str(prof.get("_name", prof.get("device", "profile")))
    from infercast.engine.kernels.gemm import from_rows

    gemm_tab = from_rows(chip, prof.get("gemm", []), name)
    from infercast.engine.kernels import profile as KP
    from infercast.engine.kernels.gemm import PROFILE_DTYPES

    shapes = prof.get("gemm_shapes", [])
    shape_curves = KP.gemm_curves(shapes, PROFILE_DTYPES, name) if isinstance(shapes, list) else {}
    att_dec, att_pre = KP.attention_curves(prof, name)
    moe_curves = KP.moe_curves(prof.get("moe", []), name)
    bw = chip.bandwidth
    copy = _positive(prof, "copy_gbps", name)
    attn = _positive(prof, "attention_prefill_tflops", name)
    dec = _positive(prof, "attention_decode_gbps", name)
    kus = _positive(prof, "graph_kernel_us", name)
    elem = min(1.0, copy * 1e9 / bw) if copy else base.elementwise_stream
    kv = min(1.0, (dec or copy) * 1e9 / bw) if (dec or copy) else base.kv_stream
    label = prof.get("device", "profile")
    return replace(
        base, elementwise_stream=elem, kv_stream=kv,
        attention_compute=min(1.0, attn * 1e12 / chip.peak_flops("bf16")) if attn else base.attention_compute,
        profiled_attention=attn is not None, profiled_copy=copy is not None, kernel_us=kus,
        profile_gemm=gemm_tab, profile=name, profile_gemm_shapes=shape_curves or None,
        profile_attention_decode=att_dec, profile_attention_prefill=att_pre, profile_moe=moe_curves or None,
        sustained_compute=_profile_sustained(prof, name) or base.sustained_compute,
        elementwise_note=f"copy rate measured on {label}" if copy else base.elementwise_note,
        source=f"calibration profile of {label} measured {prof.get('measured', '?')}; elsewhere {base.source}")


@lru_cache(maxsize=None)
def _engines() -> dict[str, Engine]:
    raw = read_json("efficiency.json")["engines"]
    return {k: Engine(name=k, kernels_per_layer=v["kernels_per_layer"], elementwise_passes=v["elementwise_passes"],
                      step_overhead_us=v["step_overhead_us"], max_batch=v["max_batch"], source=v["source"],
                      aliases=tuple(v["match"]), kernel_us=v.get("kernel_us", 4.0),
                      kv_fraction=v.get("kv_fraction", 0.9), kv_fraction_of=v.get("kv_fraction_of", "total"),
                      mem_reserve=v.get("mem_reserve", {}).get("rule", ""),
                      kv_default_fp8=v.get("kv_default_fp8", False),
                      attention_compute=dict(v.get("attention_compute", {})),
                      versions=tuple(v.get("versions", ())),
                      table_backend=v.get("kernel_tables", {}).get("backend"),
                      table_ops=tuple(v["kernel_tables"]["ops"]) if "kernel_tables" in v else None,
                      batch_overlap=v.get("batch_overlap", ""),
                      large_memory_batch=v.get("large_memory_batch"), releases=v.get("releases"),
                      token_budget=v.get("token_budget"),
                      overlap_scheduler=v.get("overlap_scheduler", ""), prefill_first=v.get("prefill_first", ""),
                      dp_split_budget=v.get("dp_split_budget", ""),
                      attention_reference=v.get("attention_reference"))
            for k, v in raw.items()}


FOREIGN_VERSION_ALIASES = ("nim",)  # products that wrap an engine and number their own releases
_VERSION = re.compile(r"[\w\-]*[\s_=-]*v?(\d+)\.(\d+)(?:\.(\d+))?")


def _at_version(e: Engine, text: str, alias: str) -> Engine:
    """The engine as it was at the release named right after its name in `text` ('TensorRT-LLM v0.6.1'):
    older releases lacked some kernels; each override in efficiency.json says which and cites where."""
    low = text.lower()
    at = low.find(alias)
    if alias in FOREIGN_VERSION_ALIASES:  # 'NVIDIA NIM 1.8.0': the number is NIM's release, not the engine's
        return e
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
    # the alias that appears first in the text wins (ties: the longest), so "vLLM (optimized build)" is
    # vLLM even though TensorRT-LLM lists "optimized" among its aliases
    hits = [(key.find(a), -len(a), e.name, a) for e in engines.values() for a in e.aliases if a in key]
    if hits:
        _, _, ename, alias = min(hits)
        return _at_version(engines[ename], name, alias)
    if not strict:
        return engines["other"]
    shown = name if len(name) <= 60 else name[:57] + "..."
    raise InfercastError(f"unknown engine '{shown}'; use one of {', '.join(engines)}", field="engine", value=name)
