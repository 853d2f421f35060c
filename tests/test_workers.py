"""AI-worker equivalents (issue #14): an explicit, sourced, parameterised conversion, never a hidden constant."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infercast.analyses.fleet import evaluate
from infercast.analyses.workers import ai_workers, conversion, default_conversion
from infercast.analyses.world_data import worker_data
from infercast.cli import app
from infercast.errors import InfercastError

runner = CliRunner()


def test_default_is_the_data_files_suggested_output_side_workday():
    c = default_conversion()
    t = worker_data()["suggested_default"]["tokens_per_workday"]
    assert (c.low, c.tokens_per_workday, c.high) == (t["low"], t["central"], t["high"])
    p = worker_data()["parameters"]
    # central = speaking at 150 words/min for an 8-hour day at 1.33 tokens/word (the file's formula)
    assert c.tokens_per_workday == pytest.approx(p["speaking_wpm"]["value"]["central"] * 60 * 8
                                                 * p["tokens_per_word"]["value"]["central"])
    assert "ai_worker.json" in c.source and c.basis


def test_workers_are_tokens_per_day_over_tokens_per_workday_with_the_range_inverted():
    a = ai_workers(9.576e9, default_conversion())
    assert a["workers"] == pytest.approx(1e5)
    assert a["workers_low"] < a["workers"] < a["workers_high"]
    assert a["workers_low"] == pytest.approx(9.576e9 / a["tokens_per_workday_high"])
    given = ai_workers(1e9, conversion(1e6))
    assert given["workers"] == 1000 and given["basis"] == "given" and given["workers_low"] == given["workers_high"]


def test_a_bad_conversion_names_its_field():
    for v in (0, -1, float("nan"), 1e13):
        with pytest.raises(InfercastError) as e:
            conversion(v)
        assert e.value.field == "tokens_per_workday"


def test_fleet_reports_ai_workers_with_its_conversion():
    r = evaluate("llama3-70b-8xh100")
    assert r.ai_workers["workers"] == pytest.approx(r.output_tok_per_day / 95_760)
    r2 = evaluate("llama3-70b-8xh100", tokens_per_workday=1e6)
    assert r2.ai_workers["workers"] == pytest.approx(r.output_tok_per_day / 1e6)
    out = runner.invoke(app, ["fleet", "llama3-70b-8xh100", "--tokens-per-workday", "200000", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["ai_workers"]["tokens_per_workday"] == 200_000
    out = runner.invoke(app, ["fleet", "llama3-70b-8xh100"])
    assert "AI-worker equivalents" in out.stdout
