"""Convert aiconfigurator-core's measured end-to-end rows into infercast's measured-CSV schema.

    .venv/bin/python benchmarks/import_aic_silicon.py          # write data/measured/aic-silicon.csv
    .venv/bin/python benchmarks/import_aic_silicon.py --check  # fail if the committed file is stale

Input: `aiconfigurator_core/systems/silicon_sample.csv` from the installed aiconfigurator-core
package (Apache-2.0, NVIDIA; the `kernels` extra pins 0.12.0). Each input row is one benchmark
point (mean TTFT and TPOT at one concurrency); it becomes two rows here (`ttft_ms_mean`,
`tpot_ms_mean`), ids AIC-00001... in input order.

What the input columns mean (read in ai-dynamo/aiconfigurator: docs/cli_user_guide.md "Estimate
mode" and "Worker setup"; tools/accuracy_regression_testing/predict_silicon_sample.py, which feeds
each row to `cli_estimate`; docs/design/prediction_regression_gate_design.md §2.5):
- `batch_size` is the per-worker batch `cli_estimate --batch-size` takes; with attention data
  parallelism it is per attention-DP rank. `silicon_concurrency` (in `silicon_data_source`) is the
  number of concurrent clients of the measured deployment: batch_size x attention_dp_size for an
  aggregated worker, decode_batch_size x decode_num_workers x decode_attention_dp_size for a
  disaggregated one (checked below; rows where it does not hold are left out and counted).
- GPUs per worker = tp x pp x attention_dp (= moe_tp x moe_ep x pp for MoE models); a
  disaggregated replica = prefill workers x their GPUs + decode workers x theirs.
- Expert parallelism runs inside the GPUs of the worker's TP (or attention-DP) group in TensorRT-LLM,
  SGLang and vLLM. Some MoE rows write the product instead: tp_size (or attention_dp_size) = T x E
  with moe_tp = moe_ep = T (e.g. tp 64 on an 8-GPU B200 node). The dump says which reading is right:
  the product-form rows that have a twin (the same measurement, TTFT and TPOT to 9 significant
  digits, under another id) all have one whose columns read tp T (or attention-DP T) and moe_ep E on
  T GPUs, and the ids of the 2026-04-06 dump name that shape (`..._tp8_ep8_920`). So product-form rows
  are read that way (`_product_shape`). vLLM rows whose columns multiply differently (tp T, dp E,
  moe_ep T x E) are read as written: their twins read the same.
- The same measurement listed under several ids counts once: the first id whose columns are not in
  the product form, else the first (`_representatives`).
- `precision` is the run's label; `gemm_quant_mode` / `moe_quant_mode` are the quantisation of the
  dense GEMMs and of the MoE experts (fp8, fp8_block, nvfp4, int4_wo = int4 weight-only).

Reserved data left out (`reserved`): most of the file is InferenceX results, which this project must not use
as data or to choose anything. Only NVIDIA's own gap-analysis runs are kept: rows whose `silicon_data_source`
names a job of NVIDIA's GPU test lab (`gtl_job_id=`) or a file of the `aic-auto-gap-analysis` project. Read
from the rows themselves:
- `db-dump/...; config_id=...; workflow_run_id=...; <image>` is a dump of InferenceX's database: its schema
  (SemiAnalysisAI/InferenceX-app, packages/db/migrations/001_initial_schema.sql) keys `benchmark_results` by
  `workflow_run_id` (a GitHub Actions run) and `config_id`, with `isl`, `osl`, `conc`, `image` and `date`, and
  the ids are InferenceX's config names (`dsr1_b200_trtllm_fp8_..._cfg75`);
- `source_file=2026-03-25.csv` / `2026-04-06.csv` and the Qwen3.5 / Kimi-K2.5 gap-analysis files measure
  InferenceX's grid (ISL/OSL 1024/1024, 1024/8192, 8192/1024 over concurrency sweeps) with its images, models
  and `wip` flags; NVIDIA's aisimulate reads the same InferenceX tables for its accuracy campaign
  (scripts/e2e_accuracy: `InferenceXSource`, github.com/SemiAnalysisAI/InferenceX).
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from importlib import metadata, resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "infercast" / "data" / "measured" / "aic-silicon.csv"

COLUMNS = ["id", "source", "date", "engine", "model", "weights", "kv_cache", "gpu", "num_gpus", "tp", "pp", "ep",
           "scenario", "input_len", "output_len", "concurrency", "metric", "value", "unit",
           "dp", "spec_method", "spec_tokens", "spec_accept", "spec_draft", "disagg", "range_ratio", "prefix_hit",
           "notes"]

# aiconfigurator system name -> infercast chip id (data/chips.json)
GPU = {"h100_sxm": "h100-sxm", "h200_sxm": "h200-sxm", "b200_sxm": "b200", "b300_sxm": "b300",
       "gb200": "gb200", "gb300": "gb300"}

# HF id -> infercast model id. Models absent here keep their HF id (see NOT_IN_CATALOG).
MODEL = {
    "deepseek-ai/DeepSeek-R1": "deepseek-r1", "nvidia/DeepSeek-R1-NVFP4": "deepseek-r1",
    "deepseek-ai/DeepSeek-V3": "deepseek-v3",
    "openai/gpt-oss-120b": "gpt-oss-120b",
    "meta-llama/Llama-3.1-70B": "llama-3.1-70b",
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b", "nvidia/Llama-3.1-8B-Instruct-FP8": "llama-3.1-8b",
    "Qwen/Qwen3-32B": "qwen3-32b", "nvidia/Qwen3-32B-NVFP4": "qwen3-32b",
    "Qwen/Qwen3-235B-A22B-FP8": "qwen3-235b-a22b",
    "MiniMaxAI/MiniMax-M2.5": "minimax-m2.5",
}
NOT_IN_CATALOG = {
    "nvidia/DeepSeek-V3.1-NVFP4": "not in the infercast catalog (DeepSeek-V3's shape): its rows in 0.12.0 are all left "
                                  "out for incomplete parallel fields",
    "Qwen/Qwen3.5-397B-A17B": "not in the infercast catalog: 3 of 4 layers are Gated DeltaNet linear attention, "
                              "which ModelSpec cannot express",
    "zhipuai/GLM-5": "not in the infercast catalog: MLA with DeepSeek Sparse Attention (an indexer picks 2048 keys), "
                     "which ModelSpec cannot express",
    "moonshotai/Kimi-K2.5": "not in the infercast catalog: DeepSeek-V3-like shape (MLA, 384 experts), but the derived "
                            "1.026T parameters differ from the published 1T / 1.04T by more than the catalog's 1% check",
}
MOE = {"deepseek-r1", "deepseek-v3", "nvidia/DeepSeek-V3.1-NVFP4", "gpt-oss-120b", "qwen3-235b-a22b", "minimax-m2.5",
       "Qwen/Qwen3.5-397B-A17B", "zhipuai/GLM-5", "moonshotai/Kimi-K2.5"}

QUANT = {"fp8": "fp8", "fp8_block": "fp8", "nvfp4": "fp4", "int4_wo": "int4", "bf16": "bf16", "fp4": "fp4",
         "int4": "int4"}
ENGINE_NAME = {"trtllm": "TensorRT-LLM", "vllm": "vLLM", "sglang": "SGLang"}


def _source_fields(text: str) -> tuple[str, dict[str, str]]:
    """`silicon_data_source`: a dump name or `source_file=...`, then `key=value` pairs split by ';'."""
    parts = [p.strip() for p in text.split(";")]
    kv = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in parts if "=" in p)}
    origin = kv.get("source_file") or parts[0]
    return origin, kv


def _engine(row: dict, kv: dict) -> tuple[str, str]:
    """Engine string with the release the image names; the Dynamo runtime containers do not state the engine's."""
    name = ENGINE_NAME[row["backend"]]
    image = kv.get("image", "").replace("nvcr.io#", "nvcr.io/")
    tag = image.rpartition(":")[2] if image else row["backend_version"]
    dynamo = "ai-dynamo/" in image or (not image and row["backend"] == "trtllm" and tag.startswith("0."))
    if dynamo:  # TensorRT-LLM's own 0.x line ended in 2025; 0.x tags measured in 2026 are Dynamo containers
        return f"{name} (NVIDIA Dynamo runtime container {tag}; engine release not stated)", image
    m = re.match(r"v?(\d+\.\d+(?:\.\d+)?(?:rc\d+)?(?:\.post\d+)?(?:-dev\.\d+)?)", tag or "")
    if m:
        return f"{name} {m.group(1)}", image
    if tag:  # a named build (nightly, gpt-oss-dev, glm5-hopper)
        return f"{name} (build {tag})", image
    return f"{name} (release not stated)", image


