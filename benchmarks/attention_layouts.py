"""Does the PyTorch engine's attention reference transfer across head layouts?

The generic path times PyTorch SDPA from the shipped H200 profile's curves (efficiency.json
`pytorch-cudagraph.attention_reference`): decode over KV bytes, prefill over causal FLOPs, both measured at one
layout (8 KV heads x 4 query heads per group; 32 heads for prefill). This script times SDPA on the card at other
layouts (Qwen3-32B's 8 x 8, 4 x 8, 8 x 1; 64 and 16 heads, batch 4) and prints measured / curve at the same
size: 1.0 where the size variable carries the layout. Needs a GPU and PyTorch.

Usage (a GPU machine):  python benchmarks/attention_layouts.py --out layouts.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys

from infercast.engine.efficiency import reference_attention
from infercast.gpu.calibrate import Timer, measure_attention_decode, measure_attention_prefill, require_torch, \
    resolve_device

DECODE = [(b, kv, g, c, 128) for kv, g in ((8, 8), (4, 8), (8, 1)) for b, c in ((1, 1024), (8, 1024), (32, 1024),
                                                                              (128, 1024), (16, 16384))]
PREFILL = [(b, h, s, 128) for b, h in ((1, 64), (1, 16), (4, 32)) for s in (512, 2048, 8192)]


def run(repeats: int) -> dict:
    torch = require_torch()
    dev = resolve_device(torch, "cuda")
    torch.cuda.set_device(dev)
    timer = Timer(torch, dev)
    dec_curve, pre_curve, chip = reference_attention("h200-sxm")
    dec = measure_attention_decode(torch, dev, timer, DECODE, repeats, torch.bfloat16)
    pre = measure_attention_prefill(torch, dev, timer, PREFILL, repeats, torch.bfloat16)
    for r in dec:
        r["curve_ms"] = float(dec_curve.time(r["kv_bytes"])) * 1e3
        r["ratio"] = r["ms"] / r["curve_ms"]
    for r in pre:
        flops = 4.0 * r["batch"] * r["heads"] * r["seq"] ** 2 * r["head_dim"] / 2
        r["curve_ms"] = float(pre_curve.time(flops)) * 1e3
        r["ratio"] = r["ms"] / r["curve_ms"]
    return {"device": torch.cuda.get_device_name(dev), "torch": torch.__version__, "reference": chip.id,
            "decode": dec, "prefill": pre,
            "median_ratio": {"decode": statistics.median(r["ratio"] for r in dec),
                             "prefill": statistics.median(r["ratio"] for r in pre)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    res = run(args.repeats)
    for kind in ("decode", "prefill"):
        for r in res[kind]:
            print(kind, {k: r[k] for k in r if k not in ("gbps", "tflops", "kv_bytes")})
    print("median measured / reference curve:", res["median_ratio"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
