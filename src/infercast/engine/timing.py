"""Time each operator of a step from the first source that covers it, and say which one did.

Order of sources (issue #12):
1. `profile`: the user's own calibration of this chip (`infercast calibrate`), per-shape GEMM rows
   and measured copy / attention rates;
2. `table`: a measured public kernel table for (chip, engine, engine version, dtype, operator),
   interpolated in shape (`engine.kernels`: aiconfigurator-core's data);
3. `fallback`: datasheet peak x a documented family fraction (data/efficiency.json, each derived
   from kernel microbenchmarks), a p-norm of compute and memory time, plus a fixed cost per kernel.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field, replace

import numpy as np

from infercast.engine import collectives as C
from infercast.engine.efficiency import reference_attention
from infercast.engine.kernels import attention as KA
from infercast.engine.kernels import comm as KC
from infercast.engine.kernels import dsa as KDSA
from infercast.engine.kernels import gdn as KGDN
from infercast.engine.kernels import gemm as KG
from infercast.engine.kernels import mla as KM
from infercast.engine.kernels import moe as KMoE
from infercast.engine.kernels.source import has_tables
from infercast.engine.operators import ACT_BYTES, Op, gdn_work
from infercast.specs import precision as P


# the operators of a DSA model's attention block, which an engine's module table times together (Timer.modules)
DSA_MODULE = ("q_kv_down", "q_up", "q_proj", "kv_up", "index_q", "index_k", "indexer", "attention_decode",
              "attention_prefill", "o_proj")


@dataclass(frozen=True)
class Provenance:
    source: str  # "profile" | "table" | "fallback"
    detail: str

    def as_dict(self) -> dict:
        return {"source": self.source, "detail": self.detail}


@dataclass
class Timed:
    op: Op
    seconds: np.ndarray  # per step on this GPU (instances x time per instance)
    provenance: Provenance
    compute: np.ndarray  # roofline compute time per step (for the breakdown)
    memory: np.ndarray  # roofline memory time per step


def _pnorm(a, b, p):
    """(a^p + b^p)^(1/p), scaled by the larger term: microsecond times to the 64th power underflow to 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    hi = np.maximum(a, b)
    safe = np.where(hi > 0, hi, 1.0)
    return np.where(hi > 0, hi * ((a / safe) ** p + (b / safe) ** p) ** (1.0 / p), 0.0)


def _has_nvlink(chip) -> bool:
    """Whether the chip's scale-up link is NVLink/NVSwitch ('PCIe Gen4 x16 (no NVLink)' is not)."""
    return re.search(r"(?<!no )nvlink", chip.scaleup_name.lower()) is not None


