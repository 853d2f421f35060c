"""Predicted vs measured: every row of a measured CSV (format of data/measured/measured-dev.csv).

A row the model cannot represent (speculative decoding, disaggregated serving, a percentile
of a queue, missing lengths) is reported 'not comparable: <reason>', never dropped or guessed.
Assumptions made for a row (precision defaults, TP choice, dataset mean lengths) travel with it.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from infercast.specs.store import read_json
from infercast.errors import InfercastError, UnknownIdError
from infercast.files import read_text, shown
from infercast.format import truncate
from infercast.vocabulary import MAX_DEGREE, MAX_GPUS, MAX_TOKENS, check_number
from infercast.engine.memory import max_sequences
from infercast.engine.step import deployment
from infercast.engine.serving import best_under_p99, continuous, max_concurrency, prefill_time, static_batch



@dataclass
class RowResult:
    id: str
    family: str
    metric: str
    measured: float
    predicted: float | None
    status: str  # "compared" | "not comparable: <reason>"
    model: str = ""
    gpu: str = ""
    assumptions: list[str] = field(default_factory=list)

    @property
    def error(self) -> float | None:
        return None if self.predicted is None else self.predicted / self.measured - 1.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["error"] = self.error
        return d


def default_data_path() -> Path:
    """The measured set shipped with the package (data/measured/measured-dev.csv; provenance in its README)."""
    return Path(str(resources.files("infercast").joinpath("data", "measured", "measured-dev.csv")))


def family_of(row_id: str) -> str:
    return re.sub(r"[-_]?\d+$", "", row_id).split("-")[0] if not row_id.startswith("OWN") else "OWN"


@lru_cache(maxsize=None)
def _mlperf() -> dict:
    return read_json("mlperf_datasets.json")["datasets"]


MLPERF_DATASET = {"llama-2-70b": "llama2-70b", "mixtral-8x7b": "mixtral-8x7b", "gpt-j-6b": "gpt-j",
                  "llama-3.1-405b": "llama3.1-405b", "llama-3.1-8b": "llama3.1-8b", "deepseek-r1": "deepseek-r1"}


def is_mlperf(row: dict) -> bool:
    fam = family_of(row["id"])
    return fam.startswith("MLP") or "mlcommons/inference_results" in (row.get("source") or "")


def mlperf_dataset(row: dict) -> dict:
    """The MLPerf benchmark's dataset statistics: named in the result path, else by the model."""
    sets = _mlperf()
    flat = lambda x: re.sub(r"[^a-z0-9]", "", x.lower())  # noqa: E731
    where = flat((row.get("source") or "") + " " + (row.get("notes") or ""))
    for key in sorted(sets, key=len, reverse=True):
        if flat(key) in where:
            return sets[key]
    return sets.get(MLPERF_DATASET.get(row["model"], ""), {})


def _num(s: str) -> float | None:
    s = (s or "").strip()
    return float(s) if s else None


def _weights_default(row: dict, assumptions: list[str]) -> str | None:
    """Column empty: the released dtype, except MLPerf closed submissions whose engines quantise."""
    w = (row.get("weights") or "").strip().lower()
    if w:
        return w
    fam = family_of(row["id"])
    eng = (row.get("engine") or "").lower()
    if is_mlperf(row):
        from infercast.specs.hardware import get_chip

        chip = get_chip(row["gpu"])
        if "tensorrt" in eng and chip.family == "hopper":
            assumptions.append("weights fp8: NVIDIA's MLPerf llama2-70b/mixtral Hopper configs use FP8 "
                               "(use_fp8 in the v4.1 configs quoted in this file's notes)")
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


