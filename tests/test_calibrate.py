"""`infercast calibrate` on the CPU (tiny sizes): the profile round-trips through efficiency_for."""
from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from infercast.gpu.calibrate import CATALOG_IDS, NO_TORCH, catalog_id
from infercast.cli import app
from infercast.engine.efficiency import efficiency_for, load_profile
from infercast.specs.hardware import get_chip

runner = CliRunner()


@pytest.fixture(scope="module")
def cpu_profile(tmp_path_factory):
    pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("cal") / "cpu-profile.json"
    res = runner.invoke(app, ["calibrate", "--device", "cpu", "--out", str(path)])
    assert res.exit_code == 0, res.output
    assert "copy:" in res.stdout and str(path.name) in res.stdout
    return path


def test_profile_round_trips_through_efficiency_for(cpu_profile):
    prof = load_profile(cpu_profile)
    for key in ("device", "measured", "software", "torch", "copy_gbps", "gemm", "gemm_shapes",
                "attention_prefill_tflops", "attention_decode_gbps", "launch_us", "graph_kernel_us"):
        assert key in prof, key
    assert prof["catalog_id"] is None and prof["device_type"] == "cpu"
    for key in ("copy_gbps", "attention_prefill_tflops", "attention_decode_gbps", "launch_us", "graph_kernel_us"):
        assert prof[key] > 0, key
    eff = efficiency_for(get_chip("h100-sxm"), cpu_profile)
    assert eff.profile == str(cpu_profile)
    assert eff.kernel_us == prof["graph_kernel_us"]
    for frac in (eff.kv_stream, eff.elementwise_stream, eff.attention_compute):
        assert 0 < frac <= 1
    # the profile's numbers replaced the family's: a CPU streams far below an H100's HBM, and its GEMM
    # rows become a per-shape table that times a skinny GEMM far slower than the H100 family would
    base = efficiency_for(get_chip("h100-sxm"))
    assert eff.kv_stream < base.kv_stream and eff.profile_gemm is not None
    h100 = get_chip("h100-sxm")
    t_cpu = float(eff.profile_gemm.time(h100, "bfloat16", 1, 4096, 4096))
    t_h100 = 4096 * 4096 * 2 / (h100.bandwidth * base.stream("bf16"))
    assert t_cpu > 10 * t_h100
    assert "calibration profile" in eff.source
    # the dict form is accepted too
    assert efficiency_for(get_chip("h100-sxm"), prof).kv_stream == eff.kv_stream


def test_gemm_rows_sorted_and_consistent(cpu_profile):
    rows = json.loads(cpu_profile.read_text())["gemm"]
    assert rows and all(r["dtype"] == "bf16" and r["N"] == r["K"] == 256 for r in rows)  # no fp8 on the CPU
    ms = [r["M"] for r in rows]
    assert ms == sorted(ms) and ms[0] == 1 and ms[-1] == 256
    for r in rows:
        assert r["ms"] > 0 and r["tflops"] > 0
        assert r["tflops"] == pytest.approx(2 * r["M"] * r["N"] * r["K"] / (r["ms"] * 1e-3) / 1e12, rel=2e-3)
    # (no assertion on how the rate grows with M: a shared CI CPU's timings are too noisy to test hardware with)


def test_gemm_shapes_and_attention_rows(cpu_profile):
    prof = json.loads(cpu_profile.read_text())
    names = {r["shape"] for r in prof["gemm_shapes"]}
    assert {"llama-3-8b qkv", "llama-3-8b o", "llama-3-8b gate_up", "llama-3-8b down", "llama-3-8b lm_head"} == names
    assert prof["attention_prefill_tflops"] == max(r["tflops"] for r in prof["attention_prefill"])
    assert prof["attention_decode_gbps"] == max(r["gbps"] for r in prof["attention_decode"])
    assert all(r["kv_bytes"] == 2 * r["batch"] * r["kv_heads"] * r["context"] * r["head_dim"] * 2
               for r in prof["attention_decode"])


