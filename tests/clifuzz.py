"""A hostile user of the CLI, shared by tests/test_cli_fuzz.py (bounded, in `make test`) and
benchmarks/fuzz_cli.py (>= 10,000 invocations, counts printed).

`Arena(folder)` writes hostile files once (Hugging Face configs, measured CSVs, fleet and scenario
TOMLs, calibration profiles, unwritable output paths); `invocation(arena, pick)` builds one command
line: a command enumerated from the typer app, a valid base (so the mutation, not a missing option,
is what is tested) and one to three options replaced by hostile values; `run(...)` runs it in process
and returns the problems found: an exit status other than 0 or 2, an "internal error", a traceback,
an error that is not one line, or --json output that is not strict JSON.

`pick(seq)` chooses an element: `random.Random(seed).choice` in the benchmark, a hypothesis draw in
the test (so a failure shrinks to a small command line).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Sequence

Pick = Callable[[Sequence], object]

# valid arguments every command starts from (cheap settings; the fuzz mutates from here)
BASE: dict[str, list[str]] = {
    "chips": [], "models": [],
    "bounds": ["-m", "llama-3-8b", "-c", "h100-sxm"],
    "estimate": ["-m", "llama-3-8b", "-c", "h100-sxm"],
    "cost": ["-m", "llama-3-8b", "-c", "h100-sxm"],
    "size": ["-m", "llama-3-8b", "-c", "h100-sxm", "--requests-per-s", "2", "--max-gpus", "8"],
    "frontier": ["-m", "llama-3-8b", "-c", "h100-sxm", "--points", "4", "--max-gpus", "8"],
    "table": ["-m", "llama-3-8b", "-c", "h100-sxm"],
    "fleet": ["llama3-70b-8xh100"],
    "forecast": ["--samples", "12", "-m", "llama-3.1-70b", "--set", "run.last_year=2025"],
    "claims": ["--claim", "fp8"],
    "validate": [],  # --data is always set to a small CSV (the shipped set takes a second)
    "calibrate": ["--device", "cuda:99"],  # a device that exists nowhere: the run ends before measuring
    "measure": ["-m", "llama-3-8b", "--device", "cuda:99"],
    "report": ["--quick"], "demo": ["--quick"],  # --out is always hostile (a full report takes seconds)
    "serve": [],  # uvicorn.run is replaced by a no-op while fuzzing: nothing listens
    "world": ["--year", "2023", "-m", "llama-3-8b", "--samples", "50"],
    "overhang": ["--train-flop", "1e23", "-c", "h100-sxm", "--gpus", "64", "--days", "10", "-m", "llama-3-8b"],
    "margin": ["-m", "deepseek-v3", "-c", "h800"],
}
# options the fuzz sets on every invocation of a command, and the pool they are drawn from
ALWAYS = {"validate": ("--data", "csv"), "report": ("--out", "bad_folder"), "demo": ("--out", "bad_folder"),
          # a device that exists nowhere: never a real measurement (a full model on the CPU takes minutes and GBs)
          "calibrate": ("--device", "no_device"), "measure": ("--device", "no_device")}

NUMBERS = ["nan", "NaN", "inf", "-inf", "-1", "0", "-0", "1", "2", "3", "8", "1.5", "0.5", "1e-300", "1e308",
           "1e309", "9" * 5000, "abc", "", "1e9", "100000000000", "4096", "0x10", "1_000", " 7", "64", "0.999",
           "10000000", "1000000", "131072", "0.001", "1e6", "1024", "200000", "65536", "4294967295"]
STRINGS = ["", "x" * 5000, "h100-sxm", "b200", "mi300x", "rtx-4090", "tpu-v5e", "llama-3-8b", "gpt-4", "fp8", "fp4",
           "int4", "bf16", "nvfp4", "awq", "vllm", "sglang", "tensorrt-llm 0.6", "模型", "\t\n", "-1", "nan",
           "../../etc/passwd", "a/b", "%s%n", "' OR 1=1 --", "\x1b[31mred", "cpu", "cuda", "1/16", "1,8,32",
           "0,-1", "99999999999999", "throughput", "h200", "127.0.0.1", "localhost", "::1", "bf16,fp8", "fuzz-chip",
           "eagle3", "mtp", "ngram"]
MODELS = ["llama-3-8b", "llama-3.1-70b", "gpt-4", "deepseek-v3", "mixtral-8x7b", "gpt-oss-20b", "qwen3-30b-a3b",
          "llama3-8", "org/cached-llama", "org/cached-bad", "org/missing", "nope", "", "x" * 300]
SETS = ["run.last_year=100000", "run.first_year=1900", "run.samples=abc", "run.samples=nan", "run.seed=-1",
        "run=5", "run.models=[]", "run.models=[1]", "run.models=[\"nope\"]", "fleet.h100e=nan", "fleet.h100e=-1",
        "fleet.growth=lognormal:p10=-1,p90=2", "fleet.growth=lognormal:p10=1e29,p90=1e30",
        "fleet.utilisation=uniform:0.5,3", "fleet.inference_share=normal:mean=0.5,sd=10",
        "operating_point.input_len=0", "operating_point.tpot_max_s=inf", "operating_point=1",
        "operating_point.engine=\"nope\"", "operating_point.kv_cache=\"fp7\"", "precision_mix.2027={fp8=-1}",
        "precision_mix.2027=5", "precision_mix.9999={fp8=1}", "trends.bf16_tflops.growth=1e30",
        "trends.flagships=[]", "trends.flagships=[\"h100-sxm\"]", "future_chip.family=\"x\"",
        "future_chip.fp8_per_bf16=0", "algorithmic.factor_by_2030=\"lognormal:p10=0,p90=1\"", "models.gpt-4=3",
        "nosection.x=1", "x", "=", "run.last_year=2030", "fleet.growth=" + "9" * 5000, "a..b=1",
        "trends.hbm_gb.anchor=1e-30", "run.last_year=2026", "run.samples=20000"]

LLAMA = {"_name_or_path": "meta-llama/Llama-3.1-8B", "model_type": "llama", "num_hidden_layers": 32,
         "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
         "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": False,
         "torch_dtype": "bfloat16"}
MIXTRAL = dict(LLAMA, model_type="mixtral", num_local_experts=8, num_experts_per_tok=2, sliding_window=4096)
CONFIG_FIELDS = ["num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads",
                 "intermediate_size", "vocab_size", "max_position_embeddings", "head_dim", "sliding_window",
                 "model_type", "tie_word_embeddings", "torch_dtype", "_name_or_path", "text_config",
                 "num_local_experts", "num_experts_per_tok", "layer_types", "mlp_only_layers", "moe_layer_freq",
                 "first_k_dense_replace", "quantization_config"]
JSON_VALUES = ["[]", "[1, 2]", "\"32\"", "\"abc\"", "null", "0", "-1", "-32", "1.5", "1e400", "NaN", "Infinity",
               "9" * 5000, "9" * 400, "true", "{}", "9223372036854775808", "1e30", "{\"model_type\": \"llama\"}"]

CSV_HEADER = ("id,source,date,engine,model,weights,kv_cache,gpu,num_gpus,tp,pp,ep,scenario,input_len,output_len,"
              "concurrency,metric,value,unit,notes")
CSV_ROW = {"id": "X-1", "source": "test", "date": "", "engine": "TensorRT-LLM", "model": "llama-3-8b", "weights": "",
           "kv_cache": "", "gpu": "h100-sxm", "num_gpus": "1", "tp": "1", "pp": "", "ep": "", "scenario": "offline",
           "input_len": "1024", "output_len": "256", "concurrency": "8", "metric": "output_tok_per_s_per_gpu",
           "value": "1500", "unit": "tokens/s/GPU", "notes": "fuzz"}
CSV_VALUES = ["0", "", "abc", "nan", "inf", "-1", "1e400", "9" * 5000, "1.5", "\x00", "1e-320", "99999999999",
              "llama-3-8b", "h100-sxm", "decode-step", "decode_step_ms", "x" * 200, "org/cached-llama", "8"]

FLEET = """name = "fuzz"
[[pools]]
chip = "h100-sxm"
count = 8
[[workloads]]
name = "chat"
model = "llama-3-8b"
share = 1.0
input_len = 1024
output_len = 256
tp = 1
"""
FLEET_KEYS = [("pools", "chip"), ("pools", "count"), ("pools", "price"), ("pools", "utilisation"),
              ("pools", "engine"), ("pools", "watts"), ("workloads", "model"), ("workloads", "share"),
              ("workloads", "input_len"), ("workloads", "output_len"), ("workloads", "tp"), ("workloads", "pp"),
              ("workloads", "weights"), ("workloads", "cached_fraction"), ("workloads", "min_tokens_per_s_per_user"),
              ("workloads", "max_ttft_s"), ("workloads", "max_gpus_per_replica"), ("workloads", "name")]
TOML_VALUES = ["nan", "inf", "-inf", "-1", "0", "\"8\"", "[1]", "{a = 1}", "1e308", "99999999999999999999",
               "true", "\"x\"", "0.5", "1e-300", "\"h100-sxm\"", "\"fp7\"", "\"\"", "2048", "\"org/cached-llama\""]
SCENARIO_KEYS = [("run", "samples"), ("run", "last_year"), ("run", "first_year"), ("run", "models"),
                 ("run", "seed"), ("operating_point", "input_len"), ("operating_point", "tpot_max_s"),
                 ("operating_point", "max_gpus_per_replica"), ("fleet", "h100e"), ("fleet", "growth"),
                 ("fleet", "utilisation"), ("algorithmic", "factor_by_2030"), ("trends", "flagships"),
                 ("future_chip", "family"), ("future_chip", "links_from"), ("precision_mix", "2027"),
                 ("models.gpt-4", "size_factor"), ("trends.hbm_tbps", "growth"), ("nosuch", "x")]
MIX = """[[models]]
model = "llama-3-8b"
share = 0.5
[[models]]
model = "llama-3.1-8b"
share = 0.5
min_tps_user = 30
"""
MIX_KEYS = ["model", "share", "input_len", "output_len", "min_tps_user", "name", "colour"]
PROFILE = {"device": "fuzz", "catalog_id": "h100-sxm", "copy_gbps": 3000.0,
           "gemm": [{"dtype": "bf16", "M": 1, "N": 8192, "K": 8192, "ms": 0.059, "tflops": 2.3},
                    {"dtype": "bf16", "M": 4096, "N": 8192, "K": 8192, "ms": 0.5, "tflops": 700.0}],
           "attention_prefill_tflops": 400.0, "attention_decode_gbps": 2500.0, "graph_kernel_us": 2.0}
CHIP = {"id": "fuzz-chip", "name": "Fuzz accelerator", "vendor": "fuzz", "family": "hopper", "year": 2024,
        "memory_gb": 80, "memory_type": "HBM3", "memory_bw_tbps": 3.35, "tflops": {"bf16": 989, "fp8": 1979},
        "scaleup_gbps": 450, "scaleup_domain": 8, "scaleup_name": "NVLink", "scaleout_gbps": 50, "tdp_w": 700,
        "price": {"usd_per_hour": 2.0, "date": "2026-01-01", "source": "fuzz"}, "sources": {"all": "fuzz"}}
CHIP_KEYS = ["id", "family", "year", "memory_gb", "memory_bw_tbps", "tflops", "tflops.bf16", "tflops.fp8",
             "scaleup_gbps", "scaleup_domain", "scaleout_gbps", "tdp_w", "price", "price.usd_per_hour", "sources",
             "memory_binary", "aliases", "name"]
PROFILE_KEYS = ["copy_gbps", "gemm", "attention_prefill_tflops", "attention_decode_gbps", "graph_kernel_us",
                "catalog_id", "device", "gemm.0.M", "gemm.0.ms", "gemm.0.tflops", "gemm.0.dtype", "gemm.1"]


class Arena:
    """Hostile files, written once under `root`; pools of paths by kind."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.pools: dict[str, list[str]] = {}
        self._n = 0
        self._configs()
        self._csvs()
        self._fleets()
        self._scenarios()
        self._mixes()
        self._profiles()
        self._chips()
        self._outputs()

    def _file(self, kind: str, data: str | bytes, name: str | None = None) -> str:
        self._n += 1
        p = self.root / kind / (name or f"{self._n}.dat")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        self.pools.setdefault(kind, []).append(str(p))
        return str(p)

    @staticmethod
    def _raw_variants() -> list[bytes]:
        return [b"", b"null", b"[]", b"\"str\"", b"{", b"\xff\xfe\x00bad", "[" .encode() * 20000 + b"]" * 20000,
                b"{\"a\":" * 5000 + b"1" + b"}" * 5000, b"\xef\xbb\xbf{}", b"{} trailing", b"\x00\x00"]

    def _configs(self):
        def cfg(d: dict, **raw: str) -> str:
            text = json.dumps(d)
            for k, v in raw.items():  # a raw JSON value (NaN, 1e400, 5,000 digits)
                text = text[:-1] + f', "{k}": {v}}}'
            return text

        for base in (LLAMA, MIXTRAL):
            self._file("config", json.dumps(base), f"ok-{base['model_type']}/config.json")
            for f in CONFIG_FIELDS:
                for v in JSON_VALUES:
                    d = {k: x for k, x in base.items() if k != f}
                    self._file("config", cfg(d, **{f: v}), f"{base['model_type']}-{f}-{JSON_VALUES.index(v)}.json")
                self._file("config", json.dumps({k: x for k, x in base.items() if k != f}),
                           f"{base['model_type']}-no-{f}.json")
        for raw in self._raw_variants():
            self._file("config", raw, f"raw-{self._n}.json")
        folder = self.root / "config" / "folder-without-config"
        folder.mkdir(parents=True, exist_ok=True)
        self.pools["config"] += [str(self.root / "config" / "ok-llama"), str(folder), str(self.root / "nope.json")]
        hub = self.root / "hub"
        for name, d in (("cached-llama", LLAMA), ("cached-bad", dict(LLAMA, num_attention_heads=0))):
            snap = hub / f"models--org--{name}" / "snapshots" / "0123abc"
            snap.mkdir(parents=True, exist_ok=True)
            (snap / "config.json").write_text(json.dumps(d))
        self.hub = str(hub)

    def _csvs(self):
        def row(**over) -> str:
            r = dict(CSV_ROW, **over)
            return ",".join(f'"{v}"' if "," in v or '"' in v else v for v in r.values())

        self._file("csv", CSV_HEADER + "\n" + row() + "\n", "ok.csv")
        for col in CSV_ROW:
            for v in CSV_VALUES:
                self._file("csv", CSV_HEADER + "\n" + row(**{col: v}) + "\n")
            cols = [c for c in CSV_ROW if c != col]
            self._file("csv", ",".join(cols) + "\n" + ",".join(CSV_ROW[c] for c in cols) + "\n")
        for extra in ("\n" + row() + ",extra\n", "\n", "\n" + row(scenario="decode-step", metric="decode_step_ms",
                                                                  value="12") + "\n",
                      "\n" + row(notes="x" * 200_000) + "\n", "\n" + row(notes='"unclosed') + "\n"):
            self._file("csv", CSV_HEADER + extra)
        for raw in self._raw_variants():
            self._file("csv", raw)

    def _fleets(self):
        self._file("fleet", FLEET, "ok.toml")
        for table, key in FLEET_KEYS:
            for v in TOML_VALUES:
                head, _, rest = FLEET.partition(f"[[{table}]]\n")
                lines = [ln for ln in rest.split("\n") if not ln.startswith(f"{key} =")]
                lines.insert(0, f"{key} = {v}")
                self._file("fleet", head + f"[[{table}]]\n" + "\n".join(lines))
        for text in ("name = \"x\"\npools = 5\nworkloads = []\n", "not toml [[[", FLEET.replace("share = 1.0", "share = 0.5"),
                     FLEET + "unknown = 1\n", "name = 1\n" + FLEET.split("\n", 1)[1], "a = " + "[" * 5000 + "]" * 5000):
            self._file("fleet", text)
        for raw in self._raw_variants():
            self._file("fleet", raw)

    def _scenarios(self):
        self._file("scenario", "[run]\nsamples = 12\nlast_year = 2025\n", "ok.toml")
        for table, key in SCENARIO_KEYS:
            for v in TOML_VALUES + ["\"lognormal:p10=1,p90=2\"", "\"uniform:-1,2\"", "[\"h100-sxm\"]", "{fp8 = -1}"]:
                self._file("scenario", f"[run]\nsamples = 12\nlast_year = 2025\n[{table}]\n{key} = {v}\n"
                           if table != "run" else f"[run]\nsamples = 12\n{key} = {v}\n")
        for raw in self._raw_variants():
            self._file("scenario", raw)

    def _mixes(self):
        self._file("mix", MIX, "ok.toml")
        self._file("mix", json.dumps({"models": [{"model": "llama-3-8b", "share": 1}]}), "ok.json")
        for key in MIX_KEYS:
            for v in TOML_VALUES:
                lines = [ln for ln in MIX.split("\n") if not ln.startswith(f"{key} =")]
                lines.insert(1, f"{key} = {v}")
                self._file("mix", "\n".join(lines), f"{self._n}.toml")
        for text in ("models = 5", "[[models]]\n", "x = 1", MIX.replace("0.5", "0.25", 1)):
            self._file("mix", text, f"{self._n}.toml")
        for raw in self._raw_variants():
            self._file("mix", raw, f"{self._n}.json")

    def _profiles(self):
        self._file("profile", json.dumps(PROFILE), "ok.json")
        for key in PROFILE_KEYS:
            for v in JSON_VALUES + ["-5", "0.0"]:
                d = json.loads(json.dumps(PROFILE))
                head, *rest = key.split(".")
                if rest:
                    i = int(rest[0])
                    if len(rest) == 1:
                        d[head][i] = "@@"
                    else:
                        d[head][i][rest[1]] = "@@"
                else:
                    d[head] = "@@"
                self._file("profile", json.dumps(d).replace('"@@"', v))
            d = {k: v for k, v in PROFILE.items() if k != key}
            self._file("profile", json.dumps(d))
        self._file("profile", json.dumps({"device": "no rates"}))
        for raw in self._raw_variants():
            self._file("profile", raw)

    def _chips(self):
        """Chip files: a valid one (TOML and JSON), each field replaced by hostile values, catalog ids, raw bytes."""
        import tomllib

        def toml(d: dict) -> str:
            def val(v):
                if isinstance(v, dict):
                    return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
                return json.dumps(v)
            return "\n".join(f"{k} = {val(v)}" for k, v in d.items()) + "\n"

        ok = toml(CHIP)
        tomllib.loads(ok)  # the generator itself writes valid TOML
        self._file("chip_file", ok, "ok.toml")
        self._file("chip_file", json.dumps(CHIP), "ok.json")
        for key in CHIP_KEYS:
            head, *rest = key.split(".")
            for v in JSON_VALUES + ["-5", "0.0", "1e308", "\"h100-sxm\"", "\"h100\"", "\"../x\"", "\"quantum\""]:
                d = json.loads(json.dumps(CHIP))
                if rest:
                    d[head][rest[0]] = "@@"
                else:
                    d[head] = "@@"
                self._file("chip_file", json.dumps(d).replace('"@@"', v), f"{self._n}.json")
            d = {k: x for k, x in CHIP.items() if k != head}
            self._file("chip_file", toml(d), f"{self._n}.toml")
        for raw in self._raw_variants():
            self._file("chip_file", raw, f"{self._n}.toml")
            self._file("chip_file", raw, f"{self._n}.json")

    def _outputs(self):
        r = self.root / "out"
        r.mkdir(exist_ok=True)
        (r / "adir").mkdir(exist_ok=True)
        (r / "afile").write_text("a file")
        fifo = r / "fifo"
        if not fifo.exists() and hasattr(os, "mkfifo"):
            os.mkfifo(fifo)
        # /proc refuses new files even to root; a path under a file is never writable
        bad = [str(r / "adir"), str(r / "afile" / "sub.png"), "/proc/infercast-fuzz/x.png", str(fifo),
               str(r / ("x" * 300 + ".png")), str(r / "x.pdf"), ""]
        self.pools["bad_file"] = bad
        self.pools["out_file"] = bad + [str(r / "ok.png"), str(r / "ok.svg"), str(r / "new" / "deeper" / "x.png"),
                                        str(r / "prof.json"), str(r / "rows.csv")]
        self.pools["no_device"] = ["cuda:99"]
        self.pools["bad_folder"] = [str(r / "afile"), "/proc/infercast-fuzz/report", str(r / "afile" / "sub"), str(fifo)]


