"""SGLang's static pool (weights + KV cache) is `mem_fraction_static` of the GPU's memory, by its own rule of each
release (engine.reserve). Worked examples computed by hand from python/sglang/srt/server_args.py."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from infercast.analyses.measured import packaged_path, read_rows
from infercast.analyses.predict import ROW_INFORMED, Context, predict_row
from infercast.engine import memory as M
from infercast.engine.reserve import static_fraction
from infercast.engine.step import deployment

GIB = 2**30


@pytest.mark.parametrize("mem_gib, tp, dp, want", [
    # H100 80 GiB, TP 1: graph batch 256, chunk 8192: 512 + 1.5 x 8192 + 2 x 256 + 128 = 13,440 MiB of 81,920
    (80, 1, 1, round((81920 - 13440) / 81920, 3)),
    # TP 4: graph batch 512: 512 + 12,288 + 1,024 + 512 = 14,336 MiB
    (80, 4, 1, round((81920 - 14336) / 81920, 3)),
    # H200 141 GiB, TP 8 with attention DP 8: + 512 x 8 x 3 + 512 x 8 x 1.5 (graph batch above 300) = 33,280 MiB
    (141, 8, 8, round((144384 - 33280) / 144384, 3)),
    # a 24 GiB card: graph batch 24, chunk 2048: 512 + 3,072 + 48 + 128 = 3,760 MiB, no 10 GiB floor below 60 GiB
    (24, 1, 1, round((24576 - 3760) / 24576, 3)),
    # a 16 GiB card at TP 4: graph batch 8 whatever the TP: 512 + 3,072 + 16 + 512 = 4,112 MiB
    (16, 4, 1, round((16384 - 4112) / 16384, 3)),
])
def test_sglang_since_v0_5_3(mem_gib, tp, dp, want):
    assert float(static_fraction("sglang-2025-10", mem_gib * GIB, tp, 1, dp)) == pytest.approx(want)


def test_sglang_before_v0_5_3_and_before_v0_4_8():
    # PR #7054: 9.5 + TP x PP / 2 GiB on an 80 GiB GPU, + 4 GiB with attention DP; 32 GiB above 160 GiB
    assert float(static_fraction("sglang-2025-06", 80 * GIB, 4, 1)) == pytest.approx(round((80 - 11.5) / 80, 3))
    assert float(static_fraction("sglang-2025-06", 80 * GIB, 4, 1, 4)) == pytest.approx(round((80 - 15.5) / 80, 3))
    assert float(static_fraction("sglang-2025-06", 180 * GIB, 8, 1)) == pytest.approx(round((180 - 32) / 180, 3))
    assert list(static_fraction("sglang-by-tp", 80 * GIB, np.array([1, 2, 4, 8, 16]), 1)) == \
        [0.88, 0.87, 0.85, 0.81, 0.79]


@settings(max_examples=60, deadline=None)
@given(mem=st.sampled_from([16, 24, 40, 48, 80, 96, 141, 180, 192, 288]), tp=st.sampled_from([1, 2, 4, 8, 16]),
       pp=st.sampled_from([1, 2, 4]), dp=st.sampled_from([1, 2, 8]),
       rule=st.sampled_from(["sglang-by-tp", "sglang-2025-06", "sglang-2025-10"]))
def test_the_fraction_is_a_share_and_more_ranks_never_free_memory(mem, tp, pp, dp, rule):
    f = float(static_fraction(rule, mem * GIB, tp, pp, dp))
    assert 0.0 < f < 1.0
    assert float(static_fraction(rule, mem * GIB, 2 * tp, pp, dp)) <= f + 1e-12


def test_the_memory_plan_follows_the_release_named():
    """MiniMax-M2.5 in block FP8 on 4 H100s: 57.5 GB of weights per GPU; the KV pool is the static share less them."""
    plans = {}
    for eng in ("sglang", "SGLang 0.5.1", "SGLang 0.4.6"):
        dep = deployment("minimax-m2.5", "h100-sxm", tp=4, engine=eng, weights="fp8")
        plan = M.plan(dep, 8704)
        f = float(static_fraction(dep.engine.mem_reserve, dep.chip.memory_bytes, 4, 1))
        assert plan.kv_pool_gb == pytest.approx(f * dep.chip.memory_bytes / 1e9 - plan.weights_gb, rel=1e-9)
        plans[dep.engine.mem_reserve] = plan.max_seqs
    # the current rule keeps the most back (14 GiB against 11.5 and 12)
    assert plans["sglang-2025-10"] < plans["sglang-by-tp"] < plans["sglang-2025-06"]


def test_lambda_s_minimax_rows_queue_as_sglang_sizes_its_pool_and_out_of_sample_they_do_not():
    rows = {r["id"]: r for r in read_rows(packaged_path("measured-techniques.csv")) if r["id"].startswith("LAMB")}
    row = rows["LAMB-003"]  # mean TTFT 13.1 s: 32 clients, fewer running at once
    assert "LAMB" in ROW_INFORMED["sglang-memory-rule"]
    on = predict_row(row)
    off = predict_row(row, Context(ablate=frozenset({"sglang-memory-rule"})))
    assert on.status == off.status == "compared"
    assert on.predicted > 1.5 * off.predicted  # fewer requests fit, so more of them wait
