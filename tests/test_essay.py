"""The essay's three estimates (benjamintodd.substack.com, 'How much AI inference can we do?')."""
import json
import subprocess
import sys

import pytest

from infercast import bounds, get_chip, get_model
from infercast.analyses.essay import market_rate


def test_essay_upper_bound_gpt4_a100():
    # essay: 3.12e14 FLOP/s / 5.6e11 FLOP per forward pass = ~557 (it rounds to 560)
    b = bounds("gpt-4", "a100-sxm-80gb", "fp16")
    assert b.upper_forward_passes_per_s == pytest.approx(557, rel=0.05)


def test_essay_lower_bound_gpt4_a100():
    # essay: 2.0e12 B/s / 5.6e11 B (280 B params x 2 bytes) = ~3.6 forward passes per second
    b = bounds("gpt-4", "a100-sxm-80gb", "fp16")
    assert b.lower_forward_passes_per_s == pytest.approx(3.6, rel=0.10)


def test_essay_market_figure_semianalysis():
    # essay: $1/h / ($4.9 per M tokens) = 26 M forward passes/h per 128 chips, ~57 per chip per second
    assert market_rate(4.9, 1.0) == pytest.approx(56.7, rel=0.01)
    b = bounds("gpt-4", "a100-sxm-80gb")
    assert b.market_forward_passes_per_s == pytest.approx(56.7, rel=0.01)
    # 'about 10% of the theoretical max, but 15 times better than the lower bound'
    assert b.market_forward_passes_per_s / b.upper_forward_passes_per_s == pytest.approx(0.10, abs=0.01)
    assert b.market_forward_passes_per_s / b.lower_forward_passes_per_s == pytest.approx(15, rel=0.1)


def test_fp8_doubles_both_bounds_on_h100_not_upper_on_a100():
    h16, h8 = bounds("gpt-4", "h100-sxm", "fp16"), bounds("gpt-4", "h100-sxm", "fp8")
    assert h8.upper_forward_passes_per_s == pytest.approx(2 * h16.upper_forward_passes_per_s, rel=0.01)
    assert h8.lower_forward_passes_per_s == pytest.approx(2 * h16.lower_forward_passes_per_s, rel=0.01)
    a16, a8 = bounds("gpt-4", "a100-sxm-80gb", "fp16"), bounds("gpt-4", "a100-sxm-80gb", "fp8")
    assert a8.compute_precision == "bf16"  # A100 has no fp8 tensor cores
    assert a8.upper_forward_passes_per_s == pytest.approx(a16.upper_forward_passes_per_s)
    assert any("no fp8" in n for n in a8.notes)


def test_more_bandwidth_never_lowers_lower_bound():
    m = get_model("llama-3-70b")
    chips = sorted((get_chip(c) for c in ("a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200")), key=lambda c: c.bandwidth)
    lows = [bounds(m, c).lower_forward_passes_per_s for c in chips]
    assert lows == sorted(lows)


def test_cli_bounds_json_reproduces_essay():
    out = subprocess.run([sys.executable, "-m", "infercast.cli", "bounds", "--model", "gpt-4", "--chip",
                          "a100-sxm-80gb", "--json"], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    upper = [v for k, v in d.items() if "upper" in k][0]
    lower = [v for k, v in d.items() if "lower" in k and "total" not in k][0]
    assert upper == pytest.approx(557, rel=0.05) and lower == pytest.approx(3.6, rel=0.10)
