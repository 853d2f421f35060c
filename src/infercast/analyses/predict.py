"""Predict one measured row: the run it describes, the scenario its load followed, the metric it reports.

The deployment comes from what the row states (`analyses.measured.stated`): parallelism, attention
data-parallel, speculative decoding, disaggregated pools, precisions, engine and version. A shape it
does not state is the planner's best among those that use the row's GPUs exactly (replicas of one
shape), as a tuned submission would choose. Means come from the steady-state serving model;
percentiles (p50/p90/p99), closed loops' TTFT and MLPerf server runs from the request-level simulation
(`analyses.row_runs`, `engine.simulate`).

A row the model cannot represent is 'not comparable: <reason>', never dropped or guessed.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from infercast.analyses.measured import Stated, family_of, num, stated
from infercast.analyses.row_runs import (GPU_BATCH, MAX_WHOLE_RUN, PERCENTILE, RUNNING_CAP, SERVER_METRICS, Context,
                                         NotComparable, replica_capacity, requests_sent, server_limits, server_search,
                                         server_shape, sim_metric, simulate_run, windowed)
from infercast.engine import serving as S
from infercast.engine.disagg import Pools, decode_tpot, disaggregated, prefill_rate
from infercast.engine.kernels.source import SIBLINGS
from infercast.engine.step import deployment, step_time
from infercast.errors import InfercastError

Z99 = S.Z99

# Choices made after looking at rows of a source family (each has a source, but was looked for because
# that family missed). The out-of-sample figure predicts each family with the choices its own rows
# prompted switched off (issue #12: leave-one-family-out for anything chosen by looking at rows).
ROW_INFORMED: dict[str, tuple[str, ...]] = {
    "trt-gqa-reread": ("TRTSB", "TRTBLOG"),  # TensorRT-LLM < 0.7 re-reads the KV cache per query head
    "p99-occupancy": ("MLP40", "MLP41"),  # MLPerf server limits checked at the Poisson p99 occupancy
    "pytorch-elementwise": ("OWN",),  # our decoder's unfused elementwise traffic counted from its code
    "pytorch-sdpa-attention": ("OWN",),  # PyTorch SDPA attention, not vLLM's attention tables
    "cdna-stream-scaling": ("OCI", "MLP41"),  # MI300X GEMM streaming scaled from a copy rate
    "pcie-comm-model": ("TRT017", "MLP41"),  # PCIe hosts' collectives from the link model, not tables
    "nim-is-trtllm": ("NIM",),  # NVIDIA NIM's optimised profiles modelled as TensorRT-LLM
    "wide-ep-deepep-tables": ("SGL",),  # attention-DP + EP MoE timed from SGLang's DeepEP tables
    "batch-overlap": ("SGL",),  # two-batch overlap hides the all-to-all behind compute
    # a closed loop's mean TTFT from the request-level simulation (clients' requests arrive together and queue
    # for the token budget): looked for on aiconfigurator's silicon rows (AIC, reported apart) and NIM's TTFT
    "closed-loop-simulated-ttft": ("AIC", "NIM"),
    # an overlap scheduler sends a first token when the step after its prefill ends: looked for on the same rows
    "overlap-first-token": ("AIC", "NIM"),
    # MLPerf server throughput and latencies from the simulated run at the highest rate meeting the p99 limits,
    # looked for because these families' p99 TTFT was under-predicted by half at the analytic model's rate
    "mlperf-server-search": ("MLP40", "MLP41", "MLP50"),
    # an MLPerf server row without a stated shape takes the planner's shape whose simulated server run is best (not
    # the analytic p99's pick): looked for on MLP50's Llama-3.1-405B H200 server rows (-66 % at tp 4)
    "server-shape-search": ("MLP40", "MLP41", "MLP50"),
    # a closed-loop benchmark's latencies cover every request it sent, the first burst of C included (vLLM's and
    # SGLang's bench_serving and AIPerf discard none by default; GenAI-Perf's stable windows are the exception):
    # looked for on aiconfigurator's silicon TTFT (under by 60-90 % at high concurrency; its design doc names the
    # burst) and the TTFT rows of these families
    "closed-loop-start-burst": ("AIC", "NIM", "LAMB", "VLLMB"),
    # a chip NVIDIA did not measure times its compute kernels from its measured sibling's tables (GH200 from the
    # H200's, `kernels.source.SIBLINGS`): looked for on MLP41's GH200 rows, predicted 46 % apart from the H200's
    "sibling-tables": ("MLP41",),
    # Two choices first looked for on rows later found to be reserved (InferenceX results in aiconfigurator's silicon
    # sample), withdrawn, and made again on non-reserved rows alone (docs/validation.md, "Choices withdrawn"):
    # a TensorRT-LLM release older than every MoE table takes aiconfigurator's current one, whose power-law routing the
    # oldest (rc10) does not share (`kernels.moe.CURRENT_ROUTING_ENGINES`): NVIDIA's own Qwen3-235B H100 TensorRT-LLM
    # 1.0 rows, TPOT median |error| 12 -> 6 %; the visible Mixtral rows it moves were looked at too
    "moe-current-routing": ("AIC", "TRT017", "MLP41", "MLP50"),
    # SGLang's scheduler: prefill batches apart from decodes and first, so a closed loop of equal requests stays in
    # lock-step and every round queues like the first burst: NVIDIA's own SGLang rows, TTFT median |error| 62 -> 14 %
    "sglang-prefill-first": ("AIC",),
    # compute-bound kernels at the power-limited clock of a sustained run (efficiency.json `sustained_compute`, measured
    # on our H200: 0.848 of the burst rate): prompted by our own H200 prefills (OWN, 12-19 % under with the card's
    # profile); its effect on every family below was looked at before it was adopted, so it is off for all of them
    # out of sample (visible set in sample 13.2 -> 11.6 %, p90 43.7 -> 37.2 %; AIC 14.7 -> 15.0 %, p90 70.6 -> 73.8 %)
    # each prompt prefilled in one attention-DP group's (or pipeline micro-batch's) batch, the step waiting for the
    # busiest (TensorRT-LLM tech blog 10; `Engine.balanced_batches`): looked for on TensorRT-LLM tech blog 3's
    # DeepSeek-R1 B200 row (TRTTB, +71 % without it), after Blackwell MoE rows of these families ran high too (it
    # moves none of theirs: no attention-DP or pipeline step there mixes prompts into decodes)
    "batch-imbalance": ("TRTTB", "VLLMB", "SGLB", "MLP50"),
    # DeepSeek served in NVFP4 runs its MLA projections in FP8 and o_proj in NVFP4 (models.json `checkpoints`):
    # read from these families' own rows' notes (TRTTB-001, VLLMB-005, SGLB-001), and chosen after seeing their
    # prefill rows move with the checkpoint's BF16 attention (VLLMB-005 +12 -> -18 %)
    "deepseek-fp4-attention": ("TRTTB", "VLLMB", "SGLB"),
    # NVIDIA's MLPerf v5.0 Blackwell Mixtral engine is built from an AutoQuantize checkpoint at 7.25 effective bits,
    # mostly FP8 (measured.AUTOQUANT_FP8), not the all-FP4 its Llama-2-70B submission used: read from the
    # submission's code after MLP50's Mixtral B200 rows ran +94 % as FP4
    "mlperf-autoquant": ("MLP50",),
    # SGLang's static pool (weights + KV) as its own server_args rule of each release sizes it (engine.reserve), not
    # a flat 0.88 of HBM: read in SGLang's code after LAMB's MiniMax-M2.5 rows queued longer than the model's
    "sglang-memory-rule": ("LAMB",),
    # a DSA model's attention block timed as the engine's measured module (kernels.dsa) instead of its operators: the
    # tables were read after DeepSeek-V3.2's prefill row (VLLMB-003, +177 %) had been seen to run fast, so VLLMB is
    # predicted without them out of sample
    "dsa-module-tables": ("VLLMB",),
    # SGLang's separate state pool for hybrid models (memory.hybrid_split), and a run's own --max-running-requests
    # (48 under EAGLE/MTP by default) and --mem-fraction-static read from its notes: looked for after the SGLang
    # cookbook's Qwen3.5 row at concurrency 100 showed a 14 s mean TTFT
    "sglang-hybrid-pools": ("SGLCB",),
    "stated-engine-limits": ("SGLCB",),
    "power-limited-compute": ("OWN", "AIC", "AMDB", "ANTB", "LAMB", "MLP40", "MLP41", "MLP50", "NIM", "OCI", "SGL",
                              "SGLB", "TRT017", "TRTBLOG", "TRTON", "TRTSB", "VLLMB"),
}

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
    scenario: str = ""
    tokens_per_s_per_user: float | None = None  # at the predicted operating point, for interactivity bands
    weights: str = ""
    assumptions: list[str] = field(default_factory=list)

    @property
    def error(self) -> float | None:
        return None if self.predicted is None else self.predicted / self.measured - 1.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["error"] = self.error
        return d


# ----------------------------------------------------------------------------- deployments

def _ablated(dep, ctx: Context):
    """The deployment with the row-informed choices of `ctx.ablate` switched off."""
    eng, eff = dep.engine, dep.eff
    if "trt-gqa-reread" in ctx.ablate and not eng.gqa_kv_reuse:
        eng = replace(eng, gqa_kv_reuse=True)
    if eng.name.startswith("pytorch"):
        if "pytorch-elementwise" in ctx.ablate:
            eng = replace(eng, elementwise_passes=1.0)
        if "pytorch-sdpa-attention" in ctx.ablate:
            eng = replace(eng, table_ops=None, attention_compute={}, attention_reference=None)
    if "wide-ep-deepep-tables" in ctx.ablate:
        eng = replace(eng, wide_ep_tables=False)
    if "dsa-module-tables" in ctx.ablate:
        eng = replace(eng, dsa_module_tables=False)
    if "sglang-hybrid-pools" in ctx.ablate:
        eng = replace(eng, hybrid_pools=False)
    if "moe-current-routing" in ctx.ablate:
        eng = replace(eng, moe_current_routing=False)
    if "sglang-prefill-first" in ctx.ablate and eng.prefill_first:
        eng = replace(eng, prefill_first="")
    if "batch-overlap" in ctx.ablate:
        eng = replace(eng, batch_overlap="")
    if "batch-imbalance" in ctx.ablate:
        eng = replace(eng, balanced_batches=True)
    if "sglang-memory-rule" in ctx.ablate and eng.mem_reserve:
        eng = replace(eng, mem_reserve="")
    if "overlap-first-token" in ctx.ablate and eng.overlap_scheduler:
        eng = replace(eng, overlap_scheduler="")
    if "power-limited-compute" in ctx.ablate:
        eff = replace(eff, sustained_compute=1.0)
    if "cdna-stream-scaling" in ctx.ablate and dep.chip.family.startswith("cdna"):
        eff = replace(eff, weight_stream={k: eff.kv_stream for k in eff.weight_stream})
    if "pcie-comm-model" in ctx.ablate:
        eff = replace(eff, comm_tables_on_pcie=True)
    if "sibling-tables" in ctx.ablate and dep.chip.id in SIBLINGS:
        eff = replace(eff, tables=False)
    model = dep.model
    if "deepseek-fp4-attention" in ctx.ablate and model.family == "deepseek" and "fp4" in model.checkpoints:
        model = model.model_copy(update={"checkpoints": {k: v for k, v in model.checkpoints.items() if k != "fp4"}})
    if eng is dep.engine and eff is dep.eff and model is dep.model:
        return dep
    return replace(dep, engine=eng, eff=eff, model=model)


STATED_BATCH = re.compile(r"\bbatch (\d+) per attention-DP rank")  # the run's configured max batch (AIC rows)
# the run's configured step budget, as the engine's own flag or key names it (SGLang --chunked-prefill-size,
# TensorRT-LLM --max_num_tokens, vLLM --max-num-batched-tokens)
# the run's own SGLang --mem-fraction-static (weights + KV pool as a share of the GPU's memory)
STATED_STATIC = re.compile(r"mem[-_]fraction[-_]static[\s=:]+(0?\.\d+|1(?:\.0*)?)\b")
STATED_BUDGET = re.compile(r"(?:chunked[-_]prefill[-_]size|max[-_]num[-_]tokens|max[-_]num[-_]batched[-_]tokens)"
                           r"[\s=:]+(\d+)", re.IGNORECASE)


def _dep(ctx: Context, row: dict, st: Stated, tp: int, pp: int, ep: int, prof):
    notes = row.get("notes") or ""
    batch = int(m.group(1)) if (m := STATED_BATCH.search(notes)) else None
    budget = int(m.group(1)) if (m := STATED_BUDGET.search(notes)) else None
    static = float(m.group(1)) if (m := STATED_STATIC.search(notes)) and "stated-engine-limits" not in ctx.ablate \
        else None
    key = ("dep", row["model"], row["gpu"], tp, pp, ep, st.weights, st.kv, st.engine, ctx.speed_of_light,
           prof is not None, ctx.ablate, batch, budget, st.balanced, static)
    if key not in ctx.cache:
        engine = st.engine
        if engine and "nim-is-trtllm" in ctx.ablate and "nim" in engine.lower():
            engine = "unprofiled stack"  # the generic profile
        d = deployment(row["model"], row["gpu"], tp=tp, pp=pp, ep=ep, weights=st.weights, kv=st.kv,
                       engine=engine, profile=prof, speed_of_light=ctx.speed_of_light, strict_engine=False)
        if batch:  # the engine's max batch as the run configured it (max_num_seqs / max_batch_size)
            d = replace(d, engine=replace(d.engine, max_batch=batch))
        if budget:  # the step budget as the run configured it
            d = replace(d, engine=replace(d.engine, step_tokens=budget))
        if static and d.engine.mem_reserve:  # the run's own share of memory for weights + KV pool
            d = replace(d, engine=replace(d.engine, mem_reserve=f"fixed:{static:g}"))
        if st.balanced:  # the run balanced its attention-DP ranks (TensorRT-LLM attention_dp_config.enable_balance)
            d = replace(d, engine=replace(d.engine, balanced_batches=True))
        ctx.cache[key] = _ablated(d, ctx)
    return ctx.cache[key]


def _layout(st: Stated, moe: bool, gpus_hint: int) -> tuple[int | None, int, int]:
    """(tp, pp, ep) of one replica from the stated columns; tp None when not stated."""
    pp = st.pp or 1
    tp = st.tp
    if st.dp and st.dp != 1 and moe:  # attention data-parallel: experts over tp x dp GPUs
        if st.dp < 0:  # named without a size: every rank runs its own attention (TensorRT-LLM's attention DP:
            # tp_size ranks, each with attention tp 1), experts over all of them
            return 1, pp, max(st.ep or 1, max(1, gpus_hint // pp))
        tp = tp or 1
        return tp, pp, max(st.ep or 1, tp * st.dp)
    ep = st.ep if (moe and st.ep and st.ep > 1) else 1
    if tp is None and ep > 1:  # experts over ep GPUs, attention not said: the large-scale EP recipe, attention
        st.assumptions.append(f"ep {ep} without a tp: attention data-parallel over the {ep} GPUs (the large-scale "
                              "expert-parallel recipe of SGLang and TensorRT-LLM)")
        return 1, pp, ep
    return tp, pp, ep


def _plan_key(row: dict, st: Stated, n: int):
    """The planner's cache key for a row's shape search, and the targets it plans for."""
    from infercast.engine.planner import Targets

    scen = (row.get("scenario") or "").strip().lower()
    targets = Targets()
    if scen in ("server", "server-interactive"):
        ttft, tpot = server_limits(row, scen)
        targets = Targets(max_ttft=ttft, max_tpot=tpot, percentile=99.0)
    return ("plan", row["model"], row["gpu"], st.weights, st.kv, st.engine, st.input_len, st.output_len, n, st.pp,
            targets), targets


def _plan_shapes(ctx: Context, row: dict, st: Stated, n: int) -> list[tuple[int, int, int]]:
    """Every shape the planner found that uses the row's GPUs, best analytic throughput first (`_planned` ran)."""
    return ctx.cache.get(("shapes",) + _plan_key(row, st, n)[0], [])


