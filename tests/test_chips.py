"""The accelerator catalog (data/chips.json): ids, validation, sourced datasheet numbers."""
from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest

from infercast.specs import hardware
from infercast.specs.store import normalise
from infercast.errors import UnknownIdError
from infercast.specs.hardware import Chip, all_chips, get_chip

REQUIRED_IDS = [
    "a100-sxm-80gb", "h100-sxm", "h100-pcie", "h800", "h200-sxm", "h200-nvl", "gh200",
    "b200", "b300", "gb200", "gb300", "l40s", "rtx-4090", "rtx-5090", "rtx-pro-6000",
    "mi250x", "mi300x", "mi325x", "mi355x",
    "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu-v7",
    "gaudi2", "gaudi3", "trainium2", "arc-pro-b60",
]

FAMILIES = {"ampere", "hopper", "blackwell", "blackwell-gddr", "ada", "cdna2", "cdna3", "cdna4",
            "tpu", "gaudi", "trainium", "xe"}


def _raw() -> dict:
    path = "/".join(["data", "chips.json"])
    return json.loads(resources.files("infercast").joinpath(path).read_text())


def test_file_format():
    raw = _raw()
    assert set(raw) == {"about", "chips"}
    assert raw["about"].strip()
    ids = [c["id"] for c in raw["chips"]]
    assert len(ids) == len(set(ids)), "duplicate chip ids"


@pytest.mark.parametrize("chip_id", REQUIRED_IDS)
def test_required_ids_load(chip_id):
    chip = get_chip(chip_id)
    assert chip.id == chip_id
    assert chip.family in FAMILIES


def test_all_chips_validate():
    # every entry rebuilds through the strict (extra="forbid") model
    for c in _raw()["chips"]:
        Chip(**c)
    assert {c.id for c in all_chips()} >= set(REQUIRED_IDS)


def test_h100_dense_bf16():
    # NVIDIA's datasheet headline is 1979 TFLOP/s with 2:4 sparsity; dense is half.
    h100 = get_chip("h100-sxm")
    assert h100.tflops["bf16"] == pytest.approx(1979 / 2, rel=0.005)
    assert h100.tflops["fp16"] == pytest.approx(h100.tflops["bf16"])
    assert h100.peak_flops("bf16") == pytest.approx(989.4e12, rel=0.005)


def test_a100_has_no_fp8_and_falls_back():
    a100 = get_chip("a100")
    assert a100.tflops["bf16"] == pytest.approx(312)
    assert "fp8" not in a100.tflops and "fp4" not in a100.tflops
    q, note = a100.compute_precision("fp8")
    assert q == "bf16"
    assert "fp8" in note and "bf16" in note
    assert a100.peak_flops("fp8") == pytest.approx(312e12)


def test_b200_beats_h100_on_every_shared_precision():
    b200, h100 = get_chip("b200"), get_chip("h100-sxm")
    shared = set(b200.tflops) & set(h100.tflops)
    assert {"bf16", "fp8"} <= shared
    for p in shared:
        assert b200.tflops[p] > h100.tflops[p], p


def test_h800_is_an_h100_with_its_nvlink_cut():
    # same GH100 silicon and HBM; NVLink 400 GB/s bidirectional (200 per direction) against the H100's 900
    h800, h100 = get_chip("h800"), get_chip("h100-sxm")
    assert h800.tflops == h100.tflops and h800.memory_bw_tbps == h100.memory_bw_tbps
    assert h800.memory_gb == h100.memory_gb
    assert h800.scaleup_gbps == pytest.approx(200) and h100.scaleup_gbps == pytest.approx(450)
    assert h800.price.usd_per_hour == 2.0  # DeepSeek's assumed leasing cost, dated and sourced


def test_h200_bandwidth():
    assert get_chip("h200-sxm").memory_bw_tbps == pytest.approx(4.8)
    assert get_chip("h200").bandwidth == pytest.approx(4.8e12)
    assert get_chip("h200-nvl").memory_bw_tbps == pytest.approx(4.8)


def test_aliases_unique_lowercase_and_resolve():
    chips = all_chips()
    ids = {c.id for c in chips}
    seen: dict[str, str] = {}
    for c in chips:
        assert c.id == normalise(c.id)
        for a in c.aliases:
            assert a == normalise(a), f"alias {a!r} of {c.id} is not in normalised lowercase form"
            assert a not in ids, f"alias {a!r} of {c.id} collides with a chip id"
            assert a not in seen, f"alias {a!r} used by both {seen[a]} and {c.id}"
            seen[a] = c.id
            assert get_chip(a).id == c.id
    for a, want in {"h100": "h100-sxm", "a100": "a100-sxm-80gb", "mi300": "mi300x",
                    "tpu-v5e": "tpu-v5e", "v5e": "tpu-v5e", "trillium": "tpu-v6e",
                    "ironwood": "tpu-v7", "b200-hgx": "b200", "H100_SXM": "h100-sxm"}.items():
        assert get_chip(a).id == want


def test_unknown_chip_suggests_close_id():
    with pytest.raises(UnknownIdError) as exc:
        get_chip("h100-sxn")
    assert "h100-sxm" in exc.value.suggestions
    assert "h100-sxm" in str(exc.value)


def test_every_chip_sources_core_numbers():
    for c in all_chips():
        for field in ("tflops", "memory", "bandwidth"):
            assert c.sources.get(field, "").strip(), f"{c.id}: no source for {field}"


def test_prices_are_dated():
    priced = 0
    for c in all_chips():
        if c.price is None:
            continue
        priced += 1
        dt.date.fromisoformat(c.price.date)  # ISO YYYY-MM-DD
        assert c.price.source.strip(), c.id
        assert c.price.usd_per_hour > 0
    assert priced >= 10


def test_rates_are_dense_and_sane():
    for c in all_chips():
        assert c.tflops, c.id
        # lower precision never slower than bf16/fp16 on any catalogued chip
        base = max(c.tflops.get("bf16", 0), c.tflops.get("fp16", 0))
        for p in ("fp8", "fp4"):
            if p in c.tflops:
                assert c.tflops[p] >= base, (c.id, p)
        if "tf32" in c.tflops:
            assert c.tflops["tf32"] <= base, c.id
        assert c.scaleup_domain >= 1
        assert c.scaleout_gbps <= c.scaleup_gbps or c.scaleup_domain == 1, c.id
    # dense, not 2:4-sparse: B200 bf16 is 2.25 PF, not 4.5
    assert get_chip("b200").tflops["bf16"] == pytest.approx(2250)


def test_catalog_is_cached_and_chip_passthrough():
    h = get_chip("h100-sxm")
    assert get_chip(h) is h
    assert hardware.get_chip("h100-sxm") is h
