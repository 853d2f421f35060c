"""Engine defaults that depend on the release and the GPU, and what a closed-loop benchmark client measures.

Sources: vLLM's engine arguments (vllm/engine/arg_utils.py default batch sizes; PRs #16158 and #17885) and
its release dates (github.com/vllm-project/vllm/releases); aiperf's closed loop (`--concurrency C`).
"""
from dataclasses import replace

import numpy as np
import pytest

from infercast.analyses.measured import dated_engine
from infercast.analyses.predict import Context, predict_row
from infercast.engine import serving as S
from infercast.engine import workload as W
from infercast.engine.disagg import Pools, disaggregated, first_burst_ttft, prefill_rate
from infercast.engine.efficiency import get_engine
from infercast.engine.simulate import sent_after_next_step, simulate_deployment
from infercast.engine.step import deployment
from infercast.errors import DoesNotFitError


@pytest.mark.parametrize("chip, engine, want", [
    ("h100-sxm", "vLLM 0.19.0", 1024),  # 80 GiB, not an A100: V1's larger default
    ("mi300x", "vLLM 0.10.1", 1024),  # 192 GB: the rule is memory, not vendor
    ("a100-sxm-80gb", "vLLM 0.19.0", 256),  # excluded by name (PR #17885: a larger budget slowed A100)
    ("l40s", "vLLM 0.19.0", 256),  # 48 GB
    ("h100-sxm", "vLLM 0.6.3", 256),  # the V0 engine
    ("h100-sxm", "TensorRT-LLM 1.0", 2048),  # the rule is vLLM's alone
])
def test_vllm_default_max_batch_follows_release_and_gpu_memory(chip, engine, want):
    dep = deployment("llama-3.1-8b", chip, engine=engine)
    assert dep.engine.max_batch == want
    if want == 1024:
        assert "PR #17885" in dep.engine.source


def test_an_unversioned_engine_is_the_release_current_at_the_rows_date():
    a = []
    assert dated_engine({"engine": "vLLM", "date": "2024-08-28"}, a) == "vllm 0.5.0 (vLLM)"
    assert "0.5.0" in a[0] and "2024-08-28" in a[0]
    assert dated_engine({"engine": "vLLM", "date": "2025-06-01"}, []) == "vllm 0.9.0 (vLLM)"
    assert dated_engine({"engine": "vLLM 0.19.0", "date": "2024-01-01"}, []) == "vLLM 0.19.0"  # stated wins
    assert dated_engine({"engine": "vLLM", "date": ""}, []) == "vLLM"  # no date: the current profile
    # MLPerf v4.1 (2024-08-28) ran a TensorRT-LLM between 0.7 (GQA-aware decode) and 1.0 (overlap scheduler)
    assert dated_engine({"engine": "TensorRT-LLM", "date": "2024-08-28"}, []) == "tensorrt-llm 0.11.0 (TensorRT-LLM)"
    assert dated_engine({"engine": "SGLang", "date": "2025-01-01"}, []) == "SGLang"  # no release history listed
    assert get_engine("vllm 0.5.0 (vLLM)").large_memory_batch is None
    assert get_engine("vllm 0.9.0 (vLLM)").large_memory_batch["max_batch"] == 1024


def test_closed_loop_clients_that_arrive_together_share_one_prefill_step():
    """Four clients start together with 1,024-token prompts (4,096 tokens, inside one 8,192-token budget):
    all four prompts are prefilled in the same step, and the equal lengths keep them in step, so every
    request's TTFT is that step, not one prompt's prefill (what the smooth-arrival model gives)."""
    dep = deployment("llama-3.1-70b", "h200-sxm", weights="fp8", engine="TensorRT-LLM 0.17")
    assert not dep.engine.overlap_scheduler
    sim = simulate_deployment(dep, W.fixed(1024, 1024), W.closed_loop(4), requests=400, seed=0)
    four, _ = S.prefill_time(dep, 1024, 4)
    one, _ = S.prefill_time(dep, 1024, 1)
    assert float(four) > 3 * float(one)
    assert sim.ttft.mean == pytest.approx(float(four), rel=0.05)
    smooth = float(np.asarray(S.continuous(dep, 1024, 1024, 4)["ttft_s"]).reshape(-1)[0])
    assert sim.ttft.mean > 2.5 * smooth


@pytest.mark.parametrize("engine, overlap", [("TensorRT-LLM 1.0", True), ("TensorRT-LLM 0.17", False),
                                             ("SGLang 0.5.9", True), ("SGLang 0.3.6", False), ("vLLM 0.19.0", False)])
