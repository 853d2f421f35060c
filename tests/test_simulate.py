"""The request-level serving simulation against analytic results, its own step-by-step reference,
and its input errors."""
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infercast.engine import workload as W
from infercast.engine.simulate import StepTable, simulate, simulate_deployment, simulate_disaggregated, step_model
from infercast.engine.step import deployment
from infercast.errors import DoesNotFitError, InfercastError


@dataclass(frozen=True)
class Affine:
    """A step model affine in batch, batch x context and extra tokens: trilinear interpolation
    reproduces it exactly, so the simulator's answers can be derived by hand."""

    a: float = 2e-3  # fixed cost per step, s
    b: float = 2e-5  # per decoding sequence
    c: float = 3e-9  # per cached token read
    e: float = 4e-7  # per prompt token
    max_batch: int = 512
    kv_tokens: float = 1e8

    def __call__(self, B, ctx, P):
        B, ctx, P = (np.asarray(x, dtype=float) for x in (B, ctx, P))
        return self.a + self.b * B + self.c * B * ctx + self.e * P


@pytest.fixture(scope="module")
def llama8b():
    return step_model(deployment("llama-3-8b", "h100-sxm"), prompt_len=1024, context=1280)


# --- analytic results -----------------------------------------------------------------------------

@pytest.mark.parametrize("C,I,O", [(1, 128, 64), (8, 512, 128), (32, 200, 33), (64, 100, 300)])
def test_closed_loop_fixed_lengths_is_the_steady_state_of_the_step_model(C, I, O):
    # Every step holds all C requests (a finished one is replaced in the next step, its prompt fits
    # the budget), each present for 1 prefill step + O-1 decode steps, so the mean step is
    # tau = a + b C(O-1)/O + c C(O-1)(I + O/2)/O + e C I/O and C requests finish every O steps.
    m = Affine()
    r = simulate(m, W.fixed(I, O), W.closed_loop(C), requests=400)
    tau = m.a + m.b * C * (O - 1) / O + m.c * C * (O - 1) * (I + O / 2) / O + m.e * C * I / O
    assert r.requests_per_s == pytest.approx(C / (O * tau), rel=1e-6)
    assert r.output_tok_per_s == pytest.approx(C / tau, rel=1e-6)
    assert r.input_tok_per_s == pytest.approx(C * I / (O * tau), rel=1e-6)
    assert r.e2e.mean == pytest.approx(O * tau, rel=1e-6)
    assert r.requests_per_s == pytest.approx(C / r.e2e.mean, rel=1e-6)  # Little's law
    assert r.mean_batch == pytest.approx(C, rel=1e-9)


@pytest.mark.parametrize("C,I,O", [(16, 512, 128), (4, 1024, 256), (1, 2000, 100), (64, 128, 64)])
def test_closed_loop_fixed_lengths_cycles_through_the_deployment_step_model(llama8b, C, I, O):
    # C clients starting together stay in lockstep: one step prefills all C prompts (C*I <= budget),
    # O-1 decode steps at contexts I+1 ... I+O-1 follow, then all C are replaced.
    r = simulate(llama8b, W.fixed(I, O), W.closed_loop(C), requests=300)
    cycle = float(llama8b(0, 1, C * I)) + float(np.sum(llama8b(C, I + np.arange(1, O), 0)))
    assert r.output_tok_per_s == pytest.approx(C * O / cycle, rel=0.005)  # the grid's interpolation error
    assert r.e2e.mean == pytest.approx(cycle, rel=0.005)


@pytest.mark.parametrize("C", [4, 32, 128])
def test_closed_loop_obeys_littles_law_with_the_deployment_step_model(llama8b, C):
    r = simulate(llama8b, W.uniform(1024, 256, 0.5), W.closed_loop(C), requests=1500, seed=3)
    assert r.requests_per_s == pytest.approx(C / r.e2e.mean, rel=0.01)
    assert r.mean_batch == pytest.approx(C, rel=0.01)
    # Spreading the prompts evenly over every step (C*I/O tokens each, the closed form of
    # `serving.continuous`) is an upper bound: real steps take whole prompts in bursts, and a step's
    # time is convex in its tokens (memory-bound, then compute-bound).
    I, O = 768.0, 192.0  # mean lengths of the draws
    tau = float(llama8b(C * (O - 1) / O, I + O / 2, C * I / O))
    assert 0.85 * C / tau <= r.output_tok_per_s <= C / tau