@dataclass
class Timer:
    """Resolves, once per deployment, which source times each operator kind."""

    dep: object
    cache: dict = field(default_factory=dict)

    def __post_init__(self):
        d = self.dep
        self.chip, self.eng, self.eff = d.chip, d.engine, d.eff
        self.sol = bool(self.eff.speed_of_light)
        self.version = self.eng.version
        self.use_tables = not self.sol and self.eff.tables and has_tables(self.chip)
        self.block_scaled = d.model.family == "deepseek" and d.weights == "fp8"  # DeepSeek-V3 §3.3: 128x128 blocks

    # ---------------------------------------------------------------- helpers
    def _tables(self, family: str) -> tuple[str | None, str | None]:
        """(engine whose tables time `family`, its version) or (None, None)."""
        if not self.use_tables:
            return None, None
        who = self.eng.tables_for(family)
        return who, (self.version if who == self.eng.name else None)

    def _fixed(self, op: Op):
        """Launch/ramp cost of the op's kernels when its time is not a measurement."""
        if self.sol:
            return 0.0
        us = self.eff.kernel_us if self.eff.kernel_us is not None else self.eng.kernel_us  # a profile's measured cost
        return op.kernels * us * 1e-6

    def _from_hbm(self, op: Op):
        """The least time to stream an operator's weights from HBM at the family's measured large-weight rate.
        Kernel benchmarks repeat one GEMM, so a weight smaller than L2 stays cached and times faster than any
        real step, where every layer's weights come from HBM; this floor removes that (data/kernel_fractions.json)."""
        wbytes = op.shape["n"] * op.shape["k"] * P.nbytes(op.dtype) if op.kind == "gemm" else op.nbytes
        return np.where(np.asarray(op.flops) > 0, wbytes / (self.chip.bandwidth * self.eff.stream(op.dtype)), 0.0)

    def _roof(self, flops, nbytes, prec):
        return flops / self.chip.peak_flops(prec), nbytes / self.chip.bandwidth

    def _sustained(self, t: Timed) -> Timed:
        """Kernel tables and profiles time short bursts at the boost clock; in a serving run a power-limited chip
        runs compute-bound kernels at its sustained rate r (efficiency.json `sustained_compute`). The share of a
        kernel's time its compute roofline explains, w = min(1, compute / time), is stretched: t x (1 + (1/r - 1) w).
        Memory-bound kernels (w ~ 0) keep their time."""
        r = self.eff.sustained_compute
        if r >= 1.0 or self.sol:
            return t
        # t (1 + k w) = t + k min(compute, t): no division, and in place on the sweep's arrays (its hot path)
        m = np.minimum(t.compute, t.seconds)
        if isinstance(m, np.ndarray) and m.ndim:
            m *= 1.0 / r - 1.0
            m += t.seconds
        else:
            m = t.seconds + (1.0 / r - 1.0) * m
        return replace(t, seconds=m)

    # ---------------------------------------------------------------- kinds
    def gemm(self, op: Op) -> Timed:
        s = op.shape
        prec = self.dep.compute if op.dtype == self.dep.weights else "bf16"
        tdt = KG.table_dtype(op.dtype, prec, self.block_scaled)
        tc, tm = self._roof(op.flops, op.nbytes, prec)
        live = s["m"] > 0
        prof = self.eff.profile_gemm
        who, ver = self._tables("gemm")
        tab = KG.gemm_table(self.chip, who, ver) if (who and tdt) else None
        borrowed = ""
        if tab is not None and tdt in tab.dropped:  # not a kernel time: another engine's measured kernels of the chip
            for other in ("sglang", "tensorrt-llm", "vllm"):
                alt = KG.gemm_table(self.chip, other, None) if other != who else None
                if alt is not None and tdt in alt.dtypes:
                    borrowed = (f" ({who}'s own {tdt} table left out: its fastest GEMM takes "
                                f"{tab.dropped[tdt] * 1e6:.0f} us, not a kernel time)")
                    tab = alt
                    break
        pdt = "fp8" if tdt in ("fp8_any", "fp8_block") else tdt
        curve = (self.eff.profile_gemm_shapes or {}).get((pdt, float(s["n"]), float(s["k"]))) \
            if np.ndim(s["n"]) == 0 and np.ndim(s["k"]) == 0 else None
        if curve is not None:  # this very weight shape was timed on the card: its own curve over M
            t = np.where(live, curve.time(s["m"]), 0.0)
            how = f"{self.eff.profile}: {pdt} GEMM measured at N x K = {s['n']:.0f} x {s['k']:.0f}"
            return Timed(op, op.count * t, Provenance("profile", how), op.count * tc, op.count * tm)
        if prof is not None and pdt in prof.dtypes:
            t = prof.time(self.chip, pdt, s["m"], s["n"], s["k"])
            how = f"{self.eff.profile}: {pdt} GEMMs measured at N x K = {prof.n[0]:.0f} x {prof.k[0]:.0f}"
            if tab is not None and tdt in tab.dtypes:
                # the card's own level at the shape it measured, the table's dependence on shape:
                # t = table(m, n, k) x profile(m, n0, k0) / table(m, n0, k0)
                n0, k0 = float(prof.n[0]), float(prof.k[0])
                ratio = prof.time(self.chip, pdt, s["m"], n0, k0) / np.maximum(tab.time(self.chip, tdt, s["m"], n0, k0),
                                                                                1e-30)
                t = tab.time(self.chip, tdt, s["m"], s["n"], s["k"]) * ratio
                how += f", shape dependence from {tab.ref.detail}"
            return Timed(op, op.count * t, Provenance("profile", how), op.count * tc, op.count * tm)
        if tab is not None and tdt in tab.dtypes:
            t = np.maximum(tab.time(self.chip, tdt, s["m"], s["n"], s["k"]), self._from_hbm(op))
            return Timed(op, op.count * t, Provenance("table", f"{tab.ref.detail} [{tdt}]{borrowed}"), op.count * tc,
                         op.count * tm)
        eta_c, eta_w = self.eff.gemm(prec), self.eff.stream(op.dtype)
        t = np.where(live, _pnorm(tc / eta_c, tm / eta_w, self.eff.overlap_p) + self._fixed(op), 0.0)
        return Timed(op, op.count * t, Provenance("fallback", f"{prec} compute x {eta_c:.2f}, {op.dtype} weights "
                                                              f"streamed at {eta_w:.2f} of HBM ({self.eff.family_note})"),
                     op.count * tc, op.count * tm)

    def moe(self, op: Op) -> Timed:
        s = op.shape
        prec = self.dep.compute
        tc, tm = self._roof(op.flops, op.nbytes, prec)
        live = s["tokens"] > 0
        mine = self._profile_moe(op)
        if mine is not None:
            return mine
        who, ver = self._tables("moe")
        wide = self._wide_ep(op, who, ver)
        if wide is not None:
            return wide
        tab = KMoE.moe_table(self.chip, who, ver, current_routing=self.eng.moe_current_routing) if who else None
        best = None
        for tdt in self._moe_dtypes(tab):
            E = s["experts"]
            # experts over the TP group (tensor-split), over an EP group, or over more GPUs than experts
            # (each expert tensor-split over es / E of them)
            moe_tp, moe_ep = ((s["es"], 1) if s["ep"] <= 1 else (1, s["es"]) if s["es"] <= E else (s["es"] // E, E))
            want = KMoE.MoEShape(s["hidden"], s["inter"], s["topk"], s["experts"], moe_tp, moe_ep, tdt)
            got = tab.time(self.chip, want, s["tokens"])
            if got is None:
                continue
            if best is None:
                best = (got, tdt)
            else:  # the faster kernel family at each batch size, chosen per element (a sweep must not change a point)
                (t0, u0, x0), d0 = best
                faster = np.sum(got[0] < t0) > np.sum(got[0] > t0)
                t = np.minimum(t0, got[0])
                best = ((t, got[1], got[2]), tdt) if faster else ((t, u0, x0), d0)
        if best is not None:
            (t, used, exact), tdt = best
            how = "" if exact else (f"; shape not measured, efficiency of hidden {used.hidden}, inter {used.inter}, "
                                    f"tp {used.moe_tp} x ep {used.moe_ep}")
            return Timed(op, op.count * t, Provenance("table", f"{tab.detail(used)} [{tdt}, "
                                                               f"{tab.distribution[used]} routing{how}]"),
                         op.count * tc, op.count * tm)
        eta_c = self.eff.gemm(prec) * self.eff.moe_grouped_gemm
        eta_w = self.eff.stream(op.dtype)
        t = np.where(live, _pnorm(tc / eta_c, tm / eta_w, self.eff.overlap_p) + self._fixed(op), 0.0)
        return Timed(op, op.count * t, Provenance("fallback", f"grouped GEMM at {eta_c:.2f} of {prec} peak, weights at "
                                                              f"{eta_w:.2f} of HBM ({self.eff.moe_note})"),
                     op.count * tc, op.count * tm)

    def _profile_moe(self, op: Op) -> Timed | None:
        """A routed-expert layer the card's profile timed at this very shape, with every expert on one GPU (the
        profile's layers ran on one card: no expert or tensor split); None otherwise."""
        s = op.shape
        if not self.eff.profile_moe or s["es"] != 1 or op.dtype not in ("bf16", "fp16"):
            return None
        curve = self.eff.profile_moe.get(("bf16", float(s["hidden"]), float(s["inter"]), float(s["topk"]),
                                          float(s["experts"])))
        if curve is None:
            return None
        tc, tm = self._roof(op.flops, op.nbytes, self.dep.compute)
        t = np.where(s["tokens"] > 0, curve.time(np.maximum(s["tokens"], 1)), 0.0)
        how = (f"{self.eff.profile}: MoE layer measured at hidden {s['hidden']:.0f}, inter {s['inter']:.0f}, "
               f"top-{s['topk']:.0f} of {s['experts']:.0f} on one GPU")
        return Timed(op, op.count * t, Provenance("profile", how), op.count * tc, op.count * tm)

    def _wide_ep(self, op: Op, who: str | None, ver: str | None) -> Timed | None:
        """A wide-EP layer (attention data-parallel, experts over EP ranks, DeepEP + DeepGEMM as SGLang and vLLM
        run it) timed from SGLang's wide-EP tables; None when the deployment is not wide EP or unmeasured."""
        s = op.shape
        if who not in ("sglang", "vllm") or not self.eng.wide_ep_tables or s["ep"] <= 1 or s["es"] <= s["tp"] or s["es"] > s["experts"]:
            return None
        gen = KMoE.moe_table(self.chip, "sglang", ver if who == "sglang" else None, KMoE.WIDE_EP_FILES[0])
        for tdt in self._moe_dtypes(gen):
            want = KMoE.MoEShape(s["hidden"], s["inter"], s["topk"], s["experts"], 1, s["es"], tdt)
            got = KMoE.wide_ep_time(self.chip, want, s["tokens"], ver if who == "sglang" else None)
            if got is None:
                continue
            t, tab, used, exact = got
            how = "" if exact else f"; shape not measured, efficiency of ep {used.moe_ep}, hidden {used.hidden}"
            tc, tm = self._roof(op.flops, op.nbytes, self.dep.compute)
            return Timed(op, op.count * t, Provenance("table", f"{tab.detail(used)} [wide EP, {tdt}, "
                                                               f"{tab.distribution[used]} routing{how}]"),
                         op.count * tc, op.count * tm)
        return None

    def _moe_dtypes(self, tab) -> list[str]:
        """Measured MoE kernel dtypes that can run these weights (per-tensor FP8 may use either FP8 family)."""
        if tab is None:
            return []
        w, c = self.dep.weights, self.dep.compute
        want = KG.table_dtype(w, c, self.block_scaled)
        if w in ("fp4", "int4") and c != "fp4":
            want = "w4a16_mxfp4"
        options = {"fp8_any": ["fp8", "fp8_block"], "fp8_block": ["fp8_block", "fp8"]}.get(want, [want])
        if w == "fp4" and c == "fp4" and self.dep.model.dtype == "fp4" and self.eng.mxfp4_kernels:
            # a checkpoint released in 4 bits (gpt-oss) is MXFP4, which Blackwell engines run with MXFP4 kernels
            # (FlashInfer / TensorRT-LLM mxfp4 x mxfp8, or 16-bit activations), not NVFP4's [gpt-oss model card]
            options = ["w4a8_mxfp4_mxfp8", "w4a16_mxfp4"]
        return [d for d in options if d in tab.dtypes()]

    def attention(self, op: Op) -> Timed:
        s = op.shape
        decode = op.kind.endswith("decode")
        mla = op.kind.startswith("mla")
        tc, tm = self._roof(op.flops, op.nbytes, "bf16")
        live = (s["batch"] > 0) if decode else (s["tokens"] > 0)
        kvt = KA.kv_table_dtype(op.dtype)
        curve = (self.eff.profile_attention_decode if decode else self.eff.profile_attention_prefill) \
            if not (mla or self.sol) else None
        if curve is not None:  # timed on this card at several sizes: KV bytes (decode) or causal FLOPs (prefill)
            t = np.where(live, self._sdpa_curve(op, curve, decode, 1.0), 0.0)
            what = "KV bytes" if decode else "causal FLOPs"
            return Timed(op, op.count * t, Provenance("profile", f"{self.eff.profile}: attention measured on this "
                                                                 f"card at several sizes, interpolated in {what}"),
                         op.count * tc, op.count * tm)
        if mla and not decode and s.get("sparse") and not self.sol:  # DSA's sparse prefill: no table times it
            t = np.where(live, tc / KM.SPARSE_PREFILL_FRACTION + tm / self.eff.kv_stream + self._fixed(op), 0.0)
            return Timed(op, op.count * t, Provenance("fallback", KM.SPARSE_PREFILL_NOTE), op.count * tc,
                         op.count * tm)
        if self.eff.profiled_attention and not self.sol:
            return self._attention_fallback(op, tc, tm, live, decode, "profile")
        ref = self._reference_attention(op, decode, mla, live, tc, tm)
        if ref is not None:
            return ref
        who, ver = self._tables("mla" if mla else "attention")
        if who and op.shape.get("reread", 1.0) == 1.0:
            kind = "decode" if decode else "prefill"
            tab = KM.mla_table(self.chip, who, kind, ver) if mla else KA.attention_table(self.chip, who, kind, ver)
            if tab is None and mla and who not in ("tensorrt-llm", "sglang"):
                tab = KM.mla_table(self.chip, "sglang", kind, None)  # FlashMLA/FlashInfer kernels shared by vLLM
            if tab is not None:
                if mla:  # the MLA tables' layouts are keyed by heads per GPU (latent 512 + rope 64)
                    lay = KA.Layout(int(round(s["heads"])), 1, 576, kvt)
                elif decode:
                    lay = KA.Layout(int(round(s["heads"])), int(round(s["kv_heads"])), int(s["head_dim"]), kvt)
                else:
                    lay = KA.Layout(int(round(s["heads"])), int(round(s["kv_heads"])), int(s["head_dim"]), f"bfloat16/{kvt}")
                if decode:
                    eff, exact = tab.efficiency(lay, s["batch"], s["context"])
                    t = np.maximum(tc, tm) / eff
                else:
                    seqs = np.maximum(s["seqs"], 1e-9)
                    isl = np.maximum(2.0 * s["context"], s["tokens"] / seqs)
                    eff, exact = tab.efficiency(lay, seqs, isl)
                    t = tc / eff
                t = np.where(live, t, 0.0)
                how = "" if exact else "; head layout not measured, nearest measured layout's efficiency"
                return Timed(op, op.count * t, Provenance("table", f"{tab.ref.detail}{how}"), op.count * tc,
                             op.count * tm)
        return self._attention_fallback(op, tc, tm, live, decode, "fallback")

    def _reference_attention(self, op, decode, mla, live, tc, tm) -> Timed | None:
        """The engine's own attention kernel as timed on a reference card (efficiency.json `attention_reference`), on a
        chip of the same family: time(size x reference rate / this chip's rate), the size being KV bytes (decode) or
        causal FLOPs (prefill), so the latency floor stays and the bandwidth- or compute-bound part scales."""
        ref = self.eng.attention_reference
        # not with a profile: the card's own measurements stand together (the H100's profile has GEMMs but no attention,
        # and its slower measured GEMMs with this reference put the H100 steps 7 % over: data/measured/README.md)
        if ref is None or mla or self.sol or self.eff.profile is not None or self.chip.family not in ref["families"]:
            return None
        dec, pre, rchip = reference_attention(ref["profile"])
        curve = dec if decode else pre
        if curve is None:
            return None
        scale = (rchip.bandwidth / self.chip.bandwidth if decode
                 else rchip.peak_flops("bf16") / self.chip.peak_flops("bf16"))
        t = np.where(live, self._sdpa_curve(op, curve, decode, scale), 0.0)
        return Timed(op, op.count * t, Provenance("table", f"{ref['short']}, sizes scaled by {rchip.name}'s / this "
                                                           f"chip's {'bandwidth' if decode else '16-bit peak'}"),
                     op.count * tc, op.count * tm)

    def _rope_kv_write(self, op, decode):
        """Seconds of the RoPE on Q and K and the write of the new K/V rows (in the attention kernel, or beside a
        measured SDPA call that does not do them), streamed at the elementwise rate."""
        s = op.shape
        tokens = s["batch"] if decode else s["tokens"]
        return tokens * 4.0 * s["heads"] * s.get("head_dim", 128) * ACT_BYTES / (self.chip.bandwidth *
                                                                                self.eff.elementwise_stream)

    def _sdpa_curve(self, op, curve, decode, scale):
        """A measured SDPA curve read at the op's KV bytes (decode) or causal FLOPs (prefill) x `scale`, plus what
        the timed call did not do and the launch cost."""
        return curve.time((op.nbytes if decode else op.flops) * scale) + self._rope_kv_write(op, decode) + \
            self._fixed(op)

    def _attention_fallback(self, op, tc, tm, live, decode, source):
        e = self.eff
        attn = e.attention_compute if (e.profiled_attention or self.sol) else self.eng.attention_eff(
            self.chip.family, e.attention_compute)
        extra = self._rope_kv_write(op, decode)
        if decode:
            t = _pnorm(tm / e.kv_stream, tc / attn, e.overlap_p) + extra
        else:
            t = tc / attn + tm / e.kv_stream + extra
        t = np.where(live, t + self._fixed(op), 0.0)
        what = "measured on this card" if source == "profile" else self.eff.attention_note
        return Timed(op, op.count * t, Provenance(source, f"attention at {attn:.2f} of 16-bit peak, KV streamed at "
                                                          f"{e.kv_stream:.2f} of HBM ({what})"),
                     op.count * tc, op.count * tm)

    def indexer(self, op: Op) -> Timed:
        """DSA's lightning indexer: FP8 MQA logits (DeepGEMM's fp8_mqa_logits / fp8_paged_mqa_logits kernels, vLLM's
        DeepSeek-V3.2 post of 2025-09-29) and a top-k. No public kernel table times it: the FP8 GEMM fraction of the
        chip's family for the dot products, its KV streaming rate for the index keys and scores."""
        e = self.eff
        prec = "fp8"
        tc, tm = self._roof(op.flops, op.nbytes, prec)
        eta_c = e.gemm(prec)
        live = np.asarray(op.shape["tokens"]) > 0
        t = np.where(live, _pnorm(tc / eta_c, tm / e.kv_stream, e.overlap_p) + self._fixed(op), 0.0)
        return Timed(op, op.count * t, Provenance("fallback", f"DSA indexer: FP8 dot products at {eta_c:.2f} of peak, "
                                                              f"index keys and scores streamed at {e.kv_stream:.2f} of "
                                                              f"HBM ({self.eff.family_note})"),
                     op.count * tc, op.count * tm)

    def linear_attention(self, op: Op) -> Timed:
        """Gated DeltaNet layers: decode tokens and prefill prompts timed apart, each from the engine's measured
        gdn table (kernels.gdn) or, without one, at the chip's KV streaming rate and attention compute fraction."""
        s = op.shape
        tc, tm = self._roof(op.flops, op.nbytes, "bf16")
        lay = KA.Layout(int(round(s["v_heads"])), int(round(s["k_heads"])), int(s["k_dim"]), "gdn")
        args = (s["v_heads"], s["k_heads"], s["k_dim"], s["v_dim"])
        B, Tp, Sp = (np.asarray(s[k], dtype=float) for k in ("batch", "tokens", "seqs"))
        parts = {"decode": gdn_work(*args, B, 0.0, 0.0), "prefill": gdn_work(*args, 0.0, Tp, Sp)}
        live = {"decode": B > 0, "prefill": Tp > 0}
        who, ver = self._tables("linear_attention")
        total, sources = 0.0, []
        for kind, (fl, nb) in parts.items():
            tab = KGDN.gdn_table(self.chip, who, kind, ver) if who else None
            c, m = fl / self.chip.peak_flops("bf16"), nb / self.chip.bandwidth
            if tab is not None:
                isl = Tp / np.maximum(Sp, 1e-9)
                eff, exact = tab.efficiency(lay, B if kind == "decode" else Sp, 1.0 if kind == "decode" else isl)
                t = np.maximum(c, m) / eff
                sources.append(("table", f"{tab.ref.detail}" + ("" if exact else "; head layout not measured, "
                                                                "nearest measured layout's efficiency")))
            else:
                t = _pnorm(m / self.eff.kv_stream, c / self.eng.attention_eff(self.chip.family,
                                                                               self.eff.attention_compute),
                           self.eff.overlap_p) + self._fixed(op)
                sources.append(("fallback", f"Gated DeltaNet {kind}: state and activations streamed at "
                                            f"{self.eff.kv_stream:.2f} of HBM ({self.eff.attention_note})"))
            total = total + np.where(live[kind], t, 0.0)
        src = "table" if all(x[0] == "table" for x in sources) else "fallback"
        detail = sources[0][1] if len({x[1] for x in sources}) == 1 else "; ".join(x[1] for x in sources)
        return Timed(op, op.count * total, Provenance(src, detail), op.count * tc, op.count * tm)

    def elementwise(self, op: Op) -> Timed:
        e = self.eff
        tm = op.nbytes / self.chip.bandwidth
        t = np.where(op.shape["tokens"] > 0, tm / e.elementwise_stream + self._fixed(op), 0.0)
        src = "profile" if e.profile and e.profiled_copy else "fallback"
        return Timed(op, op.count * t, Provenance(src, f"streamed at {e.elementwise_stream:.2f} of HBM "
                                                       f"({e.elementwise_note})"), np.zeros_like(tm), op.count * tm)

    def collective(self, op: Op) -> Timed:
        g = int(op.shape["group"])
        nb = op.shape["bytes"]
        live = nb > 0
        bw_t = nb / (C.link_bandwidth(self.chip, g)[0])
        who, ver = self._tables(op.kind)
        # collectives measure the host's topology as much as the chip: NVLink/NVSwitch boxes are alike, PCIe
        # hosts differ (switches, NUMA, P2P on or off), so PCIe cards use the link model
        nvlink = _has_nvlink(self.chip) or self.eff.comm_tables_on_pcie
        if who and g <= self.chip.scaleup_domain and nvlink:
            tab = (KC.allreduce_table(self.chip, who, ver) if op.kind == "all_reduce" else KC.alltoall_table(self.chip))
            if tab is not None and tab.covers(g):
                t = np.where(live, tab.time(nb, g), 0.0)
                return Timed(op, op.count * t, Provenance("table", f"{tab.ref.detail} ({g} GPUs)"),
                             np.zeros_like(bw_t), op.count * bw_t)
        if op.kind == "all_reduce":
            t = C.allreduce_time(self.chip, nb, g, speed_of_light=self.sol)
            how = "NCCL ring model (Epoch notebook latencies, scaling-book bus bandwidth)"
        else:
            # the NVLink part and the network part of an expert-parallel exchange run side by side
            t = np.maximum(C.alltoall_time(self.chip, op.shape["intra"], min(g, self.chip.scaleup_domain),
                                           speed_of_light=self.sol),
                           C.transfer_time(self.chip, op.shape["inter"], speed_of_light=self.sol))
            how = ("expert-parallel dispatch/combine: distinct GPUs and nodes per token over NVLink and the network "
                   "(scaling-book bandwidths, NCCL LL128 latency)")
        t = np.where(live, t, 0.0)
        return Timed(op, op.count * t, Provenance("fallback", f"{how}; {C.link_bandwidth(self.chip, g)[1]}"),
                     np.zeros_like(bw_t), op.count * bw_t)

    def modules(self, timed: list[Timed]) -> list[Timed]:
        """Operators that an engine's measured module table times together, replaced by that measurement: a DSA
        model's attention block (projections, lightning indexer and top-k, sparse MLA; kernels.dsa). The members keep
        their place with 0 s and say so; the module is one operator of its own. Unchanged when no table covers every
        phase the step runs (decode, prefill)."""
        m = self.dep.model
        who, ver = self._tables("dsa")
        if not m.dsa or not who or not self.eng.dsa_module_tables or m.d_model not in KDSA.ARCHITECTURES:
            return timed
        members = [t for t in timed if t.op.name in DSA_MODULE]
        idx = next((t.op for t in members if t.op.kind == "indexer"), None)
        pre = next((t.op for t in members if t.op.name == "attention_prefill"), None)
        if idx is None or pre is None:
            return timed
        s = idx.shape
        dec_b = np.asarray(s["tokens"], dtype=float) - np.asarray(s["prefill_tokens"], dtype=float)
        seqs = np.asarray(pre.shape["seqs"], dtype=float)
        isl = np.maximum(2.0 * np.asarray(s["prefill_context"], dtype=float),
                         np.asarray(s["prefill_tokens"], dtype=float) / np.maximum(seqs, 1e-9))
        gemm = "bfloat16" if P.nbytes(m.module_dtype("attention", self.dep.weights)) >= 2.0 else "fp8_block"
        want = KDSA.Want(KDSA.ARCHITECTURES[m.d_model], gemm, KDSA.KV.get(self.dep.kv, "bfloat16"),
                         int(round(m.heads / self.dep.tp)))
        total, notes = 0.0, []
        for kind, batch, length in (("decode", dec_b, s["context"]), ("prefill", seqs, isl)):
            if not np.any(batch > 0):
                continue
            tab = KDSA.dsa_table(self.chip, who, kind, ver)
            if tab is None and who == "vllm":  # vLLM runs the FlashMLA sparse kernels SGLang's table measured
                tab = KDSA.dsa_table(self.chip, "sglang", kind, None)
            got = KDSA.nearest(tab, want) if tab is not None else None
            if got is None:
                return timed
            lay, exact = got
            total = total + KDSA.module_time(tab, lay, self.chip, m, want.heads, want.gemm, want.kv, batch, length,
                                             kind)
            notes.append(f"{tab.ref.detail}" + ("" if exact else f" (measured at {lay.heads} heads, {lay.dtype})"))
        if not notes:
            return timed
        how = "DSA attention module measured whole: " + "; ".join(notes)
        comp = sum(t.compute for t in members)
        mem = sum(t.memory for t in members)
        mod = Op("dsa_module", "dsa_module", idx.count, {"batch": dec_b, "context": s["context"], "seqs": seqs,
                                                          "length": isl, "heads": want.heads},
                 sum(t.op.flops * t.op.count for t in members) / idx.count,
                 sum(t.op.nbytes * t.op.count for t in members) / idx.count, self.dep.weights, 0.0, "attention")
        inside = Provenance("table", f"inside the measured DSA module ({notes[0]})")
        out = [replace(t, seconds=np.zeros_like(np.asarray(t.seconds, dtype=float)), provenance=inside,
                       compute=np.zeros_like(np.asarray(t.compute, dtype=float)),
                       memory=np.zeros_like(np.asarray(t.memory, dtype=float)))
               if t.op.name in DSA_MODULE else t for t in timed]
        return out + [self._sustained(Timed(mod, idx.count * total, Provenance("table", how), comp, mem))]

    def time(self, op: Op) -> Timed:
        if op.kind == "gemm":
            return self._sustained(self.gemm(op))
        if op.kind == "moe":
            return self._sustained(self.moe(op))
        if op.kind in ("attention_decode", "attention_prefill", "mla_decode", "mla_prefill"):
            return self._sustained(self.attention(op))
        if op.kind == "indexer":
            return self._sustained(self.indexer(op))
        if op.kind == "linear_attention":
            return self._sustained(self.linear_attention(op))
        if op.kind == "elementwise":
            return self.elementwise(op)
        if op.kind in ("all_reduce", "all_to_all"):
            return self.collective(op)
        raise ValueError(f"no timer for operator kind {op.kind}")