def test_overlap_schedulers_send_the_first_token_one_step_later(engine, overlap):
    """TensorRT-LLM's overlap scheduler (default from 1.0, PyTorch backend) and SGLang's zero-overhead scheduler
    (default from 0.4) process a step's outputs during the next step: TTFT is one step longer."""
    dep = deployment("llama-3.1-8b", "h100-sxm", engine=engine)
    assert bool(dep.engine.overlap_scheduler) == overlap
    plain = replace(dep, engine=replace(dep.engine, overlap_scheduler=""))
    r, r0 = S.continuous(dep, 1024, 256, 16), S.continuous(plain, 1024, 256, 16)
    assert float(r["tpot_s"]) == pytest.approx(float(r0["tpot_s"]))
    extra = float(r["ttft_s"]) - float(r0["ttft_s"])
    if overlap:  # one step of the 16 requests' decodes and arriving prompts
        assert 0.999 * float(r0["tpot_s"]) <= extra <= 2 * float(r0["tpot_s"])
    else:
        assert extra == 0.0
    sim = simulate_deployment(dep, W.fixed(1024, 256), W.closed_loop(16), requests=300, seed=0)
    sim0 = simulate_deployment(plain, W.fixed(1024, 256), W.closed_loop(16), requests=300, seed=0)
    # the first token waits for the step after its prefill (often another prompt's), the last for a decode step
    assert sim.tpot.mean == pytest.approx(sim0.tpot.mean, rel=0.1)
    assert (sim.ttft.mean > sim0.ttft.mean + 0.5 * sim0.itl.mean) == overlap


def test_tokens_are_sent_when_the_next_step_ends_worked_events():
    # events: (end, steps, decode batch, sequences, prompt tokens, output tokens, first step, last step)
    ev = [(1.0, 1, 0, 1, 1000, 1, 1.0, 1.0),  # a prefill step ending at 1.0 ...
          (1.5, 10, 1, 1, 0, 10, 0.05, 0.05),  # ... then decode steps of 0.05 s: first token at 1.05
          (3.0, 1, 0, 1, 500, 1, 0.5, 0.5),  # a prefill ending at 3.0 after an idle gap (started at 2.5) ...
          (9.0, 1, 0, 1, 800, 1, 0.8, 0.8)]  # ... and the next step starts at 8.2, after another idle gap
    got = sent_after_next_step(np.array([1.0, 3.0, 9.0, np.nan]), ev)
    assert got[0] == pytest.approx(1.05)  # the next step ran at once
    assert got[1] == 3.0  # the engine went idle: the outputs were processed at once
    assert got[2] == 9.0  # no step after it
    assert np.isnan(got[3])


def _row(**kw):
    row = {"id": "T-001", "source": "test", "date": "", "engine": "TensorRT-LLM 1.0", "model": "llama-3.1-70b",
           "weights": "fp8", "kv_cache": "", "gpu": "h200-sxm", "num_gpus": "1", "tp": "1", "pp": "", "ep": "",
           "scenario": "online-fixed-concurrency", "input_len": "1024", "output_len": "1024", "concurrency": "4",
           "metric": "ttft_ms_mean", "value": "500", "unit": "ms", "notes": ""}
    row.update(kw)
    return row


def test_validation_predicts_a_closed_loops_mean_ttft_by_simulation_and_can_switch_it_off():
    on = predict_row(_row(), Context())
    off = predict_row(_row(), Context(ablate=frozenset({"closed-loop-simulated-ttft"})))
    assert on.status == off.status == "compared"
    assert any("request-level simulation" in x for x in on.assumptions)
    assert on.predicted > 2.5 * off.predicted  # the lone-prefill TTFT of the smooth model


