"""The forecast's interpolation error: the star of seven planned chips per year and precision
(`analyses.forecast_plan.star`) against planning every sampled chip directly, in the same run.

    python benchmarks/forecast_interpolation.py [--json] [--samples K] [--years 2024,2027,2030]
                                                [--models llama-3.1-70b,gpt-4] [--precisions fp8,fp4]
                                                [--write docs/forecast.md]

For each model, year and weight precision of the default scenario: K chips drawn from the year's trend
distribution (the forecast's own draws, seed 0), each planned directly (every shape and batch,
`forecast_plan.planned`), and the interpolated throughput of each design (star: 7 plans, grid: 27) for the
same chips. Prints the median,
90th percentile and largest |ln(star / direct)| over the K chips, the relative error of the K chips'
P10, P50 and P90, and the planner calls of each method. `--write` puts the table into docs/forecast.md's
`interpolation` block.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--years", default="2024,2027,2030")
    ap.add_argument("--models", default="llama-3.1-70b,gpt-4")
    ap.add_argument("--precisions", default="fp8,fp4")
    ap.add_argument("--designs", default="star,grid")
    ap.add_argument("--write", default=None)
    a = ap.parse_args(argv)
    from infercast.analyses import forecast as FC
    from infercast.analyses.forecast_plan import planned, star

    years = [int(y) for y in a.years.split(",")]
    sc = FC.load_scenario()
    fits = FC.fit_trends(sc)
    chips, _ = FC._trend_chips(sc, fits, years, a.samples, 0)
    op = FC.serving_of(sc["operating_point"])
    rows = []
    for model in a.models.split(","):
        for yi, year in enumerate(years):
            yc = chips[yi]
            for prec in a.precisions.split(","):
                direct = np.array([planned(model, yc["base"].scaled(*np.exp(x)), prec, op)["output_tok_s_per_gpu"]
                                   for x in yc["coords"]])
                pd = np.percentile(direct, [10, 50, 90])
                for design in a.designs.split(","):
                    s = star(model, yc["base"], yc["coords"], yc["ref"], prec, op, design)
                    e = np.abs(np.log(s.output / direct))
                    ps = np.percentile(s.output, [10, 50, 90])
                    rows.append({"model": model, "year": year, "precision": prec, "design": design, "chips": a.samples,
                                 "median_abs_ln_error": float(np.median(e)),
                                 "p90_abs_ln_error": float(np.quantile(e, 0.9)), "max_abs_ln_error": float(e.max()),
                                 "percentile_error": {k: float(ps[i] / pd[i] - 1) for i, k in enumerate(("p10", "p50", "p90"))},
                                 "plans": s.plans, "direct_plans": a.samples})
    out = {"rows": rows, "samples": a.samples, "overall": {
        d: {"median_abs_ln_error": float(np.median([r["median_abs_ln_error"] for r in rows if r["design"] == d])),
            "worst_p90_abs_ln_error": float(max(r["p90_abs_ln_error"] for r in rows if r["design"] == d)),
            "worst_percentile_error": float(max(abs(v) for r in rows if r["design"] == d
                                                for v in r["percentile_error"].values()))}
        for d in dict.fromkeys(r["design"] for r in rows)}}
    if a.write:
        from infercast.analyses.forecast_docs import replace

        p = Path(a.write)
        p.write_text(replace(p.read_text(encoding="utf-8"), {"interpolation": table(out)}), encoding="utf-8")
    if a.json:
        json.dump(out, sys.stdout, indent=1)
        print()
    else:
        print(table(out))
    return out


def table(out: dict) -> str:
    lines = ["| model | year | precision | design (plans) | median / P90 / max \\|error\\| | P10 / P50 / P90 error |",
             "|---|---|---|---|---|---|"]
    for r in out["rows"]:
        pe = r["percentile_error"]
        lines.append(f"| {r['model']} | {r['year']} | {r['precision']} | {r['design']} ({r['plans']}) | "
                     f"{r['median_abs_ln_error']:.1%} / {r['p90_abs_ln_error']:.1%} / {r['max_abs_ln_error']:.1%} | "
                     f"{pe['p10']:+.1%} / {pe['p50']:+.1%} / {pe['p90']:+.1%} |")
    lines.append("")
    for d, o in out["overall"].items():
        lines.append(f"- {d}: median |error| {o['median_abs_ln_error']:.1%}, worst row's P90 "
                     f"{o['worst_p90_abs_ln_error']:.1%}, worst error of a P10/P50/P90 {o['worst_percentile_error']:.1%}")
    lines.append("")
    lines.append(f"({out['samples']} chips per row, each also planned directly: "
                 f"`python benchmarks/forecast_interpolation.py --samples {out['samples']}`.)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
