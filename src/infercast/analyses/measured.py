"""Measured rows: reading the CSVs (format of data/measured/README.md) and what a row states.

`read_rows` checks every cell (required ones present, numbers finite and in range, the line and
column named on a problem). `Stated` gathers what a row says about its run in the project's terms:
lengths (MLPerf dataset means where the lengths are a dataset's), precisions (with the defaults of
closed MLPerf submissions), parallelism, and the serving techniques from their own columns (dp,
spec_*, disagg, range_ratio, prefix_hit), falling back on the notes' wording only where the columns
are empty.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from infercast.errors import InfercastError
from infercast.files import read_text, shown
from infercast.format import truncate
from infercast.specs.store import read_json
from infercast.vocabulary import MAX_DEGREE, MAX_GPUS, MAX_TOKENS, check_number

PACKAGED = ("measured-dev.csv", "measured-techniques.csv", "aic-silicon.csv")
VISIBLE = ("measured-dev.csv", "measured-techniques.csv")  # the visible set; AIC is reported on its own
SEPARATE_FAMILIES = ("AIC",)  # measured on the machines the kernel tables come from: reported apart

REQUIRED_COLUMNS = ("id", "model", "gpu", "metric", "value")
# numeric columns: (lowest, highest, whole number); an empty cell means "not stated"
NUMERIC_COLUMNS: dict[str, tuple[float, float, bool]] = {
    "num_gpus": (1, MAX_GPUS, True), "tp": (1, MAX_DEGREE, True), "pp": (1, MAX_DEGREE, True),
    "ep": (1, MAX_DEGREE, True), "dp": (1, MAX_DEGREE, True), "input_len": (1, MAX_TOKENS, True),
    "output_len": (0, MAX_TOKENS, True), "concurrency": (1e-3, 1e9, False), "value": (1e-9, 1e15, False),
    "spec_tokens": (1, 16, True), "spec_accept": (1, 17, False), "range_ratio": (1e-3, 1, False),
    "prefix_hit": (0, 0.999, False),
}
MAX_ROWS = 20_000


def packaged_path(name: str = "measured-dev.csv") -> Path:
    return Path(str(resources.files("infercast").joinpath("data", "measured", name)))


def family_of(row_id: str) -> str:
    return re.sub(r"[-_]?\d+$", "", row_id).split("-")[0] if not row_id.startswith("OWN") else "OWN"


# ----------------------------------------------------------------------------- reading

def _check_row(row: dict, line: int, where: str) -> None:
    for col in REQUIRED_COLUMNS:
        if not (row.get(col) or "").strip():
            raise InfercastError(f"{where} line {line}: column '{col}' is empty; every row needs "
                                 f"{', '.join(REQUIRED_COLUMNS)}", field="data")
    for col, (lo, hi, whole) in NUMERIC_COLUMNS.items():
        cell = (row.get(col) or "").strip()
        if not cell:
            continue
        check_number(col, cell, integer=whole, field="data", lo=lo, hi=hi, lo_open=False,
                     label=f"{where} line {line} (id {truncate(row['id'], 40)}): column '{col}'")


def _parse_rows(text: str, where: str) -> list[dict]:
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InfercastError(f"{where} line {line} contains a NUL byte; save the file as plain UTF-8 CSV",
                             field="data")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise InfercastError(f"{where} lacks the column(s) {', '.join(missing)}; a measured CSV has the "
                                 "columns of measured-dev.csv (id, model, gpu, metric, value, ...)", field="data")
        rows = []
        for row in reader:
            line = reader.line_num
            if None in row:
                raise InfercastError(f"{where} line {line} has more cells than the header has columns", field="data")
            row = {k: (v if v is not None else "") for k, v in row.items()}
            if not any(v.strip() for v in row.values()):
                continue  # a blank line
            _check_row(row, line, where)
            row["_file"] = where
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise InfercastError(f"{where} has more than {MAX_ROWS:,} rows", field="data")
    except csv.Error as e:
        raise InfercastError(f"{where} line {reader.line_num} is not valid CSV: {e}", field="data") from None
    if not rows:
        raise InfercastError(f"{where} has no data rows", field="data")
    return rows


@lru_cache(maxsize=8)
def _packaged_rows(name: str) -> tuple[dict, ...]:
    from infercast.errors import DamagedInstallError
    from infercast.specs.store import read_data_text

    try:
        return tuple(_parse_rows(read_data_text(f"measured/{name}"), name))
    except DamagedInstallError:
        raise
    except InfercastError as e:
        raise DamagedInstallError(f"measured/{name}", e.message) from None


def read_rows(path: str | Path) -> list[dict]:
    """The rows of a measured CSV, each checked: required cells present, numbers finite and in range.
    A problem names the line and column (the file's own terms) and is an error about the input `data`;
    in a shipped measured file it is a damaged installation."""
    for name in PACKAGED:
        if Path(path) == packaged_path(name):
            return [dict(r) for r in _packaged_rows(name)]
    return _parse_rows(read_text(path, field="data", what="CSV file"), shown(path))


# ----------------------------------------------------------------------------- what a row states

def num(s) -> float | None:
    s = (s or "").strip() if isinstance(s, str) else s
    return float(s) if s not in (None, "") else None


@lru_cache(maxsize=None)
def _mlperf() -> dict:
    return read_json("mlperf_datasets.json")["datasets"]


MLPERF_DATASET = {"llama-2-70b": "llama2-70b", "mixtral-8x7b": "mixtral-8x7b", "gpt-j-6b": "gpt-j",
                  "llama-3.1-405b": "llama3.1-405b", "llama-3.1-8b": "llama3.1-8b", "deepseek-r1": "deepseek-r1"}


def is_mlperf(row: dict) -> bool:
    return family_of(row["id"]).startswith("MLP") or "mlcommons/inference_results" in (row.get("source") or "")


def mlperf_dataset(row: dict) -> dict:
    """The MLPerf benchmark's dataset statistics: named in the result path, else by the model."""
    sets = _mlperf()
    flat = lambda x: re.sub(r"[^a-z0-9]", "", x.lower())  # noqa: E731
    where = flat((row.get("source") or "") + " " + (row.get("notes") or ""))
    for key in sorted(sets, key=len, reverse=True):
        if flat(key) in where:
            return sets[key]
    return sets.get(MLPERF_DATASET.get(row["model"], ""), {})


# NVIDIA's MLPerf v5.0 Mixtral-8x7B engines are built from ModelOpt AutoQuantize checkpoints, which pick FP8 or NVFP4
# per layer under an average-bits budget: B200 "mixtral-8x7b-instruct-v0.1-tp1pp1-fp4-e7.25" (7.25 effective bits over
# FP8's 8 and NVFP4's 4: about 81 % of the weights stay FP8); closed/NVIDIA/code/mixtral-8x7b/tensorrt/builder.py and
# code/mixtral-8x7b/modelopt/README.md of the v5.0 submission
AUTOQUANT_FP8 = {"mixtral-8x7b"}


def weights_default(row: dict, assumptions: list[str], autoquant: bool = True) -> str | None:
    """Column empty: the released dtype, except MLPerf closed submissions whose engines quantise. `autoquant`: a
    Blackwell Mixtral engine is taken as FP8, its AutoQuantize checkpoint's main format (off: as FP4)."""
    w = (row.get("weights") or "").strip().lower()
    if w:
        return w
    eng = (row.get("engine") or "").lower()
    if is_mlperf(row):
        from infercast.specs.hardware import get_chip

        chip = get_chip(row["gpu"])
        if "tensorrt" in eng and chip.family == "hopper":
            assumptions.append("weights fp8: NVIDIA's MLPerf llama2-70b/mixtral Hopper configs use FP8 "
                               "(use_fp8 in the v4.1 configs quoted in this file's notes)")
            return "fp8"
        if "tensorrt" in eng and chip.family == "blackwell" and autoquant and row.get("model") in AUTOQUANT_FP8:
            assumptions.append("weights fp8: NVIDIA's MLPerf v5.0 Blackwell Mixtral checkpoint is ModelOpt "
                               "AutoQuantize at 7.25 effective bits (FP8 or NVFP4 per layer: about 81 % of weights "
                               "FP8; the submission's code/mixtral-8x7b/tensorrt/builder.py), taken as FP8")
            return "fp8"
        if "tensorrt" in eng and chip.family == "blackwell":
            assumptions.append("weights fp4: NVIDIA's first Blackwell MLPerf (v4.1 preview) quantised "
                               "Llama-2-70B to FP4 (NVIDIA MLPerf v4.1 blog, 2024-08-28)")
            return "fp4"
        if chip.family == "gaudi":
            assumptions.append("weights fp8: Intel's MLPerf v4.0 Gaudi2 llama2-70b submission ran FP8")
            return "fp8"
        if chip.family.startswith("cdna"):
            assumptions.append("weights fp8: AMD's MLPerf Instinct submissions run FP8 (the v4.1 rows in "
                               "measured-dev.csv state fp8)")
            return "fp8"
    return None  # model's released dtype


def lengths(row: dict, assumptions: list[str]) -> tuple[float | None, float | None, str | None]:
    """(input, output, why not comparable): stated lengths, or an MLPerf dataset's mean lengths; a stated
    range ratio r (lengths uniform in [r L, L]) is replaced by the mean (1 + r) L / 2."""
    I, O = num(row.get("input_len")), num(row.get("output_len"))
    if is_mlperf(row) and (I is None or O is None):
        ds = mlperf_dataset(row)
        I = ds.get("mean_input_tokens")
        if I is None:
            return None, None, "mean input length of the MLPerf dataset not found in any source"
        m = re.search(r"mean generated tok/sample in this run = (?:[^=;]*= )?([\d.]+)", row.get("notes", ""))
        O = float(m.group(1)) if m else ds.get("mean_output_tokens")
        if O is None:
            return None, None, "mean generated length of the MLPerf run not stated and not known for its dataset"
        assumptions.append(f"MLPerf dataset means: input {I:.0f} tokens ({ds.get('source', '')[:60]}...), "
                           f"output {O:.0f} tokens (" + ("this run's tokens per sample" if m else
                           "the benchmark's stated tokens per sample") + ")")
    r = num(row.get("range_ratio"))
    if r is not None and r < 1 and I is not None and O is not None:
        I, O = I * (1 + r) / 2, O * (1 + r) / 2
        assumptions.append(f"lengths uniform in [{r:g} L, L]: their means ({I:.0f} in, {O:.0f} out) are modelled")
    return I, O, None


@lru_cache(maxsize=None)
def _length_table(name: str):
    """A shipped per-sample length table (data/mlperf_lengths): (inputs, outputs) as int arrays."""
    from infercast.engine import workload as W
    from infercast.specs.store import data_path

    t = W.read_trace(data_path(name)).lengths
    return t.table_input, t.table_output


def length_distribution(row: dict, I: float, O: float, assumptions: list[str]):
    """The run's request lengths as a distribution (`workload.Lengths`), or None for fixed lengths.

    An MLPerf run draws its dataset's samples: the shipped per-sample table, its outputs scaled to the
    run's mean generated length (a sample's generated length is taken as proportional to the table's, the
    reference answer's or the reference model's; capped at the benchmark's max output). A stated range
    ratio r draws each length uniformly from [r L, L] (SGLang bench_serving --random-range-ratio)."""
    from infercast.engine import workload as W

    if is_mlperf(row):
        ds = mlperf_dataset(row)
        if not ds.get("lengths_file"):
            return None
        i, o = _length_table(ds["lengths_file"])
        what = "reference answers'" if ds.get("lengths_output") == "reference" else "generated"
        note = f"its {what} output lengths"
        if abs(O / o.mean() - 1.0) > 1e-3:  # this run generated more or fewer tokens per sample than the table
            cap = float(ds.get("max_output") or o.max())
            o = np.clip(np.rint(o * (O / o.mean())), 1, cap).astype(np.int64)
            note += f" scaled to the run's mean {O:.0f}"
        lengths = W.empirical(i, o, source=ds["lengths_file"])
        assumptions.append(f"lengths drawn from the dataset's {len(i):,} samples ({note}): a decode step's mean "
                           f"context is {lengths.mean_decode_context:.0f} tokens, long outputs weighing more, "
                           f"not {I + O / 2:.0f}")
        return lengths
    r = num(row.get("range_ratio"))
    if r is not None and r < 1:
        L_in, L_out = num(row.get("input_len")), num(row.get("output_len"))
        if L_in and L_out and L_in >= 1 and L_out >= 1:
            return W.uniform(int(L_in), int(L_out), float(r))
    return None


def mlperf_latency_limits(row: dict, interactive: bool) -> tuple[float, float] | None:
    """(TTFT, TPOT) 99th-percentile limits in ms of the row's MLPerf benchmark (LoadGen's mlperf.conf)."""
    lim = mlperf_dataset(row).get("latency_ms", {}).get("interactive" if interactive else "server")
    return (float(lim["ttft"]), float(lim["tpot"])) if lim else None


# TensorRT-LLM's opt-in ADP balance (attention_dp_config: enable_balance; tech blog 10): ranks wait to take prompts
# together, so steps are about as balanced as an even split (87.7 % against 54 % by default)
_BALANCE_WORDS = re.compile(r"enable_balance|adp balance|attention[- _]?dp balanc", re.IGNORECASE)
_DP_WORDS = re.compile(r"attention[- _]?(?:dp|data[- _]?parallel)|dp[- _]attention|enable_attention_dp|\bdep ?\d+\b",
                       re.IGNORECASE)
_SHAPE = re.compile(r"^(?P<n>\d+|\?)x(?P<shape>.*)$")


def parse_shape(text: str) -> dict | None:
    """'tp4pp2dp8ep8' -> {'tp': 4, 'pp': 2, 'dp': 8, 'ep': 8}; '?' or '' -> None (not stated)."""
    text = text.strip().lower()
    if not text or text == "?":
        return None
    parts = dict((k, int(v)) for k, v in re.findall(r"(tp|pp|dp|ep)(\d+)", text))
    if not parts or re.sub(r"(tp|pp|dp|ep)\d+", "", text):
        raise InfercastError(f"disagg shape '{truncate(text, 30)}' is not of the form tp<t>[pp<p>][dp<d>][ep<e>]",
                             field="data")
    return parts


def parse_disagg(text: str) -> dict | None:
    """'prefill:2xtp4,decode:1xtp8dp8ep8' -> {'prefill': (2, {...}), 'decode': (1, {...})}; counts may be None."""
    text = (text or "").strip()
    if not text:
        return None
    out = {}
    for part in text.split(","):
        role, _, rest = part.partition(":")
        m = _SHAPE.match(rest.strip().lower())
        if role.strip() not in ("prefill", "decode") or not m:
            raise InfercastError(f"disagg '{truncate(text, 60)}' is not prefill:<workers>x<shape>,decode:<workers>x<shape>",
                                 field="data")
        n = None if m.group("n") == "?" else int(m.group("n"))
        out[role.strip()] = (n, parse_shape(m.group("shape")))
    if set(out) != {"prefill", "decode"}:
        raise InfercastError(f"disagg '{truncate(text, 60)}' must name both a prefill and a decode pool", field="data")
    return out


@dataclass
class Stated:
    """A row's run in the project's terms; None where the row does not say."""

    input_len: float | None
    output_len: float | None
    gpus: int
    weights: str | None
    kv: str | None
    engine: str | None
    tp: int | None
    pp: int
    ep: int | None
    dp: int | None
    concurrency: float | None
    spec: object = None  # engine.speculative.Speculation
    disagg: dict | None = None
    prefix_hit: float = 0.0
    lengths: object = None  # engine.workload.Lengths: the run's length distribution; None for fixed lengths
    balanced: bool = False  # the run balanced its attention-DP ranks' prompts (TensorRT-LLM's ADP balance)
    assumptions: list[str] = field(default_factory=list)


def stated(row: dict, assumptions: list[str], autoquant: bool = True) -> tuple[Stated | None, str | None]:
    """What a row states, or (None, why it cannot be compared). `autoquant`: see `weights_default`."""
    I, O, why = lengths(row, assumptions)
    if why:
        return None, why
    notes = row.get("notes") or ""
    columns = "dp" in row and "spec_method" in row  # a file with technique columns: they are authoritative
    dp = num(row.get("dp"))
    if dp is None and not columns and _DP_WORDS.search(notes):
        m = re.search(r"\bdep ?(\d+)\b", notes, re.IGNORECASE)
        dp = float(m.group(1)) if m else None
        assumptions.append("attention data-parallel (named in the notes)" + (f": {dp:.0f} groups" if dp else ""))
        if dp is None:
            dp = -1.0  # stated without a size: all the GPUs of a replica
    balanced = bool(_BALANCE_WORDS.search(notes))
    if balanced:
        assumptions.append("attention-DP balance (named in the notes): ranks take prompts together, steps as an even "
                           "split (TensorRT-LLM tech blog 10: 88 % balanced against 54 % by default)")
    spec = None
    method = (row.get("spec_method") or "").strip()
    if not method and not columns and re.search(r"\bMTP\b|multi-token prediction", notes):
        method = "mtp"
        assumptions.append("speculative decoding: MTP (named in the notes; sourced default acceptance)")
    if method:
        from infercast.engine.speculative import speculation

        accepted = num(row.get("spec_accept"))
        spec = speculation(method, tokens=num(row.get("spec_tokens")), accepted=accepted,
                           draft_model=(row.get("spec_draft") or "").strip() or None)
        assumptions.append(spec.describe())
    return Stated(input_len=I, output_len=O, gpus=int(num(row.get("num_gpus")) or 1),
                  weights=weights_default(row, assumptions, autoquant),
                  kv=(row.get("kv_cache") or "").strip().lower() or None,
                  engine=dated_engine(row, assumptions),
                  tp=int(num(row.get("tp"))) if num(row.get("tp")) else None, pp=int(num(row.get("pp")) or 1),
                  ep=int(num(row.get("ep"))) if num(row.get("ep")) else None,
                  dp=int(dp) if dp is not None else None, concurrency=num(row.get("concurrency")), spec=spec,
                  disagg=parse_disagg(row.get("disagg") or ""), prefix_hit=num(row.get("prefix_hit")) or 0.0,
                  lengths=length_distribution(row, I, O, assumptions) if I and O else None,
                  balanced=balanced, assumptions=assumptions), None


def dated_engine(row: dict, assumptions: list[str]) -> str | None:
    """The row's engine; one named without its release (and with a known release history) is taken as the
    release current at the row's date, so that release's defaults apply (efficiency.json `releases`)."""
    from infercast.engine.efficiency import get_engine

    text = (row.get("engine") or "").strip()
    date = (row.get("date") or "").strip()
    if not text or not re.match(r"\d{4}-\d{2}", date):
        return text or None
    eng = get_engine(text, strict=False)
    if eng.version or not eng.releases or not (rel := eng.release_at(date[:10])):
        return text or None
    assumptions.append(f"{text}: no release named; taken as {eng.name} {rel}, the newest release listed in "
                       f"efficiency.json that was out by {date[:10]}")
    return f"{eng.name} {rel} ({text})"


def source_facts(rows: list[dict]) -> dict[str, set[str]]:
    """Facts a source states once and that hold for all its rows (e.g. 'single instance' on 8 GPUs)."""
    facts: dict[str, set[str]] = {}
    for r in rows:
        src = (r.get("source") or "").split(" ")[0]
        if re.search(r"single .{0,40}instance", r.get("notes") or ""):
            facts.setdefault(src, set()).add("single-instance")
    return facts