def test_a_closed_loop_benchmarks_mean_ttft_covers_its_first_burst():
    """64 clients send 2,048-token prompts together (131k tokens: 16 steps of the 8,192-token budget), so the
    first 64 requests wait on average for half of those steps; a benchmark that sends N requests averages that
    burst with N - 64 steady ones, so its mean TTFT falls as N grows and at N = 64 is the burst alone."""
    row = _row(model="llama-3.1-8b", input_len="2048", output_len="256", concurrency="64", engine="TensorRT-LLM 0.17")
    steady = predict_row(row, Context(ablate=frozenset({"closed-loop-start-burst"})))
    burst = predict_row(dict(row, notes="64 requests"), Context())
    means = [predict_row(dict(row, notes=f"{n:,} requests"), Context()).predicted for n in (200, 1000)]
    default = predict_row(row, Context())
    assert steady.status == burst.status == default.status == "compared"
    assert burst.predicted > means[0] > means[1] > steady.predicted
    assert default.predicted == pytest.approx(means[1])  # bench_serving's --num-prompts default, 1,000
    flag = predict_row(dict(row, notes="vllm bench serve --max-concurrency 64 --num-prompts 200"), Context())
    assert flag.predicted == pytest.approx(means[0])  # the client's own flag states the count
    assert any("--num-prompts default" in x for x in default.assumptions)
    # GenAI-Perf (perf_analyzer) reports stable measurement windows, after the burst: the steady state
    windowed = predict_row(dict(row, notes="genai-perf profile --concurrency 64, 1,000 requests"), Context())
    assert windowed.predicted == pytest.approx(steady.predicted)
    # the burst alone: the mean of 16 prefill steps' completion times, about half the burst's prefill time
    dep = deployment("llama-3.1-8b", "h200-sxm", weights="fp8", engine="TensorRT-LLM 0.17")
    whole, _ = S.prefill_time(dep, 2048, 64)
    assert 0.4 * float(whole) * 1e3 < burst.predicted < 0.75 * float(whole) * 1e3


def test_a_disaggregated_first_burst_queues_for_the_prefill_workers():
    pre = deployment("llama-3.1-70b", "h100-sxm", tp=4, weights="fp8")
    dec = deployment("llama-3.1-70b", "h100-sxm", tp=4, weights="fp8")
    pools = Pools(prefill=pre, decode=dec, prefill_workers=2, decode_workers=2)
    rp, _ = prefill_rate(pre, 1024)
    batch = 8 / float(rp)  # eight 1,024-token prompts fill a prefill step
    # 64 clients over 2 prefill workers: 4 full batches each, waited for 1, 2, 3 and 4 batch times
    b = float(first_burst_ttft(pools, 1024, 64))
    assert b == pytest.approx(2.5 * batch, rel=0.05)
    steady = disaggregated(pools, 1024, 256, clients=64)
    blended = [float(disaggregated(pools, 1024, 256, clients=64, sent=n)["ttft_s"]) for n in (64, 640, 6400)]
    assert blended[0] == pytest.approx(max(b, float(steady["ttft_s"])))
    assert blended[0] > blended[1] > blended[2] > float(steady["ttft_s"])
    assert float(disaggregated(pools, 1024, 256, clients=64, sent=640)["ttft_steady_s"]) == float(steady["ttft_s"])


def test_a_rows_stated_batch_is_the_engines_max_batch():
    # 512 clients on one B300 worker whose vLLM was configured with max_num_seqs 512: no client waits for a slot
    row = _row(engine="vLLM 0.7.3", model="llama-3.1-8b", gpu="b300", weights="fp8", concurrency="512",
               output_len="128", notes="agg, 1 worker, batch 512 per attention-DP rank")
    stated = predict_row(row, Context())
    unstated = predict_row(dict(row, notes=""), Context())  # vLLM 0.7 (V0 default 256): half the clients queue
    assert stated.status == unstated.status == "compared"
    assert not any("only" in x and "fit" in x for x in stated.assumptions)
    assert any("only 256 fit" in x for x in unstated.assumptions)
    assert unstated.predicted > 2 * stated.predicted


def test_a_decode_pool_that_holds_no_sequence_is_an_error_naming_it():
    pre = deployment("llama-3.1-70b", "h100-sxm", tp=4, weights="fp8")
    # two L40S (96 GB) hold the 70 GB of fp8 weights but not one 128k-token bf16 KV cache beside them
    dec = deployment("llama-3.1-70b", "l40s", tp=2, weights="fp8", engine="vLLM 0.19.0")
    pools = Pools(prefill=pre, decode=dec, prefill_workers=1, decode_workers=1)
    with pytest.raises(DoesNotFitError) as e:
        disaggregated(pools, 120_000, 8_000, clients=8)
    assert e.value.field == "decode" and "decode pool" in e.value.message


def test_a_product_that_wraps_an_engine_does_not_lend_it_its_release_number():
    # NIM 1.8.0 is NIM's release; the TensorRT-LLM inside is not stated, so the current profile applies
    e = get_engine("NVIDIA NIM 1.8.0 (llama-3.3-70b-instruct; backend not stated)")
    assert e.name == "tensorrt-llm" and e.version is None
    assert get_engine("TensorRT-LLM 0.17").version == "0.17"


