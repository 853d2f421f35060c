"""The fallback fractions of the NVIDIA families come from measured kernel tables (data/kernel_fractions.json,
written by benchmarks/derive_fractions.py), stay physical, and are what the fallback applies."""
import importlib.util
import json
from pathlib import Path

import pytest

from infercast.engine.efficiency import efficiency_for, kernel_fractions
from infercast.engine.estimate import estimate
from infercast.engine.kernels.source import data_root
from infercast.specs.hardware import all_chips, get_chip
from infercast.specs.store import read_json

ROOT = Path(__file__).resolve().parents[1]
DOC = read_json("kernel_fractions.json")
FAMS = DOC["families"]
NVIDIA = ("hopper", "blackwell", "ampere", "ada")
ORDER = ("bf16", "fp8", "fp4")  # narrower formats, in order
WBYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}


def _script():
    spec = importlib.util.spec_from_file_location("derive_fractions", ROOT / "benchmarks" / "derive_fractions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_fractions_match_a_fresh_derivation():
    # the kernel tables ship with the `kernels` extra, which `make test` installs
    assert data_root() is not None, "aiconfigurator-core's kernel tables are not installed: pip install -e '.[kernels]'"
    assert _script().main(["--check"]) == 0, "rerun benchmarks/derive_fractions.py and commit kernel_fractions.json"


def test_every_nvidia_family_has_every_fallback_quantity_from_tables():
    for fam in NVIDIA:
        v = FAMS[fam]["values"]
        for q in ("kv_stream", "attention_compute", "moe_grouped_gemm", "overlap_p"):
            assert q in v, (fam, q)
        for key in ("bf16", "fp16", "fp8", "int8", "fp4", "int4"):
            assert key in v["weight_stream"], (fam, key)
        assert {"bf16", "fp16"} <= set(v["gemm_compute"]), fam


def test_fractions_are_physical_and_sourced():
    for fam, rec in FAMS.items():
        v = rec["values"]
        for q in ("gemm_compute", "weight_stream"):
            for key, x in v[q].items():
                assert 0 < x <= 1, (fam, q, key, x)
                assert rec["sources"][q][key], (fam, q, key)
        for q in ("kv_stream", "attention_compute", "moe_grouped_gemm"):
            assert 0 < v[q] <= 1, (fam, q, v[q])
            assert rec["sources"][q]
        assert 1.0 <= v["overlap_p"] <= 8.0
        assert rec["short"] and rec["source"]


def test_statistics_are_consistent_and_come_only_from_kernel_tables():
    # every number is a median inside its IQR, over enough points, read from per-kernel parquet tables:
    # never from an end-to-end benchmark file
    for fam, rec in FAMS.items():
        d = rec["derivation"]
        entries = [e for q in ("gemm_compute", "weight_stream") for e in d[q].values()]
        entries += [d[q] for q in ("kv_stream", "attention_compute", "moe_grouped_gemm", "kernel_us") if q in d]
        for e in entries:
            assert e["iqr"][0] <= e["median"] <= e["iqr"][1], (fam, e)
            assert e["n"] >= 50, (fam, e["kernel"], e["n"])
            assert e["tables"] and all(t.endswith("_perf.parquet") for t in e["tables"]), e["tables"]


def test_narrower_formats_are_never_slower_per_chip():
    # large-M GEMMs: fp8 reaches at least bf16's FLOP/s and fp4 at least fp8's, on every chip of the family
    # (datasheet peak x fraction); skinny GEMMs stream a weight matrix no slower in a narrower format
    for fam, rec in FAMS.items():
        gc, ws = rec["values"]["gemm_compute"], rec["values"]["weight_stream"]
        for cid in rec["chips"]:
            chip = get_chip(cid)
            rates = [gc[p] * chip.tflops[p] for p in ORDER if p in gc and p in chip.tflops]
            assert rates == sorted(rates), (fam, cid, rates)
        times = [WBYTES[p] / ws[p] for p in ORDER if p in ws]
        assert times == sorted(times, reverse=True), (fam, times)


def test_hopper_bf16_gemm_agrees_with_our_own_h100_microbenchmark():
    # an independent measurement: shared/data/profiles/h100-sxm.json (torch 2.11 on one H100 SXM) reached
    # 794.5 of 989.4 TFLOP/s (0.80) with a square 4096 bf16 GEMM; the TensorRT-LLM tables at model shapes
    # agree within 10 %
    assert FAMS["hopper"]["values"]["gemm_compute"]["bf16"] == pytest.approx(794.5 / 989.4, rel=0.10)


def test_the_fallback_applies_the_derived_fractions():
    for fam in NVIDIA:
        chip = next(c for c in all_chips() if c.family == fam)
        eff, v = efficiency_for(chip), kernel_fractions()[fam]["values"]
        for key, x in v["gemm_compute"].items():
            assert eff.gemm(key) == x
        for key, x in v["weight_stream"].items():
            assert eff.stream(key) == x
        assert (eff.kv_stream, eff.attention_compute, eff.moe_grouped_gemm, eff.overlap_p) == (
            v["kv_stream"], v["attention_compute"], v["moe_grouped_gemm"], v["overlap_p"])
        assert "kernel tables" in eff.family_note and "kernel_fractions.json" not in eff.family_note
        assert "derive_fractions.py" in eff.source


def test_families_without_nvidia_tables_keep_efficiency_json():
    fams = read_json("efficiency.json")["families"]
    eff = efficiency_for(get_chip("mi300x"))
    assert eff.gemm_compute == fams["cdna3"]["gemm_compute"] and eff.kv_stream == fams["cdna3"]["kv_stream"]
    assert "kernel tables" not in eff.family_note and "tpu" not in FAMS and "cdna3" not in FAMS


def test_a_chip_without_tables_says_where_its_fallback_came_from():
    # H100 PCIe (114 SMs at 350 W, not an H100 SXM's die as NVIDIA measured it) has no measured tables and no
    # measured sibling: its GEMMs are timed at Hopper's derived fractions, and say so
    e = estimate("llama-3.1-70b", "h100-pcie", weights="fp8", concurrency=8)
    gemms = [o for o in e.operators if o["kind"] == "gemm"]
    assert gemms and all(o["provenance"]["source"] == "fallback" for o in gemms)
    v = FAMS["hopper"]["values"]
    assert f"x {v['gemm_compute']['fp8']:.2f}" in gemms[0]["provenance"]["detail"]
    assert "GEMM kernel tables of h100-sxm, h200-sxm" in gemms[0]["provenance"]["detail"]


def test_the_json_names_its_shapes_and_definitions():
    assert set(DOC["definitions"]) >= {"gemm_compute", "weight_stream", "overlap_p", "kv_stream", "attention_compute",
                                       "moe_grouped_gemm", "kernel_us"}
    assert len(DOC["shapes"]["gemm_nk"]) >= 100 and DOC["shapes"]["tp"] == [1, 2, 4, 8]
    assert json.loads(json.dumps(DOC)) == DOC  # plain JSON, no NaN
