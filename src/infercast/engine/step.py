"""A deployment (a model replica on GPUs of one chip) and the time of one engine step on it.

`step()` builds the step's operators (`engine.operators`), times each from the first source that
covers it (`engine.timing`: calibration profile, measured kernel table, or documented fallback)
and adds the engine's per-step host cost. Vectorised: batch sizes, contexts, token counts and the
PP degree may be numpy arrays that broadcast together; TP, EP and precisions come from the
deployment.

Pipeline parallelism: a stage holds layers/pp of the layers; the last stage also runs the
lm_head. A token's step through the pipeline takes pp x stage + lm_head + host cost (`latency`);
with micro-batches in flight the pipeline advances one micro-batch per `cycle` = the slowest stage.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from infercast.engine import operators as O
from infercast.engine.efficiency import Efficiency, Engine, efficiency_for, get_engine
from infercast.engine.operators import ACT_BYTES
from infercast.engine.timing import Timed, Timer
from infercast.errors import InfercastError
from infercast.specs import precision as P
from infercast.specs.hardware import Chip, get_chip
from infercast.specs.model import ModelSpec, get_model
from infercast.vocabulary import check_number

__all__ = ["ACT_BYTES", "Deployment", "deployment", "step", "step_time", "bound_breakdown", "BOUND_CLASSES"]


@dataclass(frozen=True)
class Deployment:
    """A model replica on `tp*pp` GPUs of one chip type, with precisions, engine and efficiencies."""

    model: ModelSpec
    chip: Chip
    tp: int = 1
    pp: int = 1
    ep: int = 1
    weights: str = "bf16"
    kv: str = "bf16"
    compute: str = "bf16"
    engine: Engine = field(default_factory=lambda: get_engine(None))
    eff: Efficiency | None = None
    notes: tuple[str, ...] = ()

    @property
    def expert_shards(self) -> int:
        """GPUs the routed experts are split over: the TP group, or a wider EP group."""
        return max(self.tp, self.ep) if self.model.moe else self.tp

    @property
    def attn_dp(self) -> int:
        """Attention data-parallel groups inside one replica (EP wider than TP, DeepSeek-style)."""
        return self.expert_shards // self.tp

    @property
    def rank_tokens(self) -> int:
        """Tokens one attention group's step may hold: the engine's step budget, or its share of it where the
        engine splits the replica's budget over the groups (`Engine.dp_split_budget`, SGLang)."""
        e, dp = self.engine, self.attn_dp
        return max(1, e.step_tokens // dp) if e.dp_split_budget and dp > 1 else e.step_tokens

    @property
    def gpus(self) -> int:
        return self.expert_shards * self.pp


def with_rank_tokens(dep: Deployment, tokens: int) -> Deployment:
    """The deployment whose attention groups each take `tokens` per step: the engine's step budget set so
    (SGLang's budget is the replica's, split over its DP ranks: `Engine.dp_split_budget`)."""
    split = dep.attn_dp if dep.engine.dp_split_budget else 1
    if tokens == dep.rank_tokens:
        return dep
    return replace(dep, engine=replace(dep.engine, step_tokens=int(tokens) * split))


def _module_note(m: ModelSpec, w: str) -> str:
    """Which modules a quantised model runs at another precision than `w`, and why (ModelSpec.module_bytes)."""
    other: dict[str, list[str]] = {}
    for mod in ("attention", "o_proj", "dense_mlp", "shared_experts", "lm_head"):
        p = m.module_dtype(mod, w)
        if p != w:
            other.setdefault(p, []).append(mod)
    said = "; ".join((", ".join(mods[:-1]) + " and " if len(mods) > 1 else "") + f"{mods[-1]} in {p}"
                     for p, mods in other.items())
    ck = m.checkpoints.get(w)
    if ck is None:
        return f"weights {w}: {said}, as quantised checkpoints keep the output head (ModelOpt, vLLM, SGLang)"
    bits = f", the rest stored at {ck.weight_bits:g} bits" if ck.weight_bits else ""
    src = ck.source if len(ck.source) <= 160 else ck.source[:157].rstrip() + "..."
    return f"weights {w}: {said}{bits} ({src})"


def deployment(model: str | ModelSpec, chip: str | Chip, *, tp: int = 1, pp: int = 1, ep: int = 1,
               weights: str | None = None, kv: str | None = None, engine: str | None = None,
               profile=None, speed_of_light: bool = False, strict_engine: bool = True) -> Deployment:
    """Validated deployment: precisions checked against the chip, parallelism against the model."""
    m, c = get_model(model), get_chip(chip)
    tp, pp, ep = (check_number(n, v, integer=True, allow_none=False) for n, v in (("tp", tp), ("pp", pp), ("ep", ep)))
    if pp > m.layers:
        raise InfercastError(f"pp {pp} exceeds the model's {m.layers} layers; use pp <= {m.layers}", field="pp")
    if tp > m.heads or m.heads % tp:
        ok = [t for t in (1, 2, 4, 8, 16, 32, 64, 128) if t <= m.heads and m.heads % t == 0]
        raise InfercastError(f"tp {tp} does not divide the model's {m.heads} attention heads; "
                             f"use one of {', '.join(map(str, ok))}", field="tp")
    if ep > 1 and not m.moe:
        raise InfercastError(f"ep {ep}: {m.id} is dense (no experts); use ep 1", field="ep")
    if m.moe and ep > m.moe.experts and ep % m.moe.experts:
        raise InfercastError(f"ep {ep} exceeds the model's {m.moe.experts} experts and is not a multiple of them "
                             "(beyond one expert per GPU, each expert is split over ep / experts GPUs)", field="ep")
    if ep > tp and ep % tp:
        raise InfercastError(f"ep {ep} must be a multiple of tp {tp} (attention runs data-parallel "
                             "over ep/tp groups)", field="ep")
    w = P.check(weights or m.dtype, "weights")
    if w in ("fp32", "tf32"):
        raise InfercastError(f"weights {w}: inference engines serve 16-bit or narrower weights; use bf16, fp8, "
                             "int8, fp4 or int4", field="weights")
    eng = get_engine(engine, strict=strict_engine).for_chip(c)
    if speed_of_light:  # no launch, scheduler or extra activation traffic: the physics bound
        eng = replace(eng, kernel_us=0.0, step_overhead_us=0.0, elementwise_passes=0.0)
    notes = []
    if kv:
        k = P.check(kv, "kv cache")
    elif eng.kv_default_fp8 and w in ("fp8", "fp4"):
        k = "fp8"
        notes.append(f"KV cache fp8: {eng.name} FP8/FP4 checkpoints quantise the KV cache too (set kv bf16 to override)")
    else:
        k = "bf16"
    if w in ("int4",):  # weight-only 4-bit (AWQ/GPTQ): activations stay 16-bit
        comp, note = c.compute_precision("bf16")
        notes.append("int4 weights are weight-only quantised: GEMMs run at 16-bit after dequantisation")
    else:
        comp, note = c.compute_precision(w)
    if note:
        notes.append(note)
    if k in ("fp4", "int4"):
        notes.append(f"{k} KV cache: bytes halved again; attention still computes at 16-bit")
    if P.nbytes(w) < 2.0:
        notes.append(_module_note(m, w))
    return Deployment(model=m, chip=c, tp=tp, pp=pp, ep=ep, weights=w, kv=k, compute=comp,
                      engine=eng, eff=efficiency_for(c, profile, speed_of_light), notes=tuple(notes))


BOUND_CLASSES = ("compute", "weights", "kv_cache", "activations", "communication", "overhead")
GROUPS = ("qkv_proj", "o_proj", "mlp", "shared_experts", "experts", "lm_head", "attention", "elementwise",
          "allreduce", "alltoall", "pipeline_p2p", "scheduler")


def step(dep: Deployment, decode_seqs=0, decode_ctx=0, prefill_tokens=0, prefill_seqs=0, prefill_ctx=0,
         pp=None, decode_query=1, group_tokens=None) -> list[Timed]:
    """Every operator of one step on one GPU, timed, with the source of its time (lm_head included)."""
    ops = O.build(dep, decode_seqs, decode_ctx, prefill_tokens, prefill_seqs, prefill_ctx, pp, decode_query,
                  group_tokens)
    timer = Timer(dep)
    return timer.modules([timer.time(op) for op in ops])


def step_time(dep: Deployment, decode_seqs=0, decode_ctx=0, prefill_tokens=0, prefill_seqs=0,
              prefill_ctx=0, pp=None, decode_query=1, group_tokens=None) -> dict[str, np.ndarray]:
    """Seconds of one step by operator group, plus the pipeline's totals (`group_tokens`: `operators.build`).

    Keys: each of GROUPS (per stage; `lm_head` on the last stage only), `stage` (one stage's
    layers and its activation hand-off), `latency` (a token through every stage: pp x stage +
    lm_head + host), `cycle` (the slowest stage, the last: stage + lm_head + host), `total`
    (latency / pp, so pp x total is a token's step), and `_timed` (the operators with provenance).
    """
    pp_ = np.asarray(dep.pp if pp is None else pp, dtype=float)
    timed = step(dep, decode_seqs, decode_ctx, prefill_tokens, prefill_seqs, prefill_ctx, pp_, decode_query,
                 group_tokens)
    B = np.asarray(decode_seqs, dtype=float)
    T = B * np.asarray(decode_query, dtype=float) + np.asarray(prefill_tokens, dtype=float)
    zero = np.zeros(np.broadcast(T, pp_).shape)
    zero.flags.writeable = False  # shared by every group below (each sum makes a new array): never edited in place
    out: dict[str, np.ndarray] = dict.fromkeys(GROUPS, zero)
    for x in timed:
        out[x.op.group] = out[x.op.group] + x.seconds
    # pipeline: activations cross one stage boundary per stage [SB-gpu §PP]
    group = dep.expert_shards * pp_
    link_bw = np.where(group <= dep.chip.scaleup_domain, dep.chip.scaleup_gbps, dep.chip.scaleout_gbps) * 1e9
    out["pipeline_p2p"] = np.where((pp_ > 1) & (T > 0), T / dep.attn_dp * dep.model.d_model * ACT_BYTES / link_bw
                                   + (0.0 if dep.eff.speed_of_light else 10e-6), 0.0)  # ~10 us per hop [aiconfigurator p2p_latency]
    if dep.engine.batch_overlap and dep.attn_dp > 1:
        # two micro-batches: one's all-to-all runs during the other's compute, so only the part of the
        # all-to-all longer than the rest of the layer stays exposed (needs two sequences per group to split)
        rest = sum(v for k, v in out.items() if k not in ("alltoall", "lm_head", "pipeline_p2p"))
        exposed = np.maximum(out["alltoall"] - rest, 0.0)
        out["alltoall"] = np.where(T >= 2, exposed, out["alltoall"])  # T: one attention group's tokens
    host = 0.0 if dep.eff.speed_of_light else dep.engine.step_overhead_us * 1e-6
    out["scheduler"] = np.where(T > 0, host, 0.0)
    stage = sum(v for k, v in out.items() if k not in ("lm_head", "scheduler"))
    out["stage"] = stage + zero
    out["cycle"] = stage + out["lm_head"] + out["scheduler"]
    out["latency"] = pp_ * stage + out["lm_head"] + out["scheduler"]
    out["total"] = out["latency"] / pp_
    out["_timed"] = timed
    return out


def bound_breakdown(parts: dict, p: float = 3.0) -> dict[str, np.ndarray]:
    """Attribute a token's step (latency) to the essay's terms. A GEMM's or attention's time splits between
    compute and bytes by the p-norm shares of its roofline compute and memory times (p = the overlap
    exponent of the efficiency data); fixed kernel costs of unmeasured operators and host work are overhead."""
    timed: list[Timed] = parts["_timed"]
    out = {k: 0.0 for k in BOUND_CLASSES}
    dep_pp = parts["latency"] / np.maximum(parts["total"], 1e-30)
    for x in timed:
        op = x.op
        per = x.seconds * (1.0 if op.group == "lm_head" else dep_pp)
        tc, tm = x.compute, x.memory
        hi = np.maximum(np.maximum(tc, tm), 1e-300)  # scaled: tiny times to a power would underflow
        num, den = (tc / hi) ** p, (tc / hi) ** p + (tm / hi) ** p
        share_c = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        if op.kind in ("gemm", "moe"):
            out["compute"] = out["compute"] + per * share_c
            out["weights"] = out["weights"] + per * (1 - share_c)
        elif op.kind.startswith(("attention", "mla")) or op.kind in ("indexer", "linear_attention", "dsa_module"):
            out["compute"] = out["compute"] + per * share_c
            out["kv_cache"] = out["kv_cache"] + per * (1 - share_c)
        elif op.kind == "elementwise":
            out["activations"] = out["activations"] + per
        else:
            out["communication"] = out["communication"] + per
    out["communication"] = out["communication"] + parts["pipeline_p2p"] * dep_pp
    out["overhead"] = out["overhead"] + parts["scheduler"]
    return out
