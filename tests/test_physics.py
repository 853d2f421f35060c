"""Physical invariants over generated deployments (hypothesis): the promises a user relies on whatever they ask.

- nothing, realistic or speed-of-light, exceeds the FLOP upper bound on matmul FLOPs (issue #11);
- more HBM bandwidth or more FLOP/s never makes a step slower;
- a latency target reported as met is met, under the batching that is reported;
- every reported number is finite and positive.
Bounded example counts keep this inside CI's time; the seed is fixed so a failure reproduces."""
import math
import os
from dataclasses import asdict

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from infercast import InfercastError, deployment, estimate, get_chip, step_time

MODELS = {"llama-3.1-8b": (1, 2, 4), "llama-3.1-70b": (2, 4, 8), "mixtral-8x7b": (1, 2, 4, 8),
          "qwen3-235b-a22b": (4, 8), "deepseek-v3": (8,)}
CHIPS = ("h100-sxm", "h200-sxm", "b200", "a100-sxm-80gb", "mi300x", "l40s")
# PHYSICS_EXAMPLES=500 for a longer search than CI's
SETTINGS = settings(max_examples=int(os.environ.get("PHYSICS_EXAMPLES", 100)), deadline=None, derandomize=os.environ.get("PHYSICS_EXAMPLES") is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def deployments(draw):
    model = draw(st.sampled_from(sorted(MODELS)))
    tp = draw(st.sampled_from(MODELS[model]))
    chip = draw(st.sampled_from(CHIPS))
    weights = draw(st.sampled_from(("bf16", "fp8")))
    if weights == "fp8" and "fp8" not in get_chip(chip).tflops:
        weights = "bf16"
    return dict(model=model, chip=chip, tp=tp, weights=weights)


lengths = st.tuples(st.sampled_from((128, 512, 1024, 2048, 8192)), st.sampled_from((16, 128, 512, 2048)))


def _estimate_or_none(**kw):
    try:
        return estimate(**kw)
    except InfercastError as err:  # a refusal (does not fit, no batch meets the target) is allowed, a wrong number not
        assert err.field and "\n" not in str(err), err
        return None


def _finite_positive(e) -> None:
    d = asdict(e)
    for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s", "e2e_s",
              "forward_passes_per_chip_s", "upper_forward_passes_per_s", "lower_forward_passes_per_s"):
        assert math.isfinite(d[k]) and d[k] > 0, (k, d[k])
    assert all(math.isfinite(v) and v >= 0 for v in d["decode_step_ms"].values())
    assert 0.0 <= d["measured_share"] <= 1.0


@seed(11)
@SETTINGS
@given(deployments(), lengths, st.sampled_from((1, 8, 64, None)), st.booleans())
def test_no_estimate_exceeds_the_flop_bound_and_all_numbers_are_finite(dep, io, conc, sol):
    i, o = io
    kw = dict(dep, input_len=i, output_len=o, speed_of_light=sol, allow_long_context=True)
    kw.update(max_throughput=True) if conc is None else kw.update(concurrency=conc)
    e = _estimate_or_none(**kw)
    if e is None:
        return
    _finite_positive(e)
    assert e.forward_passes_per_chip_s <= e.upper_forward_passes_per_s * (1 + 1e-9)
    assert e.output_tok_s_per_gpu <= e.upper_forward_passes_per_s * (1 + 1e-9)


@seed(12)
@SETTINGS
@given(deployments(), st.sampled_from((1, 16, 256)), st.sampled_from((512, 4096)), st.sampled_from((1.3, 2.0, 4.0)))
def test_more_bandwidth_never_makes_a_step_slower(dep, batch, ctx, factor):
    chip = get_chip(dep["chip"])
    fast = chip.model_copy(update={"memory_bw_tbps": chip.memory_bw_tbps * factor})
    kw = dict(tp=dep["tp"], weights=dep["weights"])
    t0 = step_time(deployment(dep["model"], chip, **kw), decode_seqs=batch, decode_ctx=ctx)["total"]
    t1 = step_time(deployment(dep["model"], fast, **kw), decode_seqs=batch, decode_ctx=ctx)["total"]
    assert float(t1) <= float(t0) * (1 + 1e-9)


@seed(13)
@SETTINGS
@given(deployments(), st.sampled_from((1, 512, 8192)), st.sampled_from((1.3, 2.0, 4.0)))
def test_more_flops_never_makes_a_step_slower(dep, tokens, factor):
    chip = get_chip(dep["chip"])
    fast = chip.model_copy(update={"tflops": {k: v * factor for k, v in chip.tflops.items()}})
    kw = dict(tp=dep["tp"], weights=dep["weights"])
    args = dict(prefill_tokens=tokens, prefill_seqs=1, prefill_ctx=tokens / 2, decode_seqs=8, decode_ctx=1024)
    t0 = step_time(deployment(dep["model"], chip, **kw), **args)["total"]
    t1 = step_time(deployment(dep["model"], fast, **kw), **args)["total"]
    assert float(t1) <= float(t0) * (1 + 1e-9)


@seed(14)
@SETTINGS
@given(deployments(), lengths, st.sampled_from((0.02, 0.05, 0.2)), st.sampled_from((0.5, 2.0, None)), st.booleans())
def test_latency_targets_reported_as_met_are_met(dep, io, tpot_max, ttft_max, static):
    i, o = io
    e = _estimate_or_none(**dep, input_len=i, output_len=o, tpot_max=tpot_max, ttft_max=ttft_max, static=static,
                          allow_long_context=True)
    if e is None:
        return
    _finite_positive(e)
    met = not any("not met" in n.lower() or "cannot meet" in n.lower() for n in e.notes)
    if met:
        assert e.tpot_s <= tpot_max * (1 + 1e-6), (e.tpot_s, e.notes)
        if ttft_max is not None:
            assert e.ttft_s <= ttft_max * (1 + 1e-6), (e.ttft_s, e.notes)


@seed(15)
@SETTINGS
@given(deployments(), lengths)
def test_speed_of_light_is_never_slower_than_the_realistic_estimate(dep, io):
    i, o = io
    real = _estimate_or_none(**dep, input_len=i, output_len=o, concurrency=8, allow_long_context=True)
    sol = _estimate_or_none(**dep, input_len=i, output_len=o, concurrency=8, speed_of_light=True,
                            allow_long_context=True)
    if real is None or sol is None:
        return
    assert sol.tpot_s <= real.tpot_s * (1 + 1e-9) and sol.ttft_s <= real.ttft_s * (1 + 1e-9)
    assert np.isfinite(sol.output_tok_s_per_gpu) and sol.output_tok_s_per_gpu >= real.output_tok_s_per_gpu * (1 - 1e-9)