def test_poisson_at_low_load_gives_prefill_time_and_batch1_steps(llama8b):
    I, O = 1024, 128
    r = simulate(llama8b, W.fixed(I, O), W.poisson(0.05), requests=300, seed=1)
    prefill = float(llama8b(0, 1, I))
    assert r.ttft.p50 == pytest.approx(prefill, rel=0.03)  # the grid's interpolation error next to kernel steps
    assert r.queue.p50 == pytest.approx(0.0, abs=1e-12)
    assert r.tpot.p50 == pytest.approx(float(llama8b(1, I + O / 2, 0)), rel=0.005)
    assert r.mean_decode_batch == pytest.approx(1.0, rel=0.05)


def test_throughput_counts_tokens_in_and_out(llama8b):
    r = simulate(llama8b, W.fixed(2000, 100), W.offline(), requests=300)
    assert r.total_tok_per_s == pytest.approx(r.input_tok_per_s + r.output_tok_per_s)
    assert r.input_tok_per_s == pytest.approx(20 * r.output_tok_per_s, rel=1e-9)
    assert r.requests_per_s * r.duration_s == pytest.approx(300)


def test_long_prompts_are_chunked_by_the_token_budget():
    m = Affine()
    chunked = simulate(m, W.fixed(20000, 8), W.poisson(0.01), requests=20, token_budget=8192)
    # three steps of 8192, 8192 and 3616 prompt tokens on an idle replica
    assert chunked.ttft.p50 == pytest.approx(3 * m.a + m.e * 20000, rel=1e-9)
    whole = simulate(m, W.fixed(20000, 8), W.poisson(0.01), requests=20, token_budget=8192, chunked_prefill=False)
    assert whole.ttft.p50 == pytest.approx(m.a + m.e * 20000, rel=1e-9)


def test_kv_pool_and_max_batch_cap_the_batch():
    m = Affine(kv_tokens=10 * 1100)
    r = simulate(m, W.fixed(1000, 100), W.closed_loop(64), requests=300)
    assert r.mean_batch <= 10 + 1e-9
    r = simulate(m, W.fixed(100, 100), W.closed_loop(64), requests=300, max_batch=16)
    assert r.mean_batch <= 16 + 1e-9
    assert r.queue.p50 > 0  # the other 48 clients wait


def test_slo_attainment_tracks_targets(llama8b):
    kw = dict(requests=800, seed=2)
    r = simulate(llama8b, W.uniform(2048, 256, 0.2), W.poisson(20.0), **kw)
    mid = simulate(llama8b, W.uniform(2048, 256, 0.2), W.poisson(20.0), max_ttft=r.ttft.p50, **kw)
    assert mid.ttft_attainment == pytest.approx(0.5, abs=0.01)
    loose = simulate(llama8b, W.uniform(2048, 256, 0.2), W.poisson(20.0), max_ttft=r.ttft.p99,
                     max_tpot=r.tpot.p90, **kw)
    assert loose.slo_attainment <= min(loose.ttft_attainment, loose.tpot_attainment)
    assert loose.tpot_attainment == pytest.approx(0.9, abs=0.01)
    assert r.slo_attainment is None


# --- speculative decoding -------------------------------------------------------------------------

def test_speculative_decoding_with_no_acceptance_gives_no_speedup(llama8b):
    L, A = W.fixed(1024, 256), W.closed_loop(16)
    base = simulate(llama8b, L, A, requests=400)
    spec = simulate(llama8b, L, A, requests=400, spec=W.SpecDecode(k=3, acceptance=0.0))
    assert spec.tokens_per_step == 1.0
    assert spec.output_tok_per_s <= base.output_tok_per_s * (1 + 1e-9)