def test_a_moe_model_adds_its_routed_expert_layer_over_tokens(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "moe-profile.json"
    res = runner.invoke(app, ["calibrate", "--device", "cpu", "--quick", "--models", "qwen3-30b-a3b", "--out",
                              str(path)])
    assert res.exit_code == 0, res.output
    assert "MoE layers: 3 timings of qwen3-30b-a3b experts" in res.stdout
    prof = json.loads(path.read_text())
    rows = prof["moe"]
    # the catalog shape divided by 16 on a CPU (hidden 2048 -> 128, expert FFN 768 -> 48), top-8 of 128 kept
    assert {(r["hidden"], r["inter"], r["topk"], r["experts"]) for r in rows} == {(128, 48, 8, 128)}
    assert [r["tokens"] for r in rows] == [1, 8, 32]
    for r in rows:
        assert r["tflops"] == pytest.approx(2 * 3 * r["hidden"] * r["inter"] * r["topk"] * r["tokens"]
                                            / (r["ms"] * 1e-3) / 1e12, abs=2e-3)
    # and an estimate reads them back as the card's MoE curve
    eff = efficiency_for(get_chip("h200-sxm"), prof)
    assert set(eff.profile_moe) == {("bf16", 128.0, 48.0, 8.0, 128.0)}


def test_json_flag_prints_the_profile():
    pytest.importorskip("torch")
    res = runner.invoke(app, ["calibrate", "--device", "cpu", "--quick", "--json"])
    assert res.exit_code == 0, res.output
    prof = json.loads(res.stdout)
    assert prof["quick"] is True and prof["copy_gbps"] > 0


@pytest.mark.parametrize("name,cid", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA H200", "h200-sxm"),
    ("NVIDIA H200 NVL", "h200-nvl"), ("NVIDIA GH200 480GB", "gh200"), ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"),
    ("NVIDIA B200", "b200"), ("NVIDIA GB200", "gb200"), ("NVIDIA L40S", "l40s"), ("AMD Instinct MI300X", "mi300x"),
    ("NVIDIA GeForce RTX 4090", "rtx-4090"), ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000"),
    ("NVIDIA A100-SXM4-40GB", None), ("Tesla T4", None), (None, None),
])
def test_catalog_id(name, cid):
    assert catalog_id(name) == cid


def test_catalog_table_names_real_chips():
    for _, cid in CATALOG_IDS:
        if cid is not None:
            assert get_chip(cid).id == cid


def test_no_torch_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    res = runner.invoke(app, ["calibrate", "--device", "cpu"])
    assert res.exit_code == 2
    assert NO_TORCH in " ".join(res.stderr.split())
    assert "Traceback" not in res.output


def test_no_gpu_message(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    res = runner.invoke(app, ["calibrate", "--device", "cuda"])
    assert res.exit_code == 2
    assert "--device cpu" in " ".join(res.stderr.split())
    assert "Traceback" not in res.output


@pytest.mark.parametrize("asked, index", [("cuda", 1), ("gpu", 1), ("cuda:0", 0), ("cuda:1", 1)])
def test_a_cuda_device_always_carries_an_index(monkeypatch, asked, index):
    # torch 2.11 on an H200 refused torch.cuda.set_device(torch.device("cuda")) ("Expected a torch.device with a
    # specified index"): every calibrate and measure call failed before this was fixed (GPU session 2026-11-30)
    import torch
    from infercast.gpu.calibrate import resolve_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    dev = resolve_device(torch, asked)
    assert (dev.type, dev.index) == ("cuda", index)


def test_a_device_index_beyond_the_visible_gpus_is_a_one_line_error(monkeypatch):
    import torch
    from infercast.errors import InfercastError
    from infercast.gpu.calibrate import resolve_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InfercastError, match="only 1 GPU"):
        resolve_device(torch, "cuda:3")
