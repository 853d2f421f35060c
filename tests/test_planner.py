"""The one planner: the shapes it picks, the frontiers it returns, and what widening its search may never do."""
import numpy as np
import pytest

from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.engine.speculative import speculation
from infercast.errors import InfercastError

W = Workload(1024, 1024)


def test_sglang_deepseek_on_8_h200_picks_the_published_attention_dp_recipe():
    # SGLang's recipe for DeepSeek-V3 throughput on one 8-GPU node: data-parallel attention over the 8 GPUs
    # with the experts spread over them (`--tp 8 --dp 8 --enable-dp-attention`, lmsys.org/blog/2024-12-04-sglang-v0-4
    # "Data Parallelism Attention for DeepSeek Models"; large-scale EP, lmsys.org/blog/2025-05-05-large-scale-ep).
    # It ran on SGLang v0.4: that release's memory rule (mem_fraction_static by TP, engine.reserve) and its shapes
    # (pipeline parallelism came with PR #5724, May 2025)
    p = plan("deepseek-v3", "h200-sxm", W, Targets(),
             Space(max_gpus=8, engine="SGLang 0.4.0", precisions=("fp8",), pps=(1,)))
    best = p.max_throughput()
    assert (best["tp"], best["pp"], best["dp"], best["ep"]) == (1, 1, 8, 8), best


def test_the_interactivity_frontier_trades_throughput_for_speed():
    p = plan("llama-3.1-70b", "h100-sxm", W, Targets(), Space(max_gpus=8))
    f = p.frontier_interactivity
    assert len(f) >= 5
    speed = np.array([x["tokens_per_s_per_user"] for x in f])
    thr = np.array([x["output_tok_s_per_gpu"] for x in f])
    order = np.argsort(speed)
    # along the frontier, a faster point per user never has more throughput per GPU
    assert np.all(np.diff(thr[order]) <= 1e-9 * thr.max())
    # and no configuration of the plan dominates a frontier point
    a = p.arrays
    for s, t in zip(speed, thr):
        assert not np.any((a["tokens_per_s_per_user"] > s * (1 + 1e-9)) & (a["output_tok_s_per_gpu"] > t * (1 + 1e-9)))


@pytest.mark.parametrize("tps", [10.0, 30.0, 60.0])
def test_the_best_point_meets_its_target_and_is_the_best_that_does(tps):
    p = plan("llama-3.1-70b", "h200-sxm", W, Targets(min_tps_user=tps), Space(max_gpus=8))
    b = p.best
    assert b is not None and b["tokens_per_s_per_user"] >= tps * (1 - 1e-9)
    ok = p.arrays["tokens_per_s_per_user"] >= tps * (1 - 1e-9)
    assert b["output_tok_s_per_gpu"] == pytest.approx(p.arrays["output_tok_s_per_gpu"][ok].max())


def test_tighter_targets_never_give_more_throughput():
    space = Space(max_gpus=8)
    got = [plan("llama-3.1-70b", "h100-sxm", W, Targets(min_tps_user=t), space).best["output_tok_s_per_gpu"]
           for t in (5.0, 20.0, 40.0)]
    assert got[0] >= got[1] >= got[2]
    p50 = plan("llama-3.1-70b", "h100-sxm", W, Targets(max_tpot=0.05), space).best
    p99 = plan("llama-3.1-70b", "h100-sxm", W, Targets(max_tpot=0.05, percentile=99), space).best
    assert p99["output_tok_s_per_gpu"] <= p50["output_tok_s_per_gpu"] * (1 + 1e-9)


def test_a_wider_search_never_finds_less():
    # techniques are options: allowing speculative decoding or disaggregated pools can only add configurations
    t = Targets(min_tps_user=40.0)
    base = plan("llama-3.1-70b", "h200-sxm", W, t, Space(max_gpus=8, precisions=("fp8",)))
    spec = plan("llama-3.1-70b", "h200-sxm", W, t, Space(max_gpus=8, precisions=("fp8",),
                                                          speculative=(None, speculation("eagle3"))))
    dis = plan("llama-3.1-70b", "h200-sxm", W, t, Space(max_gpus=8, precisions=("fp8",), disaggregated=True))
    b = base.best["output_tok_s_per_gpu"]
    assert spec.best["output_tok_s_per_gpu"] >= b * (1 - 1e-9)
    assert dis.best["output_tok_s_per_gpu"] >= b * (1 - 1e-9)
    assert any(lab.get("speculative") for lab in spec.labels)
    assert any(lab.get("disaggregated") for lab in dis.labels)


def test_pipeline_stages_let_a_model_too_big_for_one_node_fit():
    p = plan("llama-3.1-405b", "a100-sxm-80gb", W, Targets(), Space(max_gpus=32, precisions=("bf16",)))
    best = p.max_throughput()
    assert best["tp"] <= 8 and best["pp"] >= 2  # 810 GB of weights: more than 8 x 80 GB, so stages are needed


