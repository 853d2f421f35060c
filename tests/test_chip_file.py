"""Custom hardware: a chip file (TOML or JSON with the catalog's fields) is validated field by field and the
chip is then usable by id in that invocation, in every command that takes --chip, and nowhere else."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infercast.analyses.essay import bounds
from infercast.cli import app
from infercast.errors import InfercastError, UnknownIdError
from infercast.specs.hardware import custom_chips, get_chip, load_chip_file, parse_chip
from infercast.specs.store import read_json

from chipfiles import a10g_toml

runner = CliRunner()

A10G = a10g_toml("a10g-test", tdp_w=300, price=1.0)  # examples/a10g.toml; tdp and price: test inputs


def run(*args):
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, getattr(r, "stderr", "")


@pytest.fixture()
def a10g(tmp_path):
    p = tmp_path / "a10g.toml"
    p.write_text(A10G)
    return str(p)


def h100_fields(**over) -> dict:
    """The catalog's H100 entry under a new id: a custom chip with a catalog chip's numbers."""
    d = next(c for c in read_json("chips.json")["chips"] if c["id"] == "h100-sxm")
    return {**d, "id": "my-h100", "aliases": [], **over}


def test_toml_and_json_files_load_to_the_same_chip(tmp_path, a10g):
    c = load_chip_file(a10g)
    p = tmp_path / "a10g.json"
    p.write_text(json.dumps(c.model_dump()))
    assert load_chip_file(p) == c
    assert c.id == "a10g-test" and c.price.usd_per_hour == 1.0 and c.memory_bw_tbps == 0.6


def test_a_custom_chip_with_catalog_numbers_gives_the_catalog_bounds():
    mine = parse_chip(h100_fields())
    with custom_chips(mine):
        b = bounds("llama-3.1-70b", "my-h100", "fp16")
    ref = bounds("llama-3.1-70b", "h100-sxm", "fp16")
    assert b.upper_forward_passes_per_s == pytest.approx(ref.upper_forward_passes_per_s)
    assert b.lower_forward_passes_per_s == pytest.approx(ref.lower_forward_passes_per_s)


def test_the_chip_is_known_inside_its_block_only():
    mine = parse_chip(h100_fields())
    with pytest.raises(UnknownIdError) as e:
        get_chip("my-h100")
    assert "chip file" in str(e.value)
    with custom_chips(mine):
        assert get_chip("MY-H100") is mine
        with custom_chips(parse_chip(h100_fields(id="other"))):
            assert get_chip("my-h100") is mine and get_chip("other").id == "other"
        with pytest.raises(UnknownIdError):
            get_chip("other")
    with pytest.raises(UnknownIdError):
        get_chip("my-h100")


@pytest.mark.parametrize("over,needle", [
    (dict(memory_bw_tbps=-1), "memory_bw_tbps: must be > 0 (got -1)"),
    (dict(memory_bw_tbps=0), "memory_bw_tbps: must be > 0"),
    (dict(memory_gb="lots"), "memory_gb:"),
    (dict(tflops={"fp7": 10}), "tflops:"),
    (dict(tflops={"fp8": 10}), "bf16 or fp16"),
    (dict(tflops={"bf16": -5}), "tflops.bf16: must be > 0"),
    (dict(tflops={"bf16": 1e30}), "tflops.bf16: must be <="),
    (dict(memory_bw_tbps=1e300), "memory_bw_tbps: must be <="),
    (dict(memory_gb=10 ** 400), "memory_gb: must be <="),  # an integer no float can hold
    (dict(scaleup_domain=0), "scaleup_domain: must be > 0"),
    (dict(year=1900), "year: must be >= 2015"),
    (dict(family="quantum"), "family must be one of"),
    (dict(id="h100-sxm"), "is a catalog chip"),
    (dict(id="h100"), "is a catalog chip"),  # an alias
    (dict(id="../../etc"), "id must be"),
    (dict(id=""), "id is required"),
    (dict(warp_drive=1), "warp_drive: is not a chip field"),
    (dict(price={"usd_per_hour": -1}), "price.usd_per_hour: must be > 0"),
    # tiny values would overflow the derived rates (tokens per kWh, $/M tokens): refused by a floor
    (dict(tdp_w=1e-300), "tdp_w: must be >= 1 W"),
    (dict(memory_bw_tbps=1e-200), "memory_bw_tbps: must be >= 0.001 TB/s"),
    (dict(tflops={"bf16": 1e-320}), "tflops.bf16: must be >= 0.001 TFLOP/s"),
    (dict(price={"usd_per_hour": 1e-300}), "price.usd_per_hour: must be >= 1e-06"),
])
def test_each_bad_field_is_named(over, needle):
    with pytest.raises(InfercastError) as e:
        parse_chip(h100_fields(**over), "'x.toml'")
    assert needle in str(e.value) and str(e.value).startswith("'x.toml': ") and e.value.field == "chip_file"


def test_a_missing_number_is_named():
    d = h100_fields()
    del d["memory_bw_tbps"]
    with pytest.raises(InfercastError, match="memory_bw_tbps: is required"):
        parse_chip(d)


@pytest.mark.parametrize("text", ["", "not toml [[[", "chips = []", "[1, 2]", '{"id": NaN}', "\xff\xfe"])
def test_hostile_files_are_one_line_errors(tmp_path, text):
    p = tmp_path / ("bad.json" if text.startswith(("{", "[")) else "bad.toml")
    p.write_bytes(text.encode("latin-1"))
    code, out, err = run("bounds", "-m", "llama-3-8b", "--chip-file", str(p))
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --chip-file"), err


def test_the_cli_error_names_the_option_and_the_field(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(A10G.replace("memory_bw_tbps = 0.6", "memory_bw_tbps = -1"))
    code, out, err = run("estimate", "-m", "llama-3-8b", "--chip-file", str(p))
    assert code == 2 and "--chip-file" in err and "memory_bw_tbps: must be > 0" in err


@pytest.mark.parametrize("args", [
    ("estimate", "-m", "llama-3-8b", "--max-throughput", "--json"),
    ("cost", "-m", "llama-3-8b", "--json"),
    ("bounds", "-m", "llama-3-8b", "--json"),
    ("frontier", "-m", "llama-3-8b", "--points", "4", "--max-gpus", "4", "--json"),
    ("table", "-m", "llama-3-8b", "-i", "1024", "-o", "128", "--json"),
    ("size", "-m", "llama-3-8b", "--requests-per-s", "2", "--json"),
])
def test_every_chip_command_takes_a_chip_file_and_uses_its_id(a10g, args):
    code, out, err = run(*args, "--chip-file", a10g)
    assert code == 0, err
    assert "a10g-test" in out
    code, out, err = run(*args, "--chip-file", a10g, "-c", "a10g-test")
    assert code == 0, err


def test_fleet_pools_can_use_a_chip_file(a10g, tmp_path):
    fleet = tmp_path / "f.toml"
    fleet.write_text("""name = "custom"
