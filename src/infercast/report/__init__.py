"""The report: the essay's question answered with today's catalog, as one self-contained HTML page.

`build_report(out, quick=False)` computes every section, writes `out/index.html` (figures embedded
as data URIs and also written beside it as PNG), `out/report.json` (the numbers), and returns a
`ReportResult` for the terminal summary. Sections (in order):

1. the essay's table per chip: upper / lower / realistic (prefill, decode, mixed) / market (`table`);
2. throughput vs interactivity frontiers for three reference models (`frontier`, `plots`);
3. cost per M input and output tokens at a stated operating point (`cost`, dated catalog prices);
4. 16-bit vs FP8 vs FP4 per chip (same sweeps, best point per precision);
5. predicted vs measured (`validate`, `plots_validation`), falling back to the shipped summary;
6. the forecast fan chart (`forecast`) and 7. the essay's three claims (`claims`).

A section that raises is rendered "not available: <reason>"; the page always builds.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Callable

import numpy as np

from infercast.specs.store import read_json
from infercast.errors import InfercastError
from infercast.specs.hardware import get_chip
from infercast.specs.model import get_model

ESSAY_MODEL = "gpt-4"
ESSAY_QUESTION = "Suppose you have a bunch of GPUs. How many LLM forward passes can you do with them?"
ESSAY_URL = "https://benjamintodd.substack.com/p/how-much-ai-inference-can-we-do"
REPORT_CHIPS = ("a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300", "mi300x", "mi325x",
                "mi355x")
FRONTIER_CHIPS = ("a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi355x")
QUICK_FRONTIER_CHIPS = ("h100-sxm", "b200", "mi300x")
REFERENCE_MODELS = ("llama-3.1-8b", "llama-3.1-70b", "deepseek-v3")
MODEL_LABELS = {"llama-3.1-8b": "dense 8B", "llama-3.1-70b": "dense 70B", "deepseek-v3": "large MoE (671B, 37B active)"}
PRECISIONS = ("bf16", "fp8", "fp4")
PRECISION_LABEL = {"bf16": "16-bit (bf16)", "fp8": "FP8", "fp4": "FP4"}
DOCS = (("ARCHITECTURE.md", "how infercast is built"), ("report.md", "this report: methods and choices"),
        ("calibration.md", "measuring your own GPU"), ("fleet.md", "cost, energy and fleets"),
        ("forecast.md", "forecast and uncertainty"))


# ----------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    quick: bool = False
    chips: tuple[str, ...] = REPORT_CHIPS
    frontier_chips: tuple[str, ...] = FRONTIER_CHIPS
    models: tuple[str, ...] = REFERENCE_MODELS
    precision_model: str = "llama-3.1-70b"
    essay_input_len: int = 7680  # the essay's 8k context (SemiAnalysis' GPT-4 figure)
    essay_output_len: int = 512
    input_len: int = 2000
    output_len: int = 500
    min_tps: float = 20.0  # tokens/s per user
    max_ttft_s: float = 2.0
    n_concurrency: int = 48
    max_gpus: int = 128
    max_cloud: int = 20000
    forecast_samples: int = 2000


def settings(quick: bool = False) -> Settings:
    if not quick:
        return Settings()
    return Settings(quick=True, frontier_chips=QUICK_FRONTIER_CHIPS, n_concurrency=12, max_gpus=64, max_cloud=3000,
                    forecast_samples=200)


# ----------------------------------------------------------------------------- formatting

def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def num(x: float | None, unit: str = "") -> str:
    """1,234 / 56.7 / 3.61 (+ unit); '-' for None."""
    if x is None or not np.isfinite(x):
        return "–"
    ax = abs(x)
    s = f"{x:,.0f}" if ax >= 100 else f"{x:.1f}" if ax >= 10 else f"{x:.2f}" if ax >= 0.1 else f"{x:.2g}"
    return f"{s} {unit}".rstrip() if unit else s


def usd(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"${x:.3f}" if x < 1 else f"${x:.2f}" if x < 100 else f"${x:,.0f}"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def tip(text: str, title: str) -> str:
    """A number whose source shows on hover."""
    return f'<span class="tip" title="{esc(title)}">{text}</span>'


def linkify(text: str) -> str:
    out, last = [], 0
    for m in re.finditer(r"https?://[^\s;,)]+", text):
        out.append(esc(text[last:m.start()]))
        url = m.group(0).rstrip(".")
        out.append(f'<a href="{esc(url)}">{esc(url)}</a>')
        last = m.start() + len(url)
    out.append(esc(text[last:]))
    return "".join(out)


def table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """An HTML table; cells are HTML already; first column left-aligned."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def shape(p: dict) -> str:
    s = f"{p['tp']}×{p['pp']}"
    return s + (f", EP {p['ep']}" if p.get("ep", 1) > 1 else "") + f" ({p['gpus']} GPUs)"


