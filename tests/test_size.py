"""`infercast size`: GPUs per chip for a demand at latency targets (issue #15), its arithmetic, its minimality,
the inverse, and the same demand served through `infercast fleet`."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from infercast.analyses import sizing as S
from infercast.cli import app
from infercast.engine.planner import Space, Targets, plan
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip

runner = CliRunner()
T30 = Targets(min_tps_user=30)


def run(*args):
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, getattr(r, "stderr", "")


@pytest.fixture(scope="module")
def check_answer():
    """The issue's check: 1e9 tokens/day of Llama-3.1-70B on H100 at >= 30 tokens/s per user."""
    code, out, err = run("size", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--tokens-per-day", "1e9",
                         "--min-tps-user", "30", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list) and len(rows) == 1
    return rows[0]


def test_size_answers_gpus_shape_and_monthly_cost(check_answer):
    r = check_answer
    assert r["chip"] == "h100-sxm" and isinstance(r["gpus"], int) and r["gpus"] >= 1
    s = r["shape"]
    assert {"tp", "pp", "ep", "precision", "gpus_per_replica", "replicas"} <= set(s)
    assert r["gpus"] == s["replicas"] * s["gpus_per_replica"] == s["replicas"] * max(s["tp"], s["ep"]) * s["pp"]
    price = get_chip("h100-sxm").price.usd_per_hour
    assert r["cost_per_month"] == pytest.approx(r["gpus"] * price * 730)
    # $/M tokens: the month's cost over the mean month's tokens (1e9 a day)
    assert r["usd_per_m_tokens"] == pytest.approx(r["cost_per_month"] / (1e9 / 86400 * 3600 * 730 / 1e6))
    assert 0 < r["utilisation"] <= 1 and r["meets_peak"] is True
    assert r["capacity_tokens_per_day"] >= 1e9
    assert r["parts"][0]["tokens_per_s_per_user"] >= 30
    assert r["power_kw"] == pytest.approx(r["gpus"] * 700 * 0.7 * 1.2 / 1e3)  # TDP x Epoch's load and PUE


def test_the_same_demand_through_fleet_meets_it(check_answer, tmp_path):
    """A fleet of the sized count, at the planner's shape, serves >= 1e9 tokens/day at >= 30 tokens/s per user."""
    s = check_answer["shape"]
    fleet = tmp_path / "sized.toml"
    fleet.write_text(f"""name = "sized"
[[pools]]
chip = "h100-sxm"
count = {check_answer["gpus"]}
[[workloads]]
name = "chat"
model = "llama-3.1-70b"
share = 1.0
input_len = 1024
output_len = 256
min_tokens_per_s_per_user = 30
tp = {s["tp"]}
pp = {s["pp"]}
ep = {s["ep"]}
weights = "{s["precision"]}"
kv = "{s["kv"]}"
""")
    code, out, err = run("fleet", str(fleet), "--json")
    assert code == 0, err
    f = json.loads(out)
    assert f["gpus"] == check_answer["gpus"]
    assert f["input_tok_per_day"] + f["output_tok_per_day"] >= 1e9
    assert all(p["tokens_per_s_per_user"] >= 30 * (1 - 1e-9) for p in f["parts"])


@pytest.fixture(scope="module")
def h100_plan():
    d = S.demand_from_tokens("llama-3.1-70b", 1e9, targets=T30)
    return d, plan(d.model, "h100-sxm", d.workload, T30, Space(), frontiers=False)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.01, 5000), b=st.floats(0.01, 5000))
def test_more_demand_never_needs_fewer_gpus(h100_plan, a, b):
    d, p = h100_plan
    lo, hi = sorted((a, b))
    assert S.fewest_gpus(p, T30, d.workload, lo)[1] <= S.fewest_gpus(p, T30, d.workload, hi)[1]


@settings(max_examples=25, deadline=None)
@given(peak=st.floats(0.05, 3000))
def test_the_gpu_count_is_the_fewest_that_serve_the_peak(h100_plan, peak):
    """Minimality: with one GPU fewer, no configuration meeting the targets serves the peak; with the count, one does."""
    d, p = h100_plan
    i, n = S.fewest_gpus(p, T30, d.workload, peak)
    g, r = S._rates(p, d.workload)
    assert math.ceil(peak / r[i] - 1e-9) * g[i] == n
    best = S.most_served(p, T30, d.workload, n)
    assert best is not None and best[1] * r[best[0]] >= peak * (1 - 1e-9)
    fewer = S.most_served(p, T30, d.workload, n - 1) if n > 1 else None
    assert fewer is None or fewer[1] * r[fewer[0]] < peak


