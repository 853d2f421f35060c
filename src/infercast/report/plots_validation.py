"""The predicted-vs-measured figure (matplotlib Agg canvas, no pyplot: no display, no global backend change)."""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from infercast import format as F
from infercast.report.plots import COLORS


def validation_figure(results, summary) -> Figure:
    comp = [r for r in results if r.status == "compared"]
    fams = sorted({r.family for r in comp})
    fig = Figure(figsize=(7, 6.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    markers = "os^Dv"
    for i, f in enumerate(fams):
        rs = [r for r in comp if r.family == f]
        s = summary["by_family"][f]
        ax.scatter([r.measured for r in rs], [r.predicted for r in rs], s=18, color=COLORS[i % len(COLORS)],
                   marker=markers[(i // len(COLORS)) % len(markers)], alpha=0.8,
                   label=f"{f} (n={s['compared']}, median {F.pct(s['median_abs_error'])})")
    lo = min(min(r.measured for r in comp), min(r.predicted for r in comp)) * 0.7
    hi = max(max(r.measured for r in comp), max(r.predicted for r in comp)) * 1.4
    ax.plot([lo, hi], [lo, hi], color="k", lw=1)
    for k in (1.25, 0.8):
        ax.plot([lo, hi], [lo * k, hi * k], color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured (each row's own unit)")
    ax.set_ylabel("predicted by infercast")
    ax.set_title(f"infercast vs measurements: median |error| {F.pct(summary['median_abs_error'])}, "
                 f"p90 {F.pct(summary['p90_abs_error'])} (n={summary['compared']})", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


def validation_plot(results, summary, path) -> str:
    validation_figure(results, summary).savefig(path)
    return str(path)


__all__ = ["validation_figure", "validation_plot"]
