"""Time the serving simulation's event loop against its step-by-step reference, in the same run.

    python benchmarks/simulate.py [--json] [--model M] [--chip C] [--requests N] [--reference-requests n]

For three scenarios (closed loop of C clients, Poisson arrivals at about 70 % of that load, offline),
prints simulated requests per wall-clock second of `simulate(method="events")` (best of --repeat
runs, one core, step table built beforehand; the build is timed separately; the rate per CPU
second of the process is printed too, for machines shared with other work), the same for the
step-by-step reference `method="steps"` (the baseline) on --reference-requests requests, their
ratio, and the largest relative difference between the two over every reported number when both
simulate the same requests (exit status 1 above 1e-3). `requests_per_s` is the slowest scenario's rate.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

AGREE = 1e-3  # largest relative difference allowed between the two (ITL percentiles: runs spread uniformly)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", default="llama-3-8b")
    ap.add_argument("--chip", default="h100-sxm")
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--input-len", type=int, default=1024)
    ap.add_argument("--output-len", type=int, default=256)
    ap.add_argument("--range-ratio", type=float, default=0.5)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--reference-requests", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)

    from infercast.engine import workload as W
    from infercast.engine.simulate import StepTable, simulate, step_model
    from infercast.engine.step import deployment

    L = W.uniform(a.input_len, a.output_len, a.range_ratio)
    step = step_model(deployment(a.model, a.chip, tp=a.tp), prompt_len=L.mean_input,
                      context=L.mean_input + L.mean_output)
    t = time.perf_counter()
    table = StepTable.build(step, max_batch=step.max_batch, max_context=L.max_total + 1, max_tokens=8192)
    build_s = time.perf_counter() - t
    grid_error = table.max_error()

    closed = simulate(table, L, W.closed_loop(a.concurrency), requests=2000)
    scenarios = {
        f"closed_loop_{a.concurrency}": W.closed_loop(a.concurrency),
        "poisson_70pct": W.poisson(0.7 * closed.requests_per_s),
        "offline": W.offline(),
    }

    def timed(arrivals, n, method, repeat):
        best, cpu, res = float("inf"), float("inf"), None
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            res = simulate(table, L, arrivals, requests=n, method=method)
            best, cpu = min(best, time.perf_counter() - t), min(cpu, time.process_time() - c)
        return res.simulated / best, res.simulated / cpu, res

    out: dict = {"model": a.model, "chip": a.chip, "input_len": a.input_len, "output_len": a.output_len,
                 "range_ratio": a.range_ratio, "requests": a.requests, "reference_requests": a.reference_requests,
                 "table_build_s": build_s, "table_points": int(table.values.size), "grid_max_rel_error": grid_error,
                 "scenarios": {}}
    for name, arrivals in scenarios.items():
        fast_rate, fast_cpu, fast = timed(arrivals, a.requests, "events", a.repeat)
        ref_rate, ref_cpu, ref = timed(arrivals, a.reference_requests, "steps", 1)
        same = simulate(table, L, arrivals, requests=a.reference_requests).as_dict()
        refd = ref.as_dict()
        diff = max(abs(same[k] - v) / max(abs(v), 1e-12) for k, v in refd.items()
                   if isinstance(v, float))
        out["scenarios"][name] = {
            "requests_per_s": fast_rate, "reference_requests_per_s": ref_rate, "speedup": fast_rate / ref_rate,
            "requests_per_cpu_s": fast_cpu, "reference_requests_per_cpu_s": ref_cpu,
            "max_rel_diff_vs_reference": diff, "steps_per_request": fast.steps / fast.requests,
            "output_tok_per_s": fast.output_tok_per_s, "ttft_p99_s": fast.ttft.p99, "tpot_p99_s": fast.tpot.p99}
    out["requests_per_s"] = min(s["requests_per_s"] for s in out["scenarios"].values())
    out["requests_per_cpu_s"] = min(s["requests_per_cpu_s"] for s in out["scenarios"].values())
    out["speedup"] = min(s["speedup"] for s in out["scenarios"].values())
    out["max_rel_diff_vs_reference"] = max(s["max_rel_diff_vs_reference"] for s in out["scenarios"].values())
    out["agree"] = out["max_rel_diff_vs_reference"] < AGREE
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{a.model} on {a.chip}: lengths {a.input_len}/{a.output_len} (range ratio {a.range_ratio}), "
              f"step table {out['table_points']} points built in {build_s * 1e3:.0f} ms, "
              f"max error {grid_error * 100:.2f} % vs the step model")
        for name, s in out["scenarios"].items():
            print(f"  {name:18s} {s['requests_per_s']:>10,.0f} req/s   reference {s['reference_requests_per_s']:>8,.0f} "
                  f"req/s   x{s['speedup']:.1f}   max diff {s['max_rel_diff_vs_reference']:.1e}")
        print(f"requests_per_s (slowest scenario): {out['requests_per_s']:,.0f} per wall-clock s, "
              f"{out['requests_per_cpu_s']:,.0f} per CPU s")
    if not out["agree"]:
        print(f"the event loop and the reference disagree by {out['max_rel_diff_vs_reference']:.1e} "
              f"(> {AGREE:g})", file=sys.stderr)
    return out


if __name__ == "__main__":
    sys.exit(0 if main()["agree"] else 1)