def _int(s: str) -> int | None:
    s = (s or "").strip()
    return int(float(s)) if s else None


def _shape(t, p, d, e) -> str:
    s = f"tp{t}"
    if p and p > 1:
        s += f"pp{p}"
    if d and d > 1:
        s += f"dp{d}"
    if e and e > 1:
        s += f"ep{e}"
    return s


def _product_shape(t: int, d: int, mt: int | None, me: int | None) -> tuple[int, int, int] | None:
    """(tp, attention_dp, ep) of a row whose columns write T x E GPUs for an engine run with TP (or attention-DP) T
    and EP E on T GPUs: moe_tp = moe_ep = T and tp x attention_dp = T x E (module doc); None for any other row."""
    if mt is not None and mt == me and mt > 1 and t * d == mt * me and 1 in (t, d):
        return (mt, 1, me) if d == 1 else (1, mt, me)
    return None


def _measurement(r: dict) -> tuple:
    """What identifies one benchmark point regardless of the id it is listed under."""
    # not the model: the dump names one DeepSeek run's model V3 under one id and R1 under its twin
    same = tuple(r[k] for k in ("system", "backend", "mode", "isl", "osl"))
    return same + tuple(f"{float(r[k]):.9g}" for k in ("silicon_ttft_ms", "silicon_tpot_ms"))  # dumps differ in the 16th


