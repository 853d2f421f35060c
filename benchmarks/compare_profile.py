"""A calibration profile (`infercast calibrate`) against the public kernel tables of the same chip.

Usage:  python benchmarks/compare_profile.py src/infercast/data/profiles/h200-sxm.json [--json] [--rows]
Prints, per engine (TensorRT-LLM, vLLM, SGLang tables of aiconfigurator-core) and kernel family, the
median ratio of the card's time to the table's at the same shapes (> 1: the card's PyTorch kernel is
slower than the engine's measured one). --rows adds every shape. Needs infercast[kernels].
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from infercast.errors import InfercastError
from infercast.gpu.compare import compare, summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--json", action="store_true", help="print the pairs and the summary as JSON")
    ap.add_argument("--rows", action="store_true", help="print every shape, not only the summary")
    a = ap.parse_args(argv)
    try:
        prof = json.loads(a.profile.read_text())
        pairs = compare(prof)
    except (OSError, ValueError, InfercastError) as e:
        print(f"error: {a.profile}: {e}", file=sys.stderr)
        return 2
    summ = summary(pairs)
    if a.json:
        print(json.dumps({"profile": str(a.profile), "device": prof.get("device"), "software": prof.get("software"),
                          "summary": summ,
                          "pairs": [{**p.__dict__, "ratio": p.ratio} for p in pairs]}, indent=1))
        return 0
    con = Console(width=160)
    con.print(f"{prof.get('device')} ({prof.get('software')}, measured {prof.get('measured')}) "
              f"against the public tables; ratio = card time / table time")
    t = Table("kind", "engine", "dtype", "band", "shapes", "median", "min", "max")
    for s in summ:
        t.add_row(s["kind"], s["engine"], s["dtype"], s["band"], str(s["n"]), f"{s['median_ratio']:.2f}",
                  f"{s['min_ratio']:.2f}", f"{s['max_ratio']:.2f}")
    con.print(t)
    if a.rows:
        t = Table("engine", "shape", "card ms", "table ms", "ratio", "table")
        for p in pairs:
            t.add_row(p.engine, p.shape, f"{p.profile_ms:.4g}", f"{p.table_ms:.4g}", f"{p.ratio:.2f}",
                      p.table + ("" if p.exact else " (interpolated)"))
        con.print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
