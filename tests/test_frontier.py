import json

import numpy as np
import pytest
from typer.testing import CliRunner

from infercast import estimate
from infercast.cli import app
from infercast.errors import InfercastError
from infercast.analyses.frontier import pareto, sweep
from infercast.engine.planner import tp_degrees
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model


@pytest.fixture(scope="module")
def sw():
    return sweep("llama-3-70b", "h100-sxm", input_len=2000, output_len=500)


def _dominated(a, b):
    """True when point b dominates a (>= on both, > on one)."""
    return b[0] >= a[0] and b[1] >= a[1] and (b[0] > a[0] or b[1] > a[1])


def test_frontier_points_are_non_dominated(sw):
    A = sw.arrays
    x, y = A["output_tok_s_per_gpu"], A["tokens_per_s_per_user"]
    for p in sw.frontier_interactivity:
        px, py = p["output_tok_s_per_gpu"], p["tokens_per_s_per_user"]
        assert not np.any((x >= px) & (y >= py) & ((x > px) | (y > py)))
    t = A["ttft_s"]
    for p in sw.frontier_ttft:
        px, pt = p["output_tok_s_per_gpu"], p["ttft_s"]
        assert not np.any((x >= px) & (t <= pt) & ((x > px) | (t < pt)))


def test_frontier_includes_max_throughput_point(sw):
    best = float(np.max(sw.arrays["output_tok_s_per_gpu"]))
    assert sw.frontier_interactivity[0]["output_tok_s_per_gpu"] == best
    assert sw.frontier_ttft[0]["output_tok_s_per_gpu"] == best
    assert sw.max_throughput()["output_tok_s_per_gpu"] == best


def test_frontier_is_a_tradeoff_curve(sw):
    fr = sw.frontier_interactivity
    assert len(fr) > 5
    thr = [p["output_tok_s_per_gpu"] for p in fr]
    ups = [p["tokens_per_s_per_user"] for p in fr]
    assert thr == sorted(thr, reverse=True) and ups == sorted(ups)


def test_pareto_small_cases():
    x = np.array([1.0, 2.0, 2.0, 3.0, 0.5])
    y = np.array([5.0, 4.0, 3.0, 1.0, 6.0])
    assert sorted(pareto(x, y).tolist()) == [0, 1, 3, 4]
    # ties in x: only the better y survives
    assert pareto([1.0, 1.0], [1.0, 2.0]).tolist() == [1]
    rng = np.random.default_rng(1)
    x, y = rng.random(300), rng.random(300)
    keep = set(pareto(x, y).tolist())
    for i in range(300):
        dom = any(_dominated((x[i], y[i]), (x[j], y[j])) for j in range(300))
        assert (i in keep) == (not dom)


def test_sweep_matches_scalar_estimate(sw):
    A = sw.arrays
    for i in np.random.default_rng(0).choice(sw.n, 8, replace=False):
        e = estimate("llama-3-70b", "h100-sxm", tp=int(A["tp"][i]), pp=int(A["pp"][i]), weights=str(sw.precision[i]),
                     input_len=2000, output_len=500, concurrency=float(A["concurrency"][i]))
        assert e.output_tok_s_per_gpu == pytest.approx(A["output_tok_s_per_gpu"][i], rel=1e-9)
        assert e.ttft_s == pytest.approx(A["ttft_s"][i], rel=1e-9)


def test_moe_sweep_matches_scalar_estimate():
    s = sweep("mixtral-8x7b", "h100-sxm", input_len=1000, output_len=200, n_concurrency=6, max_gpus=16)
    A = s.arrays
    assert (A["ep"] > 1).any()
    for i in np.random.default_rng(2).choice(s.n, 6, replace=False):
        e = estimate("mixtral-8x7b", "h100-sxm", tp=int(A["tp"][i]), pp=int(A["pp"][i]), ep=int(A["ep"][i]),
                     weights=str(s.precision[i]), input_len=1000, output_len=200,
                     concurrency=float(A["concurrency"][i]))
        assert e.output_tok_s_per_gpu == pytest.approx(A["output_tok_s_per_gpu"][i], rel=1e-9)
        assert e.gpus == A["gpus"][i]


def test_precisions_follow_the_chip():
    assert set(sweep("llama-3-8b", "a100-sxm-80gb", n_concurrency=4).precision) == {"bf16"}
    assert "fp4" in set(sweep("llama-3-8b", "b200", n_concurrency=4).precision)
    # asked for explicitly, fp8 weights on an A100 (no fp8 tensor cores) run weight-only at 16-bit
    s = sweep("llama-3-8b", "a100-sxm-80gb", precisions=["fp8"], n_concurrency=4)
    assert set(s.precision) == {"fp8"}
    # gpt-oss ships MXFP4: on Hopper it is searched as released (weight-only W4A16) beside bf16 and fp8
    assert "fp4" in set(sweep("gpt-oss-20b", "h100-sxm", n_concurrency=4).precision)


def test_nvl72_gets_wider_tp():
    assert max(tp_degrees(get_model("llama-3-70b"), get_chip("gb200"))) == 64
    assert max(tp_degrees(get_model("llama-3-70b"), get_chip("h100-sxm"))) == 8


def test_cli_frontier_json_and_plot(tmp_path):
    png = tmp_path / "f.png"
    r = CliRunner().invoke(app, ["frontier", "-m", "llama-3-8b", "-c", "h100-sxm", "-c", "mi300x", "--points", "8",
                                 "--json", "--plot", str(png)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [o["chip"] for o in out] == ["h100-sxm", "mi300x"]
    assert out[0]["frontier_interactivity"] and png.stat().st_size > 10_000


def test_cli_frontier_table_and_errors():
    r = CliRunner().invoke(app, ["frontier", "-m", "llama-3-8b", "-c", "h100-sxm", "--points", "8"])
    assert r.exit_code == 0 and "max throughput" in r.output
    r = CliRunner().invoke(app, ["frontier", "-m", "llama-3-8b", "-c", "h100-sxm", "--plot", "x.pdf"])
    assert r.exit_code == 2 and ".png or .svg" in r.output
