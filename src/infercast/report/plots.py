"""Matplotlib figures, drawn without pyplot (Agg canvas, no display, no global backend change).

Functions take data and return a `matplotlib.figure.Figure`; `save` writes PNG or SVG.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from infercast.errors import InfercastError

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _frontier_axis(ax, sweeps, key: str, xlabel: str, log_x: bool, max_cloud: int):
    for i, sw in enumerate(sweeps):
        col = COLORS[i % len(COLORS)]
        a = sw.arrays
        n = a["output_tok_s_per_gpu"].size
        step = max(1, n // max_cloud)
        ax.scatter(a[key][::step], a["output_tok_s_per_gpu"][::step], s=3, alpha=0.12, color=col, linewidths=0)
        fr = sw.frontier_interactivity if key == "tokens_per_s_per_user" else sw.frontier_ttft
        xs = [p[key] for p in fr]
        ys = [p["output_tok_s_per_gpu"] for p in fr]
        ax.plot(xs, ys, "-o", ms=2.5, lw=1.6, color=col, label=f"{sw.chip}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("output tokens/s per GPU")
    if log_x:
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.25)


def frontier_figure(sweeps, title: str | None = None, max_cloud: int = 20000) -> Figure:
    """Two panels: throughput per GPU vs tokens/s per user, and vs TTFT; one colour per sweep (chip)."""
    sweeps = list(sweeps)
    if not sweeps:
        raise InfercastError("nothing to plot")
    fig = Figure(figsize=(12, 5), dpi=110)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    _frontier_axis(ax1, sweeps, "tokens_per_s_per_user", "tokens/s per user (interactivity)", False, max_cloud)
    _frontier_axis(ax2, sweeps, "ttft_s", "time to first token (s)", True, max_cloud)
    ax1.legend(loc="best", fontsize=8)
    s0 = sweeps[0]
    fig.suptitle(title or f"{s0.model}: Pareto frontier, {s0.input_len:,} in / {s0.output_len:,} out "
                 f"(all shapes, precisions, batch sizes; dots = every configuration)", fontsize=10)
    fig.tight_layout()
    return fig


def precision_figure(labels: list[str], throughput: dict[str, list], cost: dict[str, list], title: str = "") -> Figure:
    """Grouped bars per chip: output tokens/s per GPU (left) and $/M output tokens (right), one bar per precision.

    `throughput` and `cost` map a series label to one value per chip (None: no bar)."""
    import numpy as np

    fig = Figure(figsize=(11, 3.8), dpi=110)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(labels))
    n = max(1, len(throughput))
    w = 0.8 / n
    for i, name in enumerate(throughput):
        for ax, series in ((ax1, throughput), (ax2, cost)):
            ys = [np.nan if v is None else v for v in series.get(name, [None] * len(labels))]
            ax.bar(x + (i - (n - 1) / 2) * w, ys, w, color=COLORS[i % len(COLORS)], label=name)
    for ax, yl in ((ax1, "output tokens/s per GPU"), (ax2, "$ per M output tokens (catalog price)")):
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(yl)
        ax.grid(True, axis="y", alpha=0.3)
    ax1.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG or SVG (by the file's suffix)."""
    p = Path(path)
    if p.suffix.lower() not in (".png", ".svg"):
        raise InfercastError(f"--plot {path}: use a .png or .svg file name")
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, format=p.suffix[1:].lower())
    return p


__all__ = ["frontier_figure", "precision_figure", "save"]
