"""The memory an engine keeps outside its weights and KV pool, where the engine computes it itself.

SGLang sizes its static pool (weights + KV cache) as `mem_fraction_static` of the GPU's memory and leaves the rest
for activations, CUDA graphs and metadata. How it picks that fraction changed twice; each rule below is the engine's
own code (python/sglang/srt/server_args.py), keyed in efficiency.json by the release that introduced it:

* ``sglang-by-tp`` (before v0.4.8): 0.88 at TP 1, 0.87 at TP 2, 0.85 at TP 4, 0.81 at TP 8, 0.79 at TP 16;
* ``sglang-2025-06`` (PR #7054, 2025-06-10): reserved = 2.8 + P/10 GiB below 35 GiB, 9.5 + P/2 below 90 GiB
  (H100), 12 + P/2 below 160 GiB (H20, H200), else 32 GiB (B200, MI300X); + 4 GiB with attention DP;
  P = TP x PP;
* ``sglang-2025-10`` (PR #10975 and #11076, 2025-09-30): reserved MiB = 512 + 1.5 x max(chunked prefill, 2048)
  + 2 x cuda_graph_max_bs + 128 x P, + 3 x cuda_graph_max_bs x DP with attention DP (+ 1.5 x more when the graph
  batch exceeds 300), at least 10 GiB on a GPU above 60 GiB; chunked prefill and graph batch by the GPU's memory.

The fraction is (GPU MiB - reserved MiB) / GPU MiB, and the KV pool is that share of HBM less the weights. A run that
sets --mem-fraction-static itself is rule ``fixed:<fraction>``.
Speculative decoding's extra reserve (2-6 GiB) is not applied: the memory plan does not know the drafter.
"""
from __future__ import annotations

import numpy as np

RULES = ("sglang-by-tp", "sglang-2025-06", "sglang-2025-10")


def _by_tp(tp):
    # [server_args.py before v0.4.8: mem_fraction_static by tp_size]
    return np.select([tp >= 16, tp >= 8, tp >= 4, tp >= 2], [0.79, 0.81, 0.85, 0.87], 0.88)


def _reserved_2025_06(mib: float, par, dp_attention: bool):
    # [PR #7054: reserved_mem by GPU memory bucket, GiB]
    gib = (np.select([mib < 35 * 1024, mib < 90 * 1024, mib < 160 * 1024],
                     [2.8 + par / 10, 9.5 + par / 2, 12 + par / 2], 32.0))
    return (gib + (4.0 if dp_attention else 0.0)) * 1024


def _graph_and_chunk(mib: float, tp):
    """SGLang's cuda_graph_max_bs and chunked_prefill_size by the GPU's memory (PR #10975 buckets)."""
    if mib < 20 * 1024:  # T4, 4080: 8 whatever the TP
        return np.full_like(np.asarray(tp, dtype=float), 8), 2048
    if mib < 35 * 1024:
        return np.where(tp < 4, 24, 80), 2048
    if mib < 60 * 1024:
        return np.where(tp < 4, 32, 160), 4096
    if mib < 160 * 1024:
        return np.where(tp < 4, 256, 512), 8192
    return np.full_like(np.asarray(tp, dtype=float), 512), 16384


def _reserved_2025_10(mib: float, tp, par, dp: int):
    # [PR #10975 + #11076: reserved_mem in MiB]
    bs, chunk = _graph_and_chunk(mib, tp)
    r = 512 + 1.5 * max(chunk, 2048) + 2 * bs + par / 8 * 1024
    if dp > 1:
        r = r + bs * dp * 3 + np.where(bs > 300, bs * dp * 1.5, 0.0)
    return np.maximum(r, 10 * 1024) if mib > 60 * 1024 else r


def static_fraction(rule: str, memory_bytes: float, tp, pp, dp: int = 1):
    """The engine's `mem_fraction_static`: the share of the GPU's memory for weights + KV pool (array over tp, pp)."""
    tp = np.asarray(tp, dtype=float)
    par = tp * np.asarray(pp, dtype=float)
    mib = memory_bytes / 2**20
    if rule.startswith("fixed:"):  # the run set --mem-fraction-static itself
        return np.full_like(tp, float(rule.split(":", 1)[1]))
    if rule == "sglang-by-tp":
        return _by_tp(tp)
    if rule == "sglang-2025-06":
        reserved = _reserved_2025_06(mib, par, dp > 1)
    elif rule == "sglang-2025-10":
        reserved = _reserved_2025_10(mib, tp, par, dp)
    else:
        raise ValueError(f"unknown memory rule {rule!r}; known: {', '.join(RULES)}")
    return np.round((mib - reserved) / mib, 3)
