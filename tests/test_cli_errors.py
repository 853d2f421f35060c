"""The CLI's promise on bad input (issue #11): exit status 2 and one line on stderr naming the option as
its flag, the file and the place in it (in the file's own terms), and what to change. Plus strict
JSON, atomic writes, a closed or full standard output, and a damaged installation."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infercast.cli import app

runner = CliRunner()
LLAMA = {"_name_or_path": "meta-llama/Llama-3.1-8B", "model_type": "llama", "num_hidden_layers": 32,
         "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
         "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16"}
CSV = ("id,model,gpu,num_gpus,tp,scenario,input_len,output_len,concurrency,metric,value\n"
       "X-1,llama-3-8b,h100-sxm,1,1,offline,1024,256,8,output_tok_per_s_per_gpu,{value}\n")


def fails(args: list[str], *needles: str) -> str:
    """Run; assert exit 2 and one 'error:' line holding every needle; return that line."""
    r = runner.invoke(app, args)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert "internal error" not in lines[0] and "Traceback" not in r.output and "╭" not in r.stderr
    return lines[0]


def config(tmp_path: Path, **fields) -> str:
    d = dict(LLAMA)
    for k, v in fields.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    p = tmp_path / "config.json"
    p.write_text(json.dumps(d))
    return str(p)


# ---------------------------------------------------------------- numeric options

@pytest.mark.parametrize("args, flag, change", [
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "-k", "nan"], "--concurrency", "finite"),
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "--min-tokens-per-s-user", "nan"], "--min-tps-user", "finite"),
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "-n", "100000000000"], "--gpus", "from 1 to 10,000,000"),
    (["cost", "-m", "llama-3-8b", "-c", "h100-sxm", "--price", "inf"], "--price", "finite"),
    (["cost", "-m", "llama-3-8b", "-c", "h100-sxm", "--pue", "nan"], "--pue", "from 1 to 10"),
    (["cost", "-m", "llama-3-8b", "-c", "h100-sxm", "-u", "0"], "--utilisation", "from 0.001 to 1"),
    (["table", "-i", "0"], "--input-len", "from 1 to"),
    (["frontier", "-m", "llama-3-8b", "-c", "h100-sxm", "--points", "100000"], "--points", "from 2 to 2000"),
    (["forecast", "--samples", "100000000000"], "--samples", "from 2 to 20,000"),
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "--tp", "-1"], "--tp", "from 1 to 1024"),
])
def test_numeric_option_out_of_range_names_flag_and_range(args, flag, change):
    line = fails(args, flag, change)
    assert "got" in line


def test_nan_target_is_refused_not_ignored():
    """--min-tokens-per-s-user nan used to be silently ignored (a max-throughput answer)."""
    fails(["cost", "-m", "llama-3-8b", "-c", "h100-sxm", "--min-tps", "nan", "--json"], "--min-tps-user")


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args, needle", [
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "--foo"], "No such option: --foo"),
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "-k"], "requires an argument"),
    (["estimate", "-c", "h100-sxm"], "Missing option '--model'"),
    (["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "-k", "abc"], "--concurrency"),
    (["forecast", "-n", "10"], "No such option: -n"),  # -n means --gpus only; forecast's is --samples
])
def test_usage_errors_are_one_line_not_a_box(args, needle):
    fails(args, needle)


def test_long_ids_are_echoed_truncated():
    line = fails(["estimate", "-m", "llama-3-8b", "-c", "x" * 5000], "--chip", "...")
    assert len(line) < 400
    line = fails(["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "--engine", "y" * 5000], "--engine", "...")
    assert len(line) < 400


# ---------------------------------------------------------------- Hugging Face configs

@pytest.mark.parametrize("fields, needle", [
    ({"num_hidden_layers": [32]}, "num_hidden_layers must be a whole number"),
    ({"num_hidden_layers": "32"}, "num_hidden_layers must be a whole number from 1 to 10,000, got the text '32'"),
    ({"num_attention_heads": 0}, "num_attention_heads must be a whole number from 1"),
    ({"num_attention_heads": -8}, "num_attention_heads"),
    ({"num_key_value_heads": 5}, "num_attention_heads (32) must be a multiple of num_key_value_heads (5)"),
    ({"hidden_size": None}, "missing the field hidden_size"),
    ({"sliding_window": -4096, "model_type": "mistral"}, "sliding_window must be a whole number from 1"),
    ({"model_type": ["llama"]}, "unsupported model_type"),
    ({"tie_word_embeddings": "false"}, "tie_word_embeddings must be true or false"),
    ({"vocab_size": 10 ** 30}, "vocab_size must be a whole number from 1 to 100,000,000"),
])
def test_config_field_errors_name_the_option_file_and_field(tmp_path, fields, needle):
    p = config(tmp_path, **fields)
    fails(["estimate", "-m", p, "-c", "h100-sxm"], "--model", str(tmp_path), needle)


@pytest.mark.parametrize("raw, needle", [
    ('{"model_type": "llama", "num_hidden_layers": NaN}', "NaN is not a number JSON allows"),
    ('{"model_type": "llama", "hidden_size": ' + "9" * 5000 + "}", "thousands of digits"),
    ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
    ("{", "not valid JSON"),
])
def test_hostile_config_text(tmp_path, raw, needle):
    p = tmp_path / "config.json"
    p.write_text(raw)
    fails(["bounds", "-m", str(p), "-c", "h100-sxm"], "--model", needle)


def test_non_utf8_config(tmp_path):
    p = tmp_path / "config.json"
    p.write_bytes(b'{"model_type": "ll\xffama"}')
    fails(["bounds", "-m", str(p), "-c", "h100-sxm"], "--model", "not UTF-8", "save it as UTF-8")


# ---------------------------------------------------------------- models from a folder, a file or the HF cache

def test_model_from_folder_file_and_local_hub_cache(tmp_path, monkeypatch):
    folder = tmp_path / "my-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(LLAMA))
    snap = tmp_path / "hub" / "models--acme--tiny-llama" / "snapshots" / "0a1b2c3"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps(dict(LLAMA, _name_or_path="")))
    (tmp_path / "hub" / "models--acme--tiny-llama" / "refs").mkdir()
    (tmp_path / "hub" / "models--acme--tiny-llama" / "refs" / "main").write_text("0a1b2c3")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    for m in (str(folder), str(folder / "config.json"), "acme/tiny-llama"):
        r = runner.invoke(app, ["bounds", "-m", m, "-c", "h100-sxm", "--json"])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["models", "--json"])
    from infercast.specs.model import get_model

    assert get_model("acme/tiny-llama").id == "tiny-llama"  # named after the hub id, not the snapshot hash
    line = fails(["bounds", "-m", "acme/not-cached", "-c", "h100-sxm"], "--model", "local Hugging Face cache",
                 "huggingface-cli download acme/not-cached config.json")
    assert "models--acme--not-cached" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    fails(["bounds", "-m", str(empty), "-c", "h100-sxm"], "--model", "holds no config.json")


# ---------------------------------------------------------------- validate --data

@pytest.mark.parametrize("value, needle", [
    ("0", "line 2 (id X-1): column 'value' must be a number from"),
    ("", "line 2: column 'value' is empty"),
    ("fast", "column 'value' must be a number"),
    ("nan", "column 'value'"),
])
def test_measured_csv_cell_errors_name_line_and_column(tmp_path, value, needle):
    p = tmp_path / "m.csv"
    p.write_text(CSV.format(value=value))
    fails(["validate", "--data", str(p)], "--data", "m.csv", needle)


def test_measured_csv_structure_errors(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(CSV.format(value="1500").replace("1500", "15\x0000"))
    fails(["validate", "--data", str(p)], "--data", "NUL byte")
    p.write_text("id,model,gpu,metric\nX,llama-3-8b,h100-sxm,output_tok_per_s_per_gpu\n")
    fails(["validate", "--data", str(p)], "--data", "lacks the column(s) value")
    p.write_text(CSV.format(value="1500").replace("8,output", "8,x,output"))
    fails(["validate", "--data", str(p)], "--data", "more cells than the header")
    fails(["validate", "--data", str(tmp_path / "none.csv")], "--data", "no such")


def test_validate_writes_a_plot_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "m.csv"
    p.write_text(CSV.format(value="1500"))
    r = runner.invoke(app, ["validate", "--data", str(p), "--json"])
    assert r.exit_code == 0, r.output
    assert sorted(x.name for x in tmp_path.iterdir()) == ["m.csv"]  # no validation.png by default
    r = runner.invoke(app, ["validate", "--data", str(p), "--plot", "v.png"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "v.png").stat().st_size > 1000
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]  # no temporary file left


# ---------------------------------------------------------------- profiles

def test_shipped_profile_by_name_changes_the_estimate():
    args = ["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "-k", "1", "--json"]
    a = json.loads(runner.invoke(app, args).stdout)
    b = json.loads(runner.invoke(app, args + ["--profile", "h100-sxm"]).stdout)
    assert "calibration profile" in b["efficiency_source"] and a["tpot_s"] != b["tpot_s"]


@pytest.mark.parametrize("prof, needle", [
    ({"device": "x"}, "neither copy_gbps nor gemm"),
    ({"copy_gbps": -3000}, "copy_gbps"),
    ({"copy_gbps": 0}, "copy_gbps"),
    ({"copy_gbps": "fast"}, "copy_gbps"),
    ({"gemm": [{"dtype": "bf16", "M": 1, "N": 8192, "K": 8192, "ms": 0.06}]}, "gemm[0].tflops: Field required"),
    ({"gemm": [{"dtype": "bf16", "M": 1, "N": 8192, "K": 8192, "ms": -1, "tflops": 2}]}, "gemm[0].ms"),
    ({"gemm": "fast"}, "gemm"),
])
def test_profile_errors_name_the_field(tmp_path, prof, needle):
    p = tmp_path / "prof.json"
    p.write_text(json.dumps(prof))
    fails(["estimate", "-m", "llama-3-8b", "-c", "h100-sxm", "--profile", str(p)], "--profile", needle)


# ---------------------------------------------------------------- TOML files and --set

def test_fleet_toml_wrong_types(tmp_path):
    p = tmp_path / "f.toml"
    p.write_text('name = "x"\n[[pools]]\nchip = "h100-sxm"\ncount = "many"\n[[workloads]]\nname = "w"\n'
                 'model = "llama-3-8b"\nshare = 1.0\ninput_len = 10\noutput_len = nan\n')
    line = fails(["fleet", str(p)], "FLEET", "f.toml", "pools[0].count", "workloads[0].output_len")
    assert "'many'" in line


def test_scenario_and_set_errors_name_the_key(tmp_path):
    fails(["forecast", "--set", "run.last_year=100000"], "--set", "run.last_year", "from 2015 to 2040, got 100000")
    fails(["forecast", "--set", "operating_point=5"], "--set", "operating_point must be a table")
    fails(["forecast", "--set", "nonsense"], "--set", "KEY.PATH=VALUE")
    p = tmp_path / "s.toml"
    p.write_text('[run]\nsamples = "many"\n')
    fails(["forecast", str(p)], "SCENARIO", "s.toml", "run.samples must be a number")
    p.write_text('[fleet]\nh100e = nan\n')
    fails(["forecast", str(p)], "SCENARIO", "fleet.h100e")


def test_forecast_work_is_capped():
    fails(["forecast", "--samples", "20000", "--set", "run.first_year=2015", "--set", "run.last_year=2040"],
          "--samples", "exceeds the limit of 280,000")


# ---------------------------------------------------------------- output files

def test_unwritable_outputs_are_refused_before_the_work(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    base = ["frontier", "-m", "llama-3-8b", "-c", "h100-sxm", "--points", "4"]
    fails(base + ["--plot", str(f / "x.png")], "--plot", "is a file, not a folder")
    fails(base + ["--plot", str(tmp_path)], "--plot", "is a folder")
    fails(base + ["--plot", str(tmp_path / "x.pdf")], "--plot", ".png or .svg")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    fails(base + ["--plot", str(fifo)], "--plot", "not a regular file")
    fails(["report", "--quick", "--out", str(f)], "--out", "is a file; give a folder")
    fails(["report", "--quick", "--out", "/proc/infercast/report"], "--out", "cannot write in")


def test_write_atomic_keeps_the_old_file_when_the_disk_is_full(tmp_path):
    from infercast.errors import InfercastError
    from infercast.files import write_atomic

    dest = tmp_path / "plot.png"
    dest.write_bytes(b"old")

    def full_disk(tmp: Path):
        tmp.write_bytes(b"half a fi")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(InfercastError, match="disk is full") as e:
        write_atomic(dest, full_disk, field="plot")
    assert e.value.field == "plot"
    assert dest.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]
    write_atomic(dest, b"new", field="plot")
    assert dest.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]
    assert dest.stat().st_mode & 0o644 == 0o644


# ---------------------------------------------------------------- strict JSON

def test_print_json_refuses_nan():
    from infercast.cli.kit import dumps

    with pytest.raises(ValueError):
        dumps({"x": float("nan")})


@pytest.mark.parametrize("args", [
    ["frontier", "-m", "llama-3-8b", "-c", "h100-sxm", "--points", "4", "--json"],
    ["forecast", "--print-scenario", "--json"],
])
def test_json_shapes(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout, parse_constant=lambda c: 1 / 0)
    if args[0] == "frontier":
        assert isinstance(out, list) and len(out) == 1  # a list for one chip as for several


# ---------------------------------------------------------------- one vocabulary

def _flags(cmd: str) -> set[str]:
    import typer

    c = typer.main.get_command(app).commands[cmd]
    return {o for p in c.params for o in getattr(p, "opts", [])}


def test_one_vocabulary_across_commands():
    for cmd in ("estimate", "cost"):
        assert {"--min-tps-user", "--max-ttft", "--max-tpot", "--gpus", "-n", "--concurrency", "-k"} <= _flags(cmd)
    assert "--min-tps-user" in _flags("table")
    for cmd in ("cost", "fleet"):
        assert "--price" in _flags(cmd)
    for cmd in typer_commands():
        flags = _flags(cmd)
        assert not flags & {"--min-tokens-per-s-user", "--min-tps", "--ttft-max", "--tpot-max", "--cached",
                            "--precision"}, cmd  # old spellings are hidden aliases only
        if "-n" in flags:
            assert "--gpus" in flags, cmd


def typer_commands() -> list[str]:
    import typer

    return list(typer.main.get_command(app).commands)


def test_old_spellings_still_work():
    r = runner.invoke(app, ["cost", "-m", "llama-3-8b", "-c", "h100-sxm", "--min-tps", "20", "--cached", "0.5",
                            "--ttft-max", "2", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["tokens_per_s_per_user"] >= 20 and d["cached_fraction"] == 0.5
    r = runner.invoke(app, ["bounds", "-m", "gpt-4", "-c", "h100-sxm", "-p", "fp8", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["precision"] == "fp8"


def test_cost_at_a_fixed_deployment_and_fleet_price():
    r = runner.invoke(app, ["cost", "-m", "llama-3-8b", "-c", "h100-sxm", "-k", "8", "--gpus", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["concurrency_per_replica"] == 4
    a = json.loads(runner.invoke(app, ["fleet", "llama3-70b-8xh100", "--json"]).stdout)
    b = json.loads(runner.invoke(app, ["fleet", "llama3-70b-8xh100", "--price", "1", "--json"]).stdout)
    assert b["usd_per_hour"] == pytest.approx(8.0) and a["usd_per_hour"] != b["usd_per_hour"]


# ---------------------------------------------------------------- standard output and the installation

def _cli(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infercast", *args], capture_output=True, text=True, timeout=120,
                          **kw)


def test_stdout_on_a_full_device():
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "infercast", "models", "--json"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "device is full" in lines[0], r.stderr


def test_stdout_closed_by_the_reader():
    """`infercast models --json | head -0`: the reader is gone before the first write."""
    p = subprocess.Popen([sys.executable, "-m", "infercast", "models", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "standard output was closed" in lines[0], err


@pytest.mark.parametrize("name, damage, command", [
    ("chips.json", b'{"chips": [{"id": ', ["bounds", "-m", "llama-3-8b", "-c", "h100-sxm"]),
    ("chips.json", b"\xff\xfe not utf-8", ["chips"]),
    ("models.json", b'{"not_models": []}', ["models", "--json"]),
    ("models.json", b'{"models": [{"id": "x"}]}', ["estimate", "-m", "llama-3-8b", "-c", "h100-sxm"]),
    ("chips.json", None, ["chips"]),  # missing
    ("efficiency.json", b"[1, 2", ["estimate", "-m", "llama-3-8b", "-c", "b200"]),
    ("measured/measured-dev.csv", b"id,model\n\xff", ["validate"]),
    ("scenario_default.toml", b"[run", ["forecast"]),
])
def test_damaged_installation_says_reinstall(tmp_path, monkeypatch, name, damage, command):
    from infercast.analyses import measured
    from infercast.engine import efficiency
    from infercast.specs import hardware, model, store

    data = tmp_path / "data"
    (data / name).parent.mkdir(parents=True, exist_ok=True)
    if damage is not None:
        (data / name).write_bytes(damage)
    real = store.data_path
    monkeypatch.setattr(store, "data_path", lambda n: data / n if n == name else real(n))
    caches = (store.read_json, store.read_toml, hardware._catalog, model._catalog, efficiency._family_eff,
              efficiency._engines, measured._packaged_rows)
    for f in caches:
        f.cache_clear()
    try:
        fails(command, f"infercast's data file {name} is damaged", "reinstall infercast")
    finally:
        monkeypatch.undo()
        for f in caches:
            f.cache_clear()