def _reading(r: dict) -> int:
    """1 when a row's parallel columns are in the product form (`_product_shape`), else 0."""
    t, d = _int(r["tp_size"]) or 1, _int(r["attention_dp_size"]) or 1
    return int(_product_shape(t, d, _int(r["moe_tp_size"]), _int(r["moe_ep_size"])) is not None)


def _representatives(rows: list[dict]) -> dict[tuple, dict]:
    """One row per measurement: of the ids that list it, the first whose columns are not in the product form, else
    the first."""
    best: dict[tuple, dict] = {}
    for r in rows:
        k = _measurement(r)
        if k not in best or _reading(r) < _reading(best[k]):
            best[k] = r
    return best


NVIDIA_OWN = re.compile(r"gtl_job_id=|/aic-auto-gap-analysis/")  # NVIDIA's GPU test lab runs (module doc)
RESERVED_WHY = "InferenceX results (reserved: never used as data); only NVIDIA's own gap-analysis runs are kept"


def reserved(r: dict) -> bool:
    """A row that is not one of NVIDIA's own gap-analysis runs: InferenceX results (module doc)."""
    return NVIDIA_OWN.search(r["silicon_data_source"]) is None


def convert(rows: list[dict], version: str) -> tuple[list[dict], dict[str, list[str]]]:
    out: list[dict] = []
    skipped: dict[str, list[str]] = {}
    skipped[RESERVED_WHY] = [r["id"] for r in rows if reserved(r)]
    rows = [r for r in rows if not reserved(r)]
    keep = _representatives(rows)
    n = 0
    for r in rows:
        if keep[_measurement(r)] is not r:
            skipped.setdefault("the same measurement (TTFT and TPOT to 9 significant digits) as a kept id", []).append(
                r["id"])
            continue
        origin, kv = _source_fields(r["silicon_data_source"])
        conc = _int(kv.get("silicon_concurrency", ""))
        if conc is None:
            skipped.setdefault("concurrency not stated", []).append(r["id"])
            continue
        hf = r["model_path"]
        model = MODEL.get(hf, hf)
        moe = model in MOE
        engine, image = _engine(r, kv)
        gq, mq = r["gemm_quant_mode"], r["moe_quant_mode"]
        wq = (mq if moe else gq) or gq or r["precision"]
        weights = QUANT.get(wq, "") if wq else ""
        where = ("aic-auto-gap-analysis/" + origin.split("/aic-auto-gap-analysis/", 1)[1]
                 if "/aic-auto-gap-analysis/" in origin else origin.rsplit("/", 1)[-1])
        notes = [where + (f" gtl_job_id={kv['gtl_job_id']}" if "gtl_job_id" in kv else ""),
                 f"HF {hf}" + (" (not in the catalog, see README)" if hf in NOT_IN_CATALOG else "")]
        notes.append(f"quant gemm {gq or '-'} moe {mq or '-'}" if (gq or mq) else "quant not stated")
        if image:
            notes.append(f"image {image}")
        if kv.get("dynamo_version"):
            notes.append(f"Dynamo {kv['dynamo_version']}")
        if kv.get("wip") == "True":
            notes.append("wip=True in the dump")
        tp = pp = ep = dp = ""
        disagg = ""
        if r["mode"] == "agg":
            t, p, d = _int(r["tp_size"]) or 1, _int(r["pp_size"]) or 1, _int(r["attention_dp_size"]) or 1
            mt, me = _int(r["moe_tp_size"]), _int(r["moe_ep_size"])
            bs = _int(r["batch_size"])
            shape = _product_shape(t, d, mt, me) if moe else None
            if shape is not None and bs is not None and bs * d == conc:
                notes.append(f"columns give tp x ep = {t * d} GPUs: read as {'tp' if shape[1] == 1 else 'attention-DP'} "
                             f"{shape[0] * shape[1]} with ep {shape[2]} on {shape[0] * shape[1]} GPUs")
                t, d, me = shape
                mt, bs = 1, conc // d
            if bs is None or bs * d != conc:
                skipped.setdefault("concurrency != batch_size x attention_dp_size (parallel fields incomplete)",
                                   []).append(r["id"])
                continue
            if moe and (mt or 1) * (me or 1) != t * d:
                skipped.setdefault("moe_tp x moe_ep != tp x attention_dp (GPU count ambiguous)", []).append(r["id"])
                continue
            gpus = t * p * d
            tp, pp, dp = t, p, d
            if moe:
                ep = me or 1
                if (mt or 1) > 1:
                    notes.append(f"experts TP{mt}xEP{me or 1}")
            notes.append(f"agg, 1 worker, batch {bs} per attention-DP rank")
        else:
            pw, dw = _int(r["prefill_num_workers"]), _int(r["decode_num_workers"])
            ps = [_int(r[f"prefill_{k}"]) or 1 for k in ("tp_size", "pp_size", "attention_dp_size", "moe_ep_size")]
            ds = [_int(r[f"decode_{k}"]) or 1 for k in ("tp_size", "pp_size", "attention_dp_size", "moe_ep_size")]
            pshape, dshape = _shape(*ps), _shape(*ds)
            if pw and dw:
                dbs = _int(r["decode_batch_size"])
                if dbs is None or dbs * dw * ds[2] != conc:
                    skipped.setdefault("concurrency != decode_batch_size x decode workers x decode attention_dp",
                                       []).append(r["id"])
                    continue
                gpus = pw * ps[0] * ps[1] * ps[2] + dw * ds[0] * ds[1] * ds[2]
                disagg = f"prefill:{pw}x{pshape},decode:{dw}x{dshape}"
                notes.append(f"disagg, prefill batch {_int(r['prefill_batch_size'])}, "
                             f"decode batch {dbs} per attention-DP rank")
            else:
                gpus = None
                disagg = f"prefill:?x{pshape},decode:?x{dshape}"
                notes.append("disagg, worker counts and batches not stated: GPU count unknown")
        date = (kv.get("measured") or "")[:10]
        base = {
            "source": f"aiconfigurator-core {version} (Apache-2.0, NVIDIA) systems/silicon_sample.csv id={r['id']}",
            "date": date, "engine": engine, "model": model, "weights": weights, "kv_cache": "",
            "gpu": GPU[r["system"]], "num_gpus": gpus if gpus is not None else "",
            "tp": tp, "pp": pp, "ep": ep, "scenario": "online-fixed-concurrency",
            "input_len": _int(r["isl"]), "output_len": _int(r["osl"]), "concurrency": conc,
            "dp": dp, "spec_method": "", "spec_tokens": "", "spec_accept": "", "spec_draft": "",
            "disagg": disagg, "range_ratio": "", "prefix_hit": "", "notes": "; ".join(notes),
        }
        for metric, col in (("ttft_ms_mean", "silicon_ttft_ms"), ("tpot_ms_mean", "silicon_tpot_ms")):
            n += 1
            out.append({"id": f"AIC-{n:05d}", **base, "metric": metric,
                        "value": f"{float(r[col]):.6g}",
                        "unit": "ms"})
    return out, skipped


def render(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed CSV differs from a fresh conversion")
    args = ap.parse_args()
    try:
        version = metadata.version("aiconfigurator-core")
        src = resources.files("aiconfigurator_core").joinpath("systems", "silicon_sample.csv")
    except (metadata.PackageNotFoundError, ModuleNotFoundError):
        print("aiconfigurator-core is not installed: run `make install` (the kernels extra)", file=sys.stderr)
        return 2
    with src.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out, skipped = convert(rows, version)
    text = render(out)
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT.name} is stale: run benchmarks/import_aic_silicon.py", file=sys.stderr)
            return 1
    else:
        OUT.write_text(text)
    kept = len(out) // 2
    print(f"{len(rows)} input rows -> {kept} kept ({len(out)} measured rows), "
          f"{sum(map(len, skipped.values()))} left out")
    for why, ids in skipped.items():
        print(f"  left out ({len(ids)}): {why}: {', '.join(ids[:3])}{' ...' if len(ids) > 3 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