class Sources:
    """Numbered footnotes, one per distinct source text."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._idx: dict[str, int] = {}

    def ref(self, text: str) -> str:
        text = str(text).strip()
        if text not in self._idx:
            self.items.append(text)
            self._idx[text] = len(self.items)
        n = self._idx[text]
        return f'<sup class="fn"><a href="#fn{n}" title="{esc(text)}">[{n}]</a></sup>'

    def html(self) -> str:
        lis = "".join(f'<li id="fn{i}">{linkify(t)}</li>' for i, t in enumerate(self.items, 1))
        return f'<ol class="footnotes">{lis}</ol>'


# ----------------------------------------------------------------------------- build state

@dataclass
class Build:
    s: Settings
    out: Path
    src: Sources = field(default_factory=Sources)
    data: dict = field(default_factory=dict)  # JSON-ready numbers, written to report.json
    sweeps: dict = field(default_factory=dict)  # (model, chip) -> Sweep | error str
    ops: dict = field(default_factory=dict)  # (model, chip) -> {precision: CostReport | error str}
    figures: dict = field(default_factory=dict)  # name -> Path
    model_error: dict = field(default_factory=dict)
    essay: Any = None  # table.Table
    validation: Any = None  # (summary, results, path) or the reason it failed


def figure_html(b: Build, name: str, path: Path, alt: str, caption: str) -> str:
    """Embed a PNG as a data URI (the page stays one file) and link the file beside it."""
    b.figures[name] = path
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
            f'<figcaption>{caption} <a class="file" href="{esc(Path(path).name)}">PNG</a></figcaption></figure>')


def _save(fig, path: Path) -> Path:
    fig.savefig(path, format="png")
    return path


# ----------------------------------------------------------------------------- computations

def compute_validation(b: Build) -> None:
    """Run `validate` on the default measured data (kept for section 5); on failure keep the reason."""
    from infercast.analyses.validate import default_data_path, validate

    try:
        path = default_data_path()
        b.validation = (*validate(path), path)
    except Exception as e:  # noqa: BLE001 - section 5 falls back to the packaged summary
        b.validation = f"{type(e).__name__}: {e}"


def compute_model_error(b: Build) -> None:
    """The model's own error band: from the live validation when it ran, else the packaged summary."""
    try:
        from infercast.analyses.uncertainty import load_model_error

        if isinstance(b.validation, tuple):
            summary, _, path = b.validation
            b.model_error = dict(load_model_error({k: summary[k] for k in ("median_abs_error", "p90_abs_error")}),
                                 source=f"infercast validate on {Path(path).name}")
        else:
            b.model_error = load_model_error()
    except Exception as e:  # noqa: BLE001 - the report still builds
        b.model_error = {"source": f"unavailable ({e})", "multiplier_p10": None, "multiplier_p90": None,
                         "median_abs_error": None, "p90_abs_error": None}


def error_note(b: Build) -> str:
    me = b.model_error
    if me.get("median_abs_error") is None:
        return f"model error: {me.get('source', 'unknown')}"
    return (f"infercast's own error against {me['source']}: median |error| {me['median_abs_error']:.0%}, "
            f"P90 {me['p90_abs_error']:.0%}; P10-P90 band x{me['multiplier_p10']:.2f}-x{me['multiplier_p90']:.2f}")


def compute_essay_table(b: Build):
    from infercast.analyses.table import essay_table

    t = essay_table(ESSAY_MODEL, chips=list(b.s.chips), precision="bf16", input_len=b.s.essay_input_len,
                    output_len=b.s.essay_output_len)
    b.data["essay_table"] = t.as_dict()
    b.essay = t
    return t


def efficiency_source(model: str, row) -> tuple[str, str]:
    from infercast.engine.estimate import estimate

    e = estimate(model, row.chip, tp=row.tp, pp=row.pp, weights=row.precision, input_len=2048, output_len=256,
                 max_throughput=True)
    return e.efficiency_source, e.engine_source


def compute_sweep(b: Build, model: str, chip: str) -> None:
    from infercast.analyses.frontier import sweep

    try:
        b.sweeps[(model, chip)] = sweep(model, chip, input_len=b.s.input_len, output_len=b.s.output_len,
                                        max_gpus=b.s.max_gpus, n_concurrency=b.s.n_concurrency)
    except InfercastError as e:
        b.sweeps[(model, chip)] = str(e)


def best_by_precision(sw, min_tps: float, max_ttft: float) -> dict[str, dict]:
    """Highest output tokens/s per GPU per weight precision among points meeting both targets."""
    a = sw.arrays
    ok = (a["tokens_per_s_per_user"] >= min_tps) & (a["ttft_s"] <= max_ttft)
    out = {}
    for code, p in enumerate(sw.precisions):
        m = ok & (sw.precision_code == code)
        if m.any():
            idx = np.flatnonzero(m)
            out[p] = sw.point(int(idx[np.argmax(a["output_tok_s_per_gpu"][m])]))
    return out


def compute_costs(b: Build, model: str, chip: str) -> None:
    """Price the best point per precision (sweep's shape; `cost` re-picks the batch for the targets)."""
    from infercast.analyses.cost import cost

    sw = b.sweeps.get((model, chip))
    res: dict[str, Any] = {}
    if isinstance(sw, str) or sw is None:
        b.ops[(model, chip)] = {"error": sw or "no sweep"}
        return
    priced = get_chip(chip).price is not None
    for p, pt in best_by_precision(sw, b.s.min_tps, b.s.max_ttft_s).items():
        try:
            res[p] = cost(model, chip, tp=pt["tp"], pp=pt["pp"], ep=pt["ep"], weights=p, input_len=b.s.input_len,
                          output_len=b.s.output_len, min_tokens_per_s_per_user=b.s.min_tps,
                          max_ttft_s=b.s.max_ttft_s, price=None if priced else 1.0)
        except InfercastError as e:
            res[p] = str(e)
    b.ops[(model, chip)] = res


def ok_costs(b: Build, model: str, chip: str) -> dict:
    return {p: r for p, r in b.ops.get((model, chip), {}).items() if p in PRECISIONS and not isinstance(r, str)}


def best_cost(b: Build, model: str, chip: str):
    """The precision with the most output tokens/s per GPU at the operating point (cheapest on one chip)."""
    rs = ok_costs(b, model, chip)
    return max(rs.values(), key=lambda r: r.output_tok_s_per_gpu) if rs else None


