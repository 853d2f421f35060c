"""`infercast estimate`: the realistic serving estimate with its breakdown."""
from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from infercast.cli.kit import console, print_json, user_errors
from infercast.engine.estimate import estimate as run_estimate


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def estimate(
        model: str = typer.Option(..., "--model", "-m", help="catalog id, alias, or path to a config.json"),
        chip: str = typer.Option(..., "--chip", "-c", help="accelerator id (see `infercast chips`)"),
        gpus: Optional[int] = typer.Option(None, "--gpus", "-n", help="GPUs in total (default: one replica)"),
        tp: int = typer.Option(1, "--tp", help="tensor-parallel degree per replica"),
        pp: int = typer.Option(1, "--pp", help="pipeline-parallel degree per replica"),
        ep: int = typer.Option(1, "--ep", help="expert-parallel degree (MoE); > tp means attention data-parallel"),
        weights: Optional[str] = typer.Option(None, "--weights", "-w", help="weight precision (bf16, fp16, fp8, fp4, int8, int4)"),
        kv: Optional[str] = typer.Option(None, "--kv", help="KV-cache precision (default bf16; fp8 with TRT FP8 checkpoints)"),
        engine: Optional[str] = typer.Option(None, "--engine", help="tensorrt-llm (default), vllm, sglang, pytorch-cudagraph"),
        input_len: int = typer.Option(1024, "--input-len", "-i", help="prompt tokens per request"),
        output_len: int = typer.Option(256, "--output-len", "-o", help="generated tokens per request"),
        concurrency: Optional[float] = typer.Option(None, "--concurrency", "-k", help="requests in flight (whole system)"),
        max_throughput: bool = typer.Option(False, "--max-throughput", help="largest batch that fits"),
        static: bool = typer.Option(False, "--static", help="static batch instead of continuous batching"),
        tpot_max: Optional[float] = typer.Option(None, "--tpot-max", help="latency target: max seconds per output token"),
        ttft_max: Optional[float] = typer.Option(None, "--ttft-max", help="latency target: max seconds to first token"),
        min_tok_s_user: Optional[float] = typer.Option(None, "--min-tokens-per-s-user", help="latency target as tokens/s per user"),
        profile: Optional[str] = typer.Option(None, "--profile", help="calibration profile JSON (infercast calibrate)"),
        speed_of_light: bool = typer.Option(False, "--speed-of-light", help="datasheet peaks, no overheads: the physics bound"),
        uncertainty: bool = typer.Option(False, "--uncertainty", help="P10/P50/P90 ranges (Monte Carlo, includes the model's validation error)"),
        samples: int = typer.Option(1000, "--samples", help="Monte Carlo samples for --uncertainty"),
        seed: int = typer.Option(0, "--seed", help="random seed for --uncertainty"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Realistic throughput, latency and what bounds it, for one deployment and workload."""
        if min_tok_s_user:
            tpot_max = min(tpot_max or 1e9, 1.0 / min_tok_s_user)
        if concurrency is None and not max_throughput and tpot_max is None and ttft_max is None:
            max_throughput = True
        kw = dict(gpus=gpus, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine, input_len=input_len,
                  output_len=output_len, concurrency=concurrency, max_throughput=max_throughput, static=static,
                  tpot_max=tpot_max, ttft_max=ttft_max, profile=profile, speed_of_light=speed_of_light)
        e = run_estimate(model, chip, **kw)
        ranges = None
        if uncertainty:
            from infercast.analyses.uncertainty import estimate_with_uncertainty

            ranges = estimate_with_uncertainty(model, chip, samples=samples, seed=seed, **kw)
        if json_:
            d = e.as_dict()
            if ranges is not None:
                d["uncertainty"] = ranges
            return print_json(d)
        _show(e, ranges)


def _show(e, ranges=None) -> None:
    t = Table(title=f"{e.model} on {e.gpus} x {e.chip}  (tp {e.tp}, pp {e.pp}, ep {e.ep}; {e.replicas} replica(s); "
                    f"weights {e.weights}, KV {e.kv_cache}, compute {e.compute}; {e.engine})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    if ranges:
        t.add_column("P10 .. P90", justify="right")

    def row(name, val, key=None, fmt="{:,.1f}", scale=1.0):
        cells = [name, fmt.format(val)]
        if ranges:
            r = ranges.get(key) if key else None
            cells.append(f"{fmt.format(r['p10'] * scale)} .. {fmt.format(r['p90'] * scale)}" if r else "")
        t.add_row(*cells)

    t.add_row("workload", f"{e.input_len} in / {e.output_len} out, {e.mode}", *([""] if ranges else []))
    row("requests in flight (system)", e.concurrency, fmt="{:,.0f}")
    row("output tokens/s per GPU", e.output_tok_s_per_gpu, "output_tok_s_per_gpu")
    row("input tokens/s per GPU", e.input_tok_s_per_gpu, "input_tok_s_per_gpu")
    row("output tokens/s (system)", e.output_tok_s_total)
    row("tokens/s per user", e.tokens_per_s_per_user)
    row("TTFT (s)", e.ttft_s, "ttft_s", "{:,.3f}")
    row("TPOT (ms)", e.tpot_s * 1e3, "tpot_s", "{:,.1f}", 1e3)
    row("request latency (s)", e.e2e_s, None, "{:,.2f}")
    row("forward passes per chip-second (essay's unit)", e.forward_passes_per_chip_s, None, "{:,.0f}")
    row("essay upper bound (FLOP)", e.upper_forward_passes_per_s, None, "{:,.0f}")
    row("essay lower bound (bandwidth, batch 1)", e.lower_forward_passes_per_s, None, "{:,.1f}")
    console.print(t)
    b = Table(title="one step, by operator (ms)   |   what bounds it")
    b.add_column("operator")
    b.add_column("ms", justify="right")
    b.add_column("term")
    b.add_column("share", justify="right")
    ops = [(k, v) for k, v in e.decode_step_ms.items() if v > 0]
    terms = sorted(e.bound_shares.items(), key=lambda kv: -kv[1])
    for i in range(max(len(ops), len(terms))):
        o = ops[i] if i < len(ops) else ("", None)
        tm = terms[i] if i < len(terms) else ("", None)
        b.add_row(o[0], f"{o[1]:.2f}" if o[1] is not None else "", tm[0], f"{tm[1]:.0%}" if tm[1] is not None else "")
    console.print(b)
    m = e.memory
    console.print(f"bound by: [bold]{e.bound_by}[/]; batch limited by: {e.batch_limit}. Memory per GPU: "
                  f"{m['weights_gb']:.1f} GB weights, {m['kv_pool_gb']:.1f} GB KV pool "
                  f"({m['kv_per_seq_gb'] * 1e3:.1f} MB per sequence), of {m['capacity_gb']:.1f} GB.")
    console.print(f"[dim]efficiencies: {e.efficiency_source[:160]}...[/]")
    for n in e.notes:
        console.print(f"note: {n}")
