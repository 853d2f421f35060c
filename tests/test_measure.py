"""`infercast measure` on the CPU: a truncated, shrunk random-weight decoder writes measured-CSV rows."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from infercast.gpu.calibrate import NO_TORCH
from infercast.cli import app
from infercast.errors import InfercastError
from infercast.analyses.validate import default_data_path
from infercast.gpu.measure import CSV_COLUMNS, parse_scale, shapes_for
from infercast.specs.model import get_model

runner = CliRunner()
SHARED_CSV = default_data_path()
TINY = ["--device", "cpu", "--layers", "2", "--scale", "1/16"]


def test_header_matches_measured_csv():
    with SHARED_CSV.open() as f:
        assert next(csv.reader(f)) == CSV_COLUMNS


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory):
    pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("measure") / "rows.csv"
    res = runner.invoke(app, ["measure", "--model", "llama-3-8b", *TINY, "--batch", "1,4", "--context", "128",
                              "--prefill", "64,128", "--out", str(path)])
    assert res.exit_code == 0, res.output
    return path


def test_rows_read_back(rows_csv):
    with rows_csv.open() as f:
        assert next(csv.reader(f)) == CSV_COLUMNS
    with rows_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and len({r["id"] for r in rows}) == 4
    dec = [r for r in rows if r["scenario"] == "decode-step"]
    pre = [r for r in rows if r["scenario"] == "prefill-step"]
    assert len(dec) == 2 and len(pre) == 2
    assert {r["metric"] for r in dec} == {"decode_step_ms"} and {r["metric"] for r in pre} == {"prefill_ms"}
    assert {(r["concurrency"], r["input_len"], r["output_len"]) for r in dec} == {("1", "128", "1"), ("4", "128", "1")}
    assert {(r["concurrency"], r["input_len"], r["output_len"]) for r in pre} == {("1", "64", "0"), ("1", "128", "0")}
    for r in rows:
        assert r["id"].startswith("OWN-cpu-llama-3-8b-")
        assert r["engine"] == "pytorch-eager-cpu" and r["gpu"] == "cpu" and r["model"] == "llama-3-8b"
        assert (r["num_gpus"], r["tp"], r["pp"], r["unit"], r["weights"]) == ("1", "1", "1", "ms", "bf16")
        assert float(r["value"]) > 0
        assert "truncated: 2 of 32 layers" in r["notes"] and "scaled by 1/16" in r["notes"]
    assert "OWN-cpu-llama-3-8b-decode-b4-c128-L2-w0.0625" in {r["id"] for r in rows}


def test_decode_step_grows_with_context():
    pytest.importorskip("torch")
    from infercast.gpu.measure import measure

    rows = measure("llama-3-8b", batch="16", context="64,16384", prefill="", device="cpu", layers=2, scale="1/16",
                   repeats=5)
    t = {r["input_len"]: r["value"] for r in rows}
    # 256x the KV cache to read (16 sequences, so the cache, not fixed costs, dominates): clearly slower,
    # with room for a busy machine's timing noise
    assert t[16384] > 1.2 * t[64], t


def test_moe_model_runs_grouped_gemms(monkeypatch):
    pytest.importorskip("torch")
    import infercast.gpu.measure as M

    rows = M.measure("mixtral-8x7b", batch="2", context="32", prefill="32", device="cpu", layers=1, scale="1/16",
                     repeats=1)
    assert [r["scenario"] for r in rows] == ["decode-step", "prefill-step"]
    assert all("MoE: softmax top-2 of 8 experts" in r["notes"] and "torch._grouped_mm" in r["notes"] for r in rows)
    # a PyTorch without the grouped GEMM falls back to the loop over experts, and says so
    monkeypatch.setattr(M, "grouped_failure", lambda torch, dev, dtype: "no grouped GEMM here")
    rows = M.measure("mixtral-8x7b", batch="2", context="32", prefill="", device="cpu", layers=1, scale="1/16",
                     repeats=1)
    assert "loop over the experts that received tokens (routing read on the host; no grouped GEMM here)" \
        in rows[0]["notes"]


@settings(max_examples=25, deadline=None)
@given(tokens=st.integers(1, 70), experts=st.sampled_from([1, 4, 8, 32, 128]), k=st.integers(1, 8),
       gated=st.booleans(), seed=st.integers(0, 2**16))
def test_grouped_experts_equal_the_loop_over_experts(tokens, experts, k, gated, seed):
    """The grouped-GEMM layer (device-side routing, padded groups) computes exactly what a loop over experts does,
    for any routing: empty experts, all pairs on one expert, more pairs than the padding."""
    torch = pytest.importorskip("torch")
    from infercast.gpu.moe import RoutedExperts

    k = min(k, experts)
    torch.manual_seed(seed)
    layer = RoutedExperts(torch, torch.device("cpu"), torch.float32, 32, 24, experts, k, gated)
    x = torch.randn(tokens, 32)
    got, want = layer(x), layer.reference(x)
    assert got.shape == x.shape
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-4), (got - want).abs().max()


def test_shapes_match_the_catalog():
    for mid in ("llama-3-8b", "mixtral-8x7b", "qwen2.5-7b"):
        spec = get_model(mid)
        shp, notes = shapes_for(spec)
        # the decoder allocates the model's parameters (biases aside, which are omitted)
        assert shp.weight_elems == pytest.approx(spec.total_params, rel=2e-3), mid
    shp, notes = shapes_for(get_model("llama-3-8b"), layers=2, scale=parse_scale("1/16"))
    assert (shp.layers, shp.d, shp.heads, shp.kv_heads, shp.head_dim) == (2, 256, 2, 1, 128)
    assert shp.heads % shp.kv_heads == 0


def test_bad_inputs_are_clear():
    with pytest.raises(InfercastError, match="MLA"):
        shapes_for(get_model("deepseek-v3"))
    with pytest.raises(InfercastError, match="Gated DeltaNet"):
        shapes_for(get_model("qwen3.5-397b-a17b"))
    with pytest.raises(InfercastError, match="fraction"):
        parse_scale("tiny")
    with pytest.raises(InfercastError, match="exceeds"):
        shapes_for(get_model("llama-3-8b"), layers=99)


def test_does_not_fit_is_a_clear_error():
    pytest.importorskip("torch")
    from infercast.gpu.measure import measure

    with pytest.raises(InfercastError, match=r"does not fit the CPU.*--batch"):
        measure("llama-3.1-405b", batch="64", context="8192", prefill="", device="cpu")


def test_gqa_decode_layout_matches_repeated_heads():
    """Query heads of a KV group laid out as query positions == attention with the KV heads repeated."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    B, KV, G, C, hd = 2, 2, 4, 16, 8
    q = torch.randn(B, KV * G, hd)
    k, v = torch.randn(B, KV, C, hd), torch.randn(B, KV, C, hd)
    grouped = F.scaled_dot_product_attention(q.view(B, KV, G, hd), k, v).reshape(B, KV * G, hd)
    ref = F.scaled_dot_product_attention(q[:, :, None], k.repeat_interleave(G, 1), v.repeat_interleave(G, 1))
    assert torch.allclose(grouped, ref[:, :, 0], atol=1e-5)


