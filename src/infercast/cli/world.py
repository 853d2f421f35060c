"""CLI: `world` (the accelerator stock and what it serves), `overhang` (a training cluster, once trained) and
`margin` (serving cost against a dated list price; `--deepseek` reproduces DeepSeek's published day)."""
from __future__ import annotations

from typing import Any, Optional

import typer
from rich.table import Table

from infercast import format as fmt
from infercast.cli.kit import OptionError, console, opt, print_json, render, user_errors
from infercast.errors import InfercastError
from infercast.vocabulary import TERMS

WORLD_MAX_SAMPLES = 50_000  # lines x samples arrays, several per driver: a few hundred MB at most


def dist_opt(name: str, default: Any = None, *flags: str, help: str | None = None) -> Any:
    """A typer.Option for a bounded uncertain input (a number, uniform:MIN,MAX or triangle:MIN,MODE,MAX within
    0..1), checked while parsing so a bad value is refused naming its flag."""
    t = TERMS[name]

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any):
        if value is None:
            return None
        from infercast.analyses.world import bounded

        try:
            bounded(name, value, 0.0, 1.0)
        except InfercastError as e:
            e.field = name
            raise OptionError(render(e, ctx)) from None
        return value

    return typer.Option(default, *(flags or (t.flag,)), help=help or t.help, callback=check)


def _q(d: dict, f=fmt.num) -> str:
    return f"{f(d['p50'])} [{f(d['p10'])} - {f(d['p90'])}]"


def _print_world(w) -> None:
    st = w.stock
    t = Table(title=f"Accelerator stock at {w.as_of} by chip family (sum of the input rows; P5-P95 of the total: "
                    f"{fmt.num(st['h100e_p5'])} - {fmt.num(st['h100e_p95'])} H100e)")
    for col in ("family", "chips", "units", "H100e (bf16)", "H100e (Epoch, 8-bit)"):
        t.add_column(col, justify="left" if col in ("family", "chips") else "right")
    for fam, g in sorted(st["by_family"].items(), key=lambda kv: -kv[1]["h100e"]):
        t.add_row(fam, ", ".join(g["chips"]), fmt.num(g["units"]), fmt.num(g["h100e"]), fmt.num(g["h100e_epoch"]))
    t.add_row("total", "", fmt.num(st["units"]), fmt.num(st["h100e"]), fmt.num(st["h100e_epoch"]))
    console.print(t)
    r = Table(title="What each chip serves (the planner's best point meeting the target; once per chip and model)")
    for col in ("chip", "model", "precision, shape", "tok/s per GPU (in+out)", "tok/s per user", "FLOP bound",
                "batch-1 bound"):
        r.add_column(col, justify="left" if col in ("chip", "model", "precision, shape") else "right")
    for x in w.rates:
        r.add_row(x["chip"], x["model"], f"{x['precision']}, {x['shape']}" if x["served"] else x["why_not"][:60],
                  fmt.num(x["tok_s_per_gpu"]), fmt.num(x["tokens_per_s_per_user"]),
                  fmt.num(x["flop_bound_tok_s_per_gpu"]), fmt.num(x["bandwidth_bound_tok_s_per_gpu"]))
    console.print(r)
    mix = "; ".join(f"{m['model']} {fmt.pct(m['share'])} ({m['input_len']:,} in / {m['output_len']:,} out, >= "
                    f"{m['min_tps_user']:g} tok/s/user)" for m in w.models)
    console.print(f"[bold]{w.year}: tokens/day (input + output) P50 [P10 - P90]: {_q(w.tokens_per_day)}[/]  "
                  f"({w.samples:,} samples, seed {w.seed}; {mix})")
    console.print(f"output tokens/day: {_q(w.output_tokens_per_day)}; H100e serving on average (stock x share x "
                  f"utilisation): {_q(w.inference_gpu_equivalents)}")
    a = w.ai_workers
    console.print(f"AI-worker equivalents: {fmt.num(a['workers'])} [{fmt.num(a['workers_p10'])} - "
                  f"{fmt.num(a['workers_p90'])}] at {fmt.num(a['tokens_per_workday'])} output tokens per workday "
                  f"({a['basis']}; {fmt.num(a['workers_low'])} - {fmt.num(a['workers_high'])} over its range "
                  f"{fmt.num(a['tokens_per_workday_low'])} - {fmt.num(a['tokens_per_workday_high'])})")
    b = w.bounds
    console.print(f"bounds at the medians: FLOP {fmt.num(b['flop_bound_tokens_per_day'])}, realistic "
                  f"{fmt.num(b['realistic_tokens_per_day_at_medians'])}, batch-1 bandwidth "
                  f"{fmt.num(b['bandwidth_bound_tokens_per_day'])} tokens/day")
    d = Table(title="Drivers of the P10-P90 interval (each input varied alone, the others at their medians)")
    for col in ("input", "P10", "P90", "P90/P10", "share of log-variance"):
        d.add_column(col, justify="left" if col == "input" else "right")
    for x in w.drivers:
        d.add_row(x["input"], fmt.num(x["p10"]), fmt.num(x["p90"]), fmt.ratio(x["ratio_p90_p10"]),
                  fmt.pct(x["variance_share"]))
    console.print(d)
    for k, v in w.inputs.items():
        if v.get("p10") is not None:
            console.print(f"  {k}: {v['spec']} (P10/P50/P90 {fmt.sig(v['p10'])}/{fmt.sig(v['p50'])}/"
                          f"{fmt.sig(v['p90'])}); {v['source']}")
    if w.disclosures:
        c = Table(title=f"Disclosed token volumes in {w.year} (data/world/token_volumes.json) as a share of this "
                        "capacity")
        for col in ("provider", "scope", "period", "tokens/day", "share of P50 [range over P90-P10]"):
            c.add_column(col, justify="left" if col in ("provider", "scope", "period") else "right")
        for x in w.disclosures:
            lo, hi = x["fraction_range"]
            c.add_row(x["provider"], x["scope"][:48], x["period"], fmt.num(x["tokens_per_day"]),
                      f"{fmt.pct(x['fraction_of_capacity_p50'], 1)} [{fmt.pct(lo, 1)} - {fmt.pct(hi, 1)}]")
        console.print(c)
    for n in w.notes:
        console.print(f"  - {n}")


