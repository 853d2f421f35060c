"""Measured engine steps of a random-weight decoder with a catalog model's shapes, as measured-CSV rows.

The decoder follows shared/data/README.md ("Our own GPU runs"): per layer RMSNorm, one fused QKV
GEMM, RoPE, KV-cache write, `scaled_dot_product_attention` (in decode the query heads of a KV group
are laid out as query positions, so GQA reads each KV head once; in prefill `enable_gqa`), output
GEMM, RMSNorm, one fused gate+up GEMM, SiLU*mul, down GEMM; then final norm and lm_head.
Decode: one step for B sequences that each hold `context` cached tokens, captured in a CUDA graph on
a GPU (eager on the CPU); lm_head over all B rows; argmax. Prefill: causal forward over B x S
tokens, eager, lm_head on the last position only.

MoE layers (Mixtral, gpt-oss, Qwen3-MoE, Llama-4): router, softmax top-k, the token-expert pairs
grouped by expert and two grouped GEMMs over all experts (`gpu.moe.RoutedExperts`, torch._grouped_mm),
plus shared experts; nothing is read on the host, so MoE decode steps are captured in CUDA graphs too.
Where this PyTorch has no grouped GEMM, or the experts are fp8, a loop over the experts that received
tokens runs instead; it reads the routing on the host, so those steps run eager (engine
`pytorch-eager`, stated in the notes). MLA (DeepSeek-V3/R1) is not implemented.
Not modelled either: biases, sliding windows, attention sinks (stated in the notes where present).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from infercast.gpu.calibrate import Timer, catalog_id, fp8_support, graphed as _graphed, require_torch, resolve_device
from infercast.gpu.moe import RoutedExperts, grouped_failure
from infercast.errors import InfercastError
from infercast.specs.model import ModelSpec, get_model

# Columns of shared/data/measured-dev.csv, in order.
CSV_COLUMNS = ["id", "source", "date", "engine", "model", "weights", "kv_cache", "gpu", "num_gpus", "tp", "pp",
               "ep", "scenario", "input_len", "output_len", "concurrency", "metric", "value", "unit", "notes"]

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


# ---------------------------------------------------------------------------------------- shapes
@dataclass(frozen=True)
class Shapes:
    """The widths the random decoder is built with (the model's, or shrunk by --layers / --scale)."""

    layers: int
    d: int
    heads: int
    kv_heads: int
    head_dim: int
    d_ff: int
    vocab: int
    gated: bool = True
    experts: int = 0
    top_k: int = 0
    expert_d_ff: int = 0
    shared_d_ff: int = 0  # all shared experts of a layer as one MLP
    dense_layers: int = 0
    moe_every: int = 1

    @property
    def group(self) -> int:
        return self.heads // self.kv_heads

    def is_moe(self, i: int) -> bool:
        return self.experts > 0 and i >= self.dense_layers and (i - self.dense_layers) % self.moe_every == \
            self.moe_every - 1

    def mlp_elems(self, width: int) -> int:
        return (3 if self.gated else 2) * self.d * width

    @property
    def weight_elems(self) -> int:
        """Weights the decoder allocates (embedding and lm_head untied, norms included)."""
        attn = self.d * self.head_dim * (2 * self.heads + 2 * self.kv_heads)
        n = 2 * self.vocab * self.d + (2 * self.layers + 1) * self.d
        for i in range(self.layers):
            n += attn
            if self.is_moe(i):
                n += self.experts * self.mlp_elems(self.expert_d_ff) + self.d * self.experts
                n += self.mlp_elems(self.shared_d_ff) if self.shared_d_ff else 0
            else:
                n += self.mlp_elems(self.d_ff)
        return n

    def kv_bytes(self, seqs: int, tokens: int, esize: int) -> int:
        return 2 * self.layers * seqs * tokens * self.kv_heads * self.head_dim * esize


def parse_scale(scale: str | float | None) -> float:
    """'1/16', '0.0625' or None -> a float in (0, 1]."""
    if scale is None or scale == "":
        return 1.0
    try:
        v = float(Fraction(str(scale).strip()))
    except (ValueError, ZeroDivisionError):
        raise InfercastError(f"--scale '{scale}': give a fraction such as 1/16 or 0.25") from None
    if not 0 < v <= 1:
        raise InfercastError(f"--scale {scale}: must be in (0, 1] (it shrinks widths)")
    return v


def shapes_for(spec: ModelSpec, layers: int | None = None, scale: float = 1.0) -> tuple[Shapes, list[str]]:
    """The decoder's shapes for a catalog model, and notes on what differs from the real model."""
    if spec.mla:
        raise InfercastError(f"measure: {spec.id} uses multi-head latent attention (MLA), which the random-weight "
                             "decoder does not implement; measure a dense (GQA/MHA) or MoE model with standard "
                             "attention instead")
    if spec.gdn:
        raise InfercastError(f"measure: {spec.id} has Gated DeltaNet (linear attention) layers, which the "
                             "random-weight decoder does not implement; measure a dense (GQA/MHA) or MoE model with "
                             "standard attention instead")
    notes: list[str] = []
    if layers is not None:
        if layers < 1:
            raise InfercastError(f"--layers {layers}: must be at least 1")
        if layers > spec.layers:
            raise InfercastError(f"--layers {layers} exceeds {spec.id}'s {spec.layers} layers")
    n_layers = layers or spec.layers
    if n_layers != spec.layers:
        notes.append(f"truncated: {n_layers} of {spec.layers} layers")

    def w(x: int) -> int:  # a shrunk width, a multiple of 16 where that stays >= 16
        y = x * scale
        return max(16, int(round(y / 16)) * 16) if x >= 16 else max(1, int(round(y)))

    heads, kv = spec.heads, spec.kv_heads
    d, d_ff, vocab = spec.d_model, spec.d_ff, spec.vocab
    moe = spec.moe
    e_ff = moe.expert_d_ff if moe else 0
    sh_ff = (moe.shared_experts * (moe.shared_d_ff or moe.expert_d_ff)) if moe and moe.shared_experts else 0
    if scale != 1.0:
        kv = max(1, int(round(spec.kv_heads * scale)))
        heads = kv * max(1, int(round(spec.heads * scale / kv)))
        d, d_ff, vocab = w(d), w(d_ff), w(vocab)
        e_ff, sh_ff = (w(e_ff) if e_ff else 0), (w(sh_ff) if sh_ff else 0)
        notes.append(f"widths scaled by {Fraction(scale).limit_denominator(1024)}: d_model {d}, heads {heads}/{kv} "
                     f"(head_dim {spec.head_dim} kept), d_ff {d_ff}, vocab {vocab}")
    shp = Shapes(layers=n_layers, d=d, heads=heads, kv_heads=kv, head_dim=spec.head_dim, d_ff=d_ff, vocab=vocab,
                 gated=spec.mlp == "gated")
    if moe:
        shp = replace(shp, experts=moe.experts, top_k=moe.active, expert_d_ff=e_ff, shared_d_ff=sh_ff,
                      dense_layers=min(moe.dense_layers, n_layers), moe_every=moe.moe_every)
        notes.append(f"MoE: softmax top-{moe.active} of {moe.experts} experts, random router")
    if spec.bias or spec.qkv_bias:
        notes.append("linear biases omitted")
    if spec.sliding_layers:
        notes.append(f"sliding window ({spec.sliding_window} tokens, {spec.sliding_layers} layers) not applied: "
                     "all layers attend to the full context")
    return shp, notes


# ---------------------------------------------------------------------------------------- memory
def _free_bytes(torch, dev) -> int:
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def memory_need(shp: Shapes, esize: int, decode: list[tuple[int, int]], prefill: list[tuple[int, int]],
                w_esize: int | None = None) -> dict:
    """Bytes for weights (at `w_esize` bytes each when not `esize`: fp8 linear layers), the largest KV cache and
    the largest activations of the requested steps."""
    weights = shp.weight_elems * (w_esize or esize)
    kv = max([shp.kv_bytes(b, c + 1, esize) for b, c in decode] + [shp.kv_bytes(b, s, esize) for b, s in prefill]
             + [0])
    widest = max(shp.d * 4, shp.head_dim * (shp.heads + 2 * shp.kv_heads) * 2,
                 (2 if shp.gated else 1) * max(shp.d_ff, shp.expert_d_ff, shp.shared_d_ff) * 2)
    act = max([b * s * widest * esize * 2 for b, s in prefill] + [b * (widest + shp.vocab * 3) * esize * 2
                                                                  for b, _ in decode] + [0])
    return {"weights": weights, "kv": kv, "activations": act, "total": int((weights + kv + act) * 1.05) + (256 << 20)}


def check_fits(model_id: str, dtype: str, need: dict, free: int, dev_name: str,
               decode: list[tuple[int, int]], prefill: list[tuple[int, int]]) -> None:
    if need["total"] <= free:
        return
    big_d = max(decode, key=lambda x: x[0] * x[1], default=None)
    what = f"batch {big_d[0]} x context {big_d[1]}" if big_d else "the prefill"
    raise InfercastError(
        f"{model_id} in {dtype} does not fit {dev_name}: it needs about {need['total'] / 1e9:.1f} GB "
        f"({need['weights'] / 1e9:.1f} GB weights + {need['kv'] / 1e9:.1f} GB KV cache for {what} + "
        f"{need['activations'] / 1e9:.1f} GB activations) but {free / 1e9:.1f} GB are free. Use a smaller "
        "--batch / --context / --prefill, a device with more memory, or --layers N to measure fewer layers "
        "(recorded in the notes; such rows are not comparable with the full model)")


# ---------------------------------------------------------------------------------------- decoder
class RandomDecoder:
    """Random weights in the model's shapes; `decode_step` and `prefill` build the timed callables."""

    def __init__(self, torch, dev, dtype, shp: Shapes, seed: int = 0, fp8=None, grouped: bool = False):
        """`fp8`: a float8 dtype to store the linear layers' weights in (attention, MLP and expert projections;
        embedding, router and lm_head stay 16-bit, as fp8 checkpoints keep them); their inputs are cast to it
        per call and multiplied by `torch._scaled_mm` (per-tensor scale 1, 16-bit output). `grouped`: routed
        experts as grouped GEMMs (`gpu.moe.RoutedExperts`) instead of a host-side loop over experts."""
        self.torch, self.dev, self.dtype, self.shp = torch, dev, dtype, shp
        self.F = torch.nn.functional
        self.fp8 = fp8
        self.one = torch.ones((), device=dev, dtype=torch.float32)
        torch.manual_seed(seed)

        def rnd(*shape):
            return torch.empty(*shape, device=dev, dtype=dtype).normal_(0.0, 1.0 / math.sqrt(shape[-1]))

        def ones(n):
            return torch.ones(n, device=dev, dtype=dtype)

        def lin(*shape):  # a linear layer's weight [N, K]: fp8 where asked
            w = rnd(*shape)
            return w.to(fp8) if fp8 is not None else w

        s = shp
        self.emb = rnd(s.vocab, s.d)
        self.lm_head = rnd(s.vocab, s.d)
        self.ln_f = ones(s.d)
        self.layers: list[dict[str, Any]] = []
        for i in range(s.layers):
            L: dict[str, Any] = {"ln1": ones(s.d), "ln2": ones(s.d),
                                 "wqkv": lin(s.head_dim * (s.heads + 2 * s.kv_heads), s.d),
                                 "wo": lin(s.d, s.heads * s.head_dim)}
            if s.is_moe(i):
                mult = 2 if s.gated else 1
                if grouped:
                    L["routed"] = RoutedExperts(torch, dev, dtype, s.d, s.expert_d_ff, s.experts, s.top_k, s.gated)
                else:
                    L["router"] = rnd(s.experts, s.d)
                    L["experts"] = [(lin(mult * s.expert_d_ff, s.d), lin(s.d, s.expert_d_ff))
                                    for _ in range(s.experts)]
                if s.shared_d_ff:
                    L["mlp"] = (lin(mult * s.shared_d_ff, s.d), lin(s.d, s.shared_d_ff))
            else:
                L["mlp"] = (lin((2 if s.gated else 1) * s.d_ff, s.d), lin(s.d, s.d_ff))
            self.layers.append(L)
        self.inv_freq = 1.0 / (500000.0 ** (torch.arange(0, s.head_dim, 2, device=dev, dtype=torch.float32)
                                            / s.head_dim))
        self.moe = s.experts > 0
        try:  # PyTorch >= 2.5: SDPA handles GQA (query heads a multiple of KV heads) itself
            import inspect

            self.sdpa_gqa = "enable_gqa" in inspect.signature(self.F.scaled_dot_product_attention).parameters
        except (TypeError, ValueError):
            self.sdpa_gqa = False

    # ---- pieces ----
    def _lin(self, x, w):
        """x @ w.T: F.linear for 16-bit weights; for fp8 weights, x cast to fp8 and torch._scaled_mm (rows padded
        to a multiple of 16, which cuBLASLt's fp8 GEMMs require)."""
        if self.fp8 is None or w.dtype != self.fp8:
            return self.F.linear(x, w)
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        m = x2.shape[0]
        if m % 16:
            x2 = self.F.pad(x2, (0, 0, 0, 16 - m % 16))
        y = self.torch._scaled_mm(x2.to(self.fp8), w.t(), scale_a=self.one, scale_b=self.one, out_dtype=self.dtype)
        return y[:m].reshape(*shape[:-1], w.shape[0])

    def _norm(self, x, w):
        if hasattr(self.F, "rms_norm"):
            return self.F.rms_norm(x, (x.shape[-1],), w, 1e-5)
        xf = x.float()
        return (xf * self.torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).to(x.dtype) * w

    def _rope_tables(self, positions):
        """cos, sin of shape [len(positions), head_dim] (rotate-half convention)."""
        t = positions.float()[:, None] * self.inv_freq[None, :]
        emb = self.torch.cat([t, t], dim=-1)
        return emb.cos().to(self.dtype), emb.sin().to(self.dtype)

    def _rope(self, x, cos, sin):
        half = x.shape[-1] // 2
        rot = self.torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def _mlp(self, x, w_in, w_out):
        F = self.F
        h = self._lin(x, w_in)
        if self.shp.gated:
            g, u = h.chunk(2, dim=-1)
            h = F.silu(g) * u
        else:
            h = F.gelu(h, approximate="tanh")
        return self._lin(h, w_out)

    def _moe(self, x, L):
        """x [T, d]: softmax top-k routing, then each expert on its own tokens (grouped GEMMs, or a host-side
        loop), plus the shared experts."""
        torch, s = self.torch, self.shp
        if "routed" in L:
            out = L["routed"](x)
            return out + self._mlp(x, *L["mlp"]) if "mlp" in L else out
        probs = torch.softmax(self.F.linear(x, L["router"]).float(), dim=-1)
        w, idx = probs.topk(s.top_k, dim=-1)
        w = (w / w.sum(-1, keepdim=True)).to(x.dtype).reshape(-1)
        flat = idx.reshape(-1)
        order = flat.argsort()
        counts = torch.bincount(flat, minlength=s.experts).tolist()  # host sync
        out = torch.zeros_like(x)
        start = 0
        for e, c in enumerate(counts):
            if c:
                sel = order[start:start + c]
                tok = sel // s.top_k
                y = self._mlp(x.index_select(0, tok), *L["experts"][e]) * w.index_select(0, sel)[:, None]
                out.index_add_(0, tok, y)
                start += c
        if "mlp" in L:
            out = out + self._mlp(x, *L["mlp"])
        return out

    def _ffn(self, x, L):
        if "router" in L or "routed" in L:
            shape = x.shape
            return self._moe(x.reshape(-1, shape[-1]), L).reshape(shape)
        return self._mlp(x, *L["mlp"])

    # ---- steps ----
    def decode_step(self, batch: int, context: int) -> Callable[[], Any]:
        """One decode step for `batch` sequences each holding `context` cached tokens (KV allocated here)."""
        torch, F, s = self.torch, self.F, self.shp
        B, C, H, KV, G, hd = batch, context, s.heads, s.kv_heads, s.group, s.head_dim
        caches = [(torch.zeros(B, KV, C + 1, hd, device=self.dev, dtype=self.dtype),
                   torch.zeros(B, KV, C + 1, hd, device=self.dev, dtype=self.dtype)) for _ in range(s.layers)]
        tokens = torch.randint(0, s.vocab, (B,), device=self.dev)
        cos, sin = self._rope_tables(torch.full((1,), C, device=self.dev))
        cos, sin = cos[None], sin[None]  # [1, 1, hd] against [B, heads, hd]
        qkv_split = (H * hd, KV * hd, KV * hd)

        def step():
            x = self.emb.index_select(0, tokens)  # [B, d]
            for L, (kc, vc) in zip(self.layers, caches):
                h = self._norm(x, L["ln1"])
                q, k, v = self._lin(h, L["wqkv"]).split(qkv_split, dim=-1)
                q = self._rope(q.view(B, H, hd), cos, sin)
                k = self._rope(k.view(B, KV, hd), cos, sin)
                kc[:, :, C].copy_(k)
                vc[:, :, C].copy_(v.view(B, KV, hd))
                o = F.scaled_dot_product_attention(q.view(B, KV, G, hd), kc, vc)  # group as query positions
                x = x + self._lin(o.reshape(B, H * hd), L["wo"])
                x = x + self._ffn(self._norm(x, L["ln2"]), L)
            logits = F.linear(self._norm(x, self.ln_f), self.lm_head)
            return logits.argmax(-1)

        step.caches = caches  # keep them alive as long as the step
        return step

    def prefill(self, batch: int, seq: int) -> Callable[[], Any]:
        """Causal forward over batch x seq prompt tokens, KV cache written; lm_head on the last position."""
        torch, F, s = self.torch, self.F, self.shp
        B, S, H, KV, hd = batch, seq, s.heads, s.kv_heads, s.head_dim
        caches = [(torch.empty(B, KV, S, hd, device=self.dev, dtype=self.dtype),
                   torch.empty(B, KV, S, hd, device=self.dev, dtype=self.dtype)) for _ in range(s.layers)]
        tokens = torch.randint(0, s.vocab, (B, S), device=self.dev)
        cos, sin = self._rope_tables(torch.arange(S, device=self.dev))  # [S, hd] against [B, heads, S, hd]
        qkv_split = (H * hd, KV * hd, KV * hd)
        gqa = H != KV

        def fwd():
            x = F.embedding(tokens, self.emb)  # [B, S, d]
            for L, (kc, vc) in zip(self.layers, caches):
                h = self._norm(x, L["ln1"])
                q, k, v = self._lin(h, L["wqkv"]).split(qkv_split, dim=-1)
                q = self._rope(q.view(B, S, H, hd).transpose(1, 2), cos, sin)
                k = self._rope(k.view(B, S, KV, hd).transpose(1, 2), cos, sin)
                kc.copy_(k)
                vc.copy_(v.view(B, S, KV, hd).transpose(1, 2))
                if gqa and self.sdpa_gqa:
                    o = F.scaled_dot_product_attention(q, kc, vc, is_causal=True, enable_gqa=True)
                elif gqa:
                    o = F.scaled_dot_product_attention(q, kc.repeat_interleave(s.group, 1),
                                                       vc.repeat_interleave(s.group, 1), is_causal=True)
                else:
                    o = F.scaled_dot_product_attention(q, kc, vc, is_causal=True)
                x = x + self._lin(o.transpose(1, 2).reshape(B, S, H * hd), L["wo"])
                x = x + self._ffn(self._norm(x, L["ln2"]), L)
            last = self._norm(x[:, -1], self.ln_f)
            return F.linear(last, self.lm_head).argmax(-1)

        fwd.caches = caches
        return fwd


# ---------------------------------------------------------------------------------------- driver
def _ints(v, name: str) -> list[int]:
    if v is None or v == "":
        return []
    if isinstance(v, int):
        return [v]
    if isinstance(v, (list, tuple)):
        out = [int(x) for x in v]
    else:
        try:
            out = [int(x) for x in str(v).replace(" ", "").split(",") if x]
        except ValueError:
            raise InfercastError(f"--{name} '{v}': give whole numbers separated by commas, e.g. 1,8,32") from None
    if any(x < 1 for x in out):
        raise InfercastError(f"--{name} '{v}': values must be at least 1")
    return out


def measure(model: str, batch="1,8,32", context="1024,4096", prefill="512,2048", prefill_batch="1",
            device: str | None = "cuda", dtype: str = "bf16", layers: int | None = None, scale=None,
            repeats: int | None = None, progress: Callable[[str, float], None] | None = None,
            weights: str | None = None) -> list[dict]:
    """Time decode steps (every batch x context) and prefills (every prefill_batch x prefill length).

    `weights='fp8'` stores the linear layers' weights in fp8 (e4m3) and runs them with `torch._scaled_mm`;
    activations and the KV cache stay at `dtype`.

    Returns rows in the columns of shared/data/measured-dev.csv (values as strings/numbers).
    """
    torch = require_torch()
    spec = get_model(model)
    if dtype not in DTYPES:
        raise InfercastError(f"--dtype {dtype}: use one of {', '.join(DTYPES)} (for fp8 weights add --weights fp8)")
    if weights not in (None, dtype, "fp8"):
        raise InfercastError(f"--weights {str(weights)[:20]}: use fp8, or leave it out for --dtype's {dtype}",
                             field="weights")
    dev = resolve_device(torch, device)
    tdt = getattr(torch, DTYPES[dtype])
    esize = torch.empty((), dtype=tdt).element_size()
    f8 = None
    if weights == "fp8":
        f8, why = fp8_support(torch, dev) if dev.type == "cuda" else (getattr(torch, "float8_e4m3fn", None), None)
        if f8 is None or not hasattr(torch, "_scaled_mm"):
            raise InfercastError(f"--weights fp8: {why or 'this PyTorch has no fp8 GEMM (torch._scaled_mm)'}",
                                 field="weights")
    sc = parse_scale(scale)
    shp, notes = shapes_for(spec, layers, sc)
    decode = [(b, c) for c in _ints(context, "context") for b in _ints(batch, "batch")]
    pre = [(b, s) for s in _ints(prefill, "prefill") for b in _ints(prefill_batch, "prefill-batch")]
    if not decode and not pre:
        raise InfercastError("nothing to measure: give --batch and --context, or --prefill")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        dev_name = torch.cuda.get_device_name(dev)
        gpu = catalog_id(dev_name) or "unknown-gpu"
        if gpu == "unknown-gpu":
            notes.append(f"device '{dev_name}' is not in the catalog")
    else:
        dev_name, gpu = "the CPU", "cpu"
    need = memory_need(shp, esize, decode, pre, w_esize=1 if f8 is not None else None)
    check_fits(spec.id, dtype, need, _free_bytes(torch, dev), dev_name if dev.type == "cuda" else "the CPU",
               decode, pre)

    # routed experts as grouped GEMMs where this PyTorch has them (16-bit experts): no host sync, so graphs too
    why_not = grouped_failure(torch, dev, tdt) if shp.experts and f8 is None else None
    grouped = bool(shp.experts) and f8 is None and why_not is None
    graphs = dev.type == "cuda" and (not shp.experts or grouped)
    if dev.type == "cuda":
        engine = "pytorch-cudagraph" if graphs else "pytorch-eager"
        soft = f"PyTorch {torch.__version__.split('+')[0]} + " + (f"ROCm {torch.version.hip}" if torch.version.hip
                                                                  else f"CUDA {torch.version.cuda}")
    else:
        engine, soft = "pytorch-eager-cpu", f"PyTorch {torch.__version__.split('+')[0]} (CPU)"
    source = (f"own measurement, {soft}" + (" + CUDA graphs" if graphs else " eager")
              + f", random weights (infercast measure on {dev_name})")
    reps_dec = repeats or (20 if dev.type == "cuda" else 5)
    reps_pre = repeats or (5 if dev.type == "cuda" else 3)
    timer = Timer(torch, dev)
    today = dt.date.today().isoformat()
    suffix = ((f"-L{shp.layers}" if shp.layers != spec.layers else "") + (f"-w{sc:g}" if sc != 1.0 else "")
              + ("-fp8w" if f8 is not None else ""))
    if f8 is not None:
        notes.append("linear layers' weights in fp8 (e4m3), their inputs cast to fp8 per call (per-tensor scale 1, no "
                     "amax pass) and multiplied by torch._scaled_mm with bf16 output, rows padded to a multiple of 16; "
                     "embedding, router and lm_head in bf16")
    if shp.experts:
        notes.append("routed experts as two grouped GEMMs over all experts (torch._grouped_mm, pairs sorted by expert, "
                     "groups padded to 16 rows)" if grouped else
                     "routed experts as a loop over the experts that received tokens (routing read on the host"
                     + (f"; {why_not})" if why_not else ")"))
    base_notes = "; ".join(notes)

    def row(kind: str, b: int, n: int, ms: float, what: str) -> dict:
        dec = kind == "decode"
        return {"id": f"OWN-{gpu}-{spec.id}-{kind}-b{b}-{'c' if dec else 's'}{n}{suffix}", "source": source,
                "date": today, "engine": engine, "model": spec.id, "weights": "fp8" if f8 is not None else dtype,
                "kv_cache": dtype, "gpu": gpu,
                "num_gpus": 1, "tp": 1, "pp": 1, "ep": "", "scenario": "decode-step" if dec else "prefill-step",
                "input_len": n, "output_len": 1 if dec else 0, "concurrency": b,
                "metric": "decode_step_ms" if dec else "prefill_ms", "value": float(f"{ms:.4g}"), "unit": "ms",
                "notes": what + (f"; {base_notes}" if base_notes else "")}

    jobs = len(decode) + len(pre) + 1
    done = 0

    def tick(label: str):
        nonlocal done
        if progress:
            progress(label, done / jobs)
        done += 1

    rows: list[dict] = []
    with torch.inference_mode():
        tick(f"random weights ({need['weights'] / 1e9:.2f} GB)")
        net = RandomDecoder(torch, dev, tdt, shp, fp8=f8, grouped=grouped)
        for b, c in decode:
            tick(f"decode b{b} c{c}")
            step = net.decode_step(b, c)
            fn = _graphed(torch, dev, step) if graphs else step
            ms = timer.ms(fn, repeats=reps_dec, warmup=3)
            rows.append(row("decode", b, c, ms, "one decode step for B sequences each holding input_len tokens of "
                            "KV cache; includes lm_head and argmax" + ("; CUDA graph" if graphs else "; eager")))
            del step, fn
            if dev.type == "cuda":
                torch.cuda.empty_cache()
        for b, s in pre:
            tick(f"prefill b{b} s{s}")
            fwd = net.prefill(b, s)
            ms = timer.ms(fwd, repeats=reps_pre, warmup=2)
            rows.append(row("prefill", b, s, ms, "one causal forward over B sequences of input_len tokens "
                            "(SDPA); lm_head on the last position only; eager"))
            del fwd
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    if progress:
        progress("done", 1.0)
    return rows


def rows_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def write_rows(rows: list[dict], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(rows_csv(rows))
    return p
