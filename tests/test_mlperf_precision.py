"""Which weight precision an MLPerf row without a stated one is modelled at (analyses.measured.weights_default).

Worked example: NVIDIA's MLPerf Inference v5.0 B200 Mixtral-8x7B engine is built from a ModelOpt AutoQuantize
checkpoint at 7.25 effective bits (closed/NVIDIA/code/mixtral-8x7b/tensorrt/builder.py:
"mixtral-8x7b-instruct-v0.1-tp1pp1-fp4-e7.25"): FP8 or NVFP4 per layer, about 81 % of the weights FP8. Its
Llama-2-70B runs FP4 (NVIDIA's MLPerf v4.1 blog). The Mixtral rows are therefore modelled at FP8, and the out-of-sample
figure, which switches the choice off for MLP50 (it was looked for after those rows ran +94 % as FP4), at FP4.
"""
from infercast.analyses.measured import packaged_path, read_rows
from infercast.analyses.predict import ROW_INFORMED, Context, predict_row

ROWS = {r["id"]: r for r in read_rows(packaged_path("measured-dev.csv"))}


def test_the_b200_mixtral_row_is_modelled_at_its_checkpoints_main_format_fp8():
    res = predict_row(ROWS["MLP50-008"])
    assert res.status == "compared" and res.weights == "fp8"
    assert any("AutoQuantize at 7.25 effective bits" in a for a in res.assumptions)


def test_the_llama_row_of_the_same_system_stays_fp4():
    assert ROWS["MLP50-001"]["model"] == "llama-2-70b" and ROWS["MLP50-001"]["gpu"] == "b200"
    assert predict_row(ROWS["MLP50-001"]).weights == "fp4"


def test_switched_off_out_of_sample_the_mixtral_row_runs_fp4_and_faster():
    assert "MLP50" in ROW_INFORMED["mlperf-autoquant"]
    on = predict_row(ROWS["MLP50-008"])
    off = predict_row(ROWS["MLP50-008"], Context(ablate=frozenset({"mlperf-autoquant"})))
    assert off.weights == "fp4" and off.predicted > 1.3 * on.predicted