def _print_overhang(o) -> None:
    s = o.shape
    t = Table(title=f"{o.model} trained on {o.gpus:,} x {o.chip} for {fmt.sig(o.days)} days "
                    f"({fmt.sig(o.train_flop)} FLOP), then served at >= {o.min_tps_user:g} tokens/s per user")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for k, v in (("implied training utilisation", f"{fmt.pct(o.implied_training_utilisation, 1)} of the dense "
                                                  f"{o.peak_precision} peak ({fmt.sig(o.peak_flops_per_gpu / 1e12)} "
                                                  "TFLOP/s per GPU)"),
                 ("serving shape", f"{s['precision']} TP {s['tp']} x PP {s['pp']}" + (f", EP {s['ep']}" if s["ep"] > 1
                                                                                      else "")
                  + f" ({s['gpus']} GPUs{', prefill and decode pools apart' if s.get('disaggregated') else ''}), "
                    f"batch {fmt.num(s['concurrency'])}, {fmt.num(s['tokens_per_s_per_user'])} tok/s per user"),
                 ("replicas (GPUs used)", f"{o.replicas:,} ({o.gpus_used:,})"),
                 ("output tokens/s", fmt.num(o.tokens_per_s)),
                 ("copies (tokens/s / target)", fmt.num(o.copies)),
                 ("streams in flight", fmt.num(o.streams)),
                 ("output tokens/day", fmt.num(o.tokens_per_day)),
                 ("AI-worker equivalents", f"{fmt.num(o.ai_workers['workers'])} ({fmt.num(o.ai_workers['workers_low'])}"
                                           f" - {fmt.num(o.ai_workers['workers_high'])}) at "
                                           f"{fmt.num(o.ai_workers['tokens_per_workday'])} tokens per workday")):
        t.add_row(k, v)
    console.print(t)
    for n in o.notes + [f"AI workers: {o.ai_workers['formula']}; {o.ai_workers['source']}"]:
        console.print(f"  - {n}")


