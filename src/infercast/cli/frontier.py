"""CLI: `frontier`, `cost`, `fleet`, `table` (each with --json; rich tables otherwise)."""
from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from infercast.cli.kit import console, print_json, si, user_errors


def _f(x, d=3):
    return "-" if x is None else si(x, digits=d)


def _short(binding: str) -> str:
    """'batch: memory (KV cache); step: weights-bound' -> 'KV memory / weights'."""
    b = binding.replace("batch: ", "").replace("step: ", "").replace("-bound", "")
    return (b.replace("memory (KV cache)", "KV memory").replace("engine max batch", "max batch")
            .replace("latency target", "latency").replace("; ", " / "))


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def frontier(
        model: str = typer.Option(..., "--model", "-m", help="catalog id or path to a config.json"),
        chip: list[str] = typer.Option(..., "--chip", "-c", help="chip id (repeatable: one curve each)"),
        input_len: int = typer.Option(1024, "--input-len", "-i", help="prompt tokens per request"),
        output_len: int = typer.Option(256, "--output-len", "-o", help="generated tokens per request"),
        precision: Optional[list[str]] = typer.Option(None, "--precision", "-p",
                                                      help="weight precisions to sweep (default bf16, fp8, fp4 where native)"),
        engine: Optional[str] = typer.Option(None, "--engine", help="tensorrt-llm (default), vllm, sglang, ..."),
        max_gpus: int = typer.Option(128, "--max-gpus", help="largest replica (GPUs) to consider"),
        points: int = typer.Option(48, "--points", help="concurrency grid points per shape"),
        plot: Optional[str] = typer.Option(None, "--plot", help="write the frontier figure (.png or .svg)"),
        all_points: bool = typer.Option(False, "--all-points", help="with --json: every configuration, not only the frontiers"),
        profile: Optional[str] = typer.Option(None, "--profile", help="calibration profile JSON (infercast calibrate)"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Pareto frontier of throughput per GPU vs tokens/s per user and vs TTFT (shapes x precisions x batch)."""
        from infercast.analyses.frontier import sweep

        sweeps = [sweep(model, c, input_len=input_len, output_len=output_len, precisions=precision, engine=engine,
                        max_gpus=max_gpus, n_concurrency=points, profile=profile) for c in chip]
        if plot:
            from infercast.report.plots import frontier_figure, save

            save(frontier_figure(sweeps), plot)
        if json_:
            out = [s.as_dict(all_points) for s in sweeps]
            return print_json(out[0] if len(out) == 1 else out)
        for s in sweeps:
            t = Table(title=f"{s.model} on {s.chip}: throughput vs interactivity frontier "
                            f"({s.input_len:,} in / {s.output_len:,} out, {s.n:,} configurations, {s.engine})")
            for col in ("tok/s/user", "out tok/s/GPU", "in tok/s/GPU", "TTFT s", "precision", "TP x PP (EP)", "GPUs",
                        "batch/replica"):
                t.add_column(col, justify="right")
            fr = s.frontier_interactivity
            step = max(1, len(fr) // 14)
            for p in fr[::step] + ([fr[-1]] if (len(fr) - 1) % step else []):
                t.add_row(f"{p['tokens_per_s_per_user']:.1f}", f"{p['output_tok_s_per_gpu']:,.0f}",
                          f"{p['input_tok_s_per_gpu']:,.0f}", f"{p['ttft_s']:.3f}", p["precision"],
                          f"{p['tp']} x {p['pp']}" + (f" (ep {p['ep']})" if p["ep"] > 1 else ""), str(p["gpus"]),
                          f"{p['concurrency']:.0f}")
            console.print(t)
            mt = s.max_throughput()
            console.print(f"max throughput: {mt['output_tok_s_per_gpu']:,.0f} output tok/s per GPU at "
                          f"{mt['tokens_per_s_per_user']:.1f} tok/s per user ({mt['precision']}, TP {mt['tp']} x PP "
                          f"{mt['pp']}, batch {mt['concurrency']:.0f}); {len(fr)} frontier points "
                          f"(--json for all, and the TTFT frontier)")
        if plot:
            console.print(f"wrote {plot}")

    @app.command()
    @user_errors
    def cost(
        model: str = typer.Option(..., "--model", "-m"),
        chip: str = typer.Option(..., "--chip", "-c"),
        tp: int = typer.Option(1, "--tp"), pp: int = typer.Option(1, "--pp"), ep: int = typer.Option(1, "--ep"),
        weights: Optional[str] = typer.Option(None, "--weights", "-w", help="weight precision (default: the model's)"),
        kv: Optional[str] = typer.Option(None, "--kv", help="KV-cache precision (default bf16)"),
        engine: Optional[str] = typer.Option(None, "--engine"),
        input_len: int = typer.Option(1024, "--input-len", "-i"),
        output_len: int = typer.Option(256, "--output-len", "-o"),
        cached: float = typer.Option(0.0, "--cached", help="fraction of each prompt served from the prefix cache"),
        min_tps: Optional[float] = typer.Option(None, "--min-tps", help="latency target: tokens/s per user at least"),
        max_ttft: Optional[float] = typer.Option(None, "--max-ttft", help="latency target: TTFT at most (s)"),
        price: Optional[float] = typer.Option(None, "--price", help="$/GPU-hour (default: the catalog's dated price)"),
        utilisation: float = typer.Option(1.0, "--utilisation", "-u", help="fraction of paid hours serving"),
        watts: Optional[float] = typer.Option(None, "--watts", help="rated power per GPU (default: TDP)"),
        load: float = typer.Option(0.7, "--load", help="average draw as a fraction of rated power (Epoch: 0.7)"),
        pue: float = typer.Option(1.2, "--pue", help="facility power usage effectiveness (Epoch: 1.2)"),
        profile: Optional[str] = typer.Option(None, "--profile", help="calibration profile JSON (infercast calibrate)"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """$/M input and output tokens, J/token and tokens/kWh at max throughput or a latency target."""
        from infercast.analyses.cost import cost as cost_

        r = cost_(model, chip, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine, input_len=input_len,
                  output_len=output_len, cached_fraction=cached, min_tokens_per_s_per_user=min_tps,
                  max_ttft_s=max_ttft, price=price, utilisation=utilisation, watts=watts, load_fraction=load, pue=pue,
                  profile=profile)
        if json_:
            return print_json(r)
        t = Table(title=f"{r.model} on {r.gpus_per_replica} x {r.chip} (TP {r.tp} x PP {r.pp}, {r.weights}, "
                        f"{r.engine}): {r.operating_point}")
        t.add_column("quantity")
        t.add_column("value", justify="right")
        rows = [
            ("batch per replica", f"{r.concurrency_per_replica:.0f}"),
            ("tokens/s per user; TTFT", f"{r.tokens_per_s_per_user:.1f}; {r.ttft_s:.3f} s"),
            ("output / input tokens/s per GPU", f"{r.output_tok_s_per_gpu:,.0f} / {r.input_tok_s_per_gpu:,.0f}"),
            ("$ per M input tokens", f"{r.usd_per_m_input:.4g}"),
            ("$ per M output tokens", f"{r.usd_per_m_output:.4g}"),
            ("$ per M tokens (all)", f"{r.usd_per_m_blended:.4g}"),
            ("J per input / output token", f"{r.j_per_input_token:.3g} / {r.j_per_output_token:.3g}"),
            ("tokens per kWh (all)", f"{r.tokens_per_kwh:,.0f}"),
            ("binding", f"batch: {r.batch_limit}; step: {r.bound_by}"),
        ]
        if r.cached_fraction:
            rows.insert(4, ("$ per M uncached input tokens", f"{r.usd_per_m_uncached_input:.4g}"))
        for k, v in rows:
            t.add_row(k, v)
        console.print(t)
        for a in r.assumptions:
            console.print(f"  - {a}")

    @app.command()
    @user_errors
    def fleet(
        file: Optional[str] = typer.Argument(None, help="FLEET.toml, or a shipped example's name; none: list examples"),
        profile: Optional[str] = typer.Option(None, "--profile", help="calibration profile JSON (applies to pools of its chip)"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Tokens/s and /day, forward passes per chip-second, $/M tokens and MW of a mixed fleet."""
        from infercast.analyses.fleet import evaluate, shipped_fleets

        if file is None:
            ex = shipped_fleets()
            if json_:
                return print_json(ex)
            t = Table(title="shipped example fleets (`infercast fleet NAME`)")
            t.add_column("name")
            t.add_column("description")
            for k, v in ex.items():
                t.add_row(k, v)
            return console.print(t)
        r = evaluate(file, profile=profile)
        if json_:
            return print_json(r)
        t = Table(title=f"fleet '{r.name}': {r.gpus:,} GPUs. {r.description}")
        for col in ("pool", "workload", "GPUs", "shape", "tok/s/user", "out tok/s", "in tok/s", "$/M in", "$/M out",
                    "binding"):
            t.add_column(col, justify="left" if col in ("pool", "workload", "binding") else "right")
        for p in r.parts:
            t.add_row(p.pool, p.workload, f"{p.gpus:,.0f}",
                      f"{p.tp}x{p.pp}" + (f" ep{p.ep}" if p.ep > 1 else "") + f" {p.weights}",
                      f"{p.tokens_per_s_per_user:.1f}", si(p.output_tok_s), si(p.input_tok_s),
                      f"{p.usd_per_m_input:.3g}", f"{p.usd_per_m_output:.3g}", _short(p.binding))
        console.print(t)
        console.print("binding = what stops the batch growing / what dominates the step time; "
                      "--json has batch sizes, TTFT and shapes in full")
        s = Table(title="fleet totals")
        s.add_column("quantity")
        s.add_column("value", justify="right")
        for k, v in (("output tokens/s; per day", f"{si(r.output_tok_s)}; {si(r.output_tok_per_day)}"),
                     ("input tokens/s; per day", f"{si(r.input_tok_s)}; {si(r.input_tok_per_day)}"),
                     ("requests/s", si(r.requests_per_s)),
                     ("forward passes per chip per second", f"{r.forward_passes_per_chip_s:,.1f}"),
                     ("$/hour", f"{r.usd_per_hour:,.0f}"),
                     ("$ per M input / output / all tokens",
                      f"{r.usd_per_m_input:.3g} / {r.usd_per_m_output:.3g} / {r.usd_per_m_tokens:.3g}"),
                     ("power (MW); J per token", f"{r.power_mw:.3g}; {r.j_per_token:.3g}")):
            s.add_row(k, v)
        console.print(s)
        for a in r.assumptions:
            console.print(f"  - {a}")

    @app.command()
    @user_errors
    def table(
        model: str = typer.Option("gpt-4", "--model", "-m"),
        chip: Optional[list[str]] = typer.Option(None, "--chip", "-c", help="chips (default: A100 ... GB300)"),
        precision: str = typer.Option("bf16", "--precision", "-p", help="weight precision (the essay: 16-bit)"),
        input_len: int = typer.Option(7680, "--input-len", "-i"),
        output_len: int = typer.Option(512, "--output-len", "-o"),
        min_tps: Optional[float] = typer.Option(None, "--min-tps", help="operating point: tokens/s per user at least"),
        engine: Optional[str] = typer.Option(None, "--engine"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """The essay's table regenerated: upper, lower, realistic (prefill, decode, mixed) and market, per chip."""
        from infercast.analyses.table import essay_table

        tb = essay_table(model, chip, precision, input_len, output_len, min_tps, engine)
        if json_:
            return print_json(tb)
        t = Table(title=f"{tb.model} ({tb.precision}): forward passes per chip per second. {tb.operating_point}")
        for col in ("chip", "shape (GPUs)", "upper", "lower", "prefill", "decode", "mixed", "market", "mixed/upper",
                    "tok/s/user"):
            t.add_column(col, justify="left" if col == "chip" else "right")
        for r in tb.rows:
            t.add_row(f"{r.chip} ({r.year})", f"{r.tp}x{r.pp} ({r.gpus})", f"{r.upper:,.0f}", f"{r.lower:,.1f}",
                      f"{r.realistic_prefill:,.0f}", f"{r.realistic_decode:,.1f}", f"{r.realistic_mixed:,.1f}",
                      f"{r.market:,.0f}" if r.market else "-", f"{r.realistic_mixed / r.upper:.1%}",
                      f"{r.tokens_per_s_per_user:.1f}")
        console.print(t)
        for m in tb.method:
            console.print(f"  - {m}")
