"""Speed of light: the closed-form bounds of the scaling book and Epoch, at datasheet peaks.

The realistic model (`roofline.step_time`) adds measured efficiencies, per-operator overheads
and collectives; these are the textbook formulas it reduces to, kept for comparison and as
reproducible worked examples (shared/research/theory.md §1.5, §7).
"""
from __future__ import annotations

import numpy as np


def decode_step_time(param_bytes, kv_bytes_per_seq, batch, n_chips, hbm_bw, flops, active_params=None):
    """[SB-inf §Theoretical estimates]: T = B*KV/(n*W) + max(2*B*P/(n*C), P_bytes/(n*W)).

    param_bytes: weight bytes; kv_bytes_per_seq: bytes of one sequence's KV cache; active_params
    for the FLOP term (defaults to param_bytes, i.e. 1-byte weights are not assumed).
    """
    P = param_bytes if active_params is None else active_params
    B = np.asarray(batch, dtype=float)
    attn = B * kv_bytes_per_seq / (n_chips * hbm_bw)
    mlp = np.maximum(2.0 * B * P / (n_chips * flops), param_bytes / (n_chips * hbm_bw))
    return attn + mlp


def min_decode_step_time(param_bytes, kv_bytes_per_seq, batch, n_chips, hbm_bw):
    """[SB-inf 1.5] small-batch bound: (B*KV + params)/(n*W)."""
    return (np.asarray(batch, dtype=float) * kv_bytes_per_seq + param_bytes) / (n_chips * hbm_bw)


def prefill_time(params, tokens, n_chips, flops, mfu=0.4):
    """[SB-app]: T = 2*P*T_prompt/(n*C*MFU); the book assumes MFU 40 %."""
    return 2.0 * params * tokens / (n_chips * flops * mfu)


def critical_batch(flops, hbm_bw, weight_bytes=2.0):
    """[SB-inf 1.1] (derived in theory.md): B_crit = (C/W) * b_w / 2 tokens."""
    return flops / hbm_bw * weight_bytes / 2.0


def epoch_simple_token_latency(params, layers, n, hbm_bw, flops, batch=1, weight_bytes=2.0, allreduces_per_layer=4):
    """Epoch inference-economics §2.2 simple model [EP-nb section_2_2_token_latency_seconds].

    t_reduce(n) = 2us*(sqrt(n)-1) + 6us;  t = L*a*t_reduce + max(b_w*P/(n*W), 2*P*B/(n*C)).
    """
    n = np.asarray(n, dtype=float)
    t_reduce = 2e-6 * (np.sqrt(n) - 1) + 6e-6
    return layers * allreduces_per_layer * t_reduce + np.maximum(
        weight_bytes * params / (n * hbm_bw), 2.0 * params * batch / (n * flops))


def kipply_comm_latency(layers, messages_per_layer=4, us_per_message=8.0):
    """[KIP]: 4 all-reduces per layer x ~8 us each (formula as printed; its example says 2.56 ms)."""
    return layers * messages_per_layer * us_per_message * 1e-6