def test_headroom_sizes_for_the_peak():
    d = S.demand_from_tokens("llama-3.1-70b", 5e9, targets=T30)
    twice = S.demand_from_tokens("llama-3.1-70b", 1e10, targets=T30)
    a = S.size(d, "h100-sxm", headroom=2)
    b = S.size(twice, "h100-sxm")
    assert a.gpus == b.gpus and a.peak_tokens_per_day == pytest.approx(1e10)
    assert a.utilisation == pytest.approx(b.utilisation / 2)  # the same GPUs carry half the mean
    assert any("headroom 2" in n for n in a.notes)


def test_the_inverse_serves_what_sizing_asked_for():
    d = S.demand_from_tokens("llama-3.1-70b", 3e9, targets=T30)
    s = S.size(d, "h100-sxm")
    inv = S.size(d, "h100-sxm", gpus=s.gpus)
    assert inv.mode == "serves" and inv.meets_peak and inv.capacity_tokens_per_day >= 3e9
    assert inv.cost_per_month == pytest.approx(s.cost_per_month)
    if s.gpus > 1:
        less = S.size(d, "h100-sxm", gpus=s.gpus - 1)
        assert less.error or not less.meets_peak


def test_inverse_cli_without_a_demand_reports_what_gpus_serve():
    code, out, err = run("size", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--gpus", "8", "--min-tps-user", "30",
                         "--json")
    assert code == 0, err
    r = json.loads(out)[0]
    assert r["mode"] == "serves" and r["gpus"] == 8 and r["capacity_tokens_per_day"] > 0
    assert r["utilisation"] == pytest.approx(1.0) and r["demand_tokens_per_day"] is None


def test_a_chip_that_cannot_meet_the_targets_keeps_the_others():
    code, out, err = run("size", "-m", "llama-3.1-70b", "-c", "h100-sxm", "-c", "gb200", "--tokens-per-day", "1e9",
                         "--min-tps-user", "30", "--json")
    assert code == 0, err
    rows = {r["chip"]: r for r in json.loads(out)}
    assert rows["h100-sxm"]["gpus"] >= 1
    assert rows["gb200"]["gpus"] is None and "price" in rows["gb200"]["error"]
    code, out, err = run("size", "-m", "llama-3.1-70b", "-c", "h100-sxm", "-c", "gb200", "--tokens-per-day", "1e9")
    assert code == 0 and "gb200: --price:" in out


@pytest.mark.parametrize("args,needle", [
    ((), "--tokens-per-day"),
    (("--tokens-per-day", "1e9", "--requests-per-s", "3"), "one demand"),
    (("--tokens-per-day", "1e9", "--min-tps-user", "100000"), "meets"),
    (("--tokens-per-day", "nan"), "--tokens-per-day"),
    (("--tokens-per-day", "1e9", "--headroom", "0.5"), "--headroom"),
    (("--requests-per-s", "1", "--range-ratio", "0"), "--range-ratio"),
    (("--requests-per-s", "1", "--spec-method", "nope"), "--spec-method"),
])
def test_bad_sizing_input_is_one_line_naming_the_option(args, needle):
    code, out, err = run("size", "-m", "llama-3-8b", "-c", "h100-sxm", *args)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def test_length_distribution_is_planned_at_its_mean():
    code, out, err = run("size", "-m", "llama-3-8b", "-c", "h100-sxm", "--requests-per-s", "20", "-i", "2000",
                         "-o", "400", "--range-ratio", "0.5", "--json")
    assert code == 0, err
    part = json.loads(out)[0]["parts"][0]
    # uniform over [1000, 2000] and [200, 400]: means 1500 and 300
    assert part["demand"]["input_len"] == 1500 and part["demand"]["output_len"] == 300
    assert any("lengths vary" in n for n in json.loads(out)[0]["notes"])