def test_sglang_closed_loops_are_simulated_with_its_prefill_first_scheduler():
    """SGLang prefills apart from decodes and first (scheduler.py get_next_batch_to_run): a closed loop of equal
    requests stays in lock-step, so its mean TTFT is several prompts' prefill, where vLLM's mixed chunk steps let
    the rounds spread out. The same deployment with the other scheduler shows the difference."""
    sgl = deployment("qwen3-32b", "h100-sxm", tp=2, weights="fp8", engine="SGLang 0.5.1")
    assert sgl.engine.prefill_first and not deployment("qwen3-32b", "h100-sxm", engine="vLLM 0.12.0").engine.prefill_first
    mixed = replace(sgl, engine=replace(sgl.engine, prefill_first=""))
    kw = dict(requests=400, warmup=0, seed=0)
    L, A = W.fixed(2048, 128), W.closed_loop(32)
    first, spread = simulate_deployment(sgl, L, A, **kw), simulate_deployment(mixed, L, A, **kw)
    assert first.ttft.mean > 1.5 * spread.ttft.mean
    assert first.output_tok_per_s == pytest.approx(spread.output_tok_per_s, rel=0.25)


@pytest.mark.parametrize("engine, chip, tokens", [
    ("vLLM 0.12.0", "h100-sxm", 8192), ("vLLM 0.12.0", "a100-sxm-80gb", 2048), ("vLLM 0.12.0", "l40s", 2048),
    ("vLLM 0.6.0", "l40s", 8192), ("SGLang 0.5.1", "h200-sxm", 8192), ("SGLang 0.5.1", "b200", 16384),
    ("SGLang 0.5.1", "mi300x", 16384), ("TensorRT-LLM 1.0", "b200", 8192)])
def test_a_step_holds_the_engines_default_token_budget_on_that_gpu(engine, chip, tokens):
    """vLLM V1's API server: max_num_batched_tokens 8192 on >= 70 GiB GPUs but A100, 2048 elsewhere (arg_utils.py);
    SGLang: chunked_prefill_size 2048 / 8192 / 16384 below 35 / below 160 / from 160 GiB (server_args.py);
    TensorRT-LLM: max_num_tokens 8192. The source is named in the engine's."""
    eng = deployment("llama-3.1-8b", chip, engine=engine).engine
    assert eng.step_tokens == tokens
    if tokens != 8192 or engine.startswith(("SGLang", "vLLM 0.12")):
        assert ("arg_utils.py" in eng.source) or ("server_args.py" in eng.source)


def test_a_smaller_token_budget_prefills_a_long_prompt_in_more_shorter_steps():
    # vLLM on an L40S chunks a 12,000-token prompt into 6 steps of 2,000, on an H100-class budget into 2 of 6,000:
    # about the same work (within 15 %), but each step that carries a chunk is shorter, so the decodes that share
    # those steps wait less: the longest gaps between tokens (ITL p99) shrink
    l40 = deployment("llama-3.1-8b", "l40s", weights="fp8", engine="vLLM 0.12.0")
    big = replace(l40, engine=replace(l40.engine, step_tokens=8192))
    t_small, st_small = S.prefill_time(l40, 12_000)
    t_big, st_big = S.prefill_time(big, 12_000)
    assert float(st_small["latency"]) < 0.5 * float(st_big["latency"])
    assert float(t_small) == pytest.approx(float(t_big), rel=0.15)
    L, A = W.fixed(12_000, 256), W.closed_loop(8)
    kw = dict(requests=120, warmup=16, seed=0)
    small_run, big_run = simulate_deployment(l40, L, A, **kw), simulate_deployment(big, L, A, **kw)
    assert small_run.itl.p99 < 0.7 * big_run.itl.p99


def test_the_token_budget_never_shrinks_as_gpu_memory_grows():
    # the engines' tiers rise with memory (vLLM 2048 -> 8192 at 70 GiB, SGLang 2048 -> 8192 -> 16384 at 35 / 160 GiB):
    # a GPU with more memory never gets a smaller step, whatever its memory
    from types import SimpleNamespace

    from hypothesis import given, settings
    from hypothesis import strategies as st

    engines = [get_engine(n) for n in ("vLLM 0.12.0", "SGLang 0.5.1", "TensorRT-LLM 1.0")]

    @settings(max_examples=200, deadline=None)
    @given(st.floats(1, 1024), st.floats(1, 1024))
    def check(a, b):
        lo, hi = sorted((a, b))
        for e in engines:
            small = e.for_chip(SimpleNamespace(id="gpu-x", memory_gb=lo, memory_binary=True)).step_tokens
            large = e.for_chip(SimpleNamespace(id="gpu-x", memory_gb=hi, memory_binary=True)).step_tokens
            assert 2048 <= small <= large <= 16384

    check()
