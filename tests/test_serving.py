"""Physical invariants of the serving model and its error messages."""
import numpy as np
import pytest

from infercast import DoesNotFitError, InfercastError, UnknownIdError, deployment, estimate, get_chip, step_time
from infercast.engine.memory import max_sequences
from infercast.engine.serving import continuous, max_concurrency


def _with(chip, **kw):
    return get_chip(chip).model_copy(update=kw)


def test_more_bandwidth_is_never_slower():
    base = get_chip("h100-sxm")
    for B in (1, 32, 512):
        t0 = step_time(deployment("llama-3-8b", base), decode_seqs=B, decode_ctx=2048)["total"]
        t1 = step_time(deployment("llama-3-8b", _with("h100-sxm", memory_bw_tbps=base.memory_bw_tbps * 1.5)),
                       decode_seqs=B, decode_ctx=2048)["total"]
        assert t1 <= t0


def test_more_flops_is_never_slower():
    base = get_chip("h100-sxm")
    faster = _with("h100-sxm", tflops={k: v * 2 for k, v in base.tflops.items()})
    for tokens in (1, 2048, 16384):
        t0 = step_time(deployment("llama-3-70b", base, tp=2), prefill_tokens=tokens, prefill_seqs=1, prefill_ctx=tokens / 2)
        t1 = step_time(deployment("llama-3-70b", faster, tp=2), prefill_tokens=tokens, prefill_seqs=1, prefill_ctx=tokens / 2)
        assert t1["total"] <= t0["total"]


def test_bigger_batch_never_lowers_throughput_until_memory_binds():
    # measured GEMM kernels have tile-quantisation steps (a batch of 257 can take a slower tile than 256),
    # so a slightly larger batch may lose a few percent; doubling the batch never loses throughput
    for model, chip, tp in (("llama-3-8b", "h100-sxm", 1), ("llama-3-70b", "h200-sxm", 2), ("mixtral-8x7b", "h100-sxm", 2),
                            ("llama-3-8b", "mi300x", 1)):
        dep = deployment(model, chip, tp=tp)
        cmax, _ = max_concurrency(dep, 1024, 256)
        C = np.unique(np.round(np.geomspace(1, float(cmax), 60)))
        thr = continuous(dep, 1024, 256, C)["output_tok_s_per_gpu"]
        assert np.all(np.diff(thr) >= -0.06 * thr[:-1]), (model, chip)
        half = C[C <= cmax / 2]
        t_half = continuous(dep, 1024, 256, half)["output_tok_s_per_gpu"]
        t_double = continuous(dep, 1024, 256, 2 * half)["output_tok_s_per_gpu"]
        assert np.all(t_double >= t_half), (model, chip)


def test_tensor_parallel_adds_communication():
    one = step_time(deployment("llama-3-70b", "h100-sxm", tp=1, weights="fp8"), decode_seqs=8, decode_ctx=1024)
    two = step_time(deployment("llama-3-70b", "h100-sxm", tp=2, weights="fp8"), decode_seqs=8, decode_ctx=1024)
    assert float(one["allreduce"]) == 0 and float(two["allreduce"]) > 0


def test_fp8_weights_never_read_more_bytes_and_help_small_batch_decode():
    from infercast import get_model

    m = get_model("llama-3-70b")
    assert m.weight_bytes("fp8") < m.weight_bytes("bf16")
    bf = step_time(deployment(m, "h100-sxm", tp=2, weights="bf16"), decode_seqs=1, decode_ctx=1024)["total"]
    f8 = step_time(deployment(m, "h100-sxm", tp=2, weights="fp8"), decode_seqs=1, decode_ctx=1024)["total"]
    assert f8 < bf


def test_longer_context_is_slower_and_fits_fewer_sequences():
    dep = deployment("llama-3-8b", "h100-sxm")
    ctx = np.array([512, 2048, 8192, 32768])
    t = step_time(dep, decode_seqs=16, decode_ctx=ctx)["total"]
    assert np.all(np.diff(t) > 0)
    assert np.all(np.diff(max_sequences(dep, ctx)) < 0)


def test_moe_touches_between_topk_and_all_experts():
    dep = deployment("mixtral-8x7b", "h100-sxm", tp=2)
    one = step_time(dep, decode_seqs=1, decode_ctx=128)
    many = step_time(dep, decode_seqs=256, decode_ctx=128)
    # one token reads 2 of 8 experts, 256 tokens read (nearly) all 8: expert time grows but not 128x
    assert float(many["experts"]) > float(one["experts"])
    assert float(many["experts"]) < 8 * float(one["experts"])