def _planned(ctx: Context, row: dict, st: Stated, n: int, a: list[str]) -> tuple[int, int, int]:
    """The planner's best shape among those that use the row's `n` GPUs exactly (whole replicas); for a run held
    to latency limits (MLPerf server, interactive), the best that meets them at their percentile."""
    from infercast.engine.planner import Space, Workload, plan

    key, targets = _plan_key(row, st, n)
    if key not in ctx.cache:
        ctx.cache[key] = None
        engine = st.engine
        if engine:  # a stack without a profile is planned as the generic one, as `_dep` then models it
            from infercast.engine.efficiency import get_engine

            try:
                get_engine(engine)
            except InfercastError:
                engine = "other"
        # engines' own advice: tensor parallel inside a node, pipeline stages only when a replica must span
        # nodes (TensorRT-LLM and vLLM parallelism docs); so stages are tried only when no pp-1 shape fits
        for pps in (((st.pp,) if st.pp > 1 else (1,)), None):
            try:
                p = plan(row["model"], row["gpu"], Workload(int(round(st.input_len)), max(1, int(round(st.output_len)))),
                         targets, Space(precisions=(st.weights,) if st.weights else None, kv=st.kv, engine=engine,
                                          max_gpus=n, pps=pps, points=24), frontiers=False)
            except InfercastError:
                continue
            A = p.arrays
            whole = (n % A["gpus"]) == 0
            ok = whole & (p.meeting() if targets.any else True)
            if whole.any():  # every shape that uses the GPUs, best analytic throughput first
                order = np.flatnonzero(whole)[np.argsort(-A["output_tok_s_per_gpu"][whole], kind="stable")]
                shapes = list(dict.fromkeys((int(A["tp"][i]), int(A["pp"][i]), int(A["ep"][i])) for i in order))
                ctx.cache[("shapes",) + key] = shapes
            if ok.any():
                i = np.flatnonzero(ok)[np.argmax(A["output_tok_s_per_gpu"][ok])]
                ctx.cache[key] = (int(A["tp"][i]), int(A["pp"][i]), int(A["ep"][i]))
                break
    got = ctx.cache[key]
    if got is None:
        raise NotComparable("the model does not fit on these GPUs in any shape that uses them all")
    a.append(f"shape not stated: tp {got[0]} x pp {got[1]}" + (f", ep {got[2]}" if got[2] > 1 else "")
             + " (the planner's best throughput among shapes that use all the GPUs" + (f" and meet {targets.describe()}"
                                                                                      if targets.any else "")
             + ", tensor parallel inside a node first, as a tuned run would choose)")
    return got


