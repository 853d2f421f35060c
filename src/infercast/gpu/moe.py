"""A routed-expert layer run the way serving engines run it, for `measure` and `calibrate`.

Softmax top-k routing on the device, the token-expert pairs sorted by expert into groups padded to a multiple of
16 rows, two grouped GEMMs over all experts at once (`torch._grouped_mm`, PyTorch >= 2.8: one CUTLASS kernel per
projection on Hopper, as torchtitan's MoE uses it), the activation, and a weighted scatter back to the tokens. Every
shape is static and nothing is read on the host, so the layer is captured in a CUDA graph like the rest of a decode
step. This is the dataflow of TensorRT-LLM's and vLLM's fused MoE (permute, grouped GEMM, activation, grouped GEMM,
finalize), not their kernels: their tables (aiconfigurator) time those; this times PyTorch's grouped GEMM on the card
in hand, so the two can be compared shape for shape (`benchmarks/compare_profile.py`).
"""
from __future__ import annotations

from typing import Any

ALIGN = 16  # rows per expert group are padded to a multiple of this (the grouped GEMM's fp8/bf16 alignment)


def has_grouped_mm(torch) -> bool:
    """Whether this PyTorch has the grouped GEMM (torch._grouped_mm, PyTorch >= 2.8)."""
    return hasattr(torch, "_grouped_mm")


def grouped_failure(torch, dev, dtype) -> str | None:
    """Why the grouped GEMM cannot run here (a missing op, an unsupported card or dtype), or None: a small layer is
    run once and checked against the loop over experts."""
    if not has_grouped_mm(torch):
        return "this PyTorch has no grouped GEMM (torch._grouped_mm, PyTorch >= 2.8)"
    try:
        layer = RoutedExperts(torch, dev, dtype, 128, 64, 8, 2)
        x = torch.randn(40, 128, device=dev, dtype=dtype)
        got, want = layer(x).float(), layer.reference(x).float()
    except (RuntimeError, TypeError, NotImplementedError) as e:
        return f"torch._grouped_mm failed here ({str(e).splitlines()[0][:160]})"
    err = float((got - want).abs().max()) / max(float(want.abs().max()), 1e-6)
    return None if err < 0.05 else f"torch._grouped_mm disagrees with the loop over experts (max error {err:.2g})"


class RoutedExperts:
    """The experts of one MoE layer: `w_in` [E, mult x F, d] (gate and up stacked when gated), `w_out` [E, d, F],
    each stored row-major as [E, N, K], so `.transpose(-2, -1)` is the column-major operand the grouped GEMM takes."""

    def __init__(self, torch, dev, dtype, d: int, ff: int, experts: int, top_k: int, gated: bool = True):
        self.torch, self.F = torch, torch.nn.functional
        self.d, self.ff, self.experts, self.top_k, self.gated = d, ff, experts, top_k, gated
        mult = 2 if gated else 1

        def rnd(*shape):
            return torch.empty(*shape, device=dev, dtype=dtype).normal_(0.0, 1.0 / shape[-1] ** 0.5)

        self.router = rnd(experts, d)
        self.w_in = rnd(experts, mult * ff, d)
        self.w_out = rnd(experts, d, ff)

    @property
    def weight_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.router, self.w_in, self.w_out))

    def __call__(self, x, logits=None) -> Any:
        """x [T, d] -> [T, d]: route, group by expert, two grouped GEMMs, combine. `logits` [T, E]: the router's
        output computed beforehand (calibrate times the layer without the router GEMM, as the engines' MoE tables
        do and as `engine.operators` counts the router apart)."""
        torch, F, E, k = self.torch, self.F, self.experts, self.top_k
        T = x.shape[0]
        probs = torch.softmax((F.linear(x, self.router) if logits is None else logits).float(), dim=-1)
        w, idx = probs.topk(k, dim=-1)
        w = (w / w.sum(-1, keepdim=True)).to(x.dtype).reshape(-1)
        flat = idx.reshape(-1)  # [T k]: the expert of each token-expert pair
        order = flat.argsort(stable=True)
        ones = torch.ones_like(flat, dtype=torch.int32)
        counts = torch.zeros(E, device=x.device, dtype=torch.int32).scatter_add_(0, flat, ones)
        padded = (counts + (ALIGN - 1)) // ALIGN * ALIGN
        ends = torch.cumsum(padded, 0, dtype=torch.int32)
        starts = ends - padded  # where each expert's group begins in the padded buffer
        first = torch.cumsum(counts, 0, dtype=torch.int32) - counts  # where it begins among the sorted pairs
        e_sorted = flat.index_select(0, order)
        rank = torch.arange(T * k, device=x.device, dtype=torch.int32) - first.index_select(0, e_sorted)
        pos = (starts.index_select(0, e_sorted) + rank).long()
        tok = order // k
        rows = T * k + E * (ALIGN - 1)  # a static bound on the padded rows
        xs = x.new_zeros(rows, self.d).index_copy_(0, pos, x.index_select(0, tok))
        h = torch._grouped_mm(xs, self.w_in.transpose(-2, -1), offs=ends)
        if self.gated:
            g, u = h.chunk(2, dim=-1)
            h = F.silu(g) * u
        else:
            h = F.gelu(h, approximate="tanh")
        y = torch._grouped_mm(h, self.w_out.transpose(-2, -1), offs=ends)
        y = y.index_select(0, pos) * w.index_select(0, order)[:, None]
        return torch.zeros_like(x).index_add_(0, tok, y)

    def reference(self, x) -> Any:
        """The same layer as a loop over experts (host-side routing): what `__call__` must equal."""
        torch, F = self.torch, self.F
        probs = torch.softmax(F.linear(x, self.router).float(), dim=-1)
        w, idx = probs.topk(self.top_k, dim=-1)
        w = (w / w.sum(-1, keepdim=True)).to(x.dtype)
        out = torch.zeros_like(x)
        for e in range(self.experts):
            t, slot = (idx == e).nonzero(as_tuple=True)
            if t.numel():
                h = F.linear(x[t], self.w_in[e])
                if self.gated:
                    g, u = h.chunk(2, dim=-1)
                    h = F.silu(g) * u
                else:
                    h = F.gelu(h, approximate="tanh")
                out.index_add_(0, t, F.linear(h, self.w_out[e]) * w[t, slot][:, None])
        return out