def test_no_torch_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    res = runner.invoke(app, ["measure", "--model", "llama-3-8b", *TINY])
    assert res.exit_code == 2
    assert NO_TORCH in " ".join(res.stderr.split())
    assert "Traceback" not in res.output


def test_no_gpu_message(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    res = runner.invoke(app, ["measure", "--model", "llama-3-8b"])
    assert res.exit_code == 2
    assert "use --device cpu" in " ".join(res.stderr.split())


def test_fp8_linear_layers_compute_the_same_product_as_their_dequantised_weights():
    # `measure --weights fp8`: x cast to e4m3 and torch._scaled_mm against e4m3 weights, rows padded to 16 and cut
    # back; the result must be the product of the two fp8 tensors (bf16 output rounding aside)
    import torch

    from infercast.gpu.measure import RandomDecoder

    shp, _ = shapes_for(get_model("llama-3-8b"), layers=1, scale=1 / 16)
    net = RandomDecoder(torch, torch.device("cpu"), torch.bfloat16, shp, fp8=torch.float8_e4m3fn)
    w = net.layers[0]["wqkv"]
    assert w.dtype == torch.float8_e4m3fn and net.lm_head.dtype == torch.bfloat16
    x = torch.randn(5, shp.d, dtype=torch.bfloat16)
    y = net._lin(x, w)
    ref = x.to(torch.float8_e4m3fn).float() @ w.float().t()
    assert y.shape == (5, w.shape[0]) and y.dtype == torch.bfloat16
    assert torch.allclose(y.float(), ref, rtol=2e-2, atol=2e-2)


def test_fp8_rows_say_fp8_weights_and_16_bit_cache():
    res = runner.invoke(app, ["measure", "--model", "llama-3-8b", "--batch", "2", "--context", "32", "--prefill", "",
                              "--device", "cpu", "--scale", "1/16", "--layers", "1", "--weights", "fp8", "--json"])
    assert res.exit_code == 0, res.output
    import json
    r = json.loads(res.stdout)[0]
    assert (r["weights"], r["kv_cache"]) == ("fp8", "bf16") and r["id"].endswith("-fp8w")
    assert "torch._scaled_mm" in r["notes"]
    bad = runner.invoke(app, ["measure", "--model", "llama-3-8b", "--device", "cpu", "--weights", "int4"])
    assert bad.exit_code == 2 and "--weights int4" in bad.stderr