@pytest.mark.parametrize("pct", [0.0, 49.0, 100.0, 150.0, float("nan")])
def test_an_impossible_percentile_is_refused_naming_it(pct):
    with pytest.raises(InfercastError) as ei:
        Targets(max_tpot=0.05, percentile=pct)
    assert ei.value.field == "percentile"


def test_any_tail_percentile_is_honoured():
    # the occupancy quantile comes from the normal distribution, not a four-entry table
    space = Space(max_gpus=4, precisions=("fp8",))
    got = [plan("llama-3.1-8b", "h100-sxm", W, Targets(max_tpot=0.012, percentile=q), space).best["output_tok_s_per_gpu"]
           for q in (50, 80, 97.5, 99.9)]
    assert all(a >= b * (1 - 1e-9) for a, b in zip(got, got[1:]))
    assert got[1] < got[0] and got[3] < got[2]


def test_under_a_speed_target_the_planner_chunks_prompts_finer_where_a_step_waits_for_its_busiest_group(monkeypatch):
    """DeepSeek-V3 on H100 at >= 10 tokens/s per user: an attention-DP shape whose steps wait for the group carrying
    a prompt chunk serves more per GPU at a smaller step budget (TensorRT-LLM max_num_tokens) than at the engine's
    8,192; the point meets the target and the estimate and the recipe carry the budget. Without a target nothing
    changes (max throughput wants the largest chunks)."""
    import infercast.engine.planner as planner_mod
    from infercast.analyses.recipe import recipe_for_estimate
    from infercast.engine.estimate import estimate

    args = ("deepseek-v3", "h100-sxm", Workload(2000, 500))
    space = Space(precisions=("fp8",), max_gpus=64)
    tuned = plan(*args, Targets(min_tps_user=10.0), space, frontiers=False).best
    with monkeypatch.context() as mp:
        mp.setattr(planner_mod, "BUDGETS", ())
        default = plan(*args, Targets(min_tps_user=10.0), space, frontiers=False).best
    assert tuned["rank_tokens"] in planner_mod.BUDGETS and default["rank_tokens"] is None
    assert tuned["output_tok_s_per_gpu"] > 1.5 * default["output_tok_s_per_gpu"]
    assert tuned["tokens_per_s_per_user"] >= 10.0 and tuned["dp"] > 1
    free = plan(*args, Targets(), space, frontiers=False)
    assert all(lab["rank_tokens"] is None for lab in free.labels)

    e = estimate("deepseek-v3", "h100-sxm", weights="fp8", input_len=2000, output_len=500, tpot_max=0.1)
    assert e.rank_tokens < 8192 and e.tpot_s <= 0.1 + 1e-9
    assert any(n.startswith(f"step budget {e.rank_tokens:,} tokens") for n in e.notes)
    launches = {x.engine: x.argv for x in recipe_for_estimate(e).launches}
    dp = e.ep // e.tp
    trt, sgl = launches["tensorrt-llm"], launches["sglang"]
    assert trt[trt.index("--max_num_tokens") + 1] == str(e.rank_tokens)
    assert sgl[sgl.index("--chunked-prefill-size") + 1] == str(e.rank_tokens * dp)  # SGLang's is split over DP ranks
    # an engine's own default is not a choice: vLLM's memory-sized 2,048 on an A100 leaves the recipes at 8,192
    plain = estimate("llama-3-8b", "a100-sxm-80gb", engine="vllm", concurrency=8)
    assert plain.rank_tokens is None
    v = {x.engine: x.argv for x in recipe_for_estimate(plain).launches}["vllm"]
    assert v[v.index("--max-num-batched-tokens") + 1] == "8192"


def test_the_step_budget_can_be_given_on_the_command_line():
    """`estimate --rank-tokens 512`: the step runs at that budget (a smaller TPOT for an attention-DP shape carrying
    prompt chunks), the JSON says so and the recipe emits it; a budget out of range is one line and exit 2."""
    import json

    from typer.testing import CliRunner

    from infercast.cli import app

    runner = CliRunner()
    base = ["estimate", "-m", "deepseek-v3", "-c", "h100-sxm", "-w", "fp8", "--tp", "2", "--ep", "16", "-k", "800",
            "-i", "2000", "-o", "500", "--json"]
    fine = json.loads(runner.invoke(app, base + ["--rank-tokens", "512", "--recipe"]).stdout)
    coarse = json.loads(runner.invoke(app, base).stdout)
    assert fine["rank_tokens"] == 512 and coarse["rank_tokens"] is None
    assert fine["tpot_s"] < coarse["tpot_s"]
    trt = next(x for x in fine["recipe"]["launches"] if x["engine"] == "tensorrt-llm")["argv"]
    assert trt[trt.index("--max_num_tokens") + 1] == "512"
    bad = runner.invoke(app, base + ["--rank-tokens", "0"])
    assert bad.exit_code == 2 and bad.stderr.strip().count("\n") == 0 and "--rank-tokens" in bad.stderr