def test_h200_at_least_as_fast_as_h100():
    kw = dict(weights="fp8", input_len=2048, output_len=512, max_throughput=True)
    assert estimate("llama-3-70b", "h200-sxm", tp=2, **kw).output_tok_s_per_gpu >= \
        estimate("llama-3-70b", "h100-sxm", tp=2, **kw).output_tok_s_per_gpu


def test_estimate_reports_its_parts():
    e = estimate("llama-3-8b", "h100-sxm", concurrency=64, input_len=1000, output_len=200)
    assert e.bound_by in ("compute", "weights", "kv_cache", "communication", "overhead")
    assert sum(e.bound_shares.values()) == pytest.approx(1.0)
    assert e.memory["weights_gb"] == pytest.approx(16.06, rel=0.02)
    assert e.lower_forward_passes_per_s < e.output_tok_s_per_gpu < e.upper_forward_passes_per_s
    assert "family" in e.efficiency_source


def test_model_that_does_not_fit_says_what_to_change():
    with pytest.raises(DoesNotFitError) as ei:
        estimate("llama-3.1-405b", "h100-sxm", tp=1, concurrency=1)  # a shape given (none: the planner's)
    msg = str(ei.value)
    assert ei.value.field == "tp" and "tp 8" in msg and "fp8" in msg


@pytest.mark.parametrize("kw,needle", [
    (dict(model="llama-3-8b", chip="h100-sxn"), "h100-sxm"),
    (dict(model="lama-3-8b", chip="h100-sxm"), "llama-3-8b"),
])
def test_unknown_ids_suggest_close_names(kw, needle):
    with pytest.raises(UnknownIdError) as ei:
        estimate(concurrency=1, **kw)
    assert needle in str(ei.value)


@pytest.mark.parametrize("kw,field", [
    (dict(tp=3), "tp"), (dict(tp=0), "tp"), (dict(ep=2), "ep"), (dict(weights="fp7"), "weights"),
    (dict(input_len=0), "input_len"), (dict(concurrency=-1), "concurrency"), (dict(gpus=3, tp=2), "gpus"),
    (dict(concurrency=float("nan")), "concurrency"), (dict(tpot_max=float("inf")), "max_tpot"),
    (dict(input_len=100_000), "input_len"),
])
def test_impossible_values_are_refused_naming_the_field(kw, field):
    args = dict(model="llama-3-8b", chip="h100-sxm", concurrency=4)
    args.update(kw)
    with pytest.raises(InfercastError) as ei:
        estimate(**args)
    assert ei.value.field == field and "--" not in str(ei.value)


def test_speed_of_light_is_an_upper_bound_on_the_realistic_estimate():
    for kw in (dict(concurrency=1), dict(concurrency=64), dict(max_throughput=True)):
        real = estimate("llama-3-70b", "h100-sxm", tp=2, weights="fp8", input_len=2048, output_len=256, **kw)
        sol = estimate("llama-3-70b", "h100-sxm", tp=2, weights="fp8", input_len=2048, output_len=256,
                       speed_of_light=True, **kw)
        assert sol.tpot_s < real.tpot_s and sol.ttft_s < real.ttft_s


def test_old_tensorrt_llm_rereads_the_kv_cache_per_query_head_for_gqa_only():
    # TRT-LLM CHANGELOG 0.7.0: "MMHA optimization for MQA and GQA"; before it, each query head
    # streamed its KV head separately, so Llama-2-70B (64 q / 8 kv heads) reads 8x the cache
    from infercast.engine.efficiency import get_engine

    assert not get_engine("TensorRT-LLM v0.6.1").gqa_kv_reuse
    assert get_engine("TensorRT-LLM v0.6.1").version == "0.6.1"
    assert get_engine("TensorRT-LLM 0.17").gqa_kv_reuse and get_engine("tensorrt-llm").gqa_kv_reuse
    assert "before 0.7" in get_engine("TensorRT-LLM v0.5.0 (TensorRT 9.1.0.4)").source
    # only a version right after the engine's name counts, not the TensorRT or ROCm version beside it
    assert get_engine("TensorRT-LLM (TensorRT 9.1.0.4)").version is None
    assert get_engine("vLLM (ROCm 6.2)", strict=False).version is None
    kw = dict(decode_seqs=64, decode_ctx=4096)
    old = step_time(deployment("llama-2-70b", "h100-sxm", tp=4, engine="TensorRT-LLM v0.6.1"), **kw)
    new = step_time(deployment("llama-2-70b", "h100-sxm", tp=4, engine="TensorRT-LLM 0.17"), **kw)

    def attn(st):
        return next(x for x in st["_timed"] if x.op.name == "attention_decode")

    assert float(attn(old).op.nbytes) == pytest.approx(8 * float(attn(new).op.nbytes))
    assert float(attn(old).seconds) > float(attn(new).seconds) and old["total"] > new["total"]
    # an MHA model (kv heads = heads) reads the same bytes either way
    mha_old = step_time(deployment("llama-2-7b", "h100-sxm", engine="TensorRT-LLM v0.6.1"), **kw)
    mha_new = step_time(deployment("llama-2-7b", "h100-sxm", engine="TensorRT-LLM 0.17"), **kw)
    assert mha_old["total"] == pytest.approx(mha_new["total"])


