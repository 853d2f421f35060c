"""The essay's quantitative claims about hardware, checked with the serving model.

1. "inference throughput has increased about 20x in 5 years, compared to only an 8x increase in FLOP"
   (A100 -> B200): `throughput_vs_flops()`
2. "switching from FP16 to FP8 could roughly double how much inference we can do": `fp8_doubling()`
3. "for the H200 ... guessed 1.7x" the H100: `h200_vs_h100()`
4. "B200 brings ~4x to ~7x performance gains for GPT-4 inference, when quantization is set fairly,
   depending on the point in the interactivity curve chosen" (SemiAnalysis, quoted by the essay):
   `b200_vs_h100()`

Each returns a dict: `claim` (the essay's words), `operating_point`, `data` (numbers), `verdict`
(one line) and `text` (lines explaining why). `all_claims()` runs them all. Deployment shapes come from
the one planner (`engine.planner.plan`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from functools import lru_cache

from infercast.errors import InfercastError
from infercast.engine.estimate import estimate
from infercast.engine.planner import Space, Targets, Workload, plan
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model
from infercast.engine.step import deployment, step_time
from infercast.engine.serving import prefill_time

CLAIM_TPUT = "inference throughput has increased about 20x in 5 years, compared to only an 8x increase in FLOP"
CLAIM_FP8 = ("inference is switching to FP8 and 8-bit encoding, which could also roughly double how much "
             "inference can be done per GPU")
CLAIM_H200 = "For the H200, I looked at some comparisons of inference performance with the H100 and guessed 1.7x"
CLAIM_B200 = ("in a large model like GPT-4 B200 brings ~4x to ~7x performance gains for GPT-4 inference, when "
              "quantization is set fairly, depending on the point in the interactivity curve chosen")
B200_RANGE = (4.0, 7.0)
# the essay: SemiAnalysis' H100 analysis used 32k input tokens; NVIDIA's GB200-vs-H100 GPT-MoE-1.8T chart used
# 32,768 in / 1,024 out. 8k in is the essay's own context (SemiAnalysis' GPT-4 cost figure).
B200_WORKLOADS = ((32768, 1024), (8192, 1024))


def _kv(w: str) -> str:
    return "bf16" if w in ("bf16", "fp16") else "fp8"


@lru_cache(maxsize=256)
def _plan(model: str, chip: str, weights: str, input_len: int, output_len: int, disaggregated: bool = False):
    """The planner's search for one model, chip and weight precision (KV fp8 with fp8/fp4 weights), cached."""
    return plan(model, chip, Workload(input_len, output_len), Targets(),
                Space(precisions=(weights,), kv=_kv(weights), disaggregated=disaggregated), frontiers=False)


def _best(model: str, chip: str, weights: str, input_len: int, output_len: int, tpot_max: float) -> dict:
    """The planner's best configuration at `weights` (most output tokens/s per GPU, TPOT <= tpot_max)."""
    p = _plan(model, chip, weights, input_len, output_len)
    b = p.best_meeting(Targets(max_tpot=tpot_max)) if math.isfinite(tpot_max) else p.max_throughput()
    met = b is not None
    b = b or p.max_throughput()
    return {"output_tok_s_per_gpu": b["output_tok_s_per_gpu"], "input_tok_s_per_gpu": b["input_tok_s_per_gpu"],
            "forward_passes_per_chip_s": b["output_tok_s_per_gpu"] + b["input_tok_s_per_gpu"], "tpot_s": b["tpot_s"],
            "gpus_per_replica": b["gpus"], "shape": {k: b[k] for k in ("tp", "pp", "ep", "dp", "concurrency")},
            "met_tpot_target": met}