def _print_margin(r) -> None:
    lp = r.list_price
    t = Table(title=f"{r.model} on {r.chip}: serving cost at the planner's point vs {lp['provider']}'s list price "
                    f"({lp['model']}, from {lp['date']})")
    for col in ("tokens", "cost $/M", "list $/M", "margin"):
        t.add_column(col, justify="left" if col == "tokens" else "right")
    cached = lp["cached_input"] if lp["cached_input"] is not None else lp["input"]
    for name, c, p, k in (("input, uncached", r.cost_usd_per_m_uncached_input, lp["input"], "uncached_input"),
                          ("input, cached", r.cost_usd_per_m_cached_input, cached, "cached_input"),
                          ("output", r.cost_usd_per_m_output, lp["output"], "output")):
        t.add_row(name, fmt.money(c), fmt.money(p), fmt.pct(r.margin_by_token[k]))
    console.print(t)
    console.print(f"[bold]per request ({r.input_len:,} in, {fmt.pct(r.cached_fraction)} cached, {r.output_len:,} out): "
                  f"cost {fmt.money(r.cost_per_request_usd)}, revenue {fmt.money(r.revenue_per_request_usd)}: gross "
                  f"margin {fmt.pct(r.gross_margin)} (cost-profit margin {fmt.pct(r.cost_profit_margin)})[/]")
    console.print(f"list price: {lp['source']}")
    for a in r.assumptions:
        console.print(f"  - {a}")