# ----------------------------------------------------------------------------- sections

def chip_label(b: Build, chip_id: str) -> str:
    c = get_chip(chip_id)
    srcs = "; ".join(f"{k}: {v}" for k, v in c.sources.items())
    return tip(esc(c.name), f"{c.id} ({c.year}). Datasheet sources - {srcs}")


def price_ref(b: Build, chip_id: str) -> str:
    c = get_chip(chip_id)
    if c.price is None:
        return tip("no price", "no dated price in the catalog (data/chips.json); $/M shown at $1/GPU-hour on hover")
    p = c.price
    return (f"${p.usd_per_hour:.2f}/h <span class='dim'>({esc(p.date)})</span>"
            + b.src.ref(f"{c.name} price: ${p.usd_per_hour:.2f} per GPU-hour, {p.kind}, observed {p.date}; {p.source}"))


def section_essay(b: Build) -> str:
    t = compute_essay_table(b)
    m = get_model(ESSAY_MODEL)
    me = b.model_error
    lo, hi = me.get("multiplier_p10"), me.get("multiplier_p90")
    params = b.src.ref(f"{m.name}: {m.active_params / 1e9:,.0f} B active of {m.total_params / 1e9:,.0f} B parameters"
                       + (" (rumoured)" if m.rumoured else "") + f". {m.params_source}")
    err_ref = b.src.ref(error_note(b))
    rows = []
    for r in t.rows:
        c = get_chip(r.chip)
        eff, eng = efficiency_source(m.id, r)
        eref = b.src.ref(f"efficiency fractions, family {c.family}: {eff}")
        b.src.ref(f"engine profile: {eng}")

        def real(x: float, what: str) -> str:
            band = f" (P10-P90 {num(x * lo)}-{num(x * hi)})" if lo else ""
            return tip(num(x), f"{what}{band}; {r.operating_point}; {r.gpus} GPUs (TP {r.tp} x PP {r.pp}); "
                               f"efficiency: {eff}")

        market = (tip(num(r.market), r.market_source) + b.src.ref(f"market figure: {r.market_source}")
                  if r.market else tip("–", "no dated $/M-token quote for this model on this chip (data/market.json)"))
        rows.append([
            chip_label(b, r.chip) + f" <span class='dim'>{c.year}</span>",
            f"{r.tp}×{r.pp} = {r.gpus}",
            tip(num(r.upper), f"{c.peak_flops('bf16') / 1e12:,.0f} TFLOP/s dense bf16 / "
                              f"{2 * m.active_params / 1e9:,.0f} GFLOP per forward pass")
            + b.src.ref(f"{c.name} peak FLOP/s: {c.sources.get('tflops', '?')}"),
            tip(num(r.lower), f"{c.memory_bw_tbps:.2f} TB/s / {m.active_params * 2 / 1e9:,.0f} GB of active "
                              "bf16 weights")
            + b.src.ref(f"{c.name} HBM bandwidth: {c.sources.get('bandwidth', '?')}"),
            real(r.realistic_prefill, "prefill only: input tokens/s per GPU") + eref,
            real(r.realistic_decode, "decode only: output tokens/s per GPU"),
            "<b>" + real(r.realistic_mixed, "continuous batching: input + output tokens/s per GPU") + "</b>",
            pct(r.realistic_mixed / r.upper),
            market,
        ])
    headers = ["chip", "GPUs (TP×PP)", "upper<br><span class='dim'>FLOP bound</span>",
               "lower<br><span class='dim'>bandwidth, batch 1</span>",
               "realistic prefill<br><span class='dim'>input tok/s</span>",
               "realistic decode<br><span class='dim'>output tok/s</span>",
               f"realistic mixed{err_ref}<br><span class='dim'>in + out tok/s</span>", "mixed / upper",
               "market<br><span class='dim'>from a $/M quote</span>"]
    intro = (f"<p>{esc(m.name)}{params} at 16-bit weights, {t.input_len:,} prompt + {t.output_len:,} generated tokens "
             f"(the essay's 8k context), largest batch that fits. Unit: <b>forward passes (tokens) per chip per "
             f"second</b>. Prefill and decode are shown separately because they differ by 10-100x; "
             f"<i>mixed</i> is what a server doing both reaches and what the market figure prices. "
             f"Hover a number for how it was computed; [n] links to its source.</p>")
    method = "<ul class='method'>" + "".join(f"<li>{esc(x)}</li>" for x in t.method) + "</ul>"
    return intro + table(headers, rows, "num") + method


def section_frontier(b: Build) -> str:
    from infercast.report.plots import frontier_figure

    s = b.s
    parts = [f"<p>Every deployment shape (TP, PP, EP), weight precision (bf16, FP8, FP4 where the chip has a native "
             f"rate) and batch size, {s.input_len:,} prompt / {s.output_len:,} generated tokens. Lines are the Pareto "
             f"frontier: the most output per GPU at each level of per-user speed. The grey dashed lines mark the "
             f"operating point used below (≥ {s.min_tps:g} tokens/s per user, TTFT ≤ {s.max_ttft_s:g} s).</p>"]
    for mid in s.models:
        m = get_model(mid)
        sws = [sw for c in s.frontier_chips if not isinstance((sw := b.sweeps.get((mid, c))), (str, type(None)))]
        if not sws:
            parts.append(f"<p class='na'>{esc(m.name)}: not available (no chip fits)</p>")
            continue
        fig = frontier_figure(sws, title=f"{m.name} ({MODEL_LABELS.get(mid, '')}): {s.input_len:,} in / "
                                         f"{s.output_len:,} out; dots = every configuration", max_cloud=s.max_cloud)
        fig.axes[0].axvline(s.min_tps, color="grey", ls="--", lw=1)
        fig.axes[1].axvline(s.max_ttft_s, color="grey", ls="--", lw=1)
        path = _save(fig, b.out / f"frontier-{mid}.png")
        parts.append(f"<h3>{esc(m.name)} <span class='dim'>({esc(MODEL_LABELS.get(mid, ''))})</span></h3>")
        parts.append(figure_html(b, f"frontier-{mid}", path, f"{m.name} frontier",
                                 f"{esc(m.name)}: output tokens/s per GPU against tokens/s per user (left) and time to "
                                 "first token (right)."))
        parts.append(frontier_table(b, mid))
    return "".join(parts)