def _ints(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def _lengths(row: dict, assumptions: list[str]) -> tuple[float | None, float | None, str | None]:
    I, O = _num(row.get("input_len")), _num(row.get("output_len"))
    fam = family_of(row["id"])
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
    return I, O, None


def _not_comparable(row: dict) -> str | None:
    notes = (row.get("notes") or "") + " " + (row.get("scenario") or "")
    scen = (row.get("scenario") or "").lower()
    if "disaggregated" in scen or "prefill-only" in scen or "decode-only" in scen:
        return "disaggregated prefill/decode serving is not modelled"
    if "MTP" in notes or "speculative" in notes.lower():
        return "speculative decoding (MTP) is not modelled"
    if (row.get("gpu") or "").lower() == "cpu" or "truncated:" in notes or "widths scaled" in notes:
        return "a CPU or shrunken-model run (infercast measure --device cpu): a test of the tool, not of a catalog chip"
    if row["metric"].endswith("_p99"):
        return "a 99th percentile of a Poisson queue; the model predicts means"
    return None


def _choose_tp(row, model, gpu, weights, kv, engine, I, O, n, assumptions):
    best = None
    for tp in (1, 2, 4, 8):
        if tp > n or n % tp:
            continue
        try:
            dep = deployment(model, gpu, tp=tp, weights=weights, kv=kv, engine=engine, strict_engine=False)
        except InfercastError:
            continue
        c, _ = max_concurrency(dep, I, O)
        if float(c) < 1:
            continue
        thr = float(continuous(dep, I, O, c)["output_tok_s_per_gpu"])
        if best is None or thr > best[1]:
            best = (tp, thr)
    if best is None:
        return None
    assumptions.append(f"tp={best[0]} assumed (not stated): the degree with the highest predicted "
                       f"per-GPU throughput among those that fit, as a tuned submission would choose")
    return best[0]


def source_facts(rows: list[dict]) -> dict[str, set[str]]:
    """Facts a source states once and that hold for all its rows (e.g. 'single instance' on 8 GPUs)."""
    facts: dict[str, set[str]] = {}
    for r in rows:
        src = (r.get("source") or "").split(" ")[0]
        if re.search(r"single .{0,40}instance", r.get("notes") or ""):
            facts.setdefault(src, set()).add("single-instance")
    return facts


def predict_row(row: dict, profile=None, facts: dict[str, set[str]] | None = None,
                speed_of_light: bool = False) -> RowResult:
    fam = family_of(row["id"])
    res = RowResult(id=row["id"], family=fam, metric=row["metric"], measured=float(row["value"]),
                    predicted=None, status="", model=row.get("model", ""), gpu=row.get("gpu", ""))
    why = _not_comparable(row)
    if why:
        res.status = f"not comparable: {why}"
        return res
    a = res.assumptions
    try:
        I, O, why = _lengths(row, a)
        if why:
            res.status = f"not comparable: {why}"
            return res
        if I is None or (O is None and row["metric"] not in ("prefill_ms", "ttft_ms_mean")):
            res.status = "not comparable: input/output lengths not stated"
            return res
        O = O if O else 1.0
        n = int(_num(row.get("num_gpus")) or 1)
        weights = _weights_default(row, a)
        kv = (row.get("kv_cache") or "").strip().lower() or None
        engine = row.get("engine") or None
        notes = row.get("notes") or ""
        tp = _num(row.get("tp"))
        pp = int(_num(row.get("pp")) or 1)
        ep = int(_num(row.get("ep")) or 1)
        attn_dp = "attention dp" in notes.lower()
        if attn_dp:  # attention data-parallel, experts over the EP group
            a.append("attention data-parallel: tp=1 for attention, experts split over ep")
            tp, ep = 1, int(ep or n)
        src_facts = (facts or {}).get((row.get("source") or "").split(" ")[0], set())
        if tp is None and (re.search(r"single .{0,40}instance", notes) or "single-instance" in src_facts):
            tp = n
            a.append(f"tp={n}: one model instance across all {n} GPUs (the source says so)")
        if tp is None:
            tp = _choose_tp(row, row["model"], row["gpu"], weights, kv, engine, I, O, n // pp, a)
            if tp is None:
                res.status = "not comparable: the model does not fit on these GPUs at any TP"
                return res
        tp = int(tp)
        prof = profile if _profile_applies(profile, row["gpu"]) else None
        if prof is not None:
            a.append("calibration profile applied")
        dep = deployment(row["model"], row["gpu"], tp=tp, pp=pp, ep=ep, weights=weights, kv=kv,
                         engine=engine, profile=prof, speed_of_light=speed_of_light, strict_engine=False)
        if not dep.engine.gqa_kv_reuse and not dep.model.mla and dep.model.kv_heads < dep.model.heads:
            a.append(f"{dep.engine.name} {dep.engine.version}: before 0.7 its decode kernel read the KV cache once per "
                     f"query head ({dep.model.heads // dep.model.kv_heads}x the bytes of a GQA-aware kernel)")
        if engine and dep.engine.name == "other" and not any(x in engine.lower() for x in dep.engine.aliases):
            a.append(f"engine '{engine}' has no profile: the generic 'other' engine profile is used")
        replicas = max(1, n // dep.gpus)
        scen = (row.get("scenario") or "").lower()
        metric = row["metric"]
        conc = _num(row.get("concurrency"))
        cap = _ints(r"gpu_batch_size (\d+)", notes)
        cmax, lim = max_concurrency(dep, I, O)
        cmax = float(cmax)
        if cap:
            a.append(f"batch capped at the config's gpu_batch_size {cap}")
            cmax = min(cmax, float(cap))
        if cmax < 1:
            res.status = "not comparable: the model does not fit at this configuration"
            return res

        if scen in ("min-latency", "latency", "single-request", "latency-bs1") and metric != "ttft_ms_mean":
            c1 = conc / replicas if conc else 1.0
            a.append(f"min-latency: {c1:.0f} request(s) in flight per replica, continuous batching")
            res.predicted = _metric(continuous(dep, I, O, c1), metric)
        elif scen in ("decode-step",):
            st = _step(dep, int(conc or 1), I)
            res.predicted = st * 1e3
        elif scen in ("prefill-step",):
            t, _ = prefill_time(dep, I, conc or 1)
            res.predicted = float(t) * 1e3
        elif scen in ("latency-bs1",) or (metric == "ttft_ms_mean" and scen == "fixed-batch"):
            t, _ = prefill_time(dep, I, conc or 1)
            res.predicted = float(t) * 1e3
        elif scen == "fixed-batch":
            if conc is None:  # "batch = largest power of 2 that fits"
                b = 2 ** int(np.floor(np.log2(cmax)))
                a.append(f"batch {b}: largest power of 2 that fits (source states the rule, not the size)")
            else:
                b = conc / replicas
            b = min(b, cmax)
            r = static_batch(dep, I, O, b)
            res.predicted = _metric(r, metric)
        elif scen.startswith("server-qps-"):
            rate = scen.split("-")[-1]
            total = _ints(r"(\d+) requests", notes) or 500
            r = _qps(dep, I, O, rate, replicas, cmax, total, a)
            res.predicted = _metric(r, metric)
        elif scen == "server":
            ttft_lim = (_ints(r"TTFT p99<=(\d+)ms", notes) or 2000) / 1e3
            tpot_lim = (_ints(r"TPOT p99<=(\d+)ms", notes) or 200) / 1e3
            c = best_under_p99(dep, I, O, tpot_max=tpot_lim, ttft_max=ttft_lim, max_c=cmax)
            if c is None:
                res.status = "not comparable: no batch meets the latency limits in the model"
                return res
            a.append(f"MLPerf server: Poisson arrivals; largest mean batch ({c:.0f} per replica) whose 99th-"
                     f"percentile occupancy fits in memory and meets TPOT <= {tpot_lim * 1e3:.0f} ms and "
                     f"TTFT <= {ttft_lim:.0f} s")
            res.predicted = _metric(continuous(dep, I, O, c), metric)
        elif scen in ("offline", "offline-max-throughput"):
            c = cmax if conc is None else min(conc / replicas, cmax)
            if metric.startswith("ttft") or metric == "request_latency_s_mean":
                total = _ints(r"(\d+) (?:requests|prompts|samples)", notes)
                if not total:
                    res.status = ("not comparable: latency of an offline queue depends on how many requests "
                                  "were queued, which the source does not state")
                    return res
                res.predicted = _metric(_qps(dep, I, O, "INF", replicas, cmax, total, a), metric)
            else:
                res.predicted = _metric(continuous(dep, I, O, c), metric)
        else:
            res.status = f"not comparable: scenario '{scen}' is not modelled"
            return res
        if res.predicted is None:
            res.status = f"not comparable: metric '{metric}' is not predicted"
            return res
        res.status = "compared"
    except UnknownIdError as e:
        res.status = f"not comparable: {e}"
    except InfercastError as e:
        res.status = f"not comparable: {e}"
    return res


def _profile_applies(profile, gpu: str) -> bool:
    """A profile measured one card: apply it only to rows of that catalog chip."""
    if profile is None:
        return False
    from infercast.specs.hardware import get_chip
    from infercast.specs.profile import load as load_profile

    prof = profile if isinstance(profile, dict) else load_profile(profile)
    cid = prof.get("catalog_id")
    try:
        return cid is None or get_chip(cid).id == get_chip(gpu).id
    except InfercastError:
        return False


def _step(dep, batch, ctx):
    from infercast.engine.step import step_time

    return float(step_time(dep, decode_seqs=batch, decode_ctx=ctx)["total"]) * dep.pp


def _metric(r: dict, metric: str) -> float | None:
    f = lambda k: float(np.asarray(r[k]).reshape(-1)[0])  # noqa: E731
    return {
        "output_tok_per_s_per_gpu": lambda: f("output_tok_s_per_gpu"),
        "input_tok_per_s_per_gpu": lambda: f("input_tok_s_per_gpu"),
        "tokens_per_s_per_user": lambda: f("tokens_per_s_per_user"),
        "tpot_ms_mean": lambda: f("tpot_s") * 1e3,
        "itl_ms_mean": lambda: f("tpot_s") * 1e3,
        "ttft_ms_mean": lambda: f("ttft_s") * 1e3,
        "request_latency_s_mean": lambda: f("e2e_s"),
        "decode_step_ms": lambda: f("tpot_s") * 1e3,
        "prefill_ms": lambda: f("ttft_s") * 1e3,
    }.get(metric, lambda: None)()


def _qps(dep, I, O, rate: str, replicas: int, cmax: float, total: int, assumptions: list[str]) -> dict:
    """Poisson arrivals at `rate` req/s (INF: all at once) on `replicas` replicas.

    Below saturation, Little's law sets the concurrency: C = rate x e2e(C) (fixed point).
    INF: every request is admitted up to the memory limit; the mean TTFT is half the time to
    prefill the admitted prompts (they are served in arrival order, in chunks).
    """
    if rate.upper() == "INF":
        c = min(cmax, total / replicas)
        r = continuous(dep, I, O, c)
        t_all, _ = prefill_time(dep, I, c)
        r = dict(r)
        r["ttft_s"] = np.asarray(float(t_all) / 2 + float(r["tpot_s"]))
        assumptions.append(f"QPS=INF: {total} requests at once, {c:.0f} in flight per replica")
        return r
    lam = float(rate) / replicas
    c = 1.0
    for _ in range(60):
        r = continuous(dep, I, O, c)
        c_new = min(cmax, lam * float(r["e2e_s"]))
        if abs(c_new - c) < 1e-3 * max(c, 1):
            break
        c = 0.5 * (c + c_new)
    r = continuous(dep, I, O, c)
    gpus_per_replica = dep.gpus
    out_cap = float(r["output_tok_s_per_gpu"])
    out_rate = lam * O / gpus_per_replica
    r = dict(r)
    r["output_tok_s_per_gpu"] = np.asarray(min(out_rate, out_cap))
    assumptions.append(f"QPS={rate}: Little's law gives {c:.1f} requests in flight per replica")
    return r


REQUIRED_COLUMNS = ("id", "model", "gpu", "metric", "value")
# numeric columns: (lowest, highest, whole number); an empty cell means "not stated"
NUMERIC_COLUMNS: dict[str, tuple[float, float, bool]] = {
    "num_gpus": (1, MAX_GPUS, True), "tp": (1, MAX_DEGREE, True), "pp": (1, MAX_DEGREE, True),
    "ep": (1, MAX_DEGREE, True), "input_len": (1, MAX_TOKENS, True), "output_len": (0, MAX_TOKENS, True),
    "concurrency": (1e-3, 1e9, False), "value": (1e-9, 1e15, False),
}
MAX_ROWS = 10_000  # each row is a few model evaluations: about a minute for the largest file


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


def read_rows(path: str | Path) -> list[dict]:
    """The rows of a measured CSV, each checked: required cells present, numbers finite and in range.
    A problem names the line and column (the file's own terms) and is an error about the input `data`;
    in the shipped measured set it is a damaged installation."""
    if Path(path) == default_data_path():
        from infercast.errors import DamagedInstallError
        from infercast.specs.store import read_data_text

        try:
            return _parse_rows(read_data_text("measured/measured-dev.csv"), "measured-dev.csv")
        except DamagedInstallError:
            raise
        except InfercastError as e:
            raise DamagedInstallError("measured/measured-dev.csv", e.message) from None
    return _parse_rows(read_text(path, field="data", what="CSV file"), shown(path))


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
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise InfercastError(f"{where} has more than {MAX_ROWS:,} rows", field="data")
    except csv.Error as e:
        raise InfercastError(f"{where} line {reader.line_num} is not valid CSV: {e}", field="data") from None
    if not rows:
        raise InfercastError(f"{where} has no data rows", field="data")
    return rows


def summarise(results: list[RowResult]) -> dict:
    comp = [r for r in results if r.status == "compared"]

    def stats(rs):
        e = np.abs([r.error for r in rs])
        if not len(e):
            return {"compared": 0, "median_abs_error": None, "p90_abs_error": None, "median_signed_error": None}
        return {"compared": len(rs), "median_abs_error": float(np.median(e)),
                "p90_abs_error": float(np.percentile(e, 90)),
                "median_signed_error": float(np.median([r.error for r in rs]))}

    fams = sorted({r.family for r in results})
    by_family = {}
    for f in fams:
        rs = [r for r in comp if r.family == f]
        s = stats(rs)
        s["not_comparable"] = sum(1 for r in results if r.family == f and r.status != "compared")
        by_family[f] = s
    overall = stats(comp)
    return {"compared": overall["compared"], "not_comparable": len(results) - len(comp),
            "median_abs_error": overall["median_abs_error"], "p90_abs_error": overall["p90_abs_error"],
            "median_signed_error": overall["median_signed_error"], "by_family": by_family}


def validate(path: str | Path | None = None, profile=None, speed_of_light: bool = False) -> tuple[dict, list[RowResult]]:
    rows = read_rows(path or default_data_path())
    facts = source_facts(rows)
    if profile is not None and not isinstance(profile, dict):
        from infercast.specs.profile import load as load_profile

        profile = load_profile(profile)
    results = [predict_row(r, profile=profile, facts=facts, speed_of_light=speed_of_light) for r in rows]
    return summarise(results), results
