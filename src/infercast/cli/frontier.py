"""CLI: `frontier`, `cost`, `fleet`, `table` (each with --json; rich tables otherwise)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from infercast import format as fmt
from infercast.cli.estimate import load_profile, tpot_target
from infercast.cli.kit import (PLOT_SUFFIXES, chip_file_option, chips_given, console, one_chip, opt, print_json,
                               user_errors)
from infercast.files import check_output_file, write_atomic


def _short(binding: str) -> str:
    """'batch: memory (KV cache); step: weights-bound' -> 'KV memory / weights'."""
    b = binding.replace("batch: ", "").replace("step: ", "").replace("-bound", "")
    return (b.replace("memory (KV cache and linear-attention state)", "KV + state memory")
            .replace("memory (KV cache)", "KV memory").replace("engine max batch", "max batch")
            .replace("latency target", "latency").replace("; ", " / "))


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def frontier(
        model: str = opt("model", ...),
        chip: Optional[list[str]] = opt("chip", None, help="accelerator id (repeatable: one curve each; default: "
                                        "the chip files' ids)"),
        chip_file: Optional[list[str]] = chip_file_option(),
        input_len: int = opt("input_len", 1024),
        output_len: int = opt("output_len", 256),
        weights: Optional[list[str]] = opt("weights", None, help="weight precisions to sweep (repeatable; default "
                                           "bf16, fp8, fp4 where native)"),
        engine: Optional[str] = opt("engine", None, help="tensorrt-llm (default), vllm, sglang, ..."),
        max_gpus: int = opt("max_gpus", 128),
        points: int = opt("points", 48),
        plot: Optional[str] = opt("plot", None, help="write the frontier figure (.png or .svg)"),
        all_points: bool = typer.Option(False, "--all-points", help="with --json: every configuration, not only the frontiers"),
        profile: Optional[str] = opt("profile", None),
        json_: bool = typer.Option(False, "--json", help="machine-readable output: a list, one entry per chip"),
    ):
        """Pareto frontier of throughput per GPU vs tokens/s per user and vs TTFT (shapes x precisions x batch)."""
        from infercast.analyses.frontier import sweep

        chip = chips_given(chip, chip_file)
        if plot:
            check_output_file(plot, field="plot", suffixes=PLOT_SUFFIXES)
        prof = load_profile(profile)
        sweeps = [sweep(model, c, input_len=input_len, output_len=output_len, precisions=weights, engine=engine,
                        max_gpus=max_gpus, n_concurrency=points, profile=prof) for c in chip]
        if plot:
            from infercast.report.plots import frontier_figure

            fig = frontier_figure(sweeps)
            fmt_ = Path(plot).suffix[1:].lower()
            write_atomic(plot, lambda tmp: fig.savefig(tmp, format=fmt_), field="plot", suffixes=PLOT_SUFFIXES)
        if json_:
            return print_json([s.as_dict(all_points) for s in sweeps])
        for s in sweeps:
            t = Table(title=f"{s.model} on {s.chip}: throughput vs interactivity frontier "
                            f"({fmt.num(s.input_len)} in / {fmt.num(s.output_len)} out, {fmt.num(s.n)} "
                            f"configurations, {s.engine})")
            for col in ("tok/s/user", "out tok/s/GPU", "in tok/s/GPU", "TTFT s", "precision", "TP x PP (EP)", "GPUs",
                        "batch/replica"):
                t.add_column(col, justify="right")
            fr = s.frontier_interactivity
            step = max(1, len(fr) // 14)
            for p in fr[::step] + ([fr[-1]] if fr and (len(fr) - 1) % step else []):
                t.add_row(fmt.num(p["tokens_per_s_per_user"]), fmt.num(p["output_tok_s_per_gpu"]),
                          fmt.num(p["input_tok_s_per_gpu"]), fmt.sig(p["ttft_s"]), p["precision"],
                          f"{p['tp']} x {p['pp']}" + (f" (ep {p['ep']})" if p["ep"] > 1 else ""), str(p["gpus"]),
                          fmt.num(p["concurrency"]))
            console.print(t)
            if not s.n:
                console.print("no configuration fits; try more GPUs (--max-gpus) or a smaller precision (--weights)")
                continue
            mt = s.max_throughput()
            console.print(f"max throughput: {fmt.num(mt['output_tok_s_per_gpu'])} output tok/s per GPU at "
                          f"{fmt.num(mt['tokens_per_s_per_user'])} tok/s per user ({mt['precision']}, TP {mt['tp']} x PP "
                          f"{mt['pp']}, batch {fmt.num(mt['concurrency'])}); {len(fr)} frontier points "
                          f"(--json for all, and the TTFT frontier)")
        if plot:
            console.print(f"wrote {plot}")

    @app.command()
    @user_errors
    def cost(
        model: str = opt("model", ...),
        chip: Optional[str] = opt("chip", None, help="accelerator id (see `infercast chips`), or a chip file's id"),
        chip_file: Optional[list[str]] = chip_file_option(),
        gpus: Optional[int] = opt("gpus", None, help="GPUs in total (default: one replica)", integer=True),
        tp: Optional[int] = opt("tp", None, help="tensor-parallel degree per replica (default: the planner's shape "
                                "for the targets; 1 when pp or ep is given)"),
        pp: Optional[int] = opt("pp", None, help="pipeline-parallel degree per replica (default: as --tp)"),
        ep: Optional[int] = opt("ep", None, help="expert-parallel degree, MoE (default: as --tp)"),
        weights: Optional[str] = opt("weights", None, help="weight precision (default: the model's)"),
        kv: Optional[str] = opt("kv", None, help="KV-cache precision (default bf16)"),
        engine: Optional[str] = opt("engine", None),
        input_len: int = opt("input_len", 1024),
        output_len: int = opt("output_len", 256),
        concurrency: Optional[float] = opt("concurrency", None, help="requests in flight (whole system; default: "
                                           "max throughput, or the best batch meeting the targets)"),
        cached_fraction: float = opt("cached_fraction", 0.0),
        min_tps_user: Optional[float] = opt("min_tps_user", None),
        max_ttft: Optional[float] = opt("max_ttft", None),
        max_tpot: Optional[float] = opt("max_tpot", None),
        price: Optional[float] = opt("price", None, help="$/GPU-hour (default: the catalog's dated price)"),
        utilisation: float = opt("utilisation", 1.0),
        watts: Optional[float] = opt("watts", None, help="rated power per GPU (default: TDP)"),
        load: float = opt("load", 0.7, help="average draw as a fraction of rated power (Epoch: 0.7)"),
        pue: float = opt("pue", 1.2, help="facility power usage effectiveness (Epoch: 1.2)"),
        profile: Optional[str] = opt("profile", None),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """$/M input and output tokens, J/token and tokens/kWh at max throughput, a batch, or a latency target."""
        from infercast.analyses.cost import cost as cost_

        chip = one_chip(chip, chip_file)
        tpot = tpot_target(max_tpot, min_tps_user)
        r = cost_(model, chip, gpus=gpus, tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, engine=engine,
                  input_len=input_len, output_len=output_len, cached_fraction=cached_fraction,
                  min_tokens_per_s_per_user=1.0 / tpot if tpot else None, max_ttft_s=max_ttft, price=price,
                  utilisation=utilisation, watts=watts, load_fraction=load, pue=pue, profile=load_profile(profile),
                  concurrency=concurrency)
        if json_:
            return print_json(r)
        t = Table(title=f"{r.model} on {r.gpus_per_replica} x {r.chip} (TP {r.tp} x PP {r.pp}, {r.weights}, "
                        f"{r.engine}): {r.operating_point}")
        t.add_column("quantity")
        t.add_column("value", justify="right")
        rows = [
            ("batch per replica", fmt.num(r.concurrency_per_replica)),
            ("tokens/s per user; TTFT", f"{fmt.num(r.tokens_per_s_per_user)}; {fmt.seconds(r.ttft_s)}"),
            ("output / input tokens/s per GPU", f"{fmt.num(r.output_tok_s_per_gpu)} / {fmt.num(r.input_tok_s_per_gpu)}"),
            ("$ per M input tokens", fmt.money(r.usd_per_m_input)),
            ("$ per M output tokens", fmt.money(r.usd_per_m_output)),
            ("$ per M tokens (all)", fmt.money(r.usd_per_m_blended)),
            ("J per input / output token", f"{fmt.sig(r.j_per_input_token)} / {fmt.sig(r.j_per_output_token)}"),
            ("tokens per kWh (all)", fmt.num(r.tokens_per_kwh)),
            ("binding", f"batch: {r.batch_limit}; step: {r.bound_by}"),
        ]
        if r.cached_fraction:
            rows.insert(4, ("$ per M uncached input tokens", fmt.money(r.usd_per_m_uncached_input)))
        for k, v in rows:
            t.add_row(k, v)
        console.print(t)
        for a in r.assumptions:
            console.print(f"  - {a}")

    @app.command()
    @user_errors
    def fleet(
        fleet: Optional[str] = typer.Argument(None, metavar="FLEET",
                                              help="FLEET.toml, or a shipped example's name; none: list examples"),
        price: Optional[float] = opt("price", None, help="$/GPU-hour for every pool (default: each pool's price, "
                                     "else the catalog's)"),
        profile: Optional[str] = opt("profile", None, help="calibration profile (applies to pools of its chip)"),
        chip_file: Optional[list[str]] = chip_file_option(),
        tokens_per_workday: Optional[float] = opt("tokens_per_workday", None),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Tokens/s and /day, forward passes per chip-second, $/M tokens, MW and AI-worker equivalents of a fleet."""
        from infercast.analyses.fleet import evaluate, load_fleet, shipped_fleets

        if fleet is None:
            ex = shipped_fleets()
            if json_:
                return print_json(ex)
            t = Table(title="shipped example fleets (`infercast fleet NAME`)")
            t.add_column("name")
            t.add_column("description")
            for k, v in ex.items():
                t.add_row(k, v)
            return console.print(t)
        fl = load_fleet(fleet)
        if price is not None:
            fl = fl.model_copy(update={"pools": [p.model_copy(update={"price": price}) for p in fl.pools]})
        r = evaluate(fl, profile=load_profile(profile), tokens_per_workday=tokens_per_workday)
        if json_:
            return print_json(r)
        t = Table(title=f"fleet '{r.name}': {fmt.num(r.gpus)} GPUs. {r.description}")
        for col in ("pool", "workload", "GPUs", "shape", "tok/s/user", "out tok/s", "in tok/s", "$/M in", "$/M out",
                    "binding"):
            t.add_column(col, justify="left" if col in ("pool", "workload", "binding") else "right")
        for p in r.parts:
            t.add_row(p.pool, p.workload, fmt.num(p.gpus),
                      f"{p.tp}x{p.pp}" + (f" ep{p.ep}" if p.ep > 1 else "") + f" {p.weights}",
                      fmt.num(p.tokens_per_s_per_user), fmt.num(p.output_tok_s), fmt.num(p.input_tok_s),
                      fmt.money(p.usd_per_m_input), fmt.money(p.usd_per_m_output), _short(p.binding))
        console.print(t)
        console.print("binding = what stops the batch growing / what dominates the step time; "
                      "--json has batch sizes, TTFT and shapes in full")
        s = Table(title="fleet totals")
        s.add_column("quantity")
        s.add_column("value", justify="right")
        for k, v in (("output tokens/s; per day", f"{fmt.num(r.output_tok_s)}; {fmt.num(r.output_tok_per_day)}"),
                     ("input tokens/s; per day", f"{fmt.num(r.input_tok_s)}; {fmt.num(r.input_tok_per_day)}"),
                     ("requests/s", fmt.num(r.requests_per_s)),
                     ("forward passes per chip per second", fmt.num(r.forward_passes_per_chip_s)),
                     ("$/hour", fmt.money(r.usd_per_hour)),
                     ("$ per M input / output / all tokens",
                      f"{fmt.money(r.usd_per_m_input)} / {fmt.money(r.usd_per_m_output)} / {fmt.money(r.usd_per_m_tokens)}"),
                     ("power (MW); J per token", f"{fmt.sig(r.power_mw)}; {fmt.sig(r.j_per_token)}"),
                     ("AI-worker equivalents (range)",
                      f"{fmt.num(r.ai_workers['workers'])} ({fmt.num(r.ai_workers['workers_low'])} - "
                      f"{fmt.num(r.ai_workers['workers_high'])}) at {fmt.num(r.ai_workers['tokens_per_workday'])} "
                      f"output tokens per workday ({r.ai_workers['basis']})")):
            s.add_row(k, v)
        console.print(s)
        for a in r.assumptions:
            console.print(f"  - {a}")

    @app.command()
    @user_errors
    def table(
        model: str = opt("model", "gpt-4"),
        chip: Optional[list[str]] = opt("chip", None, help="accelerator ids (repeatable; default: the chip files' "
                                        "ids, else A100 ... GB300)"),
        chip_file: Optional[list[str]] = chip_file_option(),
        weights: str = opt("weights", "bf16", help="weight precision (the essay: 16-bit)"),
        input_len: int = opt("input_len", 7680),
        output_len: int = opt("output_len", 512),
        min_tps_user: Optional[float] = opt("min_tps_user", None, help="operating point: at least this many "
                                            "tokens/s per user (default: max throughput)"),
        engine: Optional[str] = opt("engine", None),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """The essay's table regenerated: upper, lower, realistic (prefill, decode, mixed) and market, per chip."""
        from infercast.analyses.table import essay_table
        from infercast.specs import precision as P

        weights = P.check(weights, "weights")
        chip = chips_given(chip, chip_file, default=[]) or None
        tb = essay_table(model, chip, weights, input_len, output_len, min_tps_user, engine)
        if json_:
            return print_json(tb)
        t = Table(title=f"{tb.model} ({tb.precision}): forward passes per chip per second. {tb.operating_point}")
        for col in ("chip", "shape (GPUs)", "upper", "lower", "prefill", "decode", "mixed", "market", "mixed/upper",
                    "tok/s/user"):
            t.add_column(col, justify="left" if col == "chip" else "right")
        for r in tb.rows:
            shape = f"{r.tp}x{r.pp}" + (f" ep{r.ep}" if r.ep > 1 else "") + (" PD" if r.disaggregated else "")
            t.add_row(f"{r.chip} ({r.year})", f"{shape} ({r.gpus})", fmt.num(r.upper), fmt.num(r.lower),
                      fmt.num(r.realistic_prefill), fmt.num(r.realistic_decode), fmt.num(r.realistic_mixed),
                      fmt.num(r.market) if r.market else "-", fmt.pct(r.realistic_mixed / r.upper, 1),
                      fmt.num(r.tokens_per_s_per_user))
        console.print(t)
        for m in tb.method:
            console.print(f"  - {m}")
