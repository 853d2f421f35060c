"""`infercast world` (issue #14): the accelerator stock reproduces its input rows exactly; what it serves is
P10/P50/P90 with the drivers of the interval; disclosed token volumes are a physically sane share of it."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infercast.analyses import world_data as WD
from infercast.analyses.stock import H100_BF16_TFLOPS, stock
from infercast.analyses.world import bounded, default_inference_share, load_mix, parse_mix, world
from infercast.cli import app
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip

runner = CliRunner()
SMALL = dict(model="llama-3-8b", samples=400)  # a cheap model for arithmetic checks


def _rows(year):
    return [r for r in WD.stock_data().shipments if r.year <= year]


# ---------------------------------------------------------------- the stock: exactly its inputs

@pytest.mark.parametrize("year", [2022, 2023, 2024, 2025])
def test_past_year_stock_is_exactly_the_sum_of_its_input_rows(year):
    s = stock(year)
    rows = _rows(year)
    assert s.units == pytest.approx(sum(r.units.central for r in rows), rel=1e-12)
    assert s.h100e_epoch == pytest.approx(sum(r.h100e.central for r in rows), rel=1e-12)
    by_chip = {}
    for r in rows:
        by_chip[(r.designer, r.chip)] = by_chip.get((r.designer, r.chip), 0.0) + r.units.central
    assert {(ln.designer, ln.chip): ln.units for ln in s.lines} == pytest.approx(by_chip, rel=1e-12)
    # this project's H100e: dense bf16 / 989.4, from the catalog (computed here independently)
    for ln in s.lines:
        if ln.mapping == "catalog":
            assert ln.h100e == pytest.approx(ln.units * get_chip(ln.served_as).tflops["bf16"] / H100_BF16_TFLOPS)


def test_stock_rows_agree_with_epochs_own_cumulative_totals():
    """Summing a designer's calendar-year rows up to a date gives Epoch's cumulative median there within 3 %
    (a sum of medians is not the median of a sum; docs/research/world-data.md: ~4 % on the intervals)."""
    checked = 0
    for s in WD.stock_data().stock:
        rows = [r for r in WD.stock_data().shipments if r.designer == s.designer and r.year <= int(s.as_of[:4])]
        assert sum(r.h100e.central for r in rows) == pytest.approx(s.h100e.central, rel=0.03), (s.designer, s.as_of)
        checked += 1
    assert checked >= 12


def test_h100e_is_this_projects_bf16_definition_with_epochs_beside_it():
    s = stock(2025)
    b200 = next(ln for ln in s.lines if ln.chip == "B200")
    assert b200.h100e_per_unit == pytest.approx(2250 / 989.4)  # HGX B200 datasheet, not Epoch's GB200 clocks
    assert b200.h100e_epoch / b200.units == pytest.approx(2.527, rel=1e-3)
    v4 = next(ln for ln in s.lines if ln.chip == "TPU v4")
    assert v4.h100e == pytest.approx(2 * v4.h100e_epoch, rel=0.01)  # int8 = bf16 on TPU v4: Epoch counts half
    h800 = next(ln for ln in s.lines if ln.chip == "H800")
    assert h800.served_as == "h800" and h800.h100e == pytest.approx(h800.units)


def test_lines_outside_the_catalog_are_counted_and_said_to_serve_nothing():
    s = stock(2025)
    trn1 = next(ln for ln in s.lines if ln.chip == "Trainium1")
    assert trn1.served_as is None and trn1.scale == 0
    assert s.unserved_h100e == pytest.approx(sum(ln.h100e for ln in s.lines if ln.served_as is None))
    assert any("Trainium1" in n for n in s.notes)
    h20 = next(ln for ln in s.lines if ln.chip == "H20")  # in the catalog: it serves at its own rates
    assert h20.served_as == "h20" and h20.scale == 1.0


def test_nearest_chip_lines_scale_by_the_ratio_of_dense_peaks():
    s = stock(2025)
    mi300a = next(ln for ln in s.lines if ln.chip == "Instinct MI300A")
    assert mi300a.served_as == "mi300x"
    assert mi300a.scale == pytest.approx(0.991 / 1.321, rel=1e-3)


def test_stock_interval_is_epochs_cumulative_ci_where_published():
    s = stock(2025)
    lo, hi = s.h100e_interval()
    assert lo < s.h100e < hi
    from infercast.specs.store import read_json

    nv = next(r for r in read_json(WD.STOCK)["stock"] if r["designer"] == "NVIDIA" and r["as_of"] == "2025-12-31")
    assert s.designer_interval["NVIDIA"]["low"] == pytest.approx(nv["h100e"]["low"] / nv["h100e"]["central"])


def test_partial_last_year_says_so_and_years_outside_the_data_are_refused():
    s = stock(2026)
    assert s.as_of == "2026-03-31" and any("partial" in n for n in s.notes)
    for y in (2019, 2031):
        with pytest.raises(InfercastError) as e:
            stock(y)
        assert e.value.field == "year" and "forecast" in str(e.value)


# ---------------------------------------------------------------- what it serves

@pytest.fixture(scope="module")
def w2025():
    return world(2025, samples=2000, seed=1)  # the reference: deepseek-v3, 2,000 in / 500 out, >= 20 tok/s/user


def test_percentiles_ordered_and_drivers_cover_every_input(w2025):
    q = w2025.tokens_per_day
    assert 0 < q["p10"] < q["p50"] < q["p90"]
    names = {d["input"] for d in w2025.drivers}
    assert {"inference share", "utilisation", "per-chip throughput (model error)"} <= names
    assert {f"stock: {d}" for d in ("NVIDIA", "Google", "AMD", "Amazon")} <= names
    # no single input, varied alone, spreads the result wider than all of them together
    full = q["p90"] / q["p10"]
    assert max(d["ratio_p90_p10"] for d in w2025.drivers) <= full * 1.02
    assert sum(d["variance_share"] for d in w2025.drivers) == pytest.approx(1.0)


def test_realistic_capacity_lies_between_the_essays_bounds(w2025):
    b = w2025.bounds
    assert b["bandwidth_bound_tokens_per_day"] < b["realistic_tokens_per_day_at_medians"] < \
        b["flop_bound_tokens_per_day"]


def test_capacity_at_the_medians_is_the_sum_over_chips_of_units_times_the_planners_rate(w2025):
    rate = {r["chip"]: r["tok_s_per_gpu"] for r in w2025.rates}
    lines = w2025.stock["lines"]
    share, util = w2025.inputs["inference_share"]["p50"], w2025.inputs["utilisation"]["p50"]
    want = sum(ln["units"] * ln["scale"] * rate[ln["served_as"]] for ln in lines if ln["served_as"]) \
        * share * util * 86400
    assert w2025.bounds["realistic_tokens_per_day_at_medians"] == pytest.approx(want, rel=1e-9)


def test_google_disclosure_is_a_physically_sane_share_of_world_capacity(w2025):
    """Worked example: Google's 1.3 quadrillion tokens/month (Sep/Oct 2025, ~42.7T/day).

    Derived range for the share f = tokens / capacity: capacity cannot exceed the same stock at the essay's
    FLOP bound, nor fall below it at the batch-1 bandwidth bound, so tokens / FLOP-bound <= f <=
    min(1, tokens / bandwidth-bound). And the world served at least the disclosures that do not overlap
    (Google's surfaces, China's national total, OpenAI's API): their sum fits within the P90 capacity."""
    g = next(d for d in w2025.disclosures if d["provider"] == "Google" and d["period"].startswith("2025-09"))
    b = w2025.bounds
    lo = g["tokens_per_day"] / b["flop_bound_tokens_per_day"]
    hi = min(1.0, g["tokens_per_day"] / b["bandwidth_bound_tokens_per_day"])
    assert lo < g["fraction_of_capacity_p50"] < hi
    china = next(d for d in w2025.disclosures if d["provider"].startswith("China") and "2025-12" in d["period"])
    openai = next(d for d in w2025.disclosures if d["provider"] == "OpenAI" and "developers" in d["scope"])
    assert g["tokens_per_day"] + china["tokens_per_day"] + openai["tokens_per_day"] < w2025.tokens_per_day["p90"]


def test_seeded_and_reproducible():
    a = world(2023, seed=3, **SMALL)
    b = world(2023, seed=3, **SMALL)
    c = world(2023, seed=4, **SMALL)
    assert a.tokens_per_day == b.tokens_per_day
    assert a.tokens_per_day != c.tokens_per_day
    assert a.rates == c.rates  # the planner's points do not depend on the seed


def test_fixed_inputs_narrow_the_interval_to_stock_and_model_error():
    w = world(2023, inference_share="0.5", utilisation="1", **SMALL)
    names = {d["input"]: d for d in w.drivers}
    assert names["inference share"]["ratio_p90_p10"] == pytest.approx(1.0)
    assert names["utilisation"]["ratio_p90_p10"] == pytest.approx(1.0)
    assert w.inputs["inference_share"]["source"] == "given"


def test_a_mix_serves_each_chip_at_the_harmonic_rate_of_its_models():
    mix = parse_mix({"models": [{"model": "llama-3-8b", "share": 0.25, "input_len": 2000, "output_len": 500},
                                {"model": "llama-3.1-70b", "share": 0.75, "input_len": 1000, "output_len": 250}]})
    w = world(2023, mix=mix, samples=200)
    by = {}
    for r in w.rates:
        by.setdefault(r["chip"], {})[r["model"]] = r["tok_s_per_gpu"]
    share, util = w.inputs["inference_share"]["p50"], w.inputs["utilisation"]["p50"]
    want = 0.0
    for ln in w.stock["lines"]:
        r = by[ln["served_as"]]
        want += ln["units"] * ln["scale"] / (0.25 / r["llama-3-8b"] + 0.75 / r["llama-3.1-70b"])
    assert w.bounds["realistic_tokens_per_day_at_medians"] == pytest.approx(want * share * util * 86400, rel=1e-9)
    # output share of the tokens: 0.25 x 500/2500 + 0.75 x 250/1250
    assert w.output_tokens_per_day["p50"] / w.tokens_per_day["p50"] == pytest.approx(0.2, rel=1e-6)


def test_mix_file_toml_and_json(tmp_path):
    t = tmp_path / "mix.toml"
    t.write_text('[[models]]\nmodel = "llama-3-8b"\nshare = 0.5\n[[models]]\nmodel = "gpt-oss-20b"\nshare = 0.5\n'
                 'min_tps_user = 50\n')
    j = tmp_path / "mix.json"
    j.write_text(json.dumps({"models": [{"model": "llama-3-8b", "share": 1}]}))
    assert [e.model for e in load_mix(t).models] == ["llama-3-8b", "gpt-oss-20b"]
    assert load_mix(j).models[0].input_len == 2000


@pytest.mark.parametrize("data, needle", [
    ({"models": [{"model": "llama-3-8b", "share": 0.5}]}, "models.share: token shares sum to 0.5"),
    ({"models": [{"model": "nope-model", "share": 1}]}, "unknown model 'nope-model'"),
    ({"models": [{"model": "llama-3-8b", "share": 1, "input_len": -1}]}, "models[0].input_len"),
    ({"models": [{"model": "llama-3-8b", "share": 1, "colour": "red"}]}, "models[0].colour"),
    ({"models": []}, "models"),
    ([1, 2], "a mix is a table"),
])
def test_mix_errors_name_the_place_in_the_file(data, needle):
    with pytest.raises(InfercastError) as e:
        parse_mix(data, "m.toml")
    assert e.value.field == "mix" and needle in str(e.value)


@pytest.mark.parametrize("spec, needle", [
    ("lognormal:p10=0.2,p90=0.6", "unbounded"), ("uniform:0.5,1.5", "within 0..1"), ("0", "within 0..1"),
    ("triangle:-0.1,0.3,0.5", "within 0..1"), ("nan", "cannot read"), ("abc", "cannot read"),
])
def test_shares_must_be_bounded_distributions_inside_0_1(spec, needle):
    with pytest.raises(InfercastError) as e:
        bounded("inference_share", spec, 0.0, 1.0)
    assert needle in str(e.value) and e.value.field == "inference_share"


def test_default_inference_share_follows_deloitte_by_year():
    assert default_inference_share(2025)[0] == "triangle:0.3,0.5,0.7"
    assert "Deloitte" in default_inference_share(2024)[1]


# ---------------------------------------------------------------- the command

def test_cli_json_contract():
    r = runner.invoke(app, ["world", "--year", "2023", "-m", "llama-3-8b", "--samples", "200", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout, parse_constant=lambda c: 1 / 0)
    for k in ("year", "as_of", "stock", "tokens_per_day", "output_tokens_per_day", "drivers", "inputs", "rates",
              "bounds", "ai_workers", "disclosures", "h100e"):
        assert k in d, k
    assert set(d["tokens_per_day"]) == {"p10", "p50", "p90"}
    assert d["ai_workers"]["tokens_per_workday"] == 95760


def test_cli_table_prints_the_interval_and_its_drivers():
    r = runner.invoke(app, ["world", "--year", "2023", "-m", "llama-3-8b", "--samples", "200"])
    assert r.exit_code == 0, r.output
    assert "P50 [P10 - P90]" in r.stdout and "Drivers of the P10-P90 interval" in r.stdout


@pytest.mark.parametrize("args, needle", [
    (["--year", "2019"], "--year must be 2022 to 2026"),
    (["--inference-share", "2"], "--inference-share"),
    (["-u", "uniform:0,0.5"], "--utilisation"),
    (["--samples", "60000"], "--samples"),
    (["-m", "llama-3-8b", "--mix", "x.toml"], "--mix"),
    (["--mix", "/nonexistent/mix.toml"], "--mix"),
    (["--tokens-per-workday", "0"], "--tokens-per-workday"),
])
def test_cli_errors_name_the_flag(args, needle):
    r = runner.invoke(app, ["world", "--samples", "50"] + args)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr


def test_world_data_damaged_says_reinstall(tmp_path, monkeypatch):
    from infercast.specs import store

    bad = tmp_path / "world" / "accelerator_stock.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"shipments": [{"designer": 1}]}')
    real = store.data_path
    monkeypatch.setattr(store, "data_path", lambda n: bad if n == WD.STOCK else real(n))
    for f in (store.read_json, WD.stock_data, stock):
        f.cache_clear()
    try:
        r = runner.invoke(app, ["world", "--samples", "50"])
        assert r.exit_code == 2 and "accelerator_stock.json is damaged" in r.stderr, r.output
    finally:
        monkeypatch.undo()
        for f in (store.read_json, WD.stock_data, stock):
            f.cache_clear()