def test_fleet_demand_is_what_the_fleet_serves():
    from infercast.analyses.fleet import evaluate

    ds = S.demand_from_fleet("llama3-70b-8xh100")
    served = evaluate("llama3-70b-8xh100")
    assert sum(d.tokens_per_s for d in ds) * 86400 == pytest.approx(served.input_tok_per_day + served.output_tok_per_day)
    s = S.size(ds, "h200-sxm")
    assert s.gpus >= 1 and len(s.parts) == len(ds) and s.meets_peak


def test_gpus_with_several_workloads_is_refused():
    ds = S.demand_from_fleet("mixed-12k")
    if len(ds) < 2:
        pytest.fail("the shipped mixed fleet should hold several workloads")
    with pytest.raises(InfercastError) as e:
        S.size(ds, "h100-sxm", gpus=8)
    assert e.value.field == "gpus"


def test_speculative_decoding_is_offered_to_the_planner():
    from infercast.engine.speculative import speculation

    d = S.demand_from_requests("llama-3.1-70b", 5, targets=Targets(min_tps_user=60))
    spec = speculation("eagle3")
    plain = S.size(d, "h100-sxm")
    sp = S.size(d, "h100-sxm", space=S.speculative_space(spec))
    assert sp.gpus <= plain.gpus  # the planner keeps speculation only where it pays


def test_cost_chooses_its_shape_with_the_planner():
    """Issue #15: `cost --min-tps-user 20` without a shape used to fail (tp defaulted to 1)."""
    code, out, err = run("cost", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--min-tps-user", "20", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["tokens_per_s_per_user"] >= 20 and r["tp"] * r["pp"] >= 2
    assert any("shape chosen by the planner" in a for a in r["assumptions"])
    code, out, err = run("cost", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--min-tps-user", "20")
    assert code == 0 and f"TP {r['tp']} x PP {r['pp']}" in out


def test_estimate_without_a_shape_asks_the_planner_and_a_given_shape_is_kept():
    from infercast.engine.estimate import estimate, planned_shape

    e = estimate("llama-3.1-70b", "h100-sxm", tpot_max=1 / 20)
    pt = planned_shape("llama-3.1-70b", "h100-sxm", tpot_max=1 / 20)
    assert (e.tp, e.pp, e.ep) == (pt["tp"], pt["pp"], pt["ep"]) and e.tokens_per_s_per_user >= 20
    assert "shape chosen by the planner" in e.notes[0]
    fixed = estimate("llama-3.1-70b", "h100-sxm", tp=4, max_throughput=True)
    assert (fixed.tp, fixed.pp, fixed.ep) == (4, 1, 1)
    # with gpus, only shapes dividing it
    e12 = estimate("llama-3.1-70b", "h100-sxm", gpus=12, max_throughput=True)
    assert 12 % (e12.tp * e12.pp) == 0


def test_uncertainty_uses_the_shape_the_planner_chose():
    code, out, err = run("estimate", "-m", "llama-3.1-70b", "-c", "h100-sxm", "--min-tps-user", "20", "--uncertainty",
                         "--samples", "50", "--json")
    assert code == 0, err
    d = json.loads(out)
    u = d["uncertainty"]["output_tok_s_per_gpu"]
    assert u["point"] == pytest.approx(d["output_tok_s_per_gpu"]) and u["p10"] < u["point"] < u["p90"]


def test_disaggregated_pools_are_offered_when_asked_and_never_need_more_gpus():
    # DeepSeek-V3 at a reading speed on H100: an aggregated attention-DP replica waits for whichever group holds a
    # prompt, so the planner's best with prefill and decode pools apart needs fewer GPUs for the same demand
    args = ("size", "-m", "deepseek-v3", "-c", "h100-sxm", "--tokens-per-day", "1e11", "-i", "2000", "-o", "500",
            "--min-tps-user", "20", "--json")
    code, out, err = run(*args)
    assert code == 0, err
    agg = json.loads(out)[0]
    code, out, err = run(*args, "--disaggregated")
    assert code == 0, err
    dis = json.loads(out)[0]
    assert dis["gpus"] <= agg["gpus"]
    assert agg["parts"][0]["shape"]["disaggregated"] is None
    assert "prefill" in dis["parts"][0]["shape"]["disaggregated"]
