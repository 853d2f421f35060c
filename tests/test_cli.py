"""The command line: --help everywhere, --json parses, bad input exits 2 with a message and no traceback."""
import json

import pytest
from typer.testing import CliRunner

from infercast.cli import app

runner = CliRunner()


def test_help_lists_commands():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("chips", "models", "bounds", "estimate", "validate"):
        assert cmd in r.output


@pytest.mark.parametrize("args", [["chips", "--json"], ["models", "--json"],
                                  ["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "-k", "16", "--json"]])
def test_json_outputs_parse(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)


def test_models_lists_a_hybrids_state_per_sequence():
    r = runner.invoke(app, ["models", "--json"])
    got = {m["id"]: m for m in json.loads(r.stdout)}
    assert got["qwen3.5-397b-a17b"]["state_bytes_per_seq"] == 192_061_440
    assert got["llama-3-8b"]["state_bytes_per_seq"] == 0
    r = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert "qwen3.5-397b-a17b 192 MB" in r.output and "GQA+GDN" in r.output


@pytest.mark.parametrize("args,needle", [
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxn", "-k", "4"], "h100-sxm"),
    (["estimate", "-m", "llama-3.1-405b", "-c", "rtx-4090", "--tp", "1", "-k", "4"], "does not fit"),
    (["estimate", "-m", "gpt-4", "-c", "rtx-4090", "-k", "4"], "does not fit on rtx-4090 in any shape"),
    (["bounds", "--model", "gpt-4", "--chip", "a100-sxm-80gb", "--precision", "fp7"], "precision"),
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "--tp", "3", "-k", "1"], "--tp"),
])
def test_bad_input_exits_2_with_message(args, needle):
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output


def test_chips_catalog_lists_every_required_id():
    r = runner.invoke(app, ["chips", "--json"])
    ids = {c["id"] for c in json.loads(r.stdout)}
    assert {"a100-sxm-80gb", "h100-sxm", "b200", "mi300x", "tpu-v5e", "gaudi3", "arc-pro-b60"} <= ids
