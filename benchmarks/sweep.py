"""Time a vectorised frontier sweep against the scalar public API, one configuration at a time.

    python benchmarks/sweep.py [--json] [--model M] [--chip C] [--scalar-sample 200]

Prints configs, seconds, configs_per_s (vectorised), scalar_configs_per_s (through
`infercast.estimate.estimate`, one call per configuration on a random subsample), the speedup,
estimate_ms (one `estimate()` call right after `import infercast`, measured in a fresh
interpreter so catalog loading is included) and the largest relative disagreement between the
two paths on the subsample (they evaluate the same model, so it should be ~0).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

COLD = ("import time; t0 = time.perf_counter(); import infercast; t1 = time.perf_counter(); "
        "infercast.estimate('{m}', '{c}', tp=8, input_len={i}, output_len={o}, max_throughput=True); "
        "t2 = time.perf_counter(); "
        "infercast.estimate('{m}', '{c}', tp=4, input_len={i}, output_len={o}, concurrency=32); "
        "t3 = time.perf_counter(); print((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", default="llama-3-70b")
    ap.add_argument("--chip", default="h100-sxm")
    ap.add_argument("--input-len", type=int, default=2048)
    ap.add_argument("--output-len", type=int, default=512)
    ap.add_argument("--points", type=int, default=3000, help="concurrency grid points per shape")
    ap.add_argument("--scalar-sample", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)

    from infercast.engine.estimate import estimate
    from infercast.analyses.frontier import sweep

    kw = dict(input_len=a.input_len, output_len=a.output_len, n_concurrency=a.points)
    sweep(a.model, a.chip, **kw)  # warm the catalogs
    best = np.inf
    for _ in range(a.repeat):
        t = time.perf_counter()
        sw = sweep(a.model, a.chip, **kw)
        best = min(best, time.perf_counter() - t)
    n = sw.n

    rng = np.random.default_rng(0)
    idx = rng.choice(n, size=min(a.scalar_sample, n), replace=False)
    A = sw.arrays
    t = time.perf_counter()
    got = []
    for i in idx:
        e = estimate(a.model, a.chip, tp=int(A["tp"][i]), pp=int(A["pp"][i]), ep=int(A["ep"][i]),
                     weights=str(sw.precision[i]), input_len=a.input_len, output_len=a.output_len,
                     concurrency=float(A["concurrency"][i]))
        got.append(e.output_tok_s_per_gpu)
    scalar_s = time.perf_counter() - t
    want = A["output_tok_s_per_gpu"][idx]
    rel = float(np.max(np.abs(np.array(got) - want) / want))

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    cold = subprocess.run([sys.executable, "-c", COLD.format(m=a.model, c=a.chip, i=a.input_len, o=a.output_len)],
                          capture_output=True, text=True, env=env, check=True).stdout.split()
    import_ms, first_ms, warm_ms = (float(x) for x in cold)

    out = {"configs": n, "seconds": round(best, 4), "configs_per_s": round(n / best),
           "scalar_configs_per_s": round(len(idx) / scalar_s, 1), "speedup": round(n / best / (len(idx) / scalar_s), 1),
           "estimate_ms": round(first_ms, 2), "estimate_warm_ms": round(warm_ms, 3), "import_ms": round(import_ms, 1),
           "scalar_max_rel_diff": rel, "model": a.model, "chip": a.chip,
           "frontier_points": len(sw.frontier_interactivity)}
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>22}: {v}")
    return out


if __name__ == "__main__":
    main()
