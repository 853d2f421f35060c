"""Worked examples of shared/research/theory.md, reproduced with infercast.sol (each cites its source)."""
import numpy as np
import pytest

from infercast.engine import sol
from infercast.specs.hardware import get_chip


def test_A1_scaling_book_30b_int8_on_16_v5e():
    # [SB-inf pop quiz]: 30B int8, 16 x v5e, 8192 ctx, 100 kB/token -> BS4 2.5 ms (exact 2.57), BS256 21 ms
    kv = 8192 * 100e3
    t4 = sol.decode_step_time(30e9, kv, 4, 16, 8.1e11, 1.97e14, active_params=30e9)
    t256 = sol.decode_step_time(30e9, kv, 256, 16, 8.1e11, 1.97e14, active_params=30e9)
    assert t4 * 1e3 == pytest.approx(2.57, rel=0.02)
    assert t256 * 1e3 == pytest.approx(21.0, rel=0.03)


@pytest.mark.parametrize("bs,mha_ms,gqa_ms", [(1, 4.98, 4.17), (8, 12.13, 5.60), (16, 20.30, 7.23),
                                              (32, 36.65, 10.50), (64, 69.33, 17.04), (240, 249.09, 52.99)])
def test_A2_llama2_13b_decode_table_on_8_v5e(bs, mha_ms, gqa_ms):
    # [SB-inf]: LLaMA-2-13B, 8192 ctx, 6.7 GB KV/seq (bf16); KV/5 for 8 KV heads; 8 x v5e (8.2e11 B/s, 1.97e14)
    kv = 8192 * 40 * 128 * 40 * 2 * 2
    t = sol.decode_step_time(26e9, kv, bs, 8, 8.2e11, 1.97e14, active_params=13e9)
    t5 = sol.decode_step_time(26e9, kv / 5, bs, 8, 8.2e11, 1.97e14, active_params=13e9)
    assert t * 1e3 == pytest.approx(mha_ms, rel=0.03)
    assert t5 * 1e3 == pytest.approx(gqa_ms, rel=0.03)


def test_A4_llama3_70b_v5e():
    # [SB-app]: BS32, 8192 ctx, int8: KV 41.9e9 + params 70e9 = 112 GB; 4x2 v5e -> ~17 ms per step
    kv = 8192 * 163840
    assert 32 * kv / 1e9 == pytest.approx(41.9, rel=0.03)
    t = sol.min_decode_step_time(70e9, kv, 32, 8, 8.1e11)
    assert t * 1e3 == pytest.approx(17, rel=0.05)
    # 1,882 tok/s = 235 tok/s/chip
    assert 32 / t / 8 == pytest.approx(235, rel=0.05)
    # prefill 8192 tokens on 16 v5e at 40 % MFU: 0.91 s
    assert sol.prefill_time(70e9, 8192, 16, 1.97e14, 0.4) == pytest.approx(0.91, rel=0.01)


def test_A5_200b_on_32_v4p():
    # [SB-tpu Q1]: 400e9 B / 32 chips / 1.23e12 B/s ~ 10 ms
    assert sol.min_decode_step_time(400e9, 0, 1, 32, 1.23e12) * 1e3 == pytest.approx(10.2, rel=0.03)


def test_B4_critical_batch_h100_b200():
    # [SB-gpu]: H100 990e12/3.35e12 = 295; B200 2250e12/8e12 = 281
    assert sol.critical_batch(990e12, 3.35e12) == pytest.approx(295, rel=0.01)
    assert sol.critical_batch(2250e12, 8e12) == pytest.approx(281, rel=0.01)
    # int8 weights with bf16 math halve it [theory.md 1.1 derived]
    assert sol.critical_batch(1.97e14, 8.2e11, weight_bytes=1) == pytest.approx(120, rel=0.01)
    # and the catalog's H100 reproduces 295 from its own numbers
    h = get_chip("h100-sxm")
    assert sol.critical_batch(h.peak_flops("bf16"), h.bandwidth) == pytest.approx(295, rel=0.01)


def test_C2_kipply_gopher_260b_on_16_a100():
    # [KIP]: BS1 2*260e9/(16*1.5e12) = 21.7 ms; BS512 compute 512*2*260e9/(16*312e12) = 53 ms
    assert sol.min_decode_step_time(2 * 260e9, 0, 1, 16, 1.5e12) * 1e3 == pytest.approx(21.7, rel=0.01)
    assert 512 * 2 * 260e9 / (16 * 312e12) * 1e3 == pytest.approx(53.3, rel=0.01)
    # comms latency formula 2*4*80*8us = 5.12 ms (the source's text says 2.56 ms: a known inconsistency)
    assert 2 * sol.kipply_comm_latency(80) * 1e3 == pytest.approx(5.12)


def test_D5_epoch_simple_model_llama3_70b_h100():
    # [EP-nb section_2_2_token_latency_seconds], computed in theory.md D5
    n = np.array([2, 4, 8, 16, 32, 64])
    t = sol.epoch_simple_token_latency(70.55e9, 80, n, 3.3e12, 1e15) * 1e3
    np.testing.assert_allclose(t, [23.57, 13.25, 8.44, 6.51, 6.24, 7.07], rtol=0.01)
    assert n[np.argmin(t)] == 32  # the optimum near 32 GPUs: the sqrt(n) latency penalty