def profile_for(profile, gpu: str):
    """The profile (of one, or of several, one per card) that applies to rows of this catalog chip, or None."""
    for p in (profile if isinstance(profile, (list, tuple)) else [profile]):
        if profile_applies(p, gpu):
            return p
    return None


def profile_applies(profile, gpu: str) -> bool:
    """A profile measured one card: apply it only to rows of that catalog chip."""
    if profile is None:
        return False
    from infercast.specs.hardware import get_chip

    cid = profile.get("catalog_id")
    try:
        return cid is None or get_chip(cid).id == get_chip(gpu).id
    except InfercastError:
        return False


# ----------------------------------------------------------------------------- metrics

def _f(r: dict, k: str) -> float:
    return float(np.asarray(r[k]).reshape(-1)[0])


def _metric(r: dict, metric: str, O: float, gpus: int) -> float | None:
    table = {
        "output_tok_per_s_per_gpu": lambda: _f(r, "output_tok_s_per_gpu"),
        "input_tok_per_s_per_gpu": lambda: _f(r, "input_tok_s_per_gpu"),
        "total_tok_per_s_per_gpu": lambda: _f(r, "output_tok_s_per_gpu") + _f(r, "input_tok_s_per_gpu"),
        "tokens_per_s_per_user": lambda: _f(r, "tokens_per_s_per_user"),
        "tpot_ms_mean": lambda: _f(r, "tpot_s") * 1e3,
        "itl_ms_mean": lambda: _f(r, "tpot_s") * 1e3,
        "ttft_ms_mean": lambda: _f(r, "ttft_s") * 1e3,
        "request_latency_s_mean": lambda: _f(r, "e2e_s"),
        "e2e_s_mean": lambda: _f(r, "e2e_s"),
        "requests_per_s": lambda: _f(r, "output_tok_s_per_gpu") * gpus / O,
        "decode_step_ms": lambda: _f(r, "tpot_s") * 1e3,
        "prefill_ms": lambda: _f(r, "ttft_s") * 1e3,
    }
    fn = table.get(metric)
    return fn() if fn else None