def throughput_vs_flops(models: tuple[str, ...] = ("gpt-4", "llama-3.1-70b"), old: str = "a100-sxm-80gb",
                        new: str = "b200", input_len: int = 2000, output_len: int = 500,
                        tpot_max: float | None = None) -> dict:
    """Claim 1: A100 -> B200 throughput ratio vs FLOP/s ratio, step by step (same precision, then fp8, fp4).

    Operating point: each chip at the planner's best output throughput per GPU (every shape and batch that
    fits; TPOT capped at `tpot_max` if given), 16-bit on the A100 (it has no fp8).
    """
    co, cn = get_chip(old), get_chip(new)
    t = math.inf if tpot_max is None else tpot_max
    flops_bf16 = cn.peak_flops("bf16") / co.peak_flops("bf16")
    data: dict[str, Any] = {
        "chips": [co.id, cn.id], "years": [co.year, cn.year],
        "flops_ratio_bf16": flops_bf16,
        "flops_ratio_fp8_vs_bf16": cn.peak_flops("fp8") / co.peak_flops("bf16"),
        "flops_ratio_fp4_vs_bf16": cn.peak_flops("fp4") / co.peak_flops("bf16"),
        "bandwidth_ratio": cn.bandwidth / co.bandwidth, "capacity_ratio": cn.memory_gb / co.memory_gb,
        "models": {},
    }
    text = [f"{co.id} ({co.year}) -> {cn.id} ({cn.year}): bf16 FLOP/s x{flops_bf16:.1f}, HBM bandwidth "
            f"x{data['bandwidth_ratio']:.1f}, HBM capacity x{data['capacity_ratio']:.2f}; "
            f"fp8 peak x{data['flops_ratio_fp8_vs_bf16']:.0f}, fp4 peak x{data['flops_ratio_fp4_vs_bf16']:.0f} "
            "against the A100's 16-bit."]
    for mid in models:
        m = get_model(mid)
        base = _best(m.id, co.id, "bf16", input_len, output_len, t)
        steps = {p: _best(m.id, cn.id, p, input_len, output_len, t) for p in ("bf16", "fp8", "fp4")}
        ratios = {p: steps[p]["output_tok_s_per_gpu"] / base["output_tok_s_per_gpu"] for p in steps}
        data["models"][m.id] = {"a100_bf16": base, "b200": steps, "throughput_ratio": ratios,
                                "throughput_ratio_over_flops_ratio_bf16": ratios["bf16"] / flops_bf16}
        text.append(
            f"{m.id}: output tokens/s per GPU {base['output_tok_s_per_gpu']:.0f} on {co.id} (bf16) -> "
            f"{steps['bf16']['output_tok_s_per_gpu']:.0f} bf16 (x{ratios['bf16']:.1f}), "
            f"{steps['fp8']['output_tok_s_per_gpu']:.0f} fp8 (x{ratios['fp8']:.1f}), "
            f"{steps['fp4']['output_tok_s_per_gpu']:.0f} fp4 (x{ratios['fp4']:.1f}) on {cn.id}.")
    r = data["models"]
    lo = min(v["throughput_ratio"]["bf16"] for v in r.values())
    hi = max(v["throughput_ratio"]["fp8"] for v in r.values())
    verdict = (f"At equal 16-bit precision the model gives x{lo:.1f}-x{max(v['throughput_ratio']['bf16'] for v in r.values()):.1f} "
               f"(FLOP/s x{flops_bf16:.1f}); with fp8 weights on the B200 x{min(v['throughput_ratio']['fp8'] for v in r.values()):.0f}-"
               f"x{hi:.0f}, with fp4 up to x{max(v['throughput_ratio']['fp4'] for v in r.values()):.0f}: the essay's 20x needs "
               "the precision change as well as the new chip.")
    text.append(
        "Why: at a large batch decode is still partly bound by reading weights and KV cache, so the same-precision "
        f"gain sits between the bandwidth ratio (x{data['bandwidth_ratio']:.1f}) and the FLOP ratio; the larger HBM "
        f"(x{data['capacity_ratio']:.2f}) holds more sequences per GPU, which raises the batch and moves work toward the "
        "FLOP roof; fp8 and fp4 then halve and quarter the weight and KV bytes and double/quadruple the tensor rate "
        "the A100 lacks. The essay compared the A100 at FP16 with a B200 figure that was quoted 'when quantization is "
        "set fairly' (SemiAnalysis), i.e. at lower precision.")
    return {"claim": CLAIM_TPUT, "operating_point": {
        "input_len": input_len, "output_len": output_len,
        "tpot_max_s": tpot_max, "batch": "the planner's best shape and batch per chip and precision",
        "kv_cache": "bf16 with bf16 weights, fp8 with fp8/fp4 weights"},
        "data": data, "verdict": verdict, "text": text}