def frontier_table(b: Build, mid: str) -> str:
    rows = []
    for c in b.s.chips:
        sw = b.sweeps.get((mid, c))
        if isinstance(sw, str) or sw is None:
            rows.append([chip_label(b, c), tip("does not fit", str(sw))] + [""] * 4)
            continue
        mx = sw.max_throughput()
        best = best_by_precision(sw, b.s.min_tps, b.s.max_ttft_s)
        op = max(best.values(), key=lambda p: p["output_tok_s_per_gpu"]) if best else None
        rows.append([
            chip_label(b, c),
            tip(num(mx["output_tok_s_per_gpu"]), f"{mx['precision']}, {shape(mx)}, batch {mx['concurrency']:.0f}")
            + f" <span class='dim'>@ {num(mx['tokens_per_s_per_user'])} tok/s/user</span>",
            tip(num(op["output_tok_s_per_gpu"]), f"batch {op['concurrency']:.0f} per replica; TTFT "
                                                 f"{op['ttft_s']:.2f} s") if op else "no point meets the targets",
            PRECISION_LABEL[op["precision"]] if op else "",
            shape(op) if op else "",
            pct(op["output_tok_s_per_gpu"] / mx["output_tok_s_per_gpu"]) if op else "",
        ])
    b.data.setdefault("frontier", {})[mid] = {
        c: {"max_throughput": sw.max_throughput(),
            "at_operating_point": best_by_precision(sw, b.s.min_tps, b.s.max_ttft_s)}
        for c in b.s.chips if not isinstance((sw := b.sweeps.get((mid, c))), (str, type(None)))}
    return table(["chip", "max throughput<br><span class='dim'>output tok/s/GPU</span>",
                  f"at the operating point<br><span class='dim'>output tok/s/GPU</span>", "precision", "shape",
                  "op. point / max"], rows, "num")


def section_cost(b: Build) -> str:
    s = b.s
    parts = [f"<p>Operating point: <b>≥ {s.min_tps:g} output tokens/s per user and time to first token ≤ "
             f"{s.max_ttft_s:g} s</b>, {s.input_len:,} prompt + {s.output_len:,} generated tokens per request, GPUs "
             f"busy 100% of paid hours, on-demand cloud prices from the catalog (dated; hover or follow [n]). Each "
             f"chip uses the shape and precision that give the most output per GPU there. GPU-time is split "
             f"between input and output tokens by their share of step time.</p>"]
    for mid in s.models:
        m = get_model(mid)
        rows = []
        for c in s.chips:
            r = best_cost(b, mid, c)
            if r is None:
                why = "; ".join(str(v) for v in b.ops.get((mid, c), {}).values()) or "no point meets the targets"
                rows.append([chip_label(b, c), price_ref(b, c), tip("not reachable", why)] + [""] * 6)
                continue
            priced = get_chip(c).price is not None
            dollars = (lambda x: usd(x)) if priced else (
                lambda x: tip("–", f"no dated price; {usd(x)} at $1/GPU-hour"))
            rows.append([chip_label(b, c), price_ref(b, c), PRECISION_LABEL.get(r.weights, r.weights),
                         f"{r.tp}×{r.pp}" + (f", EP {r.ep}" if r.ep > 1 else ""),
                         tip(num(r.output_tok_s_per_gpu), "; ".join(r.assumptions)),
                         num(r.tokens_per_s_per_user), f"{r.ttft_s:.2f} s",
                         dollars(r.usd_per_m_input), "<b>" + dollars(r.usd_per_m_output) + "</b>"])
        b.data.setdefault("cost", {})[mid] = {c: {p: (v if isinstance(v, str) else v.as_dict())
                                                  for p, v in b.ops.get((mid, c), {}).items()} for c in s.chips}
        parts.append(f"<h3>{esc(m.name)} <span class='dim'>({esc(MODEL_LABELS.get(mid, ''))})</span></h3>")
        parts.append(table(["chip", "price", "precision", "TP×PP", "output tok/s/GPU", "tok/s/user", "TTFT",
                            "$ / M input", "$ / M output"], rows, "num"))
    return "".join(parts)


