"""Trend fits, synthesised chips, scenario loading and the yearly Monte Carlo (small sample counts)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from infercast import estimate
from infercast.cli import app
from infercast.errors import InfercastError
from infercast.analyses.forecast import (QUANTITIES, fit_trends, load_scenario, run_forecast, synth_chip)
from infercast.specs.hardware import Chip

N = 40


@pytest.fixture(scope="module")
def res():
    return run_forecast(samples=N, seed=1)


def test_trend_fits_plausible():
    f = fit_trends()
    # annual growth factors: FLOP/s 1.2-2.0x, bandwidth and capacity 1.1-1.6x (Epoch: 1.28-1.35x, ~1.18x)
    assert 1.2 < f["bf16_tflops"].growth < 2.0
    assert 1.1 < f["hbm_tbps"].growth < 1.6
    assert 1.1 < f["hbm_gb"].growth < 1.6
    for k in ("bf16_tflops", "hbm_tbps", "hbm_gb"):
        assert f[k].slope > 0 and f[k].growth_se_pct > 0 and 0.5 < f[k].r2 <= 1.0 and f[k].n >= 6
        assert f[k].slope > 2 * f[k].slope_se  # significant
    # the memory wall: FLOP/s grows faster than bandwidth
    assert f["bf16_tflops"].growth > f["hbm_tbps"].growth
    assert "%/yr" in f["bf16_tflops"].text()


def test_synth_chip_scalar_is_valid_chip():
    c = synth_chip(2027, 5000.0, 13.0, 400.0, usd_per_hour=8.0)
    assert isinstance(c, Chip) and c.family == "blackwell" and c.tflops["fp4"] == 20000.0
    e = estimate("llama-3.1-70b", c, tp=2, weights="fp8", concurrency=32)
    assert e.output_tok_s_per_gpu > 0


def test_seeded_reproducible(res):
    again = run_forecast(samples=N, seed=1)
    assert json.dumps(again["results"], sort_keys=True) == json.dumps(res["results"], sort_keys=True)
    other = run_forecast(samples=N, seed=2, models=["llama-3.1-70b"])
    assert other["results"]["llama-3.1-70b"] != res["results"]["llama-3.1-70b"]


def test_structure_and_ordering(res):
    assert res["years"] == list(range(2024, 2031))
    for mid in ("llama-3.1-70b", "gpt-4"):
        qs = res["results"][mid]
        assert set(qs) == set(QUANTITIES)
        for q, by_year in qs.items():
            assert set(by_year) == {str(y) for y in res["years"]}
            for y, d in by_year.items():
                assert d["p10"] <= d["p50"] <= d["p90"], (mid, q, y)
                assert np.isfinite(d["p90"]) and d["p10"] >= 0
    for q, by_year in res["chips"].items():
        for d in by_year.values():
            assert d["p10"] <= d["p50"] <= d["p90"]


def test_trends_rise(res):
    qs = res["results"]["llama-3.1-70b"]
    assert qs["output_tok_s_per_gpu"]["2030"]["p50"] > 3 * qs["output_tok_s_per_gpu"]["2024"]["p50"]
    assert qs["usd_per_m_output_tokens"]["2030"]["p50"] < qs["usd_per_m_output_tokens"]["2024"]["p50"]
    assert 0 < qs["realistic_to_upper"]["2027"]["p50"] < 1
    # the MoE's 280 B active parameters make it far slower than the 70 B dense model
    g = res["results"]["gpt-4"]["output_tok_s_per_gpu"]["2027"]["p50"]
    assert g < qs["output_tok_s_per_gpu"]["2027"]["p50"] / 3
    # algorithmic efficiency only moves the quality-adjusted quantities, and not before its base year
    assert qs["effective_output_tok_s_per_gpu"]["2024"] == qs["output_tok_s_per_gpu"]["2024"]
    assert qs["effective_output_tok_s_per_gpu"]["2030"]["p50"] > 2 * qs["output_tok_s_per_gpu"]["2030"]["p50"]


def test_zero_width_scenario_is_deterministic():
    sets = {"trends.residual_scatter": False, "algorithmic.factor_by_2030": 10, "fleet.h100e": 4e6,
            "fleet.growth": 2.0, "fleet.inference_share": 0.5, "fleet.utilisation": 0.5,
            "models.gpt-4.size_factor": 1}
    for q in ("bf16_tflops", "hbm_tbps", "hbm_gb", "usd_per_pflop_hour"):
        sets[f"trends.{q}.growth"] = 1.3
        sets[f"trends.{q}.anchor"] = {"bf16_tflops": 2250, "hbm_tbps": 8, "hbm_gb": 180, "usd_per_pflop_hour": 4}[q]
        sets[f"trends.{q}.anchor_year"] = 2024
    sc = load_scenario(overrides=sets)
    r = run_forecast(sc, samples=5, seed=0, models=["llama-3.1-70b"], years=[2024, 2026])
    d = r["results"]["llama-3.1-70b"]["output_tok_s_per_gpu"]["2026"]
    assert d["p10"] == d["p50"] == d["p90"] > 0
    assert r["chips"]["bf16_tflops"]["2026"]["p50"] == pytest.approx(2250 * 1.69)


def test_scenario_file_and_errors(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[fleet]\ngrowth = "lognormal:p10=1.1,p90=1.3"\n[run]\nlast_year = 2026\n')
    sc = load_scenario(p)
    assert sc["fleet"]["growth"] == "lognormal:p10=1.1,p90=1.3" and sc["fleet"]["h100e"]  # merged over default
    bad = tmp_path / "bad.toml"
    bad.write_text("[flet]\ngrowth = 2\n")
    with pytest.raises(InfercastError, match="fleet"):
        load_scenario(bad)
    with pytest.raises(InfercastError):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(InfercastError, match="fleet.growth"):
        run_forecast(load_scenario(overrides=["fleet.growth=lognormal:p10=3,p90=1"]), samples=4,
                     models=["llama-3.1-70b"], years=[2025])
    with pytest.raises(InfercastError):
        load_scenario(overrides=["nosuch.key=1"])


def test_default_scenario_documents_sources():
    sc = load_scenario()
    for sec in ("operating_point", "precision_mix", "algorithmic", "fleet", "future_chip"):
        assert sc[sec].get("source"), sec
    for q in ("bf16_tflops", "hbm_tbps", "hbm_gb", "usd_per_pflop_hour"):
        assert sc["trends"][q]["source"]
    assert "Epoch" in sc["trends"]["bf16_tflops"]["source"]


def test_cli_forecast_json_and_plot(tmp_path):
    png = tmp_path / "fan.png"
    r = CliRunner().invoke(app, ["forecast", "--json", "--samples", "8", "--seed", "3", "-m", "llama-3.1-70b",
                                 "--set", "run.last_year=2026", "--plot", str(png)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d["results"]["llama-3.1-70b"]["output_tok_s_per_gpu"]["2025"]) == {"p10", "p50", "p90"}
    assert png.stat().st_size > 1000
    r = CliRunner().invoke(app, ["forecast", "--samples", "8", "-m", "llama-3.1-70b", "--set", "run.last_year=2025"])
    assert r.exit_code == 0 and "llama-3.1-70b" in r.stdout
    r = CliRunner().invoke(app, ["forecast", "--samples", "8", "--set", "fleet.growth=beta:1"])
    assert r.exit_code == 2 and "beta" in r.output
    r = CliRunner().invoke(app, ["forecast", "--print-scenario"])
    assert r.exit_code == 0 and "[fleet]" in r.stdout