def fp8_doubling(model: str = "llama-3.1-70b", chips: tuple[str, ...] = ("a100-sxm-80gb", "h100-sxm", "b200"),
                 tp: int = 4, batches: tuple[int, ...] = (1, 8, 64, 256), context: int = 2048,
                 prefill_tokens: int = 2048, prefill_seqs: int = 8) -> dict:
    """Claim 2: fp8/bf16 throughput ratio for decode at several batches, for prefill, and at max batch.

    Same tp for both precisions; fp8 runs with an fp8 KV cache. Decode: one step of `batch` sequences
    at `context` cached tokens. Prefill: `prefill_seqs` prompts of `prefill_tokens`.
    """
    m = get_model(model)
    rows = []
    for cid in chips:
        c = get_chip(cid)
        dep = {w: deployment(m, c, tp=tp, weights=w, kv=_kv(w)) for w in ("bf16", "fp8")}
        B = np.asarray(batches, dtype=float)
        dec = {w: step_time(d, decode_seqs=B, decode_ctx=context)["total"] for w, d in dep.items()}
        pre = {w: float(np.asarray(prefill_time(d, prefill_tokens, prefill_seqs)[0])) for w, d in dep.items()}
        row = {"chip": c.id, "fp8_compute": dep["fp8"].compute, "notes": list(dep["fp8"].notes),
               "decode_ratio": {int(b): float(dec["bf16"][i] / dec["fp8"][i]) for i, b in enumerate(batches)},
               "prefill_ratio": pre["bf16"] / pre["fp8"]}
        try:
            mt = {w: estimate(m, c, tp=tp, weights=w, kv=_kv(w), input_len=context, output_len=256,
                              max_throughput=True) for w in ("bf16", "fp8")}
            row["max_throughput_ratio"] = mt["fp8"].output_tok_s_per_gpu / mt["bf16"].output_tok_s_per_gpu
            row["max_batch"] = {w: mt[w].concurrency for w in mt}
        except InfercastError as e:
            row["max_throughput_ratio"], row["max_batch"], row["error"] = None, None, str(e)
        rows.append(row)
    text = []
    for r in rows:
        d = ", ".join(f"batch {b}: x{v:.2f}" for b, v in r["decode_ratio"].items())
        mt = f"x{r['max_throughput_ratio']:.2f}" if r["max_throughput_ratio"] else "-"
        text.append(f"{r['chip']} (fp8 computes at {r['fp8_compute']}): decode {d}; prefill x{r['prefill_ratio']:.2f}; "
                    f"max-throughput serving {mt}")
    h = next((r for r in rows if r["chip"] == "h100-sxm"), rows[0])
    a = next((r for r in rows if r["chip"] == "a100-sxm-80gb"), None)
    b1 = h["decode_ratio"][min(h["decode_ratio"])]
    bn = h["decode_ratio"][max(h["decode_ratio"])]
    how = ("roughly doubles" if b1 >= 1.6 else "falls well short of doubling" if b1 < 1.4
           else "gives well under double")
    verdict = (f"On {h['chip']} fp8 {how} memory-bound decode at batch {min(h['decode_ratio'])} (x{b1:.2f}); "
               f"at batch {max(h['decode_ratio'])} x{bn:.2f}; prefill x{h['prefill_ratio']:.2f}"
               + (f"; max-throughput serving x{h['max_throughput_ratio']:.2f}" if h["max_throughput_ratio"] else "")
               + (f". On the A100, which has no fp8 tensor rate, compute-bound prefill gains x{a['prefill_ratio']:.2f} "
                  f"while batch-1 decode gains x{a['decode_ratio'][min(a['decode_ratio'])]:.2f} from the halved bytes"
                  if a else "") + ".")
    streams = {}
    for r in rows:
        e = deployment(m, r["chip"], tp=tp).eff
        st = getattr(e, "stream", None)
        if callable(st):
            streams[r["chip"]] = {"bf16": float(st("bf16")), "fp8": float(st("fp8"))}
    if streams:
        text.append("Weight-streaming efficiency assumed by the serving model (fraction of HBM bandwidth a skinny GEMM "
                    "reaches): " + "; ".join(f"{c}: bf16 {v['bf16']:.2f}, fp8 {v['fp8']:.2f}" for c, v in streams.items())
                    + ". Where fp8 kernels stream slower than bf16 ones, halving the bytes buys less than 2x.")
    text.append("Why: fp8 weights halve the bytes each decode step streams (the weight term) and fp8 KV halves the "
                "cache reads; on chips with fp8 tensor cores the GEMM rate also doubles, but attention and "
                "elementwise work stay 16-bit and fixed per-step costs (kernel launches, scheduling, all-reduce "
                "latency) do not shrink, so the ratio stays below 2. On the A100 fp8 weights are dequantised to "
                "bf16 (weight-only kernels): memory-bound decode still gains, compute-bound prefill does not. "
                "At max throughput the freed HBM also holds more sequences.")
    return {"claim": CLAIM_FP8, "operating_point": {"model": m.id, "tp": tp, "decode_context": context,
                                                    "prefill": f"{prefill_seqs} x {prefill_tokens} tokens",
                                                    "kv_cache": "bf16 with bf16 weights, fp8 with fp8 weights",
                                                    "max_throughput": f"input {context}, output 256"},
            "data": rows, "verdict": verdict, "text": text, "weight_stream": streams}


