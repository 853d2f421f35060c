"""The predicted-vs-measured figure (matplotlib, Agg)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def validation_figure(results, summary):
    comp = [r for r in results if r.status == "compared"]
    fams = sorted({r.family for r in comp})
    fig, ax = plt.subplots(figsize=(7, 6.2), dpi=110)
    cmap = plt.get_cmap("tab10")
    for i, f in enumerate(fams):
        rs = [r for r in comp if r.family == f]
        s = summary["by_family"][f]
        ax.scatter([r.measured for r in rs], [r.predicted for r in rs], s=18, color=cmap(i % 10),
                   label=f"{f} (n={s['compared']}, median {s['median_abs_error']:.0%})", alpha=0.8)
    lo = min(min(r.measured for r in comp), min(r.predicted for r in comp)) * 0.7
    hi = max(max(r.measured for r in comp), max(r.predicted for r in comp)) * 1.4
    ax.plot([lo, hi], [lo, hi], color="k", lw=1)
    for k, ls in ((1.25, "--"), (0.8, "--")):
        ax.plot([lo, hi], [lo * k, hi * k], color="grey", lw=0.8, ls=ls)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured (each row's own unit)")
    ax.set_ylabel("predicted by infercast")
    ax.set_title(f"infercast vs measurements: median |error| {summary['median_abs_error']:.0%}, "
                 f"p90 {summary['p90_abs_error']:.0%} (n={summary['compared']})", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


def validation_plot(results, summary, path) -> str:
    fig = validation_figure(results, summary)
    fig.savefig(path)
    plt.close(fig)
    return str(path)