# which pool an option draws hostile values from, by its parameter name
POOL_OF = {"model": "model", "data": "csv", "profile": "profile", "plot": "out_file", "out": "out_file",
           "fleet": "fleet", "scenario": "scenario", "set_": "set", "chip_file": "chip_file", "trace": "csv",
           "mix": "mix"}


def in_range(name: str, integer: bool) -> list[str]:
    """Values inside the option's own range, at and near its ends: valid input that reaches the model."""
    from infercast.vocabulary import TERMS

    t = TERMS.get(name.rstrip("_"))
    if t is None or t.lo is None or t.hi is None:
        return ["1", "2", "8"]
    lo, hi = float(t.lo), float(t.hi)
    lo_ok = lo if not t.lo_open else (lo + 1 if integer else max(lo * 1.0000001, 1e-300) if lo else 1e-300)
    vals = [lo_ok, hi, (lo_ok + hi) / 2, lo_ok * 10 if lo_ok else 1e-6, hi / 10, (max(lo_ok, 1e-9) * hi) ** 0.5]
    if integer:
        vals = [int(round(v)) for v in vals if lo_ok <= round(v) <= hi]
    return [repr(v) if isinstance(v, float) else str(v) for v in vals]


def _values(arena: Arena, param, pick: Pick) -> list[str]:
    """One to three hostile values for a click parameter."""
    name = param.name
    kind = POOL_OF.get(name)
    td = getattr(param, "type_descriptor", None)  # typer's own click; older typer: click's param.type
    tname = str(getattr(td, "annotation", "")) if td is not None else getattr(getattr(param, "type", None), "name", "")
    n = pick([1, 1, 1, 2, 3]) if getattr(param, "multiple", False) else 1
    out = []
    for _ in range(n):
        if kind == "model":
            v = pick([pick(MODELS), pick(arena.pools["config"])])
        elif kind == "set":
            v = pick(SETS)
        elif kind:
            v = pick([pick(arena.pools[kind]), pick(arena.pools[kind]), pick(STRINGS)])
        elif any(k in tname for k in ("int", "float")):
            v = pick([pick(NUMBERS), pick(in_range(name, "int" in tname))])
        else:
            v = pick(STRINGS)
        out.append(str(v))
    return out