def h200_vs_h100(models: tuple[tuple[str, int, str], ...] = (("llama-3.1-8b", 1, "bf16"), ("llama-3.1-70b", 4, "bf16"),
                                                             ("llama-3.1-405b", 8, "fp8")),
                 contexts: tuple[int, ...] = (1024, 8192, 32768), batches: tuple[int | str, ...] = (1, 32, "max"),
                 output_len: int = 256) -> dict:
    """Claim 3: H200/H100 output throughput per GPU over model size, batch and context.

    Same GPUs and precision on both; a batch the H100 cannot hold is capped at what fits (so the
    ratio then includes the H200's larger batch); 'max' is the largest batch each chip holds.
    """
    grid = []
    for mid, tp, w in models:
        for ctx in contexts:
            for b in batches:
                res = {}
                for cid in ("h100-sxm", "h200-sxm"):
                    kw = dict(tp=tp, weights=w, kv=_kv(w), input_len=ctx, output_len=output_len)
                    try:
                        e = (estimate(mid, cid, max_throughput=True, **kw) if b == "max"
                             else estimate(mid, cid, concurrency=float(b), **kw))
                        res[cid] = (e.output_tok_s_per_gpu, e.concurrency, e.bound_by)
                    except InfercastError:
                        res[cid] = None
                h, h2 = res["h100-sxm"], res["h200-sxm"]
                grid.append({"model": mid, "tp": tp, "weights": w, "context": ctx, "batch": b,
                             "h100_tok_s_per_gpu": h[0] if h else None, "h200_tok_s_per_gpu": h2[0] if h2 else None,
                             "h100_batch": h[1] if h else None, "h200_batch": h2[1] if h2 else None,
                             "h200_bound_by": h2[2] if h2 else None,
                             "ratio": (h2[0] / h[0]) if h and h2 else None})
    ok = [g["ratio"] for g in grid if g["ratio"]]
    h100, h200 = get_chip("h100-sxm"), get_chip("h200-sxm")
    bw = h200.bandwidth / h100.bandwidth
    cap = h200.memory_gb / h100.memory_gb
    one = [g["ratio"] for g in grid if g["batch"] == 1 and g["ratio"]]
    mx = [g["ratio"] for g in grid if g["batch"] == "max" and g["ratio"]]
    text = [f"H200 vs H100 SXM: same FLOP/s, bandwidth x{bw:.2f}, HBM capacity x{cap:.2f}."]
    for g in grid:
        r = f"x{g['ratio']:.2f}" if g["ratio"] else "does not fit on H100"
        text.append(f"{g['model']} {g['weights']} tp{g['tp']}, context {g['context']}, batch {g['batch']}: {r}"
                    + (f" (batch {g['h100_batch']:.0f} vs {g['h200_batch']:.0f})"
                       if g["ratio"] and g["h100_batch"] != g["h200_batch"] else ""))
    big = [g for g in grid if g["batch"] == "max" and g["ratio"]]
    bounds_ = sorted({g["h200_bound_by"] for g in big if g.get("h200_bound_by")})
    where = ("within" if min(ok) <= 1.7 <= max(ok) else "above" if 1.7 > max(ok) else "below")
    verdict = (f"x{min(ok):.2f}-x{max(ok):.2f} over the grid (the essay's 1.7x is {where} this range): "
               f"x{min(one):.2f}-x{max(one):.2f} at batch 1, under the bandwidth ratio x{bw:.2f} because fixed per-step "
               f"costs do not shrink; x{min(mx):.2f}-x{max(mx):.2f} at the largest batch each chip holds, although the "
               f"H200 holds {min(g['h200_batch'] / g['h100_batch'] for g in big):.1f}-"
               f"{max(g['h200_batch'] / g['h100_batch'] for g in big):.1f}x the sequences: there the step is bound by "
               f"{', '.join(bounds_) or 'compute'}, and both chips have the same FLOP/s.")
    text.append("Why: the H200 is an H100 with more and faster HBM and the same tensor cores. Where decode streams "
                "weights and KV the gain approaches the bandwidth ratio; where the H100 runs out of HBM for the KV "
                "cache (big model, long context) the H200 also holds a larger batch, which amortises each weight read "
                "over more tokens - but once the step is compute-bound (large batches with chunked prefill) extra "
                "batch buys little, since the FLOP/s are equal. Published H200 gains of 1.4-1.9x come from "
                "memory-bound, large-model, long-context settings and from the H100 being capacity-limited.")
    return {"claim": CLAIM_H200, "operating_point": {"output_len": output_len, "contexts": list(contexts),
                                                     "batches": list(batches),
                                                     "kv_cache": "bf16 with bf16 weights, fp8 with fp8 weights"},
            "data": grid, "verdict": verdict, "text": text,
            "summary": {"min": min(ok), "max": max(ok), "batch1": [min(one), max(one)], "max_batch": [min(mx), max(mx)],
                        "bandwidth_ratio": bw, "capacity_ratio": cap}}


