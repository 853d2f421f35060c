"""Distributions, seeded sampling, percentiles and today's estimate with uncertainty."""
from __future__ import annotations

import numpy as np
import pytest

from infercast import estimate
from infercast.errors import InfercastError
from infercast.analyses.uncertainty import (Dist, draw, estimate_with_uncertainty, load_model_error, parse, percentiles)


@pytest.mark.parametrize("spec,p10,p50,p90", [
    ("lognormal:p10=2,p90=5", 2.0, 10 ** 0.5, 5.0),
    ("lognormal:2,5", 2.0, 10 ** 0.5, 5.0),
    ("lognormal:median=2,p90=4", 1.0, 2.0, 4.0),
    ("uniform:1,3", 1.2, 2.0, 2.8),
    ("uniform:min=1,max=3", 1.2, 2.0, 2.8),
    ("normal:mean=1,sd=0", 1.0, 1.0, 1.0),
    ("normal:p10=1,p90=2", 1.0, 1.5, 2.0),
    ("3", 3.0, 3.0, 3.0),
    ("fixed:3", 3.0, 3.0, 3.0),
    ("4e6", 4e6, 4e6, 4e6),
    (2.5, 2.5, 2.5, 2.5),
    ({"dist": "lognormal", "p10": 2, "p90": 5}, 2.0, 10 ** 0.5, 5.0),
    ({"kind": "triangle", "min": 1, "mode": 2, "max": 4}, None, None, None),
])
def test_parse_forms(spec, p10, p50, p90):
    d = parse(spec)
    q = d.describe()
    assert q["p10"] <= q["p50"] <= q["p90"]
    if p10 is not None:
        assert q["p10"] == pytest.approx(p10) and q["p50"] == pytest.approx(p50) and q["p90"] == pytest.approx(p90)


def test_triangle_matches_its_quantiles():
    d = parse("triangle:1,2,4")
    x = d.sample(200_000, np.random.default_rng(1))
    assert x.min() >= 1 and x.max() <= 4
    for q in (0.1, 0.5, 0.9):
        assert np.quantile(x, q) == pytest.approx(d.quantile(q), rel=0.01)


def test_lognormal_sample_percentiles():
    x = draw("lognormal:p10=2,p90=5", 100_000, seed=3, name="x")
    p = percentiles(x)
    assert p["p10"] == pytest.approx(2, rel=0.02) and p["p90"] == pytest.approx(5, rel=0.02)


@pytest.mark.parametrize("bad", [
    "lognormal:p10=5,p90=2", "lognormal:p10=-1,p90=2", "triangle:3,1,2", "uniform:3,1", "beta:1,2",
    "lognormal:p10=2", "lognormal:p10=x,p90=3", "uniform:", "", "triangle:1,2", "lognormal:1,p90=2",
    "uniform(1,2,3)", {"p10": 1, "p90": 2}, {"dist": "lognormal", "p10": 1}, None, True, [1, 2],
])
def test_bad_specs_are_clear_errors(bad):
    with pytest.raises(InfercastError) as e:
        parse(bad, "fleet.growth")
    assert "fleet.growth" in str(e.value)


def test_seeded_and_named_streams():
    a = draw("lognormal:p10=1,p90=3", 100, seed=7, name="a")
    assert np.array_equal(a, draw("lognormal:p10=1,p90=3", 100, seed=7, name="a"))
    assert not np.array_equal(a, draw("lognormal:p10=1,p90=3", 100, seed=8, name="a"))
    assert not np.array_equal(a, draw("lognormal:p10=1,p90=3", 100, seed=7, name="b"))


def test_zero_width_is_fixed():
    for s in ("lognormal:p10=2,p90=2", "triangle:2,2,2", "uniform:2,2", "normal:mean=2,sd=0"):
        d = parse(s)
        assert d.is_fixed and np.all(d.sample(5, np.random.default_rng(0)) == 2.0)


def test_percentiles_ordered_on_arrays():
    x = np.random.default_rng(0).lognormal(size=(500, 7))
    p = percentiles(x, axis=0)
    assert np.all(p["p10"] <= p["p50"]) and np.all(p["p50"] <= p["p90"])


KW = dict(tp=4, input_len=1024, output_len=256)


def test_estimate_with_uncertainty_zero_width_equals_point():
    fixed = {k: 1 for k in ("weight_stream", "gemm_compute", "kv_stream")}
    for extra in (dict(concurrency=64), dict(max_throughput=True)):
        r = estimate_with_uncertainty("llama-3.1-70b", "h100-sxm", samples=20, efficiency=fixed,
                                      model_error={"median_abs_error": 0, "p90_abs_error": 0}, **KW, **extra)
        e = estimate("llama-3.1-70b", "h100-sxm", **KW, **extra)
        for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "ttft_s", "tpot_s"):
            for p in ("p10", "p50", "p90"):
                assert r[k][p] == pytest.approx(getattr(e, k), rel=1e-9), (k, p)


def test_estimate_with_uncertainty_ranges_and_seed():
    a = estimate_with_uncertainty("llama-3.1-70b", "h100-sxm", samples=300, seed=5, concurrency=64, **KW)
    b = estimate_with_uncertainty("llama-3.1-70b", "h100-sxm", samples=300, seed=5, concurrency=64, **KW)
    for k in ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "ttft_s", "tpot_s"):
        assert a[k] == b[k]
        assert a[k]["p10"] < a[k]["p50"] < a[k]["p90"]
        assert a[k]["p10"] < a[k]["point"] < a[k]["p90"]
    assert "source" in a["model_error"]


def test_model_error_sources():
    d = load_model_error({"median_abs_error": 0.1, "p90_abs_error": 0.3})
    assert d["source"] == "given" and d["multiplier_p90"] > 1 > d["multiplier_p10"]
    assert load_model_error({"median_abs_error": 10})["median_abs_error"] == pytest.approx(0.10)  # percent
    with pytest.raises(InfercastError):
        load_model_error({"foo": 1})
    default = load_model_error()
    assert default["source"]  # validation summary or the stated ±20 % default


def test_dist_str_roundtrip():
    d = parse("lognormal:p10=3,p90=30")
    assert parse(str(d)).params == pytest.approx(d.params)
    assert isinstance(Dist.fixed(2.0), Dist)