@pytest.mark.parametrize("k,a", [(3, 1.0), (4, 0.999), (2, 0.6), (5, 0.8)])
def test_speculative_decoding_emits_the_papers_mean_tokens_per_step(llama8b, k, a):
    s = W.SpecDecode(k=k, acceptance=a)
    r = simulate(llama8b, W.fixed(512, 2001), W.closed_loop(8), requests=200, spec=s, seed=5)
    assert r.tokens_per_step == pytest.approx((1 - a ** (k + 1)) / (1 - a) if a < 1 else k + 1, rel=0.02)
    if a > 0.99:
        assert r.tokens_per_step == pytest.approx(k + 1, rel=0.01)
        base = simulate(llama8b, W.fixed(512, 2001), W.closed_loop(8), requests=200)
        assert r.tpot.p50 < base.tpot.p50 / 2  # memory-bound verify steps cost little more than decode


# --- the event loop against the step-by-step reference --------------------------------------------

CASES = [
    (W.fixed(1024, 256), W.closed_loop(48), {}),
    (W.uniform(2048, 512, 0.3), W.poisson(12.0), {}),
    (W.uniform(512, 1024, 0.1), W.poisson(40.0), {"token_budget": 2048}),
    (W.uniform(4096, 128, 0.5), W.offline(), {"max_batch": 96}),
    (W.uniform(8000, 64, 0.5), W.poisson(3.0), {"chunked_prefill": False, "token_budget": 4096}),
    (W.uniform(256, 512, 0.5), W.closed_loop(24), {"spec": W.SpecDecode(k=3, acceptance=0.7, draft_cost=0.05)}),
    (W.fixed(1024, 256), W.closed_loop(48), {"mixed_prefill": False}),
    (W.uniform(2048, 512, 0.3), W.poisson(12.0), {"mixed_prefill": False, "token_budget": 4096}),
    (W.uniform(256, 512, 0.5), W.closed_loop(24), {"mixed_prefill": False,
                                                   "spec": W.SpecDecode(k=3, acceptance=0.7, draft_cost=0.05)}),
]
EXACT = ("requests_per_s", "output_tok_per_s", "input_tok_per_s", "duration_s", "tokens_per_step")


@pytest.mark.parametrize("lengths,arrivals,kw", CASES)
def test_event_loop_matches_step_by_step_reference(llama8b, lengths, arrivals, kw):
    fast = simulate(llama8b, lengths, arrivals, requests=600, seed=7, **kw).as_dict()
    ref = simulate(llama8b, lengths, arrivals, requests=600, seed=7, method="steps", **kw).as_dict()
    for key, v in ref.items():
        if v is None or isinstance(v, int):
            assert fast[key] == v, key
        elif key.startswith(("ttft", "tpot", "e2e", "queue")) or key in EXACT:
            assert fast[key] == pytest.approx(v, rel=1e-7, abs=1e-12), key  # per-request times agree
        elif key.startswith("itl"):
            assert fast[key] == pytest.approx(v, rel=1e-3), key  # a run of steps spread uniformly
        else:
            assert fast[key] == pytest.approx(v, rel=1e-6), key


