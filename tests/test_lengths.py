"""Request-length distributions: the decode context they imply, and the MLPerf datasets' shipped tables."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercast.analyses.measured import _length_table, mlperf_dataset
from infercast.analyses.predict import predict_row
from infercast.engine import serving as S
from infercast.engine import workload as W
from infercast.engine.step import deployment
from infercast.specs.store import read_json

pairs = st.lists(st.tuples(st.integers(1, 5000), st.integers(1, 3000)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_mean_decode_context_averages_every_decode_step_of_every_request(rows):
    # request (I, O) is in O steps, at contexts I + 1/2, I + 3/2, ... (the serving model's I + O/2 on average)
    i = np.array([r[0] for r in rows])
    o = np.array([r[1] for r in rows])
    brute = sum(sum(I + t - 0.5 for t in range(1, O + 1)) for I, O in rows) / o.sum()
    assert W.empirical(i, o).mean_decode_context == pytest.approx(brute, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400), st.integers(1, 300), st.sampled_from([0.1, 0.5, 0.8, 1.0]))
def test_uniform_lengths_decode_context_is_the_exact_mean_over_their_integers(I, O, r):
    ins = np.arange(max(1, int(r * I)), I + 1)
    outs = np.arange(max(1, int(r * O)), O + 1)
    # independent uniform lengths: every (input, output) pair equally likely
    ii, oo = np.meshgrid(ins, outs)
    exact = W.empirical(ii.ravel(), oo.ravel()).mean_decode_context
    assert W.uniform(I, O, r).mean_decode_context == pytest.approx(exact, rel=1e-9)
    assert W.fixed(I, O).mean_decode_context == I + O / 2


def test_spread_outputs_read_more_kv_and_lower_a_memory_bound_throughput():
    """Same mean lengths, outputs spread 1..2O-1 instead of fixed O: long requests are in more of the steps,
    so the mean decode context grows and a KV-read-bound batch gets slower."""
    O = 512
    fixed = W.fixed(1024, O)
    spread = W.empirical(np.full(2 * O - 1, 1024), np.arange(1, 2 * O))
    assert spread.mean_output == fixed.mean_output
    n = 2 * O - 1  # E[O^2] / (2 E[O]) = O / 2 + Var(O) / (2 O), Var of n equally likely integers = (n^2 - 1) / 12
    assert spread.mean_decode_context == pytest.approx(fixed.mean_decode_context + (n * n - 1) / 12 / (2 * O))
    dep = deployment("llama-3.1-8b", "h100-sxm")
    base = S.continuous(dep, 1024, O, 256)
    same = S.continuous(dep, 1024, O, 256, decode_ctx=fixed.mean_decode_context)
    longer = S.continuous(dep, 1024, O, 256, decode_ctx=spread.mean_decode_context)
    assert float(same["output_tok_s_per_gpu"]) == float(base["output_tok_s_per_gpu"])
    assert float(longer["output_tok_s_per_gpu"]) < float(base["output_tok_s_per_gpu"])
    assert float(longer["tpot_s"]) > float(base["tpot_s"])


@pytest.mark.parametrize("key, rows, input_sum, output_mean", [
    # input sums as quoted in mlperf_datasets.json (FlashLab-MBZUAI for llama2-70b); output means: MLCommons'
    # tokens_per_sample where the column is generated lengths, the GPT-4 / R1 reference answers otherwise
    ("llama2-70b", 24576, 5_463_976, 5_379_553 / 24576),
    ("mixtral-8x7b", 15000, 6_410_905, 144.84),
    ("llama3.1-405b", 8313, 78_380_323, 684.68),
    ("deepseek-r1", 4388, 3_527_036, 4043.45),
])
def test_shipped_length_tables_match_their_sources(key, rows, input_sum, output_mean):
    ds = read_json("mlperf_datasets.json")["datasets"][key]
    i, o = _length_table(ds["lengths_file"])
    assert len(i) == len(o) == rows == ds["samples"]
    assert int(i.sum()) == input_sum
    assert i.mean() == pytest.approx(ds["mean_input_tokens"], abs=0.01)
    assert o.mean() == pytest.approx(output_mean, abs=0.01)
    if ds["lengths_output"] == "generated":
        assert o.mean() == pytest.approx(ds["mean_output_tokens"], abs=0.01)


def _row(**kw):
    row = dict(id="MLP99-001", source="mlcommons/inference_results_v4.1:closed/X/results/S/llama2-70b-99/Server/"
               "performance/run_1/mlperf_log_summary.txt", date="2024-08-28", engine="TensorRT-LLM",
               model="llama-2-70b", weights="fp8", kv_cache="", gpu="h100-sxm", num_gpus="8", tp="2", pp="",
               ep="", scenario="server", input_len="", output_len="", concurrency="",
               metric="output_tok_per_s_per_gpu", value="2700", unit="tokens/s/GPU",
               notes="mean generated tok/sample in this run = tok/s / samples/s = 290.0")
    row.update(kw)
    return row


def test_an_mlperf_row_draws_its_datasets_lengths_scaled_to_the_runs_generated_mean():
    res = predict_row(_row())
    said = " ".join(res.assumptions)
    assert "lengths drawn from the dataset's 24,576 samples" in said
    assert "scaled to the run's mean 290" in said
    assert res.status == "compared" and res.predicted > 0


@pytest.mark.parametrize("bench, model, scen, ttft, tpot", [
    ("llama2-70b-99", "llama-2-70b", "server", 2000, 200),
    ("llama2-70b-interactive-99", "llama-2-70b", "server-interactive", 450, 40),
    ("llama3.1-405b", "llama-3.1-405b", "server", 6000, 175),
    ("deepseek-r1", "deepseek-r1", "server", 2000, 80),
    ("deepseek-r1-interactive", "deepseek-r1", "server-interactive", 1500, 15),
])
def test_mlperf_server_rows_are_held_to_their_benchmarks_own_latency_limits(bench, model, scen, ttft, tpot):
    # mlcommons/inference loadgen/mlperf.conf: <benchmark>.Server.ttft_latency / tpot_latency
    row = _row(source=f"mlcommons/inference_results_v5.0:closed/X/results/S/{bench}/Server/performance/run_1/"
                      "mlperf_log_summary.txt", model=model, scenario=scen, gpu="h200-sxm", tp="8",
               notes="mean generated tok/sample in this run = tok/s / samples/s = 1000")
    assert mlperf_dataset(row)["latency_ms"]["source"].startswith("mlcommons/inference:loadgen/mlperf.conf")
    res = predict_row(row)
    said = " ".join(res.assumptions)
    assert res.status == "compared", res.assumptions
    assert f"TPOT <= {tpot} ms and TTFT <= {ttft / 1000:g} s" in said


def _server_row(metric: str, value: str) -> dict:
    return _row(source="mlcommons/inference_results_v5.0:closed/X/results/S/llama2-70b-99/Server/performance/run_1/"
                       "mlperf_log_summary.txt", gpu="h200-sxm", tp="1", num_gpus="1", metric=metric, value=value,
                notes="mean generated tok/sample in this run = tok/s / samples/s = 290.0; "
                      "latency constraint TTFT p99<=2000ms TPOT p99<=200ms")


def test_a_poisson_run_is_measured_in_steady_state():
    """A batch fills over an end-to-end time of arrivals or more: the warm-up of four times the requests in flight
    measures the batch of a run twenty times longer (at 90 % load a 10 % warm-up measured it 15-25 % short)."""
    from infercast.analyses.measured import stated
    from infercast.analyses.predict import Context, _in_flight
    from infercast.analyses.row_runs import simulate_run as _simulate
    from infercast.engine.simulate import simulate_deployment

    row = _server_row("ttft_ms_p99", "1000")
    a: list[str] = []
    st_, _ = stated(row, a)
    dep = deployment("llama-2-70b", "h200-sxm", tp=1, weights="fp8")
    cmax = float(S.max_concurrency(dep, st_.input_len, st_.output_len)[0])
    lam = 0.9 * cmax / float(S.continuous(dep, st_.input_len, st_.output_len, cmax)["e2e_s"])
    c = _in_flight(dep, st_.input_len, st_.output_len, lam, cmax)
    sim = _simulate(Context(), dep, st_, W.poisson(lam), None, a, in_flight=c)
    long = simulate_deployment(dep, st_.lengths, W.poisson(lam), requests=6000, warmup=12000, seed=1)
    assert sim.mean_decode_batch == pytest.approx(long.mean_decode_batch, rel=0.1)
    assert f"after {int(np.ceil(4 * c)):,} warm-up" in " ".join(a)


def test_mlperf_server_run_is_the_highest_rate_meeting_both_p99_limits():
    rows = {m: predict_row(_server_row(m, v)) for m, v in
            (("output_tok_per_s_per_gpu", "4000"), ("ttft_ms_p99", "1000"), ("tpot_ms_p99", "150"))}
    for r in rows.values():
        assert r.status == "compared", r.status
        assert any("MLPerf server run simulated" in x for x in r.assumptions)
    assert rows["ttft_ms_p99"].predicted <= 2000 and rows["tpot_ms_p99"].predicted <= 200
    # the highest such rate: 10 % more arrivals break a limit (here the batch cap saturates and the queue grows)
    rate = float(re.search(r"simulated: ([\d.e+]+) requests/s", " ".join(rows["ttft_ms_p99"].assumptions)).group(1))
    from infercast.analyses.measured import stated
    from infercast.engine.simulate import simulate_deployment

    st_, _ = stated(_server_row("ttft_ms_p99", "1000"), [])
    dep = deployment("llama-2-70b", "h200-sxm", tp=1, weights="fp8")
    cap = int(S.max_concurrency(dep, st_.input_len, st_.output_len)[0])
    more = simulate_deployment(dep, st_.lengths, W.poisson(1.1 * rate), requests=4000, warmup=4000, seed=0,
                               max_batch=cap)
    assert more.ttft.p99 > 2.0 or more.tpot.p99 > 0.2
    offline = predict_row(_row(source="mlcommons/inference_results_v5.0:closed/X/results/S/llama2-70b-99/Offline/"
                                      "performance/run_1/mlperf_log_summary.txt", gpu="h200-sxm", tp="1",
                               num_gpus="1", scenario="offline"))
    assert rows["output_tok_per_s_per_gpu"].predicted <= offline.predicted * 1.02


def test_an_unstated_shape_is_planned_to_meet_the_runs_latency_limits():
    """DeepSeek-R1 on 8 x H200: the best-throughput shape (attention-DP + EP) cannot meet the Interactive
    scenario's 15 ms p99 TPOT; the planner picks, among the shapes that use all the GPUs, the best that can."""
    def row(scen, bench):
        return dict(id="MLP99-002", source=f"mlcommons/inference_results_v5.0:closed/X/results/S/{bench}/Server/"
                    "performance/run_1/mlperf_log_summary.txt", date="2025-09-09", engine="TensorRT-LLM",
                    model="deepseek-r1", weights="fp8", kv_cache="", gpu="h200-sxm", num_gpus="8", tp="", pp="",
                    ep="", scenario=scen, input_len="", output_len="", concurrency="",
                    metric="output_tok_per_s_per_gpu", value="100", unit="tokens/s/GPU", notes="")
    offline = predict_row(row("offline", "deepseek-r1"))
    fast = predict_row(row("server-interactive", "deepseek-r1-interactive"))
    shape = lambda r: next(x for x in r.assumptions if x.startswith("shape not stated"))  # noqa: E731
    assert "ep 8" in shape(offline) and "meet" not in shape(offline)
    assert shape(fast).startswith("shape not stated: tp 8") and "TPOT" in shape(fast)
    assert fast.status == "compared" and 0 < fast.predicted < offline.predicted
