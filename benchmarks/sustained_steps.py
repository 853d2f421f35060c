"""Model steps run back to back for a while: does a serving step slow down once the card is at its power limit?

`infercast calibrate --sustained` shows a lone GEMM falling to 0.85 of its burst rate on an H200. This script
asks the question for whole steps of the random-weight decoder of `infercast measure`: each step kind (a
compute-bound prefill, a mixed large-batch decode, a memory-bound small-batch decode) is replayed for
`--seconds`, and the step time, SM clock and board power are recorded per window. The ratio first window /
last windows is the step's sustained slowdown, measured, to compare with the per-kernel model
(`Timer._sustained`, efficiency.json `sustained_compute`). Needs a GPU and PyTorch.

Usage (a GPU machine):  python benchmarks/sustained_steps.py --seconds 12 --out sustained.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from infercast.gpu.calibrate import _smi, require_torch, resolve_device
from infercast.gpu.measure import RandomDecoder, _graphed, shapes_for
from infercast.specs.model import get_model

STEPS = (("prefill", 1, 8192), ("decode", 256, 1024), ("decode", 1, 1024))  # (kind, batch, tokens)


def run(model: str, seconds: float, window_s: float = 0.5) -> dict:
    torch = require_torch()
    dev = resolve_device(torch, "cuda")
    torch.cuda.set_device(dev)
    shp, _ = shapes_for(get_model(model))
    out = {"model": model, "device": torch.cuda.get_device_name(dev), "torch": torch.__version__, "steps": []}
    with torch.inference_mode():
        net = RandomDecoder(torch, dev, torch.bfloat16, shp)
        for kind, b, n in STEPS:
            fn = net.prefill(b, n) if kind == "prefill" else _graphed(torch, dev, net.decode_step(b, n))
            fn()
            torch.cuda.synchronize(dev)
            time.sleep(2.0)  # let the clock recover between step kinds
            ev = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0, k, windows = time.perf_counter(), 1, []
            while time.perf_counter() - t0 < seconds:
                ev[0].record()
                for _ in range(k):
                    fn()
                ev[1].record()
                torch.cuda.synchronize(dev)
                ms = ev[0].elapsed_time(ev[1]) / k
                windows.append({"t_s": round(time.perf_counter() - t0, 2), "step_ms": round(ms, 4), **_smi(torch, dev)})
                k = max(1, int(window_s * 1e3 / ms))
            first = windows[0]["step_ms"]
            last = statistics.median(w["step_ms"] for w in windows[-3:])
            out["steps"].append({"kind": kind, "batch": b, "tokens": n, "first_ms": first, "last_ms": last,
                                 "slowdown": round(last / first, 3), "windows": windows})
            print(f"{kind} b{b} n{n}: {first:.3f} -> {last:.3f} ms (x{last / first:.3f}); "
                  f"last clock {windows[-1].get('sm_clock_mhz')} MHz, {windows[-1].get('power_w')} W", flush=True)
            del fn
            torch.cuda.empty_cache()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama-3-8b")
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    res = run(a.model, a.seconds)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
