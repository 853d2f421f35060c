"""benchmarks/gpu_session.sh is run once per lent GPU, with minutes of device time and no second try: every
`infercast` command it holds must run. Here each one runs on the CPU at toy size (one layer, widths /64), both
SETS (dense, moe), so a wrong option or model id is caught before a GPU session spends its time on it."""
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infercast.cli import app

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_session.sh"
runner = CliRunner()


def _measure_sets() -> list[list[str]]:
    out = []
    for line in SCRIPT.read_text().splitlines():
        line = line.strip()
        if line.startswith("measure_set "):
            args = shlex.split(line)[1:]
            model, _limit, rest = args[0], args[1], args[2:]
            out.append(["--model", model, *rest])
    return out


def test_the_script_holds_both_sessions_measure_sets():
    models = {a[1] for a in _measure_sets()}
    assert {"llama-3-8b", "qwen3-32b", "mixtral-8x7b", "qwen3-30b-a3b"} <= models
    assert re.search(r"MODELS=mixtral-8x7b,qwen3-30b-a3b", SCRIPT.read_text())


@pytest.mark.parametrize("args", _measure_sets(), ids=lambda a: " ".join(a)[:60])
def test_every_measure_set_runs_at_toy_size(tmp_path, args):
    pytest.importorskip("torch")
    # the CPU runs one layer at 1/64 width, one batch, short contexts: the options, not the sizes, are under test
    opts = dict(zip(args[::2], args[1::2]))
    out = tmp_path / "rows.csv"
    cmd = ["measure", "--model", opts["--model"], "--device", "cpu", "--layers", "1", "--scale", "1/64",
           "--batch", opts.get("--batch", "1").split(",")[0], "--context", "64",
           "--prefill", "64" if opts.get("--prefill") else "", "--repeats", "1", "--out", str(out)]
    if "--prefill-batch" in opts:
        cmd += ["--prefill-batch", "2"]
    if "--weights" in opts:  # fp8 linear layers (torch._scaled_mm has a CPU kernel too)
        cmd += ["--weights", opts["--weights"]]
    res = runner.invoke(app, cmd)
    assert res.exit_code == 0, res.output
    assert out.read_text().count("\n") >= 2


def test_the_calibrate_line_runs_for_both_sessions(tmp_path):
    pytest.importorskip("torch")
    text = SCRIPT.read_text()
    assert "calibrate --models \"$MODELS\" --sustained $SUST" in text
    for models in ("llama-3-8b,qwen3-32b", "mixtral-8x7b,qwen3-30b-a3b"):
        res = runner.invoke(app, ["calibrate", "--device", "cpu", "--quick", "--models", models, "--sustained", "0",
                                  "--out", str(tmp_path / "p.json")])
        assert res.exit_code == 0, res.output
