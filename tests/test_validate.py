"""The model against measured benchmarks (the packaged data/measured/measured-dev.csv): the published error stays in bounds."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infercast.analyses.validate import default_data_path, predict_row, validate

DATA = default_data_path()


@pytest.fixture(scope="module")
def result():
    return validate(DATA)


def test_targets_on_measured_dev(result):
    s, _ = result
    assert s["compared"] >= 200
    assert s["median_abs_error"] <= 0.15
    assert s["p90_abs_error"] <= 0.40


def test_own_runs_generic_path_and_with_their_own_profile(result):
    # generic path: the H100 is timed from NVIDIA's measured kernel tables (another card, vLLM's
    # GEMMs), which run ~15 % faster than the card of our runs; with that card's own calibration
    # profile the error falls to a few percent
    s, _ = result
    assert s["by_family"]["OWN"]["median_abs_error"] <= 0.12
    s1, _ = validate(DATA, profile="h100-sxm")
    assert s1["by_family"]["OWN"]["median_abs_error"] <= 0.05


def test_every_row_is_compared_or_says_why(result):
    _, rows = result
    with DATA.open() as fh:
        n = sum(1 for _ in csv.DictReader(fh))
    assert len(rows) == n
    for r in rows:
        assert r.status == "compared" or r.status.startswith("not comparable: ")
        if r.status == "compared":
            assert r.predicted and r.predicted > 0


def test_speculative_and_disaggregated_rows_are_not_comparable(result):
    _, rows = result
    by = {r.id: r for r in rows}
    assert "speculative" in by["TRTDS-001"].status
    assert "disaggregated" in by["SGL-001"].status


def test_unknown_model_row_is_not_comparable_not_an_exception():
    row = {"id": "X-1", "model": "no-such-model", "gpu": "h100-sxm", "metric": "output_tok_per_s_per_gpu",
           "value": "100", "scenario": "offline-max-throughput", "input_len": "128", "output_len": "128",
           "num_gpus": "1", "tp": "1"}
    r = predict_row(row)
    assert r.status.startswith("not comparable") and "no-such-model" in r.status


def test_cli_json_shape(tmp_path):
    out = subprocess.run([sys.executable, "-m", "infercast.cli", "validate", "--data", str(DATA), "--json",
                          "--plot", str(tmp_path / "v.png")], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    assert set(d["summary"]) >= {"compared", "not_comparable", "median_abs_error", "p90_abs_error", "by_family"}
    assert {"id", "metric", "measured", "predicted", "status"} <= set(d["rows"][0])
    assert (tmp_path / "v.png").stat().st_size > 10_000


def test_profile_changes_predictions_for_own_rows():
    prof = DATA.parents[1] / "profiles" / "h100-sxm.json"
    s0, _ = validate(DATA)
    s1, _ = validate(DATA, profile=prof)
    assert s1["by_family"]["OWN"]["median_abs_error"] != s0["by_family"]["OWN"]["median_abs_error"]


def test_default_data_path_found_from_checkout():
    assert default_data_path().name == "measured-dev.csv"


def test_packaged_validation_snapshot_is_current(result):
    # benchmarks/validation_snapshot.py writes it; rerun that script after changing the model
    from infercast.specs.store import read_json

    snap = read_json("validation_summary.json")
    s, _ = result
    assert snap["compared"] == s["compared"]
    assert snap["median_abs_error"] == pytest.approx(s["median_abs_error"], abs=1e-9)
    assert snap["p90_abs_error"] == pytest.approx(s["p90_abs_error"], abs=1e-9)


def test_rows_from_other_stacks_and_format_names_are_still_compared():
    # a held-out row may name an engine we have no profile for, and a precision by its engine's name
    row = {"id": "NEW-1", "model": "llama-3.1-8b", "gpu": "b200", "metric": "tokens_per_s_per_user",
           "value": "200", "scenario": "min-latency", "input_len": "1024", "output_len": "512",
           "num_gpus": "1", "tp": "1", "weights": "nvfp4", "engine": "SomeNewServer 1.0"}
    r = predict_row(row)
    assert r.status == "compared", r.status
    assert any("generic 'other' engine" in a for a in r.assumptions)