def test_prefill_first_batches_keep_a_closed_loop_of_equal_requests_in_lock_step():
    # SGLang's default scheduler (prefill batches apart from decodes, run first: replica module doc). With C equal
    # requests and a budget of b prompts per step, every round is the first burst again: the decodes wait until the
    # last prompt is in, all finish together and all clients send again. Each round: C / b prefill steps of
    # a + e * b * I, then O - 1 decode steps of the full batch. Mixed steps let early prompts decode while later
    # ones prefill, so the rounds spread out and TTFT falls.
    m = Affine(c=0.0)
    C, I, O, per = 16, 1000, 50, 4
    L, A = W.fixed(I, O), W.closed_loop(C)
    kw = dict(requests=20 * C, warmup=4 * C, token_budget=per * I)
    first = simulate(m, L, A, mixed_prefill=False, **kw)
    step = m.a + m.e * per * I
    rounds = np.arange(1, C // per + 1) * step  # the four prefill batches' first tokens
    assert first.ttft.mean == pytest.approx(rounds.mean(), rel=1e-9)
    decode = (O - 1) * (m.a + m.b * C)
    assert first.e2e.mean == pytest.approx(C // per * step + decode, rel=1e-9)  # all finish together
    mixed = simulate(m, L, A, **kw)
    assert mixed.ttft.mean < 0.7 * first.ttft.mean


def test_trace_replay_keeps_its_arrivals(tmp_path, llama8b):
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.exponential(0.2, 200))
    rows = ["input_len,output_len,arrival_s"] + [f"{i},{o},{a:.6f}" for i, o, a in
                                                  zip(rng.integers(10, 3000, 200), rng.integers(1, 400, 200), t)]
    p = tmp_path / "trace.csv"
    p.write_text("\n".join(rows) + "\n")
    tr = W.read_trace(p)
    assert tr.rows == 200 and tr.arrivals.kind == "trace"
    r = simulate(llama8b, tr.lengths, tr.arrivals)
    assert r.requests == 200 and r.warmup == 0 and r.queue.p50 >= 0
    assert r.duration_s >= t[-1] - t[0]
    ref = simulate(llama8b, tr.lengths, tr.arrivals, method="steps")
    assert r.e2e.p99 == pytest.approx(ref.e2e.p99, rel=1e-9)
    # the same file without arrival times is a length distribution for any arrival process
    p.write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")
    tr2 = W.read_trace(p)
    assert tr2.arrivals is None
    assert simulate(llama8b, tr2.lengths, W.closed_loop(8), requests=100).requests == 100


# --- disaggregated prefill and decode pools -------------------------------------------------------

def test_disaggregated_at_low_load_is_prefill_then_transfer_then_decode():
    p, d = Affine(e=8e-7), Affine(b=3e-5)
    I, O, x = 1500, 64, 0.004
    r = simulate_disaggregated(p, d, W.fixed(I, O), W.poisson(0.01), requests=50, kv_transfer_s=x / 2,
                               kv_transfer_s_per_token=x / 2 / I)
    assert r.ttft.p50 == pytest.approx(p.a + p.e * I, rel=1e-9)
    j = np.arange(1, O)
    decode = float(np.sum(d.a + d.b + d.c * (I + j)))
    assert r.tpot.p50 == pytest.approx((x + decode) / (O - 1), rel=1e-9)
    assert r.e2e.p50 == pytest.approx(p.a + p.e * I + x + decode, rel=1e-9)


@pytest.mark.parametrize("arrivals,kw", [(W.poisson(15.0), {"n_prefill": 2, "n_decode": 3}),
                                         (W.offline(), {"kv_transfer_s": 0.01, "max_batch": 64})])
def test_disaggregated_event_loop_matches_reference(llama8b, arrivals, kw):
    L = W.uniform(2048, 300, 0.3)
    fast = simulate_disaggregated(llama8b, llama8b, L, arrivals, requests=500, **kw).as_dict()
    ref = simulate_disaggregated(llama8b, llama8b, L, arrivals, requests=500, method="steps", **kw).as_dict()
    for key, v in ref.items():
        if isinstance(v, float):
            assert fast[key] == pytest.approx(v, rel=1e-3 if key.startswith("itl") else 1e-6), key


def test_disaggregated_decode_steps_carry_no_prompts(llama8b):
    # the same two replicas, mixed (each at half the rate) or split into a prefill and a decode pool:
    # prompts no longer stall the decoders, so inter-token latency loses its prefill spikes
    L = W.uniform(2048, 256, 0.5)
    mixed = simulate(llama8b, L, W.poisson(5.0), requests=1500)
    split = simulate_disaggregated(llama8b, llama8b, L, W.poisson(10.0), requests=1500)
    assert split.itl.p99 < 0.5 * mixed.itl.p99
    assert split.itl.p99 == pytest.approx(split.tpot.p50, rel=0.3)
    assert split.output_tok_per_s == pytest.approx(2 * mixed.output_tok_per_s, rel=0.1)


@pytest.mark.parametrize("kw,field", [({"n_prefill": 0}, "n_prefill"), ({"n_decode": 1.5}, "n_decode"),
                                      ({"kv_transfer_s": -1.0}, "kv_transfer_s"),
                                      ({"kv_transfer_s_per_token": float("nan")}, "kv_transfer_s_per_token")])
def test_bad_disaggregation_settings_name_their_field(kw, field):
    with pytest.raises(InfercastError) as e:
        simulate_disaggregated(Affine(), Affine(), W.fixed(100, 10), W.poisson(1.0), **kw)
    assert e.value.field == field


def test_disaggregated_closed_loop_is_refused():
    with pytest.raises(InfercastError) as e:
        simulate_disaggregated(Affine(), Affine(), W.fixed(100, 10), W.closed_loop(8))
    assert e.value.field == "arrivals"


# --- physical invariants (hypothesis, bounded) ----------------------------------------------------

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), rate=st.floats(0.5, 60.0), ratio=st.floats(0.05, 1.0),
       I=st.integers(16, 4096), O=st.integers(1, 512))