def _print_deepseek(r) -> None:
    t = Table(title=f"DeepSeek's published day (2025-02-27/28) vs infercast ({r.model} on {r.chip})")
    for col in ("quantity", "published", "infercast", "ratio"):
        t.add_column(col, justify="left" if col == "quantity" else "right")
    for name, pub, mine, f in (
            ("average nodes (8 GPUs)", r.published_nodes, r.predicted_nodes, fmt.sig),
            ("  prefill nodes (derived)", r.published_prefill_nodes, r.predicted_prefill_nodes, fmt.sig),
            ("  decode nodes (derived)", r.published_decode_nodes, r.predicted_decode_nodes, fmt.sig),
            ("cost per day", r.published_cost_per_day_usd, r.cost_per_day_usd, fmt.money),
            ("theoretical revenue per day", r.published_revenue_per_day_usd, r.revenue_per_day_usd, fmt.money),
            ("cost-profit margin", r.published_cost_profit_margin, r.cost_profit_margin, fmt.pct),
            ("gross margin", r.published_gross_margin, r.gross_margin, fmt.pct)):
        t.add_row(name, f(pub), f(mine), fmt.ratio(mine / pub))
    console.print(t)
    s = r.shape
    console.print(f"shape: prefill {s['prefill']} | decode {s['decode']}; {fmt.num(s['tokens_per_s_per_user'])} "
                  "tok/s per user")
    for name, st in (("decode step", r.decode_step_ms), ("prefill step", r.prefill_step_ms)):
        parts = "; ".join(f"{k} {fmt.sig(v)} ms" for k, v in st.items() if k != "step")
        console.print(f"{name} {fmt.sig(st['step'])} ms: {parts}")
    for n in r.notes + r.sources:
        console.print(f"  - {n}")


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def world(
        year: int = opt("year", 2025, help="the stock at the end of this year (2026: its first quarter)"),
        model: Optional[str] = opt("model", None, help="catalog id or config.json (default deepseek-v3)"),
        mix: Optional[str] = opt("mix", None),
        input_len: int = opt("input_len", 2000),
        output_len: int = opt("output_len", 500),
        min_tps_user: float = opt("min_tps_user", 20.0),
        inference_share: Optional[str] = dist_opt("inference_share", None, help="share of the stock serving "
                                                  "inference: a number, uniform:MIN,MAX or triangle:MIN,MODE,MAX "
                                                  "(default: triangle 0.3-0.7, mode Deloitte's share for the year)"),
        utilisation: Optional[str] = dist_opt("utilisation", None, "--utilisation", "-u",
                                              help="average load of the inference stock at the operating point: a "
                                                   "number, uniform or triangle within 0..1 (default "
                                                   "triangle:0.4,0.6,0.82)"),
        samples: int = opt("samples", 4000, hi=WORLD_MAX_SAMPLES),
        seed: int = opt("seed", 0),
        max_gpus: int = opt("max_gpus", 64, hi=1024),
        weights: Optional[str] = opt("weights", None, help="weight precision on every chip (default: the best native)"),
        engine: Optional[str] = opt("engine", None),
        tokens_per_workday: Optional[float] = opt("tokens_per_workday", None),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """The world's accelerator stock by chip and year, and the tokens/day it can serve (P10/P50/P90)."""
        from infercast.analyses.world import load_mix, world as run

        mx = load_mix(mix) if mix is not None else None
        if mx is not None and model is not None:
            raise InfercastError("give --model or --mix, not both", field="mix")
        w = run(year, model=model, mix=mx, input_len=input_len, output_len=output_len, min_tps_user=min_tps_user,
                inference_share=inference_share, utilisation=utilisation, samples=samples, seed=seed,
                max_gpus=max_gpus, weights=weights, engine=engine, tokens_per_workday=tokens_per_workday)
        if json_:
            return print_json(w)
        _print_world(w)

    @app.command()
    @user_errors
    def overhang(
        train_flop: float = opt("train_flop", ...),
        chip: str = opt("chip", ...),
        gpus: int = opt("gpus", ..., integer=True, hi=10_000_000),
        days: float = opt("days", ...),
        model: str = opt("model", ...),
        min_tps_user: float = opt("min_tps_user", 10.0),
        peak_precision: Optional[str] = opt("peak_precision", None),
        input_len: int = opt("input_len", 2000),
        output_len: int = opt("output_len", 500),
        max_gpus: int = opt("max_gpus", 256, hi=4096),
        weights: Optional[str] = opt("weights", None, help="serving weight precision (default: the best native)"),
        engine: Optional[str] = opt("engine", None),
        tokens_per_workday: Optional[float] = opt("tokens_per_workday", None),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """A training run's implied utilisation, then what its cluster serves once trained: copies, tokens/day."""
        from infercast.analyses.overhang import overhang as run

        o = run(train_flop, chip, gpus, days, model, min_tps_user, peak_precision=peak_precision, input_len=input_len,
                output_len=output_len, max_gpus=max_gpus, weights=weights, engine=engine,
                tokens_per_workday=tokens_per_workday)
        if json_:
            return print_json(o)
        _print_overhang(o)

    @app.command()
    @user_errors
    def margin(
        model: Optional[str] = opt("model", None),
        chip: Optional[str] = opt("chip", None),
        provider: Optional[str] = opt("provider", None),
        date: Optional[str] = opt("date", None),
        input_len: int = opt("input_len", 2000),
        output_len: int = opt("output_len", 500),
        cached_fraction: float = opt("cached_fraction", 0.0),
        min_tps_user: float = opt("min_tps_user", 20.0),
        price: Optional[float] = opt("price", None, help="$/GPU-hour (default: the catalog's dated price)"),
        utilisation: float = opt("utilisation", 1.0),
        disaggregated: bool = typer.Option(False, "--disaggregated", help="separate prefill and decode pools"),
        max_gpus: int = opt("max_gpus", 128, hi=1024),
        weights: Optional[str] = opt("weights", None),
        engine: Optional[str] = opt("engine", None),
        deepseek: bool = typer.Option(False, "--deepseek", help="reproduce DeepSeek's published day (2025-02-28): "
                                                                 "nodes, cost, revenue, margin; other options ignored"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Serving cost at the planner's operating point vs a dated API list price: the implied gross margin."""
        from infercast.analyses.margin import deepseek_day, margin as run

        if deepseek:
            r = deepseek_day()
            return print_json(r) if json_ else _print_deepseek(r)
        if model is None or chip is None:
            raise InfercastError("give a model and a chip (or --deepseek for DeepSeek's published day)",
                                 field="model" if model is None else "chip")
        r = run(model, chip, provider=provider, date=date, input_len=input_len, output_len=output_len,
                cached_fraction=cached_fraction, min_tps_user=min_tps_user, price=price, utilisation=utilisation,
                disaggregated=disaggregated, max_gpus=max_gpus, weights=weights, engine=engine)
        if json_:
            return print_json(r)
        _print_margin(r)
