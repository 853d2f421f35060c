"""Figures of the world section (matplotlib Agg canvas, no pyplot): stock and capacity by year, copies of a
trained model against the speed each copy runs at, and serving cost against list prices."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from infercast.report.plots import COLORS


def capacity_figure(years: list[int], stock_by_designer: dict[str, list[float]], tokens: list[dict],
                    flop_bound: list[float], bw_bound: list[float], disclosed: list[tuple[float, float, str]],
                    title: str) -> Figure:
    """Left: H100e by designer, stacked per year. Right: tokens/day P10-P50-P90 per year between the essay's
    bounds, with disclosed volumes (x = fractional year, y = tokens/day, label) as points."""
    fig = Figure(figsize=(12, 4.6), dpi=110)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    for i, (d, vals) in enumerate(stock_by_designer.items()):
        v = np.asarray(vals, dtype=float) / 1e6
        ax1.bar(x, v, 0.6, bottom=bottom, color=COLORS[i % len(COLORS)], label=d)
        bottom += v
    ax1.set_xticks(x)
    ax1.set_xticklabels([str(y) for y in years])
    ax1.set_ylabel("million H100-equivalents (dense bf16) at year end")
    ax1.legend(fontsize=8, loc="upper left")
    ax1.grid(True, axis="y", alpha=0.3)
    yrs = np.asarray(years, dtype=float) + 1.0  # a year-end stock sits at the start of the next year
    p50 = np.array([t["p50"] for t in tokens])
    err = np.array([[t["p50"] - t["p10"] for t in tokens], [t["p90"] - t["p50"] for t in tokens]])
    ax2.errorbar(yrs, p50, yerr=err, fmt="o-", color=COLORS[0], capsize=4, label="realistic, P50 [P10-P90]")
    ax2.plot(yrs, flop_bound, "--", color="grey", lw=1, label="FLOP bound (same stock, share, utilisation)")
    ax2.plot(yrs, bw_bound, ":", color="grey", lw=1, label="batch-1 bandwidth bound")
    markers = {}
    for xv, yv, label in disclosed:
        i = markers.setdefault(label, len(markers))
        ax2.scatter([xv], [yv], marker="sdv^P*X"[i % 7], color=COLORS[(i + 1) % len(COLORS)], s=30,
                    label=label if label not in [t.get_label() for t in ax2.collections] else None, zorder=3)
    ax2.set_yscale("log")
    ticks = np.arange(np.floor(min([*yrs, *(d[0] for d in disclosed)] or [yrs[0]])), yrs[-1] + 1)
    ax2.set_xticks(ticks)
    ax2.set_xticklabels([f"{int(t)}" for t in ticks])
    ax2.set_xlabel("date (a year-end stock plotted at 1 January)")
    ax2.set_ylabel("tokens per day (input + output)")
    ax2.grid(True, which="both", alpha=0.2)
    handles, labels = ax2.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    ax2.legend(seen.values(), seen.keys(), fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def copies_figure(curves: list[tuple[str, list[float], list[float]]], marks: list[tuple[float, float]],
                  title: str) -> Figure:
    """Copies of a trained model its training cluster runs at once, against tokens/s per user (one curve per
    run, from the planner's throughput-interactivity frontier); `marks` are the table's points."""
    fig = Figure(figsize=(7.5, 4.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, (label, tps, copies) in enumerate(curves):
        ax.plot(tps, copies, "-o", ms=2.5, lw=1.5, color=COLORS[i % len(COLORS)], label=label)
    if marks:
        ax.scatter([m[0] for m in marks], [m[1] for m in marks], s=40, facecolors="none", edgecolors="k", zorder=3,
                   label="points in the table")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens/s per user (each copy's speed)")
    ax.set_ylabel("copies running at once (output tokens/s / speed)")
    ax.grid(True, which="both", alpha=0.2)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def margin_figure(labels: list[str], cost: list[float], price: list[float], title: str) -> Figure:
    """Per model and chip: serving cost and list price per million output tokens, joined (log scale: a dot
    plot, since bars on a log axis have no common base)."""
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(9, 0.45 * len(labels) + 1.9), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(len(labels))
    for yi, c, p in zip(y, cost, price):
        ax.plot([c, p], [yi, yi], color="#9aa3b2", lw=1.2, zorder=1)
    ax.scatter(cost, y, color=COLORS[1], s=36, zorder=2, label="serving cost (planner's point, $/GPU-hour given)")
    ax.scatter(price, y, color=COLORS[0], marker="D", s=32, zorder=2, label="list price (dated)")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:g}"))
    ax.set_xlabel("$ per million output tokens")
    ax.grid(True, axis="x", which="both", alpha=0.2)
    ax.margins(y=0.15)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["capacity_figure", "copies_figure", "margin_figure"]