[[pools]]
chip = "a10g-test"
count = 4
[[workloads]]
name = "chat"
model = "llama-3-8b"
share = 1.0
input_len = 1024
output_len = 128
""")
    code, out, err = run("fleet", str(fleet), "--chip-file", a10g, "--json")
    assert code == 0, err
    assert json.loads(out)["pools"][0]["chip"] == "a10g-test"
    code, out, err = run("fleet", str(fleet), "--json")
    assert code == 2 and "a10g-test" in err


def test_two_files_with_one_id_are_refused(tmp_path, a10g):
    p = tmp_path / "b.toml"
    p.write_text(A10G.replace("memory_bw_tbps = 0.6", "memory_bw_tbps = 0.7"))
    code, out, err = run("bounds", "-m", "llama-3-8b", "--chip-file", a10g, "--chip-file", str(p))
    assert code == 2 and "share the id" in err


def test_a_single_chip_command_needs_to_know_which_chip(tmp_path, a10g):
    p = tmp_path / "b.toml"
    p.write_text(A10G.replace('id = "a10g-test"', 'id = "b-test"'))
    code, out, err = run("estimate", "-m", "llama-3-8b", "--chip-file", a10g, "--chip-file", str(p))
    assert code == 2 and "--chip" in err
    code, out, err = run("estimate", "-m", "llama-3-8b")
    assert code == 2 and "--chip is required" in err