def test_p99_latency_targets_admit_no_more_load_than_mean_targets():
    from infercast.engine.serving import Z99, best_under_latency, best_under_p99

    dep = deployment("llama-3-70b", "h200-sxm", tp=2, weights="fp8")
    cmax, _ = max_concurrency(dep, 1024, 256)
    for tpot in (0.03, 0.06, 0.2):
        k_mean = best_under_latency(dep, 1024, 256, tpot_max=tpot)
        k99 = best_under_p99(dep, 1024, 256, tpot_max=tpot)
        assert k99 is not None and k_mean is not None
        assert k99 <= k_mean + 1e-9
        # the 99th-percentile occupancy of Poisson arrivals fits in memory and meets the target
        occ = k99 + Z99 * np.sqrt(k99)
        assert occ <= float(cmax) + 1e-6
        assert float(continuous(dep, 1024, 256, occ)["tpot_s"]) <= tpot
    # a looser target never lowers the load served
    ks = [best_under_p99(dep, 1024, 256, tpot_max=t) for t in (0.03, 0.06, 0.2)]
    assert ks == sorted(ks)


def test_bound_breakdown_splits_by_the_deployments_exponent_not_a_cube():
    """A GEMM with compute time 1 s and memory time 0.5 s: the p-norm shares are 1 / (1 + 0.5^p) for compute
    (p = 3: 0.889; p = 64, the speed-of-light exponent: ~1.0). The estimate passes its efficiency's p."""
    from infercast.engine.operators import Op
    from infercast.engine.step import bound_breakdown
    from infercast.engine.timing import Provenance, Timed

    op = Op("mlp_up", "gemm", 1.0, {"m": 1.0, "n": 1.0, "k": 1.0}, np.array(1.0), np.array(1.0), "bf16", group="mlp")
    t = Timed(op, np.array(1.0), Provenance("fallback", "test"), np.array(1.0), np.array(0.5))
    parts = {"_timed": [t], "latency": np.array(1.0), "total": np.array(1.0), "pipeline_p2p": 0.0, "scheduler": 0.0}
    assert float(bound_breakdown(parts, 3.0)["compute"]) == pytest.approx(1 / (1 + 0.5 ** 3))
    assert float(bound_breakdown(parts, 64.0)["compute"]) == pytest.approx(1.0, abs=1e-12)
    sol = estimate("llama-3.1-8b", "h100-sxm", input_len=4096, output_len=1, concurrency=64, speed_of_light=True)
    real = estimate("llama-3.1-8b", "h100-sxm", input_len=4096, output_len=1, concurrency=64)
    assert sol.bound_shares["compute"] >= real.bound_shares["compute"] - 1e-9