def _plan_disagg(model: str, chip: str, weights: str, input_len: int, output_len: int):
    return _plan(model, chip, weights, input_len, output_len, True)


def b200_vs_h100(model: str = "gpt-4", old: str = "h100-sxm", new: str = "b200",
                 tps_user: tuple[float, ...] = (5, 10, 20, 30, 40, 50),
                 workloads: tuple[tuple[int, int], ...] = B200_WORKLOADS, max_ttft: float | None = None) -> dict:
    """Claim 4: output tokens/s per GPU of `new` over `old` at matched tokens/s per user, along the planner's
    interactivity frontier (every shape, batch, and disaggregated prefill/decode pools), H100 at fp8 and
    B200 at fp8 and fp4 ("quantization set fairly": each chip at the narrowest format it computes natively).
    `max_ttft` (seconds) also bounds the time to first token (NVIDIA's GPT-MoE-1.8T chart used 5 s)."""
    m = get_model(model)
    co, cn = get_chip(old), get_chip(new)
    pairs = (("old_fp8", co.id, "fp8"), ("new_fp8", cn.id, "fp8"), ("new_fp4", cn.id, "fp4"))
    data: dict[str, Any] = {"model": m.id, "chips": [co.id, cn.id], "tps_user": list(tps_user),
                            "flops_ratio_fp8": cn.peak_flops("fp8") / co.peak_flops("fp8"),
                            "flops_ratio_fp4_vs_fp8": cn.peak_flops("fp4") / co.peak_flops("fp8"),
                            "bandwidth_ratio": cn.bandwidth / co.bandwidth, "workloads": []}
    text = [f"{cn.id} vs {co.id}: fp8 FLOP/s x{data['flops_ratio_fp8']:.2f}, fp4 FLOP/s over the {co.id}'s fp8 "
            f"x{data['flops_ratio_fp4_vs_fp8']:.2f}, HBM bandwidth x{data['bandwidth_ratio']:.2f}, HBM "
            f"{cn.memory_gb:g} vs {co.memory_gb:g} GB; both in 8-GPU NVLink domains."]
    for I, O in workloads:
        plans = {k: _plan_disagg(m.id, c, w, I, O) for k, c, w in pairs}
        rows = []
        for t in tps_user:
            row: dict[str, Any] = {"tokens_per_s_per_user": t}
            for k, p in plans.items():
                b = p.best_meeting(Targets(min_tps_user=t, max_ttft=max_ttft))
                row[k] = None if b is None else {
                    "output_tok_s_per_gpu": b["output_tok_s_per_gpu"], "ttft_s": b["ttft_s"],
                    "shape": {x: b[x] for x in ("tp", "pp", "ep", "dp", "gpus", "concurrency")},
                    "disaggregated": b["disaggregated"]}
            h = row["old_fp8"]
            for k in ("new_fp8", "new_fp4"):
                row[f"ratio_{k[4:]}"] = (row[k]["output_tok_s_per_gpu"] / h["output_tok_s_per_gpu"]
                                         if h and row[k] else None)
            rows.append(row)
        data["workloads"].append({"input_len": I, "output_len": O, "points": rows})
        fair = [r["ratio_fp4"] for r in rows if r["ratio_fp4"]]
        same = [r["ratio_fp8"] for r in rows if r["ratio_fp8"]]
        pts = ", ".join(f"{r['tokens_per_s_per_user']:g}: x{r['ratio_fp4']:.1f}" for r in rows if r["ratio_fp4"])
        unreached = [f"{r['tokens_per_s_per_user']:g}" for r in rows if not r["old_fp8"]]
        text.append(f"{I:,} in / {O:,} out: B200 fp4 over H100 fp8 at tokens/s per user {pts}"
                    + (f"; at equal fp8 x{min(same):.1f}-x{max(same):.1f}" if same else "")
                    + (f"; the H100 reaches no point at {', '.join(unreached)} tokens/s per user" if unreached else "")
                    + ".")
    allr = [r["ratio_fp4"] for w in data["workloads"] for r in w["points"] if r["ratio_fp4"]]
    lo_, hi_ = B200_RANGE
    inside = [x for x in allr if lo_ <= x <= hi_]
    data["ratio_fp4_range"] = [min(allr), max(allr)] if allr else None
    data["share_inside_claim"] = len(inside) / len(allr) if allr else 0.0
    data["points_below_inside_above"] = [sum(x < lo_ for x in allr), len(inside), sum(x > hi_ for x in allr)]
    data["max_ttft_s"] = max_ttft
    if allr:
        below, above = sum(x < lo_ for x in allr), sum(x > hi_ for x in allr)
        verdict = (f"With B200 at fp4 and H100 at fp8 (disaggregation allowed"
                   + (f", TTFT <= {max_ttft:g} s" if max_ttft else "") + f") the planner gives x{min(allr):.1f}-"
                   f"x{max(allr):.1f} over {tps_user[0]:g}-{tps_user[-1]:g} tokens/s per user: {len(inside)} of "
                   f"{len(allr)} points inside the essay's x{lo_:g}-x{hi_:g}, {below} below and {above} above it; "
                   f"at equal fp8 x{min(x for w in data['workloads'] for r in w['points'] for x in [r['ratio_fp8']] if x):.1f}-"
                   f"x{max(x for w in data['workloads'] for r in w['points'] for x in [r['ratio_fp8']] if x):.1f}.")
    else:
        verdict = "The planner finds no matched points for the two chips."
    text.append("Why: where both chips run large batches the step is bound by compute (prefill of long prompts, the "
                f"MoE expert GEMMs), so the gain tends to the FLOP ratios (fp8 x{data['flops_ratio_fp8']:.1f}; B200 "
                f"fp4 over H100 fp8 x{data['flops_ratio_fp4_vs_fp8']:.1f}), less the attention, communication and fixed "
                "costs that do not speed up with fp4; where the batch per GPU is small each step streams expert "
                "weights and the KV cache and the H100 spreads GPT-4 over more GPUs (80 GB each) with the expert "
                "all-to-all leaving its 8-GPU NVLink domain, so the B200's HBM capacity and bandwidth count more. The "
                "numbers come from the measured MoE, GEMM and attention kernel tables of both chips through the "
                "planner: they are the model's, not measurements.")
    return {"claim": CLAIM_B200, "operating_point": {
        "model": m.id, "workloads": [f"{I} in / {O} out" for I, O in workloads], "tokens_per_s_per_user": list(tps_user),
        "precisions": f"{co.id} fp8; {cn.id} fp8 and fp4 (KV cache fp8)",
        "search": "planner: TP, PP, EP and attention data-parallel, replicas, batch; aggregated and disaggregated"},
        "data": data, "verdict": verdict, "text": text}


def all_claims() -> dict[str, dict]:
    return {"throughput_vs_flops": throughput_vs_flops(), "fp8_doubling": fp8_doubling(),
            "h200_vs_h100": h200_vs_h100(), "b200_vs_h100": b200_vs_h100()}


__all__ = ["throughput_vs_flops", "fp8_doubling", "h200_vs_h100", "b200_vs_h100", "all_claims"]