def test_percentiles_are_ordered(llama8b, seed, rate, ratio, I, O):
    r = simulate(llama8b, W.uniform(I, O, ratio), W.poisson(rate), requests=200, seed=seed)
    for d in (r.ttft, r.tpot, r.itl, r.e2e, r.queue):
        assert 0 <= d.p50 <= d.p90 <= d.p99
        assert np.isfinite([d.mean, d.p50, d.p90, d.p99]).all()
    assert r.ttft.p50 <= r.e2e.p50 + 1e-12


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1), rate=st.floats(1.0, 40.0), more=st.floats(1.5, 4.0))
def test_more_load_never_lowers_p99_latency(llama8b, seed, rate, more):
    # the same requests (lengths, exponential gaps) arriving `more` times faster; at light load a
    # p99 over 1000 requests rests on the ~10 that collide, so it may dip by a few % by chance
    L = W.uniform(1500, 300, 0.3)
    lo = simulate(llama8b, L, W.poisson(rate), requests=1000, seed=seed)
    hi = simulate(llama8b, L, W.poisson(rate * more), requests=1000, seed=seed)
    assert hi.e2e.p99 >= lo.e2e.p99 * 0.95
    assert hi.ttft.p99 >= lo.ttft.p99 * 0.95
    assert hi.tpot.p99 >= lo.tpot.p99 * 0.95


@FAST
@given(C=st.integers(1, 200), seed=st.integers(0, 1000))
def test_more_clients_never_lower_throughput_or_raise_it_past_capacity(llama8b, C, seed):
    L = W.uniform(1024, 256, 0.5)
    one = simulate(llama8b, L, W.closed_loop(C), requests=300, seed=seed)
    two = simulate(llama8b, L, W.closed_loop(2 * C), requests=300, seed=seed)
    assert two.output_tok_per_s >= one.output_tok_per_s * 0.97
    assert two.e2e.mean >= one.e2e.mean * 0.97


def test_grid_interpolates_the_step_model_closely():
    for model, chip, tp, ep in (("llama-3-8b", "h100-sxm", 1, 1), ("llama-3-70b", "h100-sxm", 4, 1),
                                ("deepseek-v3", "h200-sxm", 8, 8)):
        s = step_model(deployment(model, chip, tp=tp, ep=ep), prompt_len=2048, context=4096)
        tab = StepTable.build(s, max_batch=s.max_batch, max_context=32768, max_tokens=8192)
        # measured kernels step (tile quantisation), so the linear interpolant is off next to a step
        assert tab.max_error(samples=4000, quantile=0.5) < 0.005, model
        assert tab.max_error(samples=4000, quantile=0.9) < 0.02, model
        assert tab.max_error(samples=4000) < 0.08, model


