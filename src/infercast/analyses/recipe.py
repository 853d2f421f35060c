"""Launch recipes: the serving point infercast chose, as commands for vLLM, SGLang and TensorRT-LLM.

`recipe(model, point)` turns a planner point (tp, pp, ep, dp, precision, KV precision, requests in
flight per replica, speculative decoding) into one launch per engine: `vllm serve`, `python -m
sglang.launch_server`, and `trtllm-serve` with its LLM-API options file (YAML). Every flag, config key
and choice used is an argument name the engine documents (data/engine_args.json, with the document
and version each was read from); tests/test_recipe.py checks each emitted name against that list.

Mappings (the shape as each engine names it):

* tensor / pipeline parallel: vLLM --tensor-parallel-size / --pipeline-parallel-size; SGLang
  --tp-size / --pp-size; TensorRT-LLM --tp_size / --pp_size.
* expert parallel over the TP group (ep == tp): vLLM --enable-expert-parallel; SGLang --ep-size;
  TensorRT-LLM --ep_size.
* attention data-parallel (ep = tp x dp): vLLM --data-parallel-size dp with --tensor-parallel-size tp
  and --enable-expert-parallel (experts over tp x dp GPUs); SGLang --tp-size ep --dp-size dp
  --enable-dp-attention --ep-size ep; TensorRT-LLM --tp_size ep --ep_size ep, enable_attention_dp.
* requests in flight: vLLM --max-num-seqs and TensorRT-LLM --max_batch_size per scheduler (per
  attention-DP rank); SGLang --max-running-requests for the server.
* context: input + output tokens of the workload (--max-model-len, --context-length, --max_seq_len).
* token budget per step (chunked prefill): 8,192 tokens, the budget the memory model sizes
  activations for (data/efficiency.json memory source: TensorRT-LLM's default max_num_tokens), or the
  smaller budget per attention group the planner chose for a speed target (`rank_tokens`); SGLang's
  --chunked-prefill-size is the replica's, split over its DP ranks (server_args.py), so it takes dp times that.
* memory for the KV cache: the fraction each engine profile of data/efficiency.json assumes
  (vLLM --gpu-memory-utilization, SGLang --mem-fraction-static, TensorRT-LLM
  --kv_cache_free_gpu_memory_fraction), so the engine holds the batch the estimate assumed.
* KV cache FP8: vLLM --kv-cache-dtype fp8, SGLang fp8_e4m3, TensorRT-LLM kv_cache_config.dtype fp8.
* weights: a precision narrower than the checkpoint's is FP8 quantised online where the engine
  documents it (vLLM and SGLang --quantization fp8); otherwise the recipe says which checkpoint to use.
"""
from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache

from infercast.engine.efficiency import get_engine
from infercast.engine.speculative import Speculation
from infercast.errors import InfercastError
from infercast.specs.model import get_model
from infercast.specs.store import read_json

ENGINES = ("vllm", "sglang", "tensorrt-llm")
TOKEN_BUDGET = 8192  # tokens per step: the budget data/efficiency.json's memory model sizes activations for
CONFIG_FILE = "trtllm-options.yaml"


@lru_cache(maxsize=1)
def engine_args() -> dict:
    """The documented argument names per engine (data/engine_args.json)."""
    return read_json("engine_args.json")["engines"]