# ----------------------------------------------------------------------------- one row

def predict_row(row: dict, ctx: Context | None = None) -> RowResult:
    ctx = ctx or Context()
    fam = family_of(row["id"])
    res = RowResult(id=row["id"], family=fam, metric=row["metric"], measured=float(row["value"]), predicted=None,
                    status="", model=row.get("model", ""), gpu=row.get("gpu", ""),
                    scenario=(row.get("scenario") or "").strip().lower())
    try:
        _predict(row, ctx, res)
        if res.predicted is None:
            res.status = res.status or f"not comparable: metric '{res.metric}' is not predicted"
        elif not np.isfinite(res.predicted) or res.predicted <= 0:
            res.status, res.predicted = "not comparable: the model gives no finite positive value here", None
        else:
            res.status = "compared"
    except NotComparable as e:
        res.status, res.predicted = f"not comparable: {e}", None
    except InfercastError as e:
        res.status, res.predicted = f"not comparable: {e}", None
    if res.tokens_per_s_per_user is not None and not np.isfinite(res.tokens_per_s_per_user):
        res.tokens_per_s_per_user = None  # a degenerate point (e.g. an idle disaggregated pool): no NaN in --json
    return res


def _predict(row: dict, ctx: Context, res: RowResult) -> None:
    a = res.assumptions
    scen, metric = res.scenario, res.metric
    if (row.get("gpu") or "").lower() == "cpu" or "truncated:" in (row.get("notes") or "") \
            or "widths scaled" in (row.get("notes") or ""):
        raise NotComparable("a CPU or shrunken-model run (infercast measure --device cpu): a test of the tool, "
                            "not of a catalog chip")
    if metric == "slo_attainment":
        raise NotComparable("SLO attainment needs the run's request-length distribution, which the row does not give")
    st, why = stated(row, a, autoquant="mlperf-autoquant" not in ctx.ablate)
    if why:
        raise NotComparable(why)
    decode_pool = scen.startswith("decode-only")
    if st.input_len is None or (st.output_len is None and not decode_pool
                                and metric not in ("prefill_ms", "ttft_ms_mean", "input_tok_per_s_per_gpu")):
        raise NotComparable("input/output lengths not stated")
    if st.output_len is None and decode_pool:
        a.append("output length not stated: the decode pool's context is taken as the input length")
        st.output_len = 0.0
    elif st.output_len in (None, 0):
        st.output_len = 1.0
    I, O, n = float(st.input_len), float(st.output_len), st.gpus
    from infercast.specs.model import get_model

    moe = bool(get_model(row["model"]).moe)
    prof = profile_for(ctx.profile, row["gpu"])
    if prof is not None:
        a.append("calibration profile applied")
    if st.prefix_hit:
        a.append(f"prefix-cache hits ({st.prefix_hit:.0%} of prompt tokens) are not modelled in validation")
    if st.disagg or "disaggregated" in scen or scen in ("prefill-only", "decode-only"):
        return _predict_disagg(row, ctx, res, st, I, O, n, moe, prof)
    tp, pp, ep = _layout(st, moe, n)
    notes = row.get("notes") or ""
    if tp is None and (re.search(r"single .{0,40}instance", notes) or "single-instance"
                       in ctx.facts.get((row.get("source") or "").split(" ")[0], set())):
        tp, pp = max(1, n // pp), pp
        a.append(f"tp={tp}: one model instance across all {n} GPUs (the source says so)")
    if tp is None:
        tp, pp, ep = _planned(ctx, row, st, n, a)
        if (scen in ("server", "server-interactive") and metric in SERVER_METRICS
                and not ctx.ablate & {"mlperf-server-search", "server-shape-search"}):
            ttft_lim, tpot_lim = server_limits(row, scen)
            dctx0 = None if st.lengths is None else st.lengths.mean_decode_context
            tp, pp, ep = server_shape(ctx, row, st, [(tp, pp, ep)] + _plan_shapes(ctx, row, st, n),
                                      lambda shape: _dep(ctx, row, st, *shape, prof), st.spec, dctx0, ttft_lim,
                                      tpot_lim, a)
    dep = _dep(ctx, row, st, int(tp), int(pp), int(ep), prof)
    res.weights = dep.weights
    if not dep.engine.gqa_kv_reuse and not dep.model.mla and dep.model.kv_heads < dep.model.heads:
        a.append(f"{dep.engine.name} {dep.engine.version}: before 0.7 its decode kernel read the KV cache once per "
                 f"query head ({dep.model.heads // dep.model.kv_heads}x the bytes of a GQA-aware kernel)")
    if st.engine and dep.engine.name == "other" and not any(x in st.engine.lower() for x in dep.engine.aliases):
        a.append(f"engine '{st.engine}' has no profile: the generic 'other' engine profile is used")
    replicas = max(1, n // dep.gpus)
    if n % dep.gpus:
        a.append(f"{n} GPUs are not whole replicas of {dep.gpus}: {replicas} replica(s) modelled")
    spec = st.spec
    dctx = None if st.lengths is None else st.lengths.mean_decode_context
    conc = st.concurrency
    cmax = replica_capacity(dep, row, st, running_cap="stated-engine-limits" not in ctx.ablate)
    if m := GPU_BATCH.search(notes):
        a.append(f"batch capped at the config's gpu_batch_size {m.group(1)}")
    if (m := RUNNING_CAP.search(notes)) and "stated-engine-limits" not in ctx.ablate:
        a.append(f"running requests capped at the engine's max_running_requests {m.group(1)} (the source's setting)")
    if cmax < 1:
        raise NotComparable("the model does not fit at this configuration")
    gpus = dep.gpus * replicas
    pct = PERCENTILE.match(metric)

    if scen in ("online-fixed-concurrency", "closed-loop"):
        if conc is None:
            raise NotComparable("a fixed-concurrency run without its concurrency")
        c = min(conc / replicas, cmax)
        r = S.continuous(dep, I, O, c, spec=spec, decode_ctx=dctx)
        if conc / replicas > cmax:  # the other clients wait for KV space: Little's law on the closed loop
            r = dict(r)
            lam = c / _f(r, "e2e_s")  # requests/s per replica at the memory limit
            r["ttft_s"] = np.asarray(max(_f(r, "ttft_s"), conc / replicas / lam - (O - 1) * _f(r, "tpot_s")))
            r["e2e_s"] = np.asarray(conc / replicas / lam)
            a.append(f"{conc / replicas:.0f} clients per replica but only {cmax:.0f} fit in memory: the rest queue, "
                     f"TTFT from Little's law on the closed loop")
        res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
        sim_mean = (metric == "ttft_ms_mean" and conc / replicas <= cmax
                    and "closed-loop-simulated-ttft" not in ctx.ablate)
        if pct or sim_mean:
            from infercast.engine import workload as W

            # the clients' requests arrive together and queue for the token budget behind each other: the
            # mean TTFT of a closed loop comes from the request-level simulation, not the smooth-arrival model
            clients = max(1, int(round(c)))
            whole = None
            if "closed-loop-start-burst" not in ctx.ablate and not windowed(row, a):  # clients start together
                whole = max(clients, min(MAX_WHOLE_RUN, int(np.ceil(requests_sent(row, a) / replicas))))
            sim = simulate_run(ctx, dep, st, W.closed_loop(clients), spec, a, whole_run=whole)
            res.predicted = sim_metric(sim, metric) if pct else sim.ttft.mean * 1e3
        else:
            res.predicted = _metric(r, metric, O, gpus)
        return
    if scen in ("min-latency", "latency", "single-request", "latency-bs1") and metric not in ("ttft_ms_mean",
                                                                                               "prefill_ms"):
        c1 = conc / replicas if conc else 1.0
        a.append(f"min-latency: {c1:.0f} request(s) in flight per replica, continuous batching")
        r = S.continuous(dep, I, O, c1, spec=spec, decode_ctx=dctx)
        res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
        res.predicted = _metric(r, metric, O, gpus)
        return
    if scen == "decode-step":
        b = float(conc or 1)
        res.predicted = float(step_time(dep, decode_seqs=b, decode_ctx=I)["latency"]) * 1e3
        res.tokens_per_s_per_user = 1e3 / res.predicted
        return
    if scen in ("prefill-step", "latency-bs1") or (metric == "ttft_ms_mean" and scen in ("fixed-batch", "latency-bs1")):
        t, _ = S.prefill_time(dep, I, conc or 1)
        res.predicted = float(t) * 1e3
        return
    if scen == "fixed-batch":
        if conc is None:  # "batch = largest power of 2 that fits"
            b = 2 ** int(np.floor(np.log2(cmax)))
            a.append(f"batch {b}: largest power of 2 that fits (source states the rule, not the size)")
        else:
            b = conc / replicas
        r = S.static_batch(dep, I, O, min(b, cmax), spec=spec, decode_ctx=dctx)
        res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
        res.predicted = _metric(r, metric, O, gpus)
        return
    if scen.startswith("server-qps-"):
        rate = scen.split("-")[-1]
        total = int(m.group(1)) if (m := re.search(r"(\d+) requests", notes)) else 500
        r = _qps(dep, I, O, rate, replicas, cmax, total, a, spec, dctx)
        res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
        res.predicted = _metric(r, metric, O, gpus)
        return
    if scen in ("server", "server-interactive"):
        # the benchmark's own limits (LoadGen mlperf.conf); llama2-70b's where the benchmark is not known
        ttft_lim, tpot_lim = server_limits(row, scen)
        if "mlperf-server-search" not in ctx.ablate and metric in SERVER_METRICS:
            sim = server_search(ctx, dep, st, spec, ttft_lim, tpot_lim, cmax, dctx, a)
            res.tokens_per_s_per_user = 1.0 / max(sim.tpot.mean, 1e-12)
            res.predicted = SERVER_METRICS[metric](sim, dep.gpus)
            return
        if "p99-occupancy" in ctx.ablate:
            c = S.best_under_latency(dep, I, O, tpot_max=tpot_lim, ttft_max=ttft_lim, max_c=cmax, spec=spec,
                                       decode_ctx=dctx)
        else:
            c = S.best_under_p99(dep, I, O, tpot_max=tpot_lim, ttft_max=ttft_lim, max_c=cmax, spec=spec,
                                       decode_ctx=dctx)
        if c is None:
            raise NotComparable("no batch meets the latency limits in the model")
        occupancy = "mean" if "p99-occupancy" in ctx.ablate else "99th-percentile"
        a.append(f"MLPerf {scen}: Poisson arrivals; largest mean batch ({c:.0f} per replica) whose {occupancy} "
                 f"occupancy fits in memory and meets TPOT <= {tpot_lim * 1e3:.0f} ms and TTFT <= {ttft_lim:g} s")
        r = S.continuous(dep, I, O, c, spec=spec, decode_ctx=dctx)
        res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
        if pct:
            from infercast.engine import workload as W

            rate = c / _f(r, "e2e_s")
            sim = simulate_run(ctx, dep, st, W.poisson(rate), spec, a, in_flight=c)
            res.predicted = sim_metric(sim, metric)
        else:
            res.predicted = _metric(r, metric, O, gpus)
        return
    if scen in ("offline", "offline-max-throughput", "offline-batch"):
        c = cmax if conc is None else min(conc / replicas, cmax)
        if metric.startswith("ttft") or metric.startswith("request_latency") or metric.startswith("e2e"):
            total = int(m.group(1)) if (m := re.search(r"(\d+) (?:requests|prompts|samples)", notes)) else None
            if not total:
                raise NotComparable("latency of an offline queue depends on how many requests were queued, which "
                                    "the source does not state")
            r = _qps(dep, I, O, "INF", replicas, cmax, total, a, spec, dctx)
        else:
            r = S.continuous(dep, I, O, c, spec=spec, decode_ctx=dctx)
        res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
        res.predicted = _metric(r, metric, O, gpus) if not pct else None
        return
    raise NotComparable(f"scenario '{scen}' is not modelled")


def _in_flight(dep, I, O, lam: float, cmax: float, spec=None, dctx=None) -> float:
    """Requests in flight per replica at `lam` requests/s: Little's law C = lam x e2e(C), a damped fixed point."""
    c = 1.0
    for _ in range(60):
        r = S.continuous(dep, I, O, c, spec=spec, decode_ctx=dctx)
        c_new = min(cmax, lam * float(r["e2e_s"]))
        if abs(c_new - c) < 1e-3 * max(c, 1):
            break
        c = 0.5 * (c + c_new)
    return c


def _qps(dep, I, O, rate: str, replicas: int, cmax: float, total: int, assumptions: list[str], spec=None,
         dctx=None) -> dict:
    """Poisson arrivals at `rate` req/s (INF: all at once) on `replicas` replicas.

    Below saturation, Little's law sets the concurrency: C = rate x e2e(C) (fixed point).
    INF: every request is admitted up to the memory limit; the mean TTFT is half the time to
    prefill the admitted prompts (they are served in arrival order, in chunks).
    """
    if rate.upper() == "INF":
        c = min(cmax, total / replicas)
        r = dict(S.continuous(dep, I, O, c, spec=spec, decode_ctx=dctx))
        t_all, _ = S.prefill_time(dep, I, c)
        r["ttft_s"] = np.asarray(float(t_all) / 2 + float(r["tpot_s"]))
        assumptions.append(f"QPS=INF: {total} requests at once, {c:.0f} in flight per replica")
        return r
    lam = float(rate) / replicas
    c = _in_flight(dep, I, O, lam, cmax, spec, dctx)
    r = dict(S.continuous(dep, I, O, c, spec=spec, decode_ctx=dctx))
    mu = c / float(r["e2e_s"])  # requests/s one replica completes at this occupancy
    r["output_tok_s_per_gpu"] = np.asarray(min(lam * O / dep.gpus, float(r["output_tok_s_per_gpu"])))
    if lam > mu * 1.001:  # overloaded: a finite run of `total` requests queues; the mean waits half the backlog
        wait = (total / replicas) / 2.0 * (1.0 / mu - 1.0 / lam)
        r["ttft_s"] = np.asarray(float(r["ttft_s"]) + wait)
        r["e2e_s"] = np.asarray(float(r["e2e_s"]) + wait)
        assumptions.append(f"QPS={rate} exceeds the {mu * replicas:.1f} requests/s the replicas complete: {total} "
                           f"requests queue, mean wait {wait:.2f} s")
    assumptions.append(f"QPS={rate}: Little's law gives {c:.1f} requests in flight per replica")
    return r


def _pool_dep(ctx, row, st, shape: dict | None, moe: bool, prof, role: str):
    if shape is None:
        raise NotComparable(f"the {role} pool's shape is not stated")
    tp, pp = shape.get("tp", 1), shape.get("pp", 1)
    dp, ep = shape.get("dp", 1), shape.get("ep", 1)
    if moe:
        ep = max(ep, tp * dp) if dp > 1 else (ep if ep > 1 else 1)
    elif dp > 1:
        pass  # a dense model's attention DP is replicas: one replica's shape is tp x pp
    return _dep(ctx, row, st, tp, pp, ep, prof)


def _predict_disagg(row, ctx, res, st: Stated, I, O, n, moe, prof) -> None:
    a = res.assumptions
    metric, scen = res.metric, res.scenario
    one_pool = scen.startswith(("prefill-only", "decode-only"))
    if not st.disagg and not one_pool:
        raise NotComparable("disaggregated serving without the pools' shapes (disagg column)")
    if st.disagg:
        (n_p, shape_p), (n_d, shape_d) = st.disagg["prefill"], st.disagg["decode"]
    else:  # one pool's own figure: the row's columns describe that pool
        tp, pp, ep = _layout(st, moe, n)
        if tp is None:
            raise NotComparable("the pool's shape is not stated")
        own = {"tp": tp, "pp": pp, "ep": ep} if not (moe and ep > tp) else {"tp": tp, "pp": pp, "dp": ep // tp, "ep": ep}
        shape_p = shape_d = own
        per = tp * pp * (own.get("dp", 1) if moe else 1)
        n_p = n_d = max(1, n // per)
    if scen.startswith("prefill-only"):
        dep = _pool_dep(ctx, row, st, shape_p, moe, prof, "prefill")
        rp, t_one = prefill_rate(dep, I)
        if metric == "input_tok_per_s_per_gpu":
            res.predicted = float(rp) * I / dep.gpus
        elif metric in ("ttft_ms_mean", "prefill_ms"):
            res.predicted = float(t_one) * 1e3
        return
    if scen.startswith("decode-only"):
        dep = _pool_dep(ctx, row, st, shape_d, moe, prof, "decode")
        if st.concurrency is None:
            raise NotComparable("a decode-pool figure without its batch")
        b = st.concurrency / max(1, (n_d or 1))
        tpot = float(decode_tpot(dep, b, I + O / 2, st.spec))
        res.tokens_per_s_per_user = 1.0 / tpot
        if metric in ("output_tok_per_s_per_gpu",):
            res.predicted = b / tpot / dep.gpus
        elif metric in ("tpot_ms_mean", "itl_ms_mean"):
            res.predicted = tpot * 1e3
        elif metric == "tokens_per_s_per_user":
            res.predicted = 1.0 / tpot
        return
    if n_p is None or n_d is None:
        raise NotComparable("disaggregated run without its prefill and decode worker counts")
    pools = Pools(_pool_dep(ctx, row, st, shape_p, moe, prof, "prefill"), _pool_dep(ctx, row, st, shape_d, moe, prof,
                                                                                    "decode"), n_p, n_d)
    a.append(pools.describe())
    res.weights = pools.decode.weights
    clients = st.concurrency if res.scenario in ("online-fixed-concurrency", "closed-loop") else None
    sent = None
    if clients is not None and "closed-loop-start-burst" not in ctx.ablate and not windowed(row, a):
        sent = max(clients, requests_sent(row, a))
    r = disaggregated(pools, I, O, clients=clients, spec=st.spec, sent=sent)
    res.tokens_per_s_per_user = _f(r, "tokens_per_s_per_user")
    if PERCENTILE.match(metric):
        raise NotComparable("percentiles of disaggregated serving are not simulated in validation")
    res.predicted = _metric(r, metric, O, pools.gpus)
