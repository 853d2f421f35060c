"""The forecast: trend fits, chips, the planner's throughput interpolated over samples, scenarios (default,
roadmap), defaults from their sources, the year-to-year check, the backtest and the generated docs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from infercast import estimate
from infercast.analyses import backtest as BT
from infercast.analyses import forecast as FC
from infercast.analyses import roadmap as R
from infercast.analyses.forecast import (PER_CHIP, QUANTITIES, fit_trends, load_scenario, run_forecast, synth_chip,
                                         year_ratios)
from infercast.analyses.forecast_plan import planned, star
from infercast.analyses.trends import chip_params, params_of
from infercast.analyses.uncertainty import parse
from infercast.cli import app
from infercast.errors import InfercastError
from infercast.specs.hardware import Chip
from infercast.specs.store import read_json

N = 400  # samples: cheap (the planner runs on 7 chips per year and precision whatever N is)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "forecast.md"


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


def test_catalog_cutoff_fits_only_older_chips():
    f = fit_trends(load_scenario(overrides={"trends.catalog_cutoff_year": 2023}))
    assert set(f["bf16_tflops"].chips) == {"a100-sxm-80gb", "h100-sxm", "mi250x", "mi300x"}
    with pytest.raises(InfercastError, match="catalog_cutoff_year"):
        load_scenario(overrides={"trends.catalog_cutoff_year": 2021})


def test_synth_chip_scalar_is_valid_chip():
    c = synth_chip(2027, 5000.0, 13.0, 400.0, usd_per_hour=8.0)
    assert isinstance(c, Chip) and c.family == "blackwell" and c.tflops["fp4"] == 20000.0 and c.price.usd_per_hour == 8
    e = estimate("llama-3.1-70b", c, tp=2, weights="fp8", concurrency=32)
    assert e.output_tok_s_per_gpu > 0


def test_throughput_comes_from_the_planner():
    # a chip with no spread is planned once, and the forecast's number is the planner's own
    base = chip_params(2026, 3000.0, 10.0, 300.0)
    op = FC.serving_of(load_scenario()["operating_point"])
    zero = np.zeros((5, 3))
    r = star("llama-3.1-70b", base, zero, zero, "fp8", op)
    direct = planned("llama-3.1-70b", base.scaled(), "fp8", op)
    assert r.plans == 1 and np.allclose(r.output, direct["output_tok_s_per_gpu"])
    assert direct["met"] and direct["tpot_s"] <= op.tpot_max_s * (1 + 1e-9)


def test_interpolation_tracks_direct_plans():
    # the star's interpolated throughput against planning each sampled chip (benchmarks/forecast_interpolation.py
    # measures it over more chips): within 15 % per chip for a dense model
    sc = load_scenario()
    chips, _ = FC._trend_chips(sc, fit_trends(sc), [2027], 6, 3)
    yc, op = chips[0], FC.serving_of(sc["operating_point"])
    for design in ("star", "grid"):
        r = star("llama-3.1-70b", yc["base"], yc["coords"], yc["ref"], "fp8", op, design)
        direct = np.array([planned("llama-3.1-70b", yc["base"].scaled(*np.exp(x)), "fp8", op)["output_tok_s_per_gpu"]
                           for x in yc["coords"]])
        assert np.all(np.abs(np.log(r.output / direct)) < 0.15), (design, r.output, direct)
    assert r.plans == 27


def test_seeded_reproducible(res):
    again = run_forecast(samples=N, seed=1)
    assert json.dumps(again["results"], sort_keys=True) == json.dumps(res["results"], sort_keys=True)
    other = run_forecast(samples=N, seed=2, models=["llama-3.1-70b"])
    assert other["results"]["llama-3.1-70b"] != res["results"]["llama-3.1-70b"]


def test_structure_and_ordering(res):
    assert res["years"] == list(range(2024, 2031)) and res["kind"] == "trend"
    for mid in ("llama-3.1-70b", "gpt-4"):
        qs = res["results"][mid]
        assert set(qs) == set(QUANTITIES)
        for q, by_year in qs.items():
            assert set(by_year) == {str(y) for y in res["years"]}
            for y, d in by_year.items():
                assert d["p10"] <= d["p50"] <= d["p90"], (mid, q, y)
                assert np.isfinite(d["p90"]) and d["p10"] >= 0
        for y, d in res["details"][mid]["deployments"].items():
            for prec, v in d.items():
                if prec != "chip":
                    assert v["plans"] == 7 and v["centre"]["gpus"] >= 1
    for q, by_year in res["chips"].items():
        if q != "name":
            for d in by_year.values():
                assert d["p10"] <= d["p50"] <= d["p90"]


def test_default_p50_series_change_at_most_3x_a_year(res):
    # issue #13/#14: the per-chip series (set by the planner) move smoothly; the old replica rule made GPT-4 jump 26x
    for q in PER_CHIP:
        for mid, rs in year_ratios(res, q).items():
            for k, v in rs.items():
                assert 1 / 3 <= v <= 3, (mid, q, k, v)


def test_fleet_and_algorithmic_series_carry_their_inputs(res):
    # the fleet and quality-adjusted series grow by the scenario's rates (3.3x/yr fleet, 3x/yr algorithms), on
    # top of the per-chip series: they are the only ones allowed past 3x a year, and only by those inputs
    qs = res["results"]["llama-3.1-70b"]
    for a, b in ((2026, 2027), (2029, 2030)):
        fleet = qs["fleet_output_tokens_per_day"][str(b)]["p50"] / qs["fleet_output_tokens_per_day"][str(a)]["p50"]
        assert 2.0 < fleet < 6.0
    assert qs["effective_output_tok_s_per_gpu"]["2025"] == qs["output_tok_s_per_gpu"]["2025"]
    eff = qs["effective_output_tok_s_per_gpu"]["2030"]["p50"] / qs["output_tok_s_per_gpu"]["2030"]["p50"]
    assert 3 ** 5 / 3 < eff < 3 ** 5 * 3


def test_trends_rise_and_algorithms_reach_cost(res):
    qs = res["results"]["llama-3.1-70b"]
    assert qs["output_tok_s_per_gpu"]["2030"]["p50"] > 3 * qs["output_tok_s_per_gpu"]["2024"]["p50"]
    assert qs["usd_per_m_output_tokens"]["2030"]["p50"] < qs["usd_per_m_output_tokens"]["2024"]["p50"]
    assert 0 < qs["realistic_to_upper"]["2027"]["p50"] < 1
    g = res["results"]["gpt-4"]["output_tok_s_per_gpu"]["2027"]["p50"]
    assert g < qs["output_tok_s_per_gpu"]["2027"]["p50"] / 3  # 280 B active parameters vs 70 B
    # algorithmic progress divides the $/M of a fixed capability, from its base year on
    for mid in res["results"]:
        c = res["results"][mid]
        assert c["usd_per_m_fixed_capability"]["2025"] == c["usd_per_m_output_tokens"]["2025"]
        assert c["usd_per_m_fixed_capability"]["2030"]["p50"] < c["usd_per_m_output_tokens"]["2030"]["p50"] / 50


def test_defaults_are_the_sourced_estimates():
    sc = load_scenario()
    rates = read_json("world/progress_rates.json")["rates"]
    epoch = next(r for r in rates if r["group"] == "fleet_growth" and r["value"]["low"] == 2.7)
    g = parse(sc["fleet"]["growth"])
    assert g.median == pytest.approx(epoch["value"]["central"], rel=0.01)  # 3.3x/yr
    assert g.quantile(0.05) == pytest.approx(2.7, rel=0.02) and g.quantile(0.95) == pytest.approx(4.1, rel=0.02)
    gundlach = next(r for r in rates if r["group"] == "algorithmic_inference")
    ho = next(r for r in rates if r["group"] == "algorithmic_training" and r["unit"] == "x per year"
              and r["value"]["central"] == 2.83)
    a = parse(sc["algorithmic"]["per_year"])
    assert a.median == pytest.approx(gundlach["value"]["central"], rel=0.01)  # ~3x/yr
    assert a.quantile(0.025) == pytest.approx(ho["value"]["low"], rel=0.05)
    assert a.quantile(0.975) == pytest.approx(ho["value"]["high"], rel=0.05)
    stock = next(s for s in read_json("world/accelerator_stock.json")["stock_total_h100e"]
                 if s["as_of"] == "2025-12-31")["h100e"]
    h = parse(sc["fleet"]["h100e"])
    assert sc["fleet"]["base_year"] == 2025
    assert h.median == pytest.approx(stock["central"], rel=0.01)
    assert h.quantile(0.05) == pytest.approx(stock["low"], rel=0.02) and h.quantile(0.95) == pytest.approx(stock["high"], rel=0.02)
    for sec in ("operating_point", "precision_mix", "algorithmic", "fleet", "future_chip", "roadmap"):
        assert sc[sec].get("source"), sec
    for q in ("bf16_tflops", "hbm_tbps", "hbm_gb", "usd_per_pflop_hour"):
        assert sc["trends"][q]["source"]
    assert "Epoch" in sc["trends"]["bf16_tflops"]["source"] and "Gundlach" in sc["algorithmic"]["source"]


def test_roadmap_dense_rule_and_chips():
    rubin = R.find("NVIDIA Rubin GPU")
    rates, notes = R.dense_rates(rubin)
    assert rates["fp4"] == (35000.0, 35000.0, 50000.0)  # 35 PF "training" dense, 50 PF "inference" the top
    assert rates["bf16"][1] == rates["fp8"][1] / 2 and any("bf16 = fp8 / 2" in n for n in notes)
    p = R.roadmap_params(rubin)
    assert p.year == 2026 and p.hbm_gb == 288 and p.hbm_tbps == 22 and p.scaleup_domain == 72
    assert R.roadmap_params(rubin, "low").hbm_tbps == 13  # GTC 2025's figure
    c = p.chip()
    assert c.peak_flops("fp4") == 35000e12 and c.family == "blackwell"
    with pytest.raises(InfercastError, match="Feynman.*no announced"):
        R.roadmap_params(R.find("NVIDIA Feynman"))
    with pytest.raises(InfercastError, match="not an entry"):
        R.find("Imaginary X1")


def test_roadmap_scenario():
    r = run_forecast("roadmap", samples=50, seed=0, models=["llama-3.1-70b"], years=[2024, 2025, 2026, 2028])
    names = r["chips"]["name"]
    assert r["kind"] == "roadmap" and names["2024"].startswith("NVIDIA B200") and names["2026"].startswith("NVIDIA Rubin")
    assert "grown 1 yr" in names["2028"]
    tps = r["results"]["llama-3.1-70b"]["output_tok_s_per_gpu"]
    # an announced chip is fixed: no spread from hardware (llama's size factor is 1)
    assert tps["2026"]["p10"] == tps["2026"]["p50"] == tps["2026"]["p90"]
    assert tps["2028"]["p10"] < tps["2028"]["p90"]
    assert tps["2026"]["p50"] > 2 * tps["2025"]["p50"]  # Rubin: ~3.7x B300's compute, 2.75x its bandwidth
    # the catalog B200 is timed by its family, as the announced chips are: the planner on the same parameters
    op = FC.serving_of(load_scenario()["operating_point"])
    b200 = planned("llama-3.1-70b", params_of("b200", id="roadmap-b200").scaled(), "fp8", op)
    mix = r["precision_mix"]["2024"]
    assert mix == {"bf16": 0.5, "fp8": 0.5}
    assert r["details"]["llama-3.1-70b"]["deployments"]["2024"]["fp8"]["centre"]["output_tok_s_per_gpu"] == \
        pytest.approx(b200["output_tok_s_per_gpu"])
    with pytest.raises(InfercastError, match="roadmap.line"):
        load_scenario("roadmap", ["roadmap.line=[\"NVIDIA Feynman\"]"])


@pytest.mark.parametrize("case", BT.CASES, ids=[c.scenario for c in BT.CASES])
def test_backtest_catalog_cut_at_2023(case):
    # issue #14: fit the trend on chips launched by 2023, forecast the B200's launch year, compare with a run measured
    # in 2025 (MLPerf v5.0, B200 x 8, TensorRT-LLM, Llama-2-70B FP4, server and interactive)
    r = BT.backtest(case, samples=N)
    m = r["measured"]
    assert r["fit_chips"] == ["a100-sxm-80gb", "h100-sxm", "mi250x", "mi300x"]
    assert m["date"].startswith("2025") and len(m["rows"]) == 2 and all(x.startswith("MLP50-") for x in m["rows"])
    assert m["tpot_s"] == pytest.approx(0.15022 if case.scenario == "server" else 0.03613)
    assert r["forecast_year"] == 2024  # the B200's launch year (measured in 2025)
    y = r["years"]["2024"]
    f, v, pct = y["forecast"], m["output_tok_s_per_gpu"], y["percentile_of_measured"]
    # the verdict and the percentile agree with the quantiles, whichever way the check goes
    assert y["inside_p10_p90"] == (f["p10"] <= v <= f["p90"]) and r["inside_p10_p90"] == y["inside_p10_p90"]
    assert (pct < 10) == (v < f["p10"]) and (pct > 90) == (v > f["p90"])
    # a faster speed per user cannot raise the forecast: the interactive run's limit is stricter
    if case.scenario == "server-interactive":
        server = BT.backtest(BT.CASES[0], samples=N)["years"]["2024"]["forecast"]
        assert f["p50"] <= server["p50"]


def test_zero_width_scenario_is_deterministic():
    sets = {"trends.residual_scatter": False, "algorithmic.per_year": 3, "fleet.h100e": 2e7,
            "fleet.growth": 3.0, "fleet.inference_share": 0.5, "fleet.utilisation": 0.5,
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
    assert r["chips"]["algorithmic_factor"]["2026"]["p50"] == pytest.approx(3.0)
    c = r["results"]["llama-3.1-70b"]
    assert c["usd_per_m_fixed_capability"]["2026"]["p50"] == pytest.approx(c["usd_per_m_output_tokens"]["2026"]["p50"] / 3)
    assert r["chips"]["fleet_h100e"]["2026"]["p50"] == pytest.approx(2e7 * 3)


def test_scenario_file_and_errors(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[fleet]\ngrowth = "lognormal:p10=1.1,p90=1.3"\n[run]\nlast_year = 2026\n')
    sc = load_scenario(p)
    assert sc["fleet"]["growth"] == "lognormal:p10=1.1,p90=1.3" and sc["fleet"]["h100e"]  # merged over default
    bad = tmp_path / "bad.toml"
    bad.write_text("[flet]\ngrowth = 2\n")
    with pytest.raises(InfercastError, match="fleet"):
        load_scenario(bad)
    with pytest.raises(InfercastError, match="roadmap"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(InfercastError, match="fleet.growth"):
        run_forecast(load_scenario(overrides=["fleet.growth=lognormal:p10=3,p90=1"]), samples=4,
                     models=["llama-3.1-70b"], years=[2025])
    with pytest.raises(InfercastError):
        load_scenario(overrides=["nosuch.key=1"])
    with pytest.raises(InfercastError, match="exactly one"):
        load_scenario(overrides=["algorithmic.factor_by_2030=10"])
    with pytest.raises(InfercastError, match="run.interpolation"):
        load_scenario(overrides=["run.interpolation=\"cubic\""])
    with pytest.raises(InfercastError, match="years x models"):
        run_forecast(samples=2, models=["llama-3.1-70b"] * 1 + ["gpt-4", "llama-3-8b", "mixtral-8x7b", "deepseek-v3",
                                                                 "llama-3.1-405b"], years=list(range(2024, 2032)))


def test_docs_tables_are_generated_and_current():
    from infercast.analyses import forecast_docs as D

    text = DOCS.read_text(encoding="utf-8")
    new = D.blocks()
    for name, body in new.items():
        assert D.extract(text, name) == body, f"docs/forecast.md block '{name}' is stale: run python benchmarks/docs_forecast.py"
    assert D.extract(text, "interpolation")  # written by benchmarks/forecast_interpolation.py --write


def test_cli_forecast_json_and_plot(tmp_path):
    png = tmp_path / "fan.png"
    r = CliRunner().invoke(app, ["forecast", "--json", "--samples", "8", "--seed", "3", "-m", "llama-3.1-70b",
                                 "--set", "run.last_year=2026", "--plot", str(png)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d["results"]["llama-3.1-70b"]["output_tok_s_per_gpu"]["2025"]) == {"p10", "p50", "p90"}
    assert png.stat().st_size > 1000
    r = CliRunner().invoke(app, ["forecast", "--samples", "8", "-m", "llama-3.1-70b", "--set", "run.last_year=2025"])
    assert r.exit_code == 0 and "llama-3.1-70b" in r.stdout and "year over year" in r.stdout
    r = CliRunner().invoke(app, ["forecast", "roadmap", "--samples", "8", "-m", "llama-3.1-70b", "--set",
                                 "run.last_year=2026"])
    assert r.exit_code == 0 and "Rubin" in r.stdout, r.output
    r = CliRunner().invoke(app, ["forecast", "--samples", "8", "--set", "fleet.growth=beta:1"])
    assert r.exit_code == 2 and "beta" in r.output
    r = CliRunner().invoke(app, ["forecast", "--print-scenario"])
    assert r.exit_code == 0 and "[fleet]" in r.stdout and "[roadmap]" in r.stdout