@dataclass(frozen=True)
class Launch:
    """One engine's launch: the command (one argument per element), an options file if it reads one."""

    engine: str
    version: str  # the documented version whose argument names the command uses
    argv: tuple[str, ...]
    config_file: str | None = None
    config: dict | None = None
    notes: tuple[str, ...] = ()

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def config_text(self) -> str:
        """The options file as YAML (flat mappings and scalars only)."""
        return "" if not self.config else _yaml(self.config)

    def as_dict(self) -> dict:
        return {"engine": self.engine, "version": self.version, "argv": list(self.argv), "command": self.command,
                "config_file": self.config_file, "config": self.config, "config_text": self.config_text() or None,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class Recipe:
    model: str
    chip: str
    replicas: int
    shape: dict
    launches: tuple[Launch, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {"model": self.model, "chip": self.chip, "replicas": self.replicas, "shape": self.shape,
                "launches": [x.as_dict() for x in self.launches], "notes": list(self.notes)}


def _yaml(d: dict, indent: int = 0) -> str:
    out = []
    for k, v in d.items():
        pad = " " * indent
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out.append(_yaml(v, indent + 2).rstrip("\n"))
        else:
            out.append(f"{pad}{k}: {json.dumps(v)}")
    return "\n".join(out) + "\n"


def hf_repo(model) -> str | None:
    """The Hugging Face repository the catalog read the model's config.json (or card) from, if it names one."""
    m = get_model(model)
    hit = re.match(r"([A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*)\s+(config\.json|model card)", m.params_source)
    return hit.group(1) if hit else None


def _spec_tokens(spec: Speculation) -> int:
    return int(spec.tokens)


def _draft(spec: Speculation, model_id: str) -> str:
    if spec.method == "draft":
        return hf_repo(spec.draft_model) or f"<{spec.draft_model} weights>" if spec.draft_model else "<draft model>"
    return f"<{spec.method.upper()} draft head for {model_id}>"


def _weights_notes(engine: str, precision: str, released: str, online_fp8: bool) -> tuple[list[str], list[str]]:
    """(flags, notes) that make the engine run the weights at `precision` from a checkpoint released at `released`."""
    if precision in (released, "bf16", "fp16") or (precision == "fp4" and released in ("fp4", "mxfp4", "nvfp4")):
        if precision in ("bf16", "fp16") and released not in ("bf16", "fp16", "fp32"):
            return [], [f"the point runs {precision} weights; the released checkpoint is {released}: use a "
                        f"{precision} checkpoint"]
        return [], []
    if precision == "fp8" and online_fp8:
        return ["--quantization", "fp8"], [f"weights quantised to FP8 when loading (the checkpoint is {released}); a "
                                           "pre-quantised FP8 checkpoint (e.g. ModelOpt) loads without the flag"]
    return [], [f"the point runs {precision} weights: serve a {precision} checkpoint of the model (e.g. NVIDIA "
                f"ModelOpt's); {engine} reads the precision from the checkpoint"]


def recipe(model, point: dict, *, chip: str = "", input_len: int, output_len: int, replicas: int = 1,
           spec: Speculation | None = None) -> Recipe:
    """Launch commands for the planner point `point` (keys tp, pp, ep, dp, precision, kv, concurrency, and
    optionally speculative / disaggregated as the planner labels them); `spec` is the speculation the
    point uses when its label says it speculates."""
    m = get_model(model)
    if point.get("disaggregated"):
        raise InfercastError("a disaggregated point needs separate prefill and decode servers and a router; recipes "
                             "cover aggregated serving only", field="disaggregated")
    if point.get("speculative") and spec is None:
        raise InfercastError("the point speculates: give the speculation it uses", field="spec_method")
    if not point.get("speculative"):
        spec = None
    tp, pp, ep = int(point["tp"]), int(point["pp"]), int(point.get("ep", 1) or 1)
    dp = int(point.get("dp", 1) or 1)
    chosen = point.get("rank_tokens") is not None  # a step budget the planner chose (or given), per attention group
    budget = int(point["rank_tokens"]) if chosen else TOKEN_BUDGET
    # SGLang's chunked-prefill-size is the replica's, split over its DP ranks (server_args.py)
    sglang_chunk = budget * dp if chosen else TOKEN_BUDGET
    conc = float(point["concurrency"])
    context = int(input_len) + int(output_len)
    prec, kv = str(point["precision"]), str(point.get("kv") or "bf16")
    repo = hf_repo(m)
    path = repo or f"<path to {m.id} weights>"
    shape = {"tp": tp, "pp": pp, "ep": ep, "dp": dp, "precision": prec, "kv": kv,
             "gpus_per_replica": max(tp, ep) * pp, "requests_in_flight_per_replica": conc}
    notes = [f"one replica of {shape['gpus_per_replica']} GPUs; run {replicas} behind a load balancer"
             if replicas > 1 else f"one replica of {shape['gpus_per_replica']} GPUs"]
    if repo is None:
        notes.append(f"{m.id} names no Hugging Face repository in the catalog: replace the model path")
    if pp > 1:
        notes.append(f"{conc:,.0f} requests in flight per replica are spread over its {pp} pipeline stages "
                     "(one micro-batch per stage)")
    if point.get("engine"):
        notes.append(f"batch sizes are the {point['engine']} profile's operating point; another engine's scheduler may "
                     "hold a different batch at the same latency (estimate with its engine profile to compare)")
    if chosen:
        notes.append(f"step budget {budget:,} tokens per attention group instead of {TOKEN_BUDGET:,}"
                     + (": prompts are chunked finer so that a step carrying one still meets the speed target (TTFT "
                        "grows)" if budget < TOKEN_BUDGET else ""))
    launches = (_vllm(m, path, tp, pp, ep, dp, conc, context, prec, kv, spec, budget),
                _sglang(m, path, tp, pp, ep, dp, conc, context, prec, kv, spec, sglang_chunk),
                _trtllm(m, path, tp, pp, ep, dp, conc, context, prec, kv, spec, budget))
    return Recipe(model=m.id, chip=chip, replicas=replicas, shape=shape, launches=launches, notes=tuple(notes))


def _per_rank(conc: float, dp: int) -> int:
    return max(1, math.ceil(conc / max(dp, 1) - 1e-9))


def _vllm(m, path, tp, pp, ep, dp, conc, context, prec, kv, spec, budget=TOKEN_BUDGET) -> Launch:
    doc = engine_args()["vllm"]
    a = list(doc["command"]) + [path, "--tensor-parallel-size", str(tp)]
    if pp > 1:
        a += ["--pipeline-parallel-size", str(pp)]
    if dp > 1:
        a += ["--data-parallel-size", str(dp)]
    if ep > 1:
        a += ["--enable-expert-parallel"]
    flags, notes = _weights_notes("vLLM", prec, m.dtype, online_fp8=True)
    a += flags
    if kv == "fp8":
        a += ["--kv-cache-dtype", "fp8"]
    a += ["--max-model-len", str(context), "--max-num-seqs", str(_per_rank(conc, dp)),
          "--enable-chunked-prefill", "--max-num-batched-tokens", str(budget),
          "--gpu-memory-utilization", f"{get_engine('vllm').kv_fraction:g}"]
    if spec is not None:
        method = {"mtp": "mtp", "eagle": "eagle", "eagle3": "eagle3", "draft": "draft_model", "ngram": "ngram"}[spec.method]
        cfg: dict = {"method": method, "num_speculative_tokens": _spec_tokens(spec)}
        if spec.method in ("eagle", "eagle3", "draft"):
            cfg["model"] = _draft(spec, m.id)
        if spec.method == "ngram":
            cfg["prompt_lookup_max"] = 4
        a += ["--speculative-config", json.dumps(cfg)]
    if dp > 1:
        notes.append(f"--max-num-seqs is per data-parallel rank: {dp} ranks x {_per_rank(conc, dp)}")
    return Launch("vllm", doc["version"], tuple(a), notes=tuple(notes))


def _sglang(m, path, tp, pp, ep, dp, conc, context, prec, kv, spec, chunk=TOKEN_BUDGET) -> Launch:
    """`chunk`: --chunked-prefill-size, the replica's step budget (SGLang splits it over its DP ranks)."""
    doc = engine_args()["sglang"]
    width = max(tp, ep)
    a = list(doc["command"]) + ["--model-path", path, "--tp-size", str(width)]
    if pp > 1:
        a += ["--pp-size", str(pp)]
    if dp > 1:
        a += ["--dp-size", str(dp), "--enable-dp-attention"]
    if ep > 1:
        a += ["--ep-size", str(ep)]
    flags, notes = _weights_notes("SGLang", prec, m.dtype, online_fp8=True)
    a += flags
    if kv == "fp8":
        a += ["--kv-cache-dtype", "fp8_e4m3"]
    a += ["--context-length", str(context), "--max-running-requests", str(max(1, math.ceil(conc - 1e-9))),
          "--chunked-prefill-size", str(chunk), "--mem-fraction-static", f"{get_engine('sglang').kv_fraction:g}"]
    if spec is not None:
        algo = {"mtp": "NEXTN", "eagle": "EAGLE", "eagle3": "EAGLE3", "draft": "STANDALONE", "ngram": "NGRAM"}[spec.method]
        k = _spec_tokens(spec)
        a += ["--speculative-algorithm", algo]
        if spec.method in ("eagle", "eagle3", "draft"):
            a += ["--speculative-draft-model-path", _draft(spec, m.id)]
        if spec.method != "ngram":
            a += ["--speculative-num-steps", str(k), "--speculative-eagle-topk", "1"]
        a += ["--speculative-num-draft-tokens", str(k + 1)]
    return Launch("sglang", doc["version"], tuple(a), notes=tuple(notes))


def _trtllm(m, path, tp, pp, ep, dp, conc, context, prec, kv, spec, budget=TOKEN_BUDGET) -> Launch:
    doc = engine_args()["tensorrt-llm"]
    width = max(tp, ep)
    a = list(doc["command"]) + [path, "--backend", "pytorch", "--tp_size", str(width)]
    if pp > 1:
        a += ["--pp_size", str(pp)]
    if ep > 1:
        a += ["--ep_size", str(ep)]
    a += ["--max_batch_size", str(_per_rank(conc, dp)), "--max_num_tokens", str(budget),
          "--max_seq_len", str(context), "--kv_cache_free_gpu_memory_fraction",
          f"{get_engine('tensorrt-llm').kv_fraction:g}", "--extra_llm_api_options", CONFIG_FILE]
    cfg: dict = {"enable_chunked_prefill": True}
    if dp > 1:
        cfg["enable_attention_dp"] = True
    if kv == "fp8":
        cfg["kv_cache_config"] = {"dtype": "fp8"}
    if spec is not None:
        k = _spec_tokens(spec)
        if spec.method == "mtp":
            cfg["speculative_config"] = {"decoding_type": "MTP", "num_nextn_predict_layers": k}
        elif spec.method == "ngram":
            cfg["speculative_config"] = {"decoding_type": "NGram", "max_draft_len": k}
        else:
            cfg["speculative_config"] = {"decoding_type": {"eagle": "Eagle", "eagle3": "Eagle3",
                                                           "draft": "Draft_Target"}[spec.method],
                                         "max_draft_len": k, "speculative_model": _draft(spec, m.id)}
    _, notes = _weights_notes("TensorRT-LLM", prec, m.dtype, online_fp8=False)
    if dp > 1:
        notes.append(f"--max_batch_size is per attention-DP rank: {dp} ranks x {_per_rank(conc, dp)}")
    return Launch("tensorrt-llm", doc["version"], tuple(a), CONFIG_FILE, cfg, tuple(notes))


def recipe_for_estimate(e) -> Recipe:
    """The recipe for an `engine.estimate.Estimate` (its shape, precision, KV and batch per replica)."""
    point = {"tp": e.tp, "pp": e.pp, "ep": e.ep, "dp": max(1, e.ep // e.tp) if e.ep > e.tp else 1,
             "precision": e.weights, "kv": e.kv_cache, "concurrency": e.concurrency / e.replicas,
             "engine": e.engine, "rank_tokens": e.rank_tokens}
    return recipe(e.model, point, chip=e.chip, input_len=e.input_len, output_len=e.output_len, replicas=e.replicas)


def recipe_for_sized(part, chip: str, spec: Speculation | None = None) -> Recipe:
    """The recipe for one part of a sizing answer (`analyses.sizing.SizedPart`)."""
    s = part.shape
    point = {"tp": s["tp"], "pp": s["pp"], "ep": s["ep"], "dp": s["dp"], "precision": s["precision"], "kv": s["kv"],
             "concurrency": s["concurrency_per_replica"], "speculative": s["speculative"],
             "disaggregated": s["disaggregated"], "engine": s["engine"], "rank_tokens": s.get("rank_tokens")}
    return recipe(part.model, point, chip=chip, input_len=round(part.demand["input_len"]),
                  output_len=round(part.demand["output_len"]), replicas=part.replicas, spec=spec)


__all__ = ["Launch", "Recipe", "recipe", "recipe_for_estimate", "recipe_for_sized", "engine_args", "hf_repo",
           "ENGINES", "TOKEN_BUDGET"]