def _old_spellings(opts: list[str]) -> list[str]:
    """Older spellings the CLI still accepts for these flags (--min-tps for --min-tps-user ...)."""
    from infercast.vocabulary import FLAG_ALIASES

    return [old for old, new in FLAG_ALIASES.items() if new in opts]


def invocation(arena: Arena, commands: dict, pick: Pick) -> list[str]:
    """One hostile command line: a command, its valid base, then one to three options mutated."""
    name = pick(sorted(commands))
    cmd = commands[name]
    args = list(BASE[name])
    params = [p for p in cmd.params if p.name != "help"]
    for _ in range(pick([1, 1, 2, 3])):
        if not params:
            break
        p = pick(params)
        opts = [o for o in getattr(p, "opts", []) if o.startswith("-")]
        if getattr(p, "is_flag", False):
            args.append(pick(opts))
            continue
        vals = _values(arena, p, pick)
        if not opts:  # a positional argument: fleet's replaces the shipped example, forecast's comes first
            args = vals[:1] + (args[1:] if name == "fleet" else args)
            continue
        for v in vals:
            flag = pick(opts + [o for o in _old_spellings(opts)])
            args += [f"{flag}={v}"] if flag.startswith("--") and pick([0, 0, 0, 1]) else [flag, v]
    if name in ALWAYS:
        flag, kind = ALWAYS[name]
        args += [flag, pick(arena.pools[kind])]
    extra = pick(["", "", "", "", "", "", "--json", "--json", "--json", "--nope", "dangling", "--help"])
    if extra == "dangling":
        opts = [o for p in params for o in getattr(p, "opts", []) if o.startswith("--") and not getattr(p, "is_flag", 0)]
        if opts:
            args.append(pick(opts))
    elif extra == "--json" and any("--json" in getattr(p, "opts", []) for p in params):
        args.append("--json")
    elif extra in ("--nope", "--help"):
        args.insert(pick(range(len(args) + 1)), extra)
    return [name] + args


