"""`infercast estimate`: the realistic serving estimate with its breakdown."""
from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from infercast import format as fmt
from infercast.cli.kit import chip_file_option, console, one_chip, opt, print_json, user_errors
from infercast.specs.hardware import get_chip
from infercast.engine.estimate import estimate as run_estimate


def load_profile(profile: str | None):
    """--profile: a shipped profile's name or a JSON file, validated (None: none)."""
    if profile is None:
        return None
    from infercast.specs.profile import load

    return load(profile)


def tpot_target(max_tpot: float | None, min_tps_user: float | None) -> float | None:
    """The TPOT limit implied by --max-tpot and --min-tps-user (the stricter of the two)."""
    lims = [x for x in (max_tpot, 1.0 / min_tps_user if min_tps_user else None) if x is not None]
    return min(lims) if lims else None


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def estimate(
        model: str = opt("model", ...),
        chip: Optional[str] = opt("chip", None, help="accelerator id (see `infercast chips`), or a chip file's id"),
        chip_file: Optional[list[str]] = chip_file_option(),
        gpus: Optional[int] = opt("gpus", None, help="GPUs in total (default: one replica)", integer=True),
        tp: Optional[int] = opt("tp", None, help="tensor-parallel degree per replica (default: the planner's shape "
                                "for the targets; 1 when pp or ep is given)"),
        pp: Optional[int] = opt("pp", None, help="pipeline-parallel degree per replica (default: as --tp)"),
        ep: Optional[int] = opt("ep", None, help="expert-parallel degree, MoE; larger than tp means attention runs "
                                "data-parallel (default: as --tp)"),
        weights: Optional[str] = opt("weights", None, help="weight precision (bf16, fp16, fp8, fp4, int8, int4; "
                                     "default: the model's)"),
        kv: Optional[str] = opt("kv", None, help="KV-cache precision (default bf16; fp8 with TRT FP8 checkpoints)"),
        engine: Optional[str] = opt("engine", None, help="tensorrt-llm (default), vllm, sglang, pytorch-cudagraph"),
        input_len: int = opt("input_len", 1024),
        output_len: int = opt("output_len", 256),
        concurrency: Optional[float] = opt("concurrency", None),
        max_throughput: bool = typer.Option(False, "--max-throughput", help="largest batch that fits"),
        static: bool = typer.Option(False, "--static", help="static batch instead of continuous batching"),
        min_tps_user: Optional[float] = opt("min_tps_user", None),
        max_ttft: Optional[float] = opt("max_ttft", None),
        max_tpot: Optional[float] = opt("max_tpot", None),
        rank_tokens: Optional[int] = opt("rank_tokens", None, integer=True),
        profile: Optional[str] = opt("profile", None),
        speed_of_light: bool = typer.Option(False, "--speed-of-light", help="datasheet peaks, no overheads: the physics bound"),
        uncertainty: bool = typer.Option(False, "--uncertainty", help="P10/P50/P90 ranges (Monte Carlo, includes the model's validation error)"),
        samples: int = opt("samples", 1000, help="Monte Carlo samples for --uncertainty"),
        seed: int = opt("seed", 0, help="random seed for --uncertainty"),
        recipe: bool = typer.Option(False, "--recipe", help="also print launch commands for vLLM, SGLang and "
                                    "TensorRT-LLM at this point"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Realistic throughput, latency and what bounds it, for one deployment and workload."""
        chip = one_chip(chip, chip_file)
        tpot_max = tpot_target(max_tpot, min_tps_user)
        if concurrency is None and not max_throughput and tpot_max is None and max_ttft is None:
            max_throughput = True
        kw = dict(gpus=gpus, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine, input_len=input_len,
                  output_len=output_len, concurrency=concurrency, max_throughput=max_throughput, static=static,
                  tpot_max=tpot_max, ttft_max=max_ttft, profile=load_profile(profile), speed_of_light=speed_of_light,
                  rank_tokens=rank_tokens)
        e = run_estimate(model, chip, **kw)
        ranges = None
        if uncertainty:
            from infercast.analyses.uncertainty import estimate_with_uncertainty

            # the shape and step budget chosen, not chosen again
            shape = dict(kw, tp=e.tp, pp=e.pp, ep=e.ep, weights=e.weights, rank_tokens=e.rank_tokens or rank_tokens)
            ranges = estimate_with_uncertainty(model, chip, samples=samples, seed=seed, **shape)
        rec = None
        if recipe:
            from infercast.analyses.recipe import recipe_for_estimate

            rec = recipe_for_estimate(e)
        if json_:
            d = e.as_dict()
            if ranges is not None:
                d["uncertainty"] = ranges
            if rec is not None:
                d["recipe"] = rec.as_dict()
            return print_json(d)
        _show(e, ranges)
        if rec is not None:
            from infercast.cli.recipe import show_recipe

            show_recipe(rec)


def _show(e, ranges=None) -> None:
    t = Table(title=f"{e.model} on {e.gpus} x {e.chip}  (tp {e.tp}, pp {e.pp}, ep {e.ep}; {e.replicas} replica(s); "
                    f"weights {e.weights}, KV {e.kv_cache}, compute {e.compute}; {e.engine})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    if ranges:
        t.add_column("P10 .. P90", justify="right")

    def row(name, val, key=None, f=fmt.num, scale=1.0):
        cells = [name, f(val)]
        if ranges:
            r = ranges.get(key) if key else None
            cells.append(f"{f(r['p10'] * scale)} .. {f(r['p90'] * scale)}" if r else "")
        t.add_row(*cells)

    t.add_row("workload", f"{fmt.num(e.input_len)} in / {fmt.num(e.output_len)} out, {e.mode}", *([""] if ranges else []))
    row("requests in flight (system)", e.concurrency)
    row("output tokens/s per GPU", e.output_tok_s_per_gpu, "output_tok_s_per_gpu")
    row("input tokens/s per GPU", e.input_tok_s_per_gpu, "input_tok_s_per_gpu")
    row("output tokens/s (system)", e.output_tok_s_total)
    row("tokens/s per user", e.tokens_per_s_per_user)
    row("TTFT", e.ttft_s, "ttft_s", fmt.seconds)
    row("TPOT", e.tpot_s, "tpot_s", fmt.seconds)
    row("request latency", e.e2e_s, None, fmt.seconds)
    row("forward passes per chip-second (essay's unit)", e.forward_passes_per_chip_s)
    row("essay upper bound (FLOP)", e.upper_forward_passes_per_s)
    row("essay lower bound (bandwidth, batch 1)", e.lower_forward_passes_per_s)
    console.print(t)
    ops = Table(title="one decode step, by operator")
    ops.add_column("operator")
    ops.add_column("time", justify="right")
    for k, v in e.decode_step_ms.items():
        if v > 0:
            ops.add_row(k, fmt.seconds(v / 1e3))
    console.print(ops)
    b = Table(title="what bounds the step (share of its time)")
    b.add_column("term")
    b.add_column("share", justify="right")
    for k, v in sorted(e.bound_shares.items(), key=lambda kv: -kv[1]):
        b.add_row(k, fmt.pct(v))
    console.print(b)
    m = e.memory
    binary = get_chip(e.chip).memory_binary
    size = lambda g: fmt.gb(g * 1e9, binary=binary)  # noqa: E731  (the chip's own unit: an H100 has 80 GiB)
    console.print(f"bound by: [bold]{e.bound_by}[/]; batch limited by: {e.batch_limit}. Memory per GPU: "
                  f"{size(m['weights_gb'])} weights, {size(m['kv_pool_gb'])} KV pool "
                  f"({size(m['kv_per_seq_gb'])} per sequence), of {size(m['capacity_gb'])}.")
    console.print(f"[dim]efficiencies: {fmt.truncate(e.efficiency_source, 160)}[/]")
    for n in e.notes:
        console.print(f"note: {n}")