@pytest.mark.parametrize("model, chip, kw, I", [
    ("llama-3.1-70b", "h100-sxm", dict(tp=4), 2048.0),
    ("mixtral-8x7b", "h200-sxm", dict(tp=2, pp=2), 20000.0),  # a prompt of 3 chunks
    ("deepseek-v3", "h200-sxm", dict(tp=1, ep=8), 1000.0),
])
def test_continuous_batching_equals_its_steps_evaluated_one_by_one(model, chip, kw, I):
    """`continuous` evaluates its three steps (decode-only, a step carrying one prompt chunk beside the decodes,
    the steps carrying a request's own prompt) in one stacked call for speed, and takes the mean step as the
    mixture of decode-only and chunk steps in their shares; each must equal the step evaluated on its own."""
    from infercast.engine.serving import _micro, _pp, prefill_time

    dep = deployment(model, chip, **kw)
    C, O = np.array([1.0, 7.0, 64.0, 300.0]), 256.0
    r = continuous(dep, I, O, C)
    pp_ = _pp(dep, None)
    per = C / dep.attn_dp
    b = per / _micro(per, pp_)
    others = np.clip((C - 1) / C, 0, 1)
    chunks = np.ceil(I / 8192)
    w1 = np.minimum(1.0, b * chunks / O)  # share of steps in which one attention group carries a prompt chunk
    dp, m = dep.attn_dp, _micro(per, pp_)
    # a step (a pipeline turn) carries a chunk when any of the dp x m attention groups' micro-batches does, and waits
    # for it; the expert layer gathers the mean group's tokens (TensorRT-LLM tech blog 10: iteration time = max over
    # ranks)
    n = dp * m
    w, w_see = 1 - (1 - w1) ** n, 1 - (1 - w1 * others) ** n
    x = b * I / O / w1  # the prompt tokens of a chunk step, on its group
    kw2 = dict(decode_seqs=b, decode_ctx=I + O / 2, prefill_ctx=(I + 1) / 2, pp=pp_)
    k = np.maximum(1, n * w1 / w / m)  # chunks in the busiest micro-batch
    g = (dict(group_tokens=b), dict(group_tokens=b + k * x / dp)) if dp > 1 else ({}, {})
    dec = step_time(dep, **kw2, **g[0])
    chunk = step_time(dep, prefill_tokens=x, prefill_seqs=b / O / w1, **kw2, **g[1])
    full = (1 - w) * dec["latency"] + w * chunk["latency"]
    mine_cycle = (1 - w_see) * dec["cycle"] + w_see * chunk["cycle"]
    np.testing.assert_allclose(r["step"]["latency"], full, rtol=1e-12)
    for a, y, z in zip(r["step"]["_timed"], dec["_timed"], chunk["_timed"]):
        np.testing.assert_allclose(np.broadcast_to(a.seconds, C.shape),
                                   np.broadcast_to((1 - w) * y.seconds + w * z.seconds, C.shape), rtol=1e-12)
    mine_p = b * I / O * others + I / chunks  # this group's prompt tokens: its own chunk, others' prompts
    g_own = dict(group_tokens=b * others + (mine_p + (dp - 1) * w1 * others * x) / dp) if dp > 1 else {}
    own = step_time(dep, prefill_tokens=mine_p, prefill_seqs=b / O * others + 1 / chunks,
                    **{**kw2, "decode_seqs": b * others}, **g_own)
    mine = {"cycle": mine_cycle}
    # an overlap scheduler (the default engine, TensorRT-LLM >= 1.0) sends the first token when the next step ends
    nxt = mine["cycle"] if dep.engine.overlap_scheduler else 0.0
    assert bool(dep.engine.overlap_scheduler)
    ttft = chunks * own["latency"] + np.where(C > 1, mine["cycle"], 0.0) + nxt
    np.testing.assert_allclose(r["ttft_s"], ttft, rtol=1e-12)
    # one request alone: its TTFT is its prompt's prefill and then its own first decode step, nothing else; with
    # attention data-parallel the prompt is on one group and the expert layer gathers its tokens only
    alone = prefill_time(dep, I, 1, pp=pp_)[0]
    if dp > 1:
        lone = dict(prefill_tokens=I / chunks, prefill_seqs=1 / chunks, prefill_ctx=(I + 1) / 2, pp=pp_)
        alone = chunks * step_time(dep, **lone, group_tokens=I / chunks / dp)["latency"]
        assert float(np.ravel(alone)[0]) < float(np.ravel(prefill_time(dep, I, 1, pp=pp_)[0])[0])
    np.testing.assert_allclose(r["ttft_s"][0], np.ravel(alone)[0] + np.broadcast_to(nxt, C.shape)[0], rtol=1e-12)


def test_moe_decode_steps_read_the_experts_of_their_own_tokens_not_of_prompts_spread_thin():
    """Four requests of 8,192 prompt tokens on one B200: a prompt arrives every 256 steps and is prefilled in
    its own step; the other steps decode 4 tokens, which route to about 15 of gpt-oss-120b's 128 experts
    (128 x (1 - (1 - 4/128)^16)). Spreading the prompts over every step instead (36 tokens a step) would read
    about 87 experts in each of them: a mean step about twice as slow as any real one (the measured MXFP4
    MoE kernel grows less than the expert bytes between 4 and 36 tokens: its small batches pay fixed costs)."""
    dep = deployment("gpt-oss-120b", "b200", engine="TensorRT-LLM 1.2")
    I, O, C = 8192.0, 1024.0, 4.0
    r = continuous(dep, I, O, C)
    ctx = dict(decode_ctx=I + O / 2, prefill_ctx=(I + 1) / 2)
    dec = step_time(dep, decode_seqs=C, **ctx)
    thin = step_time(dep, decode_seqs=C, prefill_tokens=C * I / O, prefill_seqs=C / O, **ctx)
    assert float(thin["cycle"]) > 1.8 * float(dec["cycle"])
    # TPOT: decode-only steps plus, once every 256 of them, a step carrying one of the other three prompts
    assert float(dec["cycle"]) < float(r["tpot_s"]) < 1.5 * float(dec["cycle"])