def _strict(text: str):
    def no_constant(c):
        raise ValueError(f"non-strict JSON constant {c}")

    return json.loads(text, parse_constant=no_constant)


def problems(args: list[str], exit_code: int, stdout: str, stderr: str) -> list[str]:
    """What is wrong with one run, by the CLI's promises (empty: nothing)."""
    out = []
    if exit_code not in (0, 2):
        out.append(f"exit status {exit_code}")
    both = stdout + stderr
    if "internal error" in both:
        out.append("internal error: " + stderr.strip()[:300])
    if "Traceback (most recent call last)" in both:
        out.append("traceback")
    if exit_code == 2 and "--help" not in args:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        if len(lines) != 1 or not lines[0].startswith("error:"):
            out.append(f"error not on one line: {stderr[:300]!r}")
    if exit_code == 0 and "--json" in args and "--help" not in args:
        try:
            _strict(stdout)
        except ValueError as e:
            out.append(f"non-strict JSON: {e}")
    return out


def commands_of(app) -> dict:
    """Every command of the typer app, by name."""
    import typer

    return dict(typer.main.get_command(app).commands)


class Runner:
    """Runs invocations in process, with uvicorn.run replaced by a no-op (serve must not listen)."""

    def __init__(self, app, arena: Arena):
        from typer.testing import CliRunner

        self.app, self.arena = app, arena
        self.runner = CliRunner()
        os.environ["HF_HUB_CACHE"] = arena.hub
        import uvicorn

        uvicorn.run = lambda *a, **k: None

    def __call__(self, args: list[str]) -> tuple[int, str, str, list[str]]:
        r = self.runner.invoke(self.app, args)
        stderr = r.stderr if hasattr(r, "stderr") else ""
        found = problems(args, r.exit_code, r.stdout, stderr)
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            found.append(f"exception escaped: {type(r.exception).__name__}: {str(r.exception)[:200]}")
        return r.exit_code, r.stdout, stderr, found