def precision_figure(b: Build, mid: str, chips: list[str]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from infercast.report.plots import COLORS

    fig = Figure(figsize=(11, 3.8), dpi=110)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(chips))
    w = 0.27
    for i, p in enumerate(PRECISIONS):
        rs = [ok_costs(b, mid, c).get(p) for c in chips]
        thr = [r.output_tok_s_per_gpu if r else np.nan for r in rs]
        cst = [r.usd_per_m_output if r and get_chip(c).price else np.nan for r, c in zip(rs, chips)]
        ax1.bar(x + (i - 1) * w, thr, w, color=COLORS[i], label=PRECISION_LABEL[p])
        ax2.bar(x + (i - 1) * w, cst, w, color=COLORS[i], label=PRECISION_LABEL[p])
    for ax, yl in ((ax1, "output tokens/s per GPU"), (ax2, "$ per M output tokens (catalog price)")):
        ax.set_xticks(x)
        ax.set_xticklabels([get_chip(c).id for c in chips], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(yl)
        ax.grid(True, axis="y", alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle(f"{get_model(mid).name} at ≥ {b.s.min_tps:g} tok/s/user, TTFT ≤ {b.s.max_ttft_s:g} s: by weight "
                 "precision (missing bar: no native rate, or no price)", fontsize=10)
    fig.tight_layout()
    return fig


def precision_gains(b: Build, mid: str) -> dict[str, float]:
    """FP8 / 16-bit output throughput at the operating point, per chip that has both."""
    out = {}
    for c in b.s.chips:
        rs = ok_costs(b, mid, c)
        if "bf16" in rs and "fp8" in rs:
            out[c] = rs["fp8"].output_tok_s_per_gpu / rs["bf16"].output_tok_s_per_gpu
    return out


def section_precision(b: Build) -> str:
    mid = b.s.precision_model
    chips = list(b.s.chips)
    path = _save(precision_figure(b, mid, chips), b.out / "precision.png")
    rows = []
    for c in chips:
        rs = ok_costs(b, mid, c)
        base = rs.get("bf16")
        cells = [chip_label(b, c)]
        for p in PRECISIONS:
            r = rs.get(p)
            if r is None:
                native = p in get_chip(c).tflops or p == "bf16"
                cells.append(tip("–", "no native tensor rate for this precision" if not native
                                 else "no configuration meets the operating point"))
                continue
            ratio = f" <span class='dim'>×{r.output_tok_s_per_gpu / base.output_tok_s_per_gpu:.2f}</span>" \
                if base and p != "bf16" else ""
            cost_ = f"<br><span class='dim'>{usd(r.usd_per_m_output)}/M out</span>" if get_chip(c).price else ""
            cells.append(tip(num(r.output_tok_s_per_gpu), f"{r.tp}x{r.pp} EP {r.ep}, batch "
                                                            f"{r.concurrency_per_replica:.0f}") + ratio + cost_)
        rows.append(cells)
    m = get_model(mid)
    intro = (f"<p>{esc(m.name)} at the same operating point, best shape per precision: output tokens/s per GPU, "
             f"the gain over 16-bit (×), and $ per M output tokens. The essay guessed FP8 would \"roughly double\" "
             f"throughput; here the gain depends on how memory-bound the step is (see the claims below). FP8 and "
             f"FP4 weights come with an FP8 KV cache.</p>")
    return intro + figure_html(b, "precision", path, "throughput and cost by precision",
                               "Throughput (left) and cost (right) by weight precision.") + \
        table(["chip"] + [PRECISION_LABEL[p] for p in PRECISIONS], rows, "num")


def family_sources(path) -> dict[str, str]:
    from infercast.analyses.validate import family_of, read_rows

    out: dict[str, str] = {}
    for r in read_rows(path):
        out.setdefault(family_of(r["id"]), f"{r.get('source', '')} ({r.get('date', '')})")
    return out


def validation_body(b: Build) -> tuple[dict, str, dict, str]:
    """(summary, figure html, family -> source, where the numbers come from)."""
    if isinstance(b.validation, tuple):
        summary, results, path = b.validation
        try:
            from infercast.report.plots_validation import validation_plot

            fpath = Path(validation_plot(results, summary, b.out / "validation.png"))
            fig = figure_html(b, "validation", fpath, "predicted vs measured",
                              "Each dot is one published or own measurement; the diagonal is perfect agreement, "
                              "dashed lines ±25%.")
        except Exception as e:  # noqa: BLE001
            fig = f"<p class='na'>Plot unavailable: {esc(type(e).__name__)}: {esc(e)}.</p>"
        return summary, fig, family_sources(path), f"run now on the measured data ({esc(Path(path).name)})"
    summary = read_json("validation_summary.json")
    fig = (f"<p class='na'>Plot unavailable: the measured data could not be validated here ({esc(b.validation)}). "
           "The numbers below are the packaged data/validation_summary.json.</p>")
    return summary, fig, {}, "from the packaged data/validation_summary.json"


def section_validation(b: Build) -> str:
    summary, fig, fams, origin = validation_body(b)
    b.data["validation"] = summary
    rows = [[esc(f) + (b.src.ref(f"validation rows {f}: {fams[f]}") if f in fams else ""),
             str(v["compared"]), str(v["not_comparable"]), pct(v["median_abs_error"]), pct(v["p90_abs_error"]),
             (f"{v['median_signed_error']:+.0%}" if v["median_signed_error"] is not None else "–")]
            for f, v in summary["by_family"].items()]
    rows.append(["<b>all</b>", f"<b>{summary['compared']}</b>", str(summary["not_comparable"]),
                 f"<b>{pct(summary['median_abs_error'])}</b>", pct(summary["p90_abs_error"]),
                 f"{summary['median_signed_error']:+.0%}"])
    intro = (f"<p>How far infercast's realistic estimate is from measurements, {origin}: median absolute error "
             f"<b>{pct(summary['median_abs_error'])}</b>, P90 {pct(summary['p90_abs_error'])} over "
             f"{summary['compared']} rows; {summary['not_comparable']} rows the model cannot represent (speculative "
             f"decoding, disaggregated serving, ...) are counted, not guessed. Signed error &gt; 0 means infercast "
             f"predicts more than was measured. This error is the P10–P90 band shown on hover in section 1.</p>")
    return intro + fig + table(["source family", "compared", "not comparable", "median |error|",
                                "P90 |error|", "median signed"], rows, "num")


def section_forecast(b: Build) -> str:
    from infercast.analyses import forecast as F
    from infercast.cli.kit import si

    res = F.run_forecast(samples=b.s.forecast_samples)
    path = F.fan_chart(res, b.out / "forecast.png")
    b.data["forecast"] = {"years": res["years"], "results": res["results"], "notes": res["notes"]}
    years = [y for y in (2025, 2027, 2030) if y in res["years"]]
    rows = []
    for mid, qs in res["results"].items():
        for y in years:
            k = str(y)

            def rng(q, f=num):
                d = qs[q][k]
                return f"{f(d['p50'])} <span class='dim'>[{f(d['p10'])}–{f(d['p90'])}]</span>"

            rows.append([esc(mid), str(y), rng("output_tok_s_per_gpu"), rng("usd_per_m_output_tokens", usd),
                         rng("fleet_output_tokens_per_day", lambda x: si(x, digits=2))])
    op = res["operating_point"]
    notes = "".join(f"<li>{esc(n)}</li>" for n in res["notes"])
    head = "".join(f"<li>{esc(x)}</li>" for x in F.headline(res))
    return (f"<p>A Monte Carlo over hardware trends fitted to the catalog, fleet growth and algorithmic progress "
            f"({res['samples']} samples, seed {res['seed']}; input {op['input_len']}, output {op['output_len']}, "
            f"TPOT ≤ {op['tpot_max_s'] * 1e3:.0f} ms). Every assumption and its source: "
            f"<code>infercast forecast --print-scenario</code>.</p>"
            + figure_html(b, "forecast", Path(path), "forecast fan chart", "P50 line, P10–P90 band.")
            + table(["model", "year", "output tok/s/GPU", "$ / M output", "fleet tokens/day"], rows, "num")
            + f"<ul class='method'>{head}{notes}</ul>")


def section_claims(b: Build) -> str:
    from infercast.analyses import claims as C

    parts = []
    b.data["claims"] = {}
    for name, fn in (("20x throughput vs 8x FLOP in five years", C.throughput_vs_flops),
                     ("FP16 → FP8 roughly doubles inference", C.fp8_doubling),
                     ("H200 ≈ 1.7× H100", C.h200_vs_h100)):
        try:
            r = fn()
            b.data["claims"][fn.__name__] = {k: r[k] for k in ("claim", "verdict", "text")}
            more = "".join(f"<li>{esc(t)}</li>" for t in r["text"])
            parts.append(f"<div class='claim'><h3>{esc(name)}</h3><blockquote>“{esc(r['claim'])}”</blockquote>"
                         f"<p><b>infercast:</b> {esc(r['verdict'])}</p>"
                         f"<details><summary>why, and the numbers</summary><ul>{more}</ul></details></div>")
        except Exception as e:  # noqa: BLE001
            parts.append(f"<div class='claim'><h3>{esc(name)}</h3><p class='na'>not available: "
                         f"{esc(type(e).__name__)}: {esc(e)}</p></div>")
    return "".join(parts)


def docs_dir() -> Path | None:
    d = Path(__file__).resolve().parents[2] / "docs"
    return d if d.is_dir() else None


def section_methods(b: Build) -> str:
    d = docs_dir()
    links = []
    for name, what in DOCS:
        if d and (d / name).is_file():
            href = os.path.relpath(d / name, b.out.resolve())
            links.append(f"<li><a href='{esc(href)}'>docs/{esc(name)}</a>: {esc(what)}</li>")
        else:
            links.append(f"<li>docs/{esc(name)}: {esc(what)}</li>")
    return ("<p>infercast models one engine step as a roofline: time = max(compute, memory traffic) per operator "
            "(weights, KV cache, activations), plus communication and a fixed per-step overhead, with "
            "<i>achievable fractions</i> of each chip's datasheet peaks taken from published measurements per chip "
            "family. Serving is continuous batching: each step decodes one token for every request in flight and "
            "prefills the prompts that arrive meanwhile; the batch is capped by HBM left for the KV cache. "
            "Throughputs are per GPU; GB = 10<sup>9</sup> bytes. The same functions back the CLI "
            "(<code>infercast table</code>, <code>frontier</code>, <code>cost</code>, <code>validate</code>, "
            "<code>forecast</code>, <code>claims</code>), so every number here can be reproduced and varied "
            "there.</p><ul>" + "".join(links) + "</ul>")


SECTIONS: tuple[tuple[str, str, Callable[[Build], str]], ...] = (
    ("table", "1. Per chip: the essay's estimates, today", section_essay),
    ("frontier", "2. Throughput vs interactivity", section_frontier),
    ("cost", "3. Cost per million tokens", section_cost),
    ("precision", "4. 16-bit vs FP8 vs FP4", section_precision),
    ("validation", "5. How accurate is infercast? Predicted vs measured", section_validation),
    ("forecast", "6. Forecast to 2030", section_forecast),
    ("claims", "7. The essay's three claims, checked", section_claims),
    ("methods", "8. Methods", section_methods),
)


# ----------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d2330;--dim:#6b7280;--line:#e5e7eb;--acc:#1f5fbf;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}body{margin:0;font:15px/1.55 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}main{max-width:1180px;margin:0 auto;padding:28px 28px 60px}
h1{font-size:28px;margin:0 0 4px}h2{font-size:21px;margin:42px 0 10px;padding-top:10px;border-top:2px solid var(--line)}
h3{font-size:16px;margin:22px 0 6px}p{margin:8px 0}a{color:var(--acc)}
code{background:var(--soft);padding:1px 4px;border-radius:3px}
.sub{color:var(--dim);margin-bottom:18px}.dim{color:var(--dim);font-size:12px;font-weight:normal}
blockquote{margin:10px 0;padding:6px 14px;border-left:4px solid var(--acc);background:var(--soft);font-style:italic}
.box{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px 16px;margin:14px 0}
.box ul{margin:4px 0;padding-left:20px}
nav{font-size:13px;margin:12px 0;display:flex;flex-wrap:wrap;gap:4px 14px}nav a{white-space:nowrap}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:10px 0;font-size:13.5px;width:100%}
th,td{padding:5px 9px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);text-align:right;font-weight:600}th:first-child,td:first-child{text-align:left}
table.num td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.num td:first-child{text-align:left;white-space:normal;min-width:180px}
tbody tr:hover{background:#fafbff}.tip{border-bottom:1px dotted #9aa3b2;cursor:help}
sup.fn{font-size:10px;margin-left:1px}sup.fn a{text-decoration:none}
figure{margin:14px 0}figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--dim);font-size:13px}a.file{font-size:11px;margin-left:6px}
.na{color:#9a3412;background:#fff7ed;border:1px solid #fed7aa;border-radius:4px;padding:6px 10px}
ul.method{color:var(--dim);font-size:13px}.claim details{margin:6px 0 14px;font-size:13.5px}
ol.footnotes{font-size:12px;color:var(--dim);word-break:break-word}ol.footnotes li{margin:3px 0}
footer{margin-top:40px;color:var(--dim);font-size:12px}
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>infercast report: how much LLM inference can some accelerators do?</title>
<style>$css</style></head>
<body><main>
<h1>How much LLM inference can some accelerators do?</h1>
<div class="sub">infercast report, generated $date$quick &middot; catalog prices dated as shown &middot;
every number has a source</div>
$intro
<nav>$nav</nav>
$sections
<h2 id="sources">Sources</h2>
<p>Numbered references used above: datasheets (per chip and field), dated prices, efficiency fractions, market
quotes and validation data.</p>
$footnotes
<footer>infercast $version &middot; built in $seconds s &middot; figures are also written beside this page as PNG
&middot; numbers in <code>report.json</code></footer>
</main></body></html>
""")


def intro_html(b: Build) -> str:
    keys = []
    t = b.data.get("essay_table")
    if t:
        by = {r["chip"]: r for r in t["rows"]}
        for cid in ("a100-sxm-80gb", "h100-sxm", "b200"):
            r = by.get(cid)
            if r:
                keys.append(f"GPT-4 (as the essay sizes it) on one {esc(get_chip(cid).name)}: upper bound "
                            f"<b>{num(r['upper'])}</b>, lower bound <b>{num(r['lower'])}</b>, realistic "
                            f"<b>{num(r['realistic_mixed'])}</b> forward passes per second "
                            f"({num(r['realistic_prefill'])} when only reading prompts, {num(r['realistic_decode'])} "
                            f"when only generating)" + (f"; the 2023 market price implied {num(r['market'])}"
                                                        if r.get("market") else "") + ".")
    r = best_cost(b, "llama-3.1-70b", "h100-sxm")
    if r:
        keys.append(f"Llama 3.1 70B on H100s at ≥ {b.s.min_tps:g} tokens/s per user: about "
                    f"<b>{num(r.output_tok_s_per_gpu)}</b> output tokens/s per GPU, <b>{usd(r.usd_per_m_output)}</b> "
                    f"per million output and {usd(r.usd_per_m_input)} per million input tokens at "
                    f"${r.usd_per_gpu_hour:.2f}/GPU-hour.")
    fp8 = precision_gains(b, b.s.precision_model)
    if fp8:
        keys.append(f"Switching {esc(get_model(b.s.precision_model).name)} from 16-bit to FP8 weights gives "
                    f"×{min(fp8.values()):.2f}–×{max(fp8.values()):.2f} output per GPU at that speed "
                    f"(essay: \"roughly double\"); FP4 on Blackwell and MI355X adds more (section 4).")
    v = b.data.get("validation")
    if v:
        keys.append(f"Against {v['compared']} published and own measurements, the realistic estimate is off by "
                    f"{pct(v['median_abs_error'])} (median), {pct(v['p90_abs_error'])} at the 90th percentile.")
    lis = "".join(f"<li>{k}</li>" for k in keys)
    return f"""
<p>Benjamin Todd's essay <a href="{ESSAY_URL}">“How much AI inference can we do?”</a> asks:</p>
<blockquote>{esc(ESSAY_QUESTION)}</blockquote>
<p>It answers with two bounds: divide a chip's peak FLOP/s by the FLOP of one forward pass (an upper bound), or divide
its memory bandwidth by the bytes of the model's weights (a lower bound), and notes that the real figure lies in
between. This report computes both for today's chips, adds a <b>realistic</b> estimate from a model of how serving
engines actually batch requests, and shows what it costs and how fast each user is served.</p>
<div class="box"><b>In short</b><ul>{lis}</ul></div>
<div class="box"><b>How to read this</b><ul>
<li><b>Upper bound</b>: peak tensor FLOP/s ÷ (2 × active parameters). Never reached: it assumes every multiply-add
unit busy all the time.</li>
<li><b>Lower bound</b>: memory bandwidth ÷ bytes of active weights, i.e. one request at a time, reading all weights
per token. Real servers batch many requests per weight read, so they do far better.</li>
<li><b>Realistic</b>: infercast's estimate for a tuned server (continuous batching, the largest batch that fits,
sourced efficiency per chip family). <b>Prefill</b> (reading the prompt) is compute-bound and near the upper bound;
<b>decode</b> (generating) is limited by memory traffic and by how many requests fit. Its own error, measured against
published benchmarks, is in section 5.</li>
<li><b>Market</b>: forward passes per second implied by a dated price per million tokens and a price per GPU-hour,
the essay's third figure; shown only where such a quote exists.</li>
<li>Throughput is per GPU; a dotted underline means hover for the calculation; [n] links to the source.</li>
</ul></div>"""


def headline_lines(b: Build) -> list[str]:
    """Plain-text headline for the terminal: the operating-point cost on H100 and the FP8 gain."""
    out = []
    s = b.s
    for mid in s.models:
        r = best_cost(b, mid, "h100-sxm")
        if r:
            out.append(f"{mid} on H100 at >= {s.min_tps:g} tok/s/user, TTFT <= {s.max_ttft_s:g} s ({r.weights}): "
                       f"{num(r.output_tok_s_per_gpu)} output tok/s per GPU, {usd(r.usd_per_m_input)} / M input, "
                       f"{usd(r.usd_per_m_output)} / M output at ${r.usd_per_gpu_hour:.2f}/GPU-hour")
    g = precision_gains(b, s.precision_model)
    if g:
        out.append(f"{s.precision_model}: FP8 vs 16-bit at that operating point x{min(g.values()):.2f}-"
                   f"x{max(g.values()):.2f} across {len(g)} chips")
    return out


def render(b: Build, bodies: dict[str, str], seconds: float) -> str:
    from infercast import __version__

    nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in SECTIONS) + '<a href="#sources">Sources</a>'
    secs = "".join(f'<h2 id="{sid}">{esc(title)}</h2>\n{bodies[sid]}\n' for sid, title, _ in SECTIONS)
    return PAGE.substitute(css=CSS, date=_dt.date.today().isoformat(), quick=" (quick: smaller sweeps)" if b.s.quick
                           else "", intro=intro_html(b), nav=nav, sections=secs, footnotes=b.src.html(),
                           version=__version__, seconds=f"{seconds:.0f}")


# ----------------------------------------------------------------------------- driver

@dataclass
class ReportResult:
    path: Path
    seconds: float
    quick: bool
    essay_table: Any  # table.Table or None
    unavailable: dict[str, str]
    model_error: dict
    data: dict
    headline: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "seconds": self.seconds, "quick": self.quick,
                "unavailable": self.unavailable, "model_error": self.model_error, "headline": self.headline,
                "essay_table": self.essay_table.as_dict() if self.essay_table else None}


def _steps(b: Build) -> list[tuple[str, Callable[[], None]]]:
    s = b.s
    pairs = [(m, c) for m in s.models for c in sorted(set(s.chips) | set(s.frontier_chips))]
    steps: list[tuple[str, Callable[[], None]]] = [("validation against measurements", lambda: compute_validation(b)),
                                                   ("model error", lambda: compute_model_error(b))]
    steps += [(f"sweep {m} on {c}", lambda m=m, c=c: compute_sweep(b, m, c)) for m, c in pairs]
    steps += [(f"cost {m} on {c}", lambda m=m, c=c: compute_costs(b, m, c)) for m, c in pairs]
    return steps


def _run_section(b: Build, fn: Callable[[Build], str], sid: str, unavailable: dict[str, str]) -> str:
    try:
        return fn(b)
    except Exception as e:  # noqa: BLE001 - a failing section must not stop the report
        if os.environ.get("INFERCAST_DEBUG"):
            traceback.print_exc()
        reason = f"{type(e).__name__}: {e}"
        unavailable[sid] = reason
        return f"<p class='na'>not available: {esc(reason)}</p>"


def build_report(out: str | Path = "report", quick: bool = False, progress: bool = True) -> ReportResult:
    """Compute every section and write `out/index.html` (+ PNGs, report.json)."""
    from infercast.cli.kit import dumps

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    b = Build(s=settings(quick), out=out)
    steps = _steps(b) + [(f"section: {title}", sid) for sid, title, _ in SECTIONS]
    fns = {sid: fn for sid, _, fn in SECTIONS}
    bodies: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    with _progress(progress) as prog:
        task = prog.add_task("report", total=len(steps) + 1)
        for label, what in steps:
            prog.update(task, description=label)
            if callable(what):
                what()
            else:
                bodies[what] = _run_section(b, fns[what], what, unavailable)
            prog.advance(task)
        prog.update(task, description="writing index.html")
        seconds = time.perf_counter() - t0
        path = out / "index.html"
        path.write_text(render(b, bodies, seconds), encoding="utf-8")
        b.data["unavailable"] = unavailable
        (out / "report.json").write_text(dumps(b.data), encoding="utf-8")
        prog.advance(task)
    return ReportResult(path=path, seconds=time.perf_counter() - t0, quick=quick, essay_table=b.essay,
                        unavailable=unavailable, model_error=b.model_error, data=b.data,
                        headline=headline_lines(b))


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def add_task(self, *a, **k):
        return 0

    def update(self, *a, **k):
        pass

    def advance(self, *a, **k):
        pass


def _progress(show: bool):
    if not show:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)


__all__ = ["build_report", "ReportResult", "Settings", "settings", "SECTIONS", "REPORT_CHIPS", "REFERENCE_MODELS"]