def test_deployment_wrapper_splits_pipeline_micro_batches():
    d1 = deployment("llama-3-70b", "h100-sxm", tp=4)
    d2 = deployment("llama-3-70b", "h100-sxm", tp=4, pp=2)
    s1, s2 = step_model(d1), step_model(d2)
    assert s2.max_batch == 2 * s1.max_batch
    assert s2.kv_tokens > s1.kv_tokens  # half the layers per GPU
    from infercast.engine.step import step_time
    # 64 sequences on 2 stages: 2 micro-batches of 32, a replica step is 2 stage-steps
    assert float(s2(64, 1000, 0)) == pytest.approx(2 * float(step_time(d2, decode_seqs=32, decode_ctx=1000)["total"]))
    r = simulate_deployment(d2, W.fixed(1024, 128), W.closed_loop(64), requests=200)
    assert r.mean_batch == pytest.approx(64, rel=0.01)


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("make,field", [
    (lambda: W.poisson(-1.0), "requests_per_s"),
    (lambda: W.poisson(float("nan")), "requests_per_s"),
    (lambda: W.poisson(0.0), "requests_per_s"),
    (lambda: W.closed_loop(0), "concurrency"),
    (lambda: W.closed_loop(2.5), "concurrency"),
    (lambda: W.uniform(1024, 128, 0.0), "range_ratio"),
    (lambda: W.uniform(1024, 128, 1.5), "range_ratio"),
    (lambda: W.uniform(1024, 128, float("nan")), "range_ratio"),
    (lambda: W.fixed(0, 128), "input_len"),
    (lambda: W.fixed(1024, float("inf")), "output_len"),
    (lambda: W.SpecDecode(k=0, acceptance=0.5), "spec_tokens"),
    (lambda: W.SpecDecode(k=3, acceptance=1.5), "acceptance"),
    (lambda: W.SpecDecode(k=3, acceptance=float("nan")), "acceptance"),
    (lambda: W.empirical([10, -1], [5, 5]), "lengths: input_len"),
])
def test_bad_workloads_name_their_field(make, field):
    with pytest.raises(InfercastError) as e:
        make()
    assert e.value.field == field


@pytest.mark.parametrize("kw,field", [
    ({"requests": 0}, "requests"), ({"requests": float("nan")}, "requests"), ({"token_budget": 0}, "token_budget"),
    ({"warmup": -1}, "warmup"), ({"max_ttft": -1.0}, "max_ttft"), ({"max_tpot": float("nan")}, "max_tpot"),
    ({"max_batch": 0}, "max_batch"), ({"seed": -3}, "seed"), ({"method": "magic"}, "method"),
    ({"token_budget": 3, "spec": W.SpecDecode(k=3, acceptance=0.5)}, "token_budget"),
])
def test_bad_simulation_settings_name_their_field(kw, field):
    with pytest.raises(InfercastError) as e:
        simulate(Affine(), W.fixed(100, 10), W.closed_loop(4), **kw)
    assert e.value.field == field


def test_a_request_larger_than_the_kv_pool_does_not_fit():
    with pytest.raises(DoesNotFitError) as e:
        simulate(Affine(kv_tokens=5000), W.fixed(4000, 2000), W.closed_loop(4))
    assert e.value.field == "input_len"


@pytest.mark.parametrize("text,field", [
    ("input_len\n10\n", "t.csv: output_len"),
    ("input_len,output_len\n10,abc\n", "t.csv: output_len"),
    ("input_len,output_len\n10.5,3\n", "t.csv: input_len"),
    ("input_len,output_len,arrival_s\n10,3,-1\n", "t.csv: arrival_s"),
    ("input_len,output_len,arrival_s\n10,3,nan\n", "t.csv: arrival_s"),
    ("input_len,output_len\n", "t.csv: input_len"),
    ("input_len,output_len\n5\n", "t.csv: output_len"),
    ("input_len,output_len\n1e400,5\n", "t.csv: input_len"),
])
def test_bad_trace_files_name_the_column(tmp_path, text, field):
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(InfercastError) as e:
        W.read_trace(p)
    assert e.value.field == field


def test_a_trace_that_is_not_a_readable_file_is_refused(tmp_path):
    for p in (tmp_path, tmp_path / "missing.csv"):
        with pytest.raises(InfercastError) as e:
            W.read_trace(p)
        assert e.value.field == "trace"
    bad = tmp_path / "b.csv"
    bad.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InfercastError):
        W.read_trace(bad)
