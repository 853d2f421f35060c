"""Attention-DP groups and pipeline micro-batches that take prompts apart: each prompt is prefilled in one group's
batch and the step waits for the busiest group (TensorRT-LLM tech blog 10, "ADP Balance Strategy": the iteration
time is the maximum over ranks; its DeepSeek-V3 run on 8 GB200 with attention DP 8 + EP 8 measured an average
balance ratio of 54 % with the default round-robin scheduler)."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from infercast.engine.serving import continuous
from infercast.engine.step import deployment
from infercast.engine.steptable import step_model

DP_PARTS = ("qkv_proj", "o_proj", "attention", "shared_experts")  # data-parallel over the attention groups


def _balanced(dep):
    return replace(dep, engine=replace(dep.engine, balanced_batches=True))


@pytest.fixture(scope="module")
def blog3():
    # TensorRT-LLM tech blog 3: DeepSeek-R1 FP4 on 8 B200, attention DP 8 + EP 8, FP8 KV, 1K in / 2K out, about 500
    # requests per GPU (the post's own sizing)
    return deployment("deepseek-r1", "b200", tp=1, ep=8, weights="fp4", kv="fp8", engine="tensorrt-llm")


def test_the_busiest_group_sets_the_step_as_blog10_measured(blog3):
    """500 decodes per group and a 1,024-token prompt arriving per group every 2,048 / 500 steps: a group carries
    a prompt in 24 % of the steps, some group in 89 % of them. The data-parallel layers' mean step then does the work
    of 500 + 0.89 x 1,024 tokens where a balanced schedule does 500 + 0.24 x 1,024: a balance ratio of about 0.53,
    as blog 10 measured (54 %, its own dataset)."""
    I, O, C = 1024.0, 2048.0, 4000.0
    imb = continuous(blog3, I, O, C)["step"]
    bal = continuous(_balanced(blog3), I, O, C)["step"]
    # the elementwise passes are linear in a group's tokens: their ratio is the token balance ratio blog 10 defines
    assert 0.45 < float(np.ravel(bal["elementwise"])[0]) / float(np.ravel(imb["elementwise"])[0]) < 0.65
    # the other data-parallel layers also pay fixed costs (weights, the decodes' KV reads), so they lose less
    t_imb = sum(float(np.ravel(imb[k])[0]) for k in DP_PARTS)
    t_bal = sum(float(np.ravel(bal[k])[0]) for k in DP_PARTS)
    assert 0.55 < t_bal / t_imb < 0.8
    # the throughput the post reports (4,600 output tokens/s per GPU) lies nearer the imbalanced schedule
    out_imb = float(continuous(blog3, I, O, C)["output_tok_s_per_gpu"])
    out_bal = float(continuous(_balanced(blog3), I, O, C)["output_tok_s_per_gpu"])
    assert abs(out_imb / 4600 - 1) < abs(out_bal / 4600 - 1)


def test_the_experts_do_the_same_work_over_the_steps(blog3):
    """The expert layer gathers every group's tokens: steps with prompts are more often but carry fewer groups'
    prompts, so the mean step's expert FLOPs (its compute roofline time) equal the balanced schedule's."""
    I, O = 1024.0, 2048.0
    C = np.array([64.0, 800.0, 4000.0])
    imb = {x.op.name: x for x in continuous(blog3, I, O, C)["step"]["_timed"]}
    bal = {x.op.name: x for x in continuous(_balanced(blog3), I, O, C)["step"]["_timed"]}
    np.testing.assert_allclose(imb["experts"].compute, bal["experts"].compute, rtol=1e-9)


def test_nothing_changes_without_groups_or_when_prompts_ride_every_step(blog3):
    dense = deployment("llama-3.1-70b", "h100-sxm", tp=8)
    # TP only; prompts only with a request per group or more (each group prefills in every step)
    for dep, I, O, C in ((dense, 2048.0, 256.0, [1.0, 64.0, 512.0]), (blog3, 2048.0, 1.0, [8.0, 64.0, 512.0])):
        a = continuous(dep, I, O, np.array(C))
        b = continuous(_balanced(dep), I, O, np.array(C))
        np.testing.assert_allclose(a["output_tok_s_per_gpu"], b["output_tok_s_per_gpu"], rtol=1e-12)
    # one request on 8 groups is prefilled by one of them, not split in eighths
    one = [float(np.ravel(continuous(d, 2048.0, 1.0, 1.0)["output_tok_s_per_gpu"])[0]) for d in (blog3, _balanced(blog3))]
    assert one[0] < 0.5 * one[1]


@settings(max_examples=25, deadline=None)
@given(c=st.floats(1.0, 6000.0), i=st.floats(16.0, 16384.0), o=st.floats(2.0, 8192.0),
       shape=st.sampled_from([("deepseek-r1", "b200", dict(tp=1, ep=8, weights="fp4")),
                              ("qwen3-235b-a22b", "h200-sxm", dict(tp=2, ep=8, weights="fp8")),
                              ("llama-3.1-405b", "h100-sxm", dict(tp=8, pp=2, weights="fp8"))]))
def test_taking_prompts_apart_never_serves_faster_than_an_even_split(c, i, o, shape):
    model, chip, kw = shape
    dep = deployment(model, chip, **kw)
    a = float(np.ravel(continuous(dep, i, o, c)["output_tok_s_per_gpu"])[0])
    b = float(np.ravel(continuous(_balanced(dep), i, o, c)["output_tok_s_per_gpu"])[0])
    assert a <= b * (1 + 1e-9)


def test_the_simulated_step_puts_a_prompt_on_one_group(blog3):
    """The request-level simulation's step model: a step's prompt tokens come from prompts of `prompt_len`; one
    prompt stays on one group (the busiest, whose step the others wait for), so it takes longer than an even split;
    once every group holds a prompt the split is even again."""
    imb, bal = step_model(blog3, prompt_len=1024.0), step_model(_balanced(blog3), prompt_len=1024.0)
    B, ctx = 4000.0, 2048.0
    one = (float(imb(B, ctx, 1024.0)), float(bal(B, ctx, 1024.0)))
    assert one[0] > 1.2 * one[1]
    even = (float(imb(B, ctx, 8 * 1024.0)), float(bal(B, ctx, 8 * 1024.0)))
    assert even[0] == pytest.approx(even[1], rel=1e-12)
    assert float(imb(B, ctx, 0.0)) == pytest.approx(float(bal(B, ctx, 0.0)), rel=1e-12)


def test_out_of_sample_the_blog_row_is_predicted_with_an_even_split():
    from infercast.analyses.measured import packaged_path, read_rows
    from infercast.analyses.predict import Context
    from infercast.analyses.validate import predict_row

    row = next(r for r in read_rows(packaged_path("measured-techniques.csv")) if r["id"] == "TRTTB-001")
    on = predict_row(row)
    off = predict_row(row, Context(ablate=frozenset({"batch-imbalance"})))
    assert on.status == off.status == "compared"
    assert off.predicted > 1.2 * on.predicted


def test_sglang_splits_its_step_budget_over_attention_dp_ranks_and_the_others_do_not():
    """SGLang divides --chunked-prefill-size by the attention-DP size (server_args.py, _handle_data_parallelism);
    TensorRT-LLM's max_num_tokens and vLLM's max_num_batched_tokens are per rank."""
    from infercast.engine.simulate import replica_tokens

    sg = deployment("deepseek-v3", "h200-sxm", tp=1, ep=8, engine="sglang")
    trt = deployment("deepseek-v3", "h200-sxm", tp=1, ep=8, engine="tensorrt-llm")
    assert sg.engine.dp_split_budget and not trt.engine.dp_split_budget
    assert sg.rank_tokens == sg.engine.step_tokens // 8 and replica_tokens(sg) == 8 * sg.rank_tokens
    assert trt.rank_tokens == trt.engine.step_tokens and replica_tokens(trt) == 8 * trt.engine.step_tokens
    tp8 = deployment("deepseek-v3", "h200-sxm", tp=8, engine="sglang")  # no attention DP: the whole budget
    assert tp8.rank_tokens == tp8.engine.step_tokens


def test_a_row_states_its_runs_step_budget_under_the_engines_own_flag():
    from infercast.analyses.validate import predict_row

    row = {"id": "X-1", "model": "deepseek-v3", "gpu": "h100-sxm", "metric": "input_tok_per_s_per_gpu",
           "value": "7000", "scenario": "prefill-only (disaggregated)", "input_len": "4096", "num_gpus": "32",
           "ep": "32", "engine": "SGLang", "notes": "prefill EP32"}
    default = predict_row(row)
    stated = predict_row({**row, "notes": "prefill EP32; --chunked-prefill-size 524288"})
    assert default.status == stated.status == "compared"
    # 8,192 split over 32 ranks is 256 tokens a step per rank: a 4,096-token prompt in 16 steps, not one
    assert stated.predicted > 2 * default.predicted


def test_the_overhang_and_the_world_take_the_best_of_aggregated_and_disaggregated_serving():
    from infercast.analyses.overhang import overhang
    from infercast.engine.planner import Space, Targets, Workload, plan

    o = overhang(train_flop=2.15e25, chip="h100-sxm", gpus=4096, days=90, model="deepseek-v3", min_tps_user=20)
    agg = plan("deepseek-v3", "h100-sxm", Workload(2000, 500), Targets(min_tps_user=20), Space(max_gpus=256),
               frontiers=False).best
    assert o.shape["output_tok_s_per_gpu"] >= agg["output_tok_s_per_gpu"] * (1 - 1e-9)
    assert "disaggregated" in o.shape


def _pipeline_turn(pp: int, w: float, c: float, turns: int = 1500, seed: int = 0) -> float:
    """Mean turn of a pipeline of `pp` stages with `pp` micro-batches in flight, each stage serving them in a fixed
    order; a micro-batch takes c per stage in a turn where it carries a prompt chunk (probability w), else 1, and
    starts its next turn when it leaves the last stage (an event simulation: start = max(own arrival, stage free))."""
    rng = np.random.default_rng(seed)
    free, out = np.zeros(pp), np.zeros(pp)
    t0 = k0 = None
    for k in range(turns):
        p = np.where(rng.random(pp) < w, c, 1.0)
        for j in range(pp):
            t = out[j]
            for s in range(pp):
                t = max(t, free[s]) + p[j]
                free[s] = t
            out[j] = t
        if k == turns // 4:
            t0, k0 = out.max(), k
    return (out.max() - t0) / (turns - 1 - k0)


@pytest.mark.parametrize("pp, w, c", [(2, 0.5, 3.0), (4, 0.2, 10.0), (8, 0.1, 20.0), (16, 0.21, 70.0)])
def test_a_pipeline_turn_waits_for_its_heaviest_micro_batch(pp, w, c):
    """The convoy: a micro-batch behind one that carries a prompt waits at every stage. The lane reading
    (`serving.busiest_share`: a turn runs at the heavy pace with probability 1 - (1 - w)^pp) is within 15 % of the
    event simulation; the even split it replaced (each micro-batch carrying w of a chunk) is 2-4x short."""
    from infercast.engine.serving import busiest_share

    sim = _pipeline_turn(pp, w, c)
    heavy = float(busiest_share(w, pp))
    lane = pp * (heavy * c + (1 - heavy))
    even = pp * (w * c + (1 - w))
    assert 0.8 < sim / lane < 1.05
    if c >= 10:
        assert sim > 2 * even


def test_a_row_that_balanced_its_ranks_is_predicted_as_an_even_split():
    from infercast.analyses.measured import packaged_path, read_rows
    from infercast.analyses.validate import predict_row

    row = next(r for r in read_rows(packaged_path("measured-techniques.csv")) if r["id"] == "TRTTB-001")
    plain = predict_row(row)
    bal = predict_row({**row, "notes": row["notes"] + "; attention_dp_config: enable_balance: true"})
    assert any("attention-DP balance" in x for x in bal.assumptions)
    assert bal.predicted > 1.2 * plain.predicted


def test_draft_tokens_are_every_groups_not_one_prompt(blog3):
    """In the simulation's step model the extra tokens of a speculative verify step are the drafts of every
    group's decodes: spread evenly, not put on one group as a prompt would be."""
    k = 3.0
    spec_step = step_model(blog3, prompt_len=2048.0, draft_per_seq=k)
    plain = step_model(_balanced(blog3), prompt_len=2048.0)
    B = 64.0  # 8 per group, 24 drafts each
    assert float(spec_step(B, 2048.0, k * B)) == pytest.approx(float(plain(B, 2048.0, k * B)), rel=1e-12)
    # a prompt beside them still lands on one group
    assert float(spec_step(B, 2048.0, k * B + 2048.0)) > float(plain(B, 2048.0, k * B + 2048.0))
