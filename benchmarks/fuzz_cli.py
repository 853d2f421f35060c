"""Fuzz the whole CLI in process: >= 10,000 seeded hostile invocations; print the counts.

    .venv/bin/python benchmarks/fuzz_cli.py [-n 10000] [--seed 0] [--jobs 2] [--show 20]

Each invocation is one command of the typer app (every command is enumerated), a valid base and one
to three options replaced by hostile values or hostile files (tests/clifuzz.py, shared with the
bounded fuzz in `make test`). Counts printed: invocations, by exit status, internal errors,
tracebacks, errors not on one line, non-strict --json outputs, and the distinct problems found.
The run is reproducible: the same seed and count give the same command lines. Exit status 1 when
any problem was found.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _work(job: tuple[int, int, int]) -> dict:
    """Invocations [start, stop) of the seeded sequence, in a fresh folder (the cwd for relative outputs)."""
    start, stop, seed = job
    from clifuzz import Arena, Runner, commands_of, invocation
    from infercast.cli import app

    with tempfile.TemporaryDirectory(prefix="infercast-fuzz-") as root:
        os.chdir(root)
        arena = Arena(Path(root) / "arena")
        run = Runner(app, arena)
        commands = commands_of(app)
        by_exit: collections.Counter = collections.Counter()
        by_command: collections.Counter = collections.Counter()
        kinds: collections.Counter = collections.Counter()
        examples: dict[str, str] = {}
        json_checked = 0
        for i in range(start, stop):
            rng = random.Random(f"{seed}:{i}")
            args = invocation(arena, commands, rng.choice)
            code, out, err, found = run(args)
            by_exit[code] += 1
            by_command[args[0]] += 1
            if code == 0 and "--json" in args and "--help" not in args:
                json_checked += 1
            for f in found:
                kind = f.split(":")[0]
                kinds[kind] += 1
                key = f[:160]
                if key not in examples:
                    examples[key] = "infercast " + " ".join(a[:60] for a in args)
    return {"by_exit": dict(by_exit), "by_command": dict(by_command), "kinds": dict(kinds), "examples": examples,
            "json_checked": json_checked}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="invocations (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=max(1, min(os.cpu_count() or 1, 4)), help="worker processes")
    ap.add_argument("--show", type=int, default=20, help="distinct problems to print")
    ap.add_argument("--json", action="store_true", help="print the counts as JSON")
    a = ap.parse_args()
    t0 = time.perf_counter()
    step = -(-a.n // a.jobs)
    jobs = [(i, min(i + step, a.n), a.seed) for i in range(0, a.n, step)]
    if a.jobs > 1:
        with mp.get_context("spawn").Pool(a.jobs) as pool:
            parts = pool.map(_work, jobs)
    else:
        parts = [_work(j) for j in jobs]
    total: dict = {"by_exit": collections.Counter(), "by_command": collections.Counter(),
                   "kinds": collections.Counter(), "examples": {}, "json_checked": 0}
    for p in parts:
        for k in ("by_exit", "by_command", "kinds"):
            total[k].update(p[k])
        total["examples"].update(p["examples"])
        total["json_checked"] += p["json_checked"]
    n = sum(total["by_exit"].values())
    kinds = total["kinds"]
    res = {
        "invocations": n, "seed": a.seed, "seconds": round(time.perf_counter() - t0, 1),
        "by_exit_status": {str(k): v for k, v in sorted(total["by_exit"].items())},
        "by_command": dict(sorted(total["by_command"].items())),
        "internal_errors": kinds.get("internal error", 0), "tracebacks": kinds.get("traceback", 0),
        "exceptions_escaped": kinds.get("exception escaped", 0),
        "errors_not_one_line": kinds.get("error not on one line", 0),
        "other_exit_status": kinds.get("exit status " + "", 0) + sum(v for k, v in kinds.items()
                                                                     if k.startswith("exit status")),
        "json_outputs_checked": total["json_checked"], "non_strict_json": kinds.get("non-strict JSON", 0),
        "distinct_problems": len(total["examples"]),
    }
    if a.json:
        res["problems"] = dict(list(total["examples"].items())[: a.show])
        print(json.dumps(res, indent=2))
    else:
        print(f"infercast CLI fuzz: {n:,} invocations (seed {a.seed}, {a.jobs} processes) in {res['seconds']} s")
        print("exit status: " + ", ".join(f"{k}: {v:,}" for k, v in res["by_exit_status"].items()))
        print("by command: " + ", ".join(f"{k} {v}" for k, v in res["by_command"].items()))
        for k in ("internal_errors", "tracebacks", "exceptions_escaped", "errors_not_one_line", "other_exit_status",
                  "non_strict_json"):
            print(f"{k.replace('_', ' ')}: {res[k]}")
        print(f"--json outputs checked for strict JSON: {res['json_outputs_checked']:,}")
        print(f"distinct problems: {res['distinct_problems']}")
        for msg, cmd in list(total["examples"].items())[: a.show]:
            print(f"  {msg}\n    {cmd[:300]}")
    return 1 if total["examples"] else 0


if __name__ == "__main__":
    sys.exit(main())
