"""`infercast size`: how many GPUs of each chip serve a demand at latency targets, what they cost, and the inverse."""
from __future__ import annotations

from typing import Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from infercast import format as fmt
from infercast.cli.estimate import load_profile
from infercast.cli.kit import chip_file_option, chips_given, console, opt, print_json, render, user_errors
from infercast.errors import InfercastError


def _demand(model, tokens_per_day, requests_per_s, fleet, input_len, output_len, range_ratio, trace, targets,
            weights, kv, gpus, profile):
    """The demand as a list of analyses.sizing.Demand (empty: none given, only for the inverse)."""
    from infercast.analyses import sizing as S

    given = [n for n, v in (("tokens_per_day", tokens_per_day), ("requests_per_s", requests_per_s),
                            ("fleet", fleet)) if v is not None]
    if len(given) > 1:
        raise InfercastError(f"give one demand, not {' and '.join(given)}", field=given[1])
    if fleet is not None:
        if model is not None:
            raise InfercastError("model: a fleet's workloads name their models; give the fleet alone", field="model")
        return S.demand_from_fleet(fleet, profile=profile)
    if model is None:
        raise InfercastError("model is required: the model to serve (or a fleet whose demand to size)", field="model")
    if range_ratio is not None and trace is not None:
        raise InfercastError("give a length distribution once: range_ratio or trace", field="trace")
    lengths = None
    if trace is not None:
        from infercast.engine.workload import read_trace

        lengths = read_trace(trace).lengths
    elif range_ratio is not None and range_ratio < 1:
        from infercast.engine.workload import uniform

        lengths = uniform(input_len, output_len, range_ratio)
    kw = dict(input_len=input_len, output_len=output_len, lengths=lengths, targets=targets, weights=weights, kv=kv)
    if tokens_per_day is not None:
        return [S.demand_from_tokens(model, tokens_per_day, **kw)]
    if requests_per_s is not None:
        return [S.demand_from_requests(model, requests_per_s, **kw)]
    if gpus is None:
        raise InfercastError("give a demand (tokens_per_day, requests_per_s or a fleet), or gpus to see what they "
                             "serve", field="tokens_per_day")
    d = S.demand_from_requests(model, 1.0, **kw)  # lengths and targets only: the inverse carries what fits
    from dataclasses import replace

    return [replace(d, requests_per_s=0.0, described="none given: what the GPUs serve")]


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def size(
        model: Optional[str] = opt("model", None),
        chip: Optional[list[str]] = opt("chip", None, help="accelerator id (repeatable; default: the chip files' ids, "
                                        "else A100, H100, H200, B200, MI300X, MI325X)"),
        chip_file: Optional[list[str]] = chip_file_option(),
        tokens_per_day: Optional[float] = opt("tokens_per_day", None, help="demand: input + output tokens per day "
                                              "(mean)"),
        requests_per_s: Optional[float] = opt("requests_per_s", None, help="demand: requests per second (mean)"),
        fleet: Optional[str] = opt("fleet", None, help="demand: what this fleet serves (TOML, or a shipped "
                                   "example's name), each workload with its model, lengths and targets"),
        input_len: int = opt("input_len", 1024, help="prompt tokens per request (the longest with --range-ratio)"),
        output_len: int = opt("output_len", 256, help="generated tokens per request (the longest with --range-ratio)"),
        range_ratio: Optional[float] = opt("range_ratio", None),
        trace: Optional[str] = opt("trace", None),
        min_tps_user: Optional[float] = opt("min_tps_user", None),
        max_ttft: Optional[float] = opt("max_ttft", None),
        max_tpot: Optional[float] = opt("max_tpot", None),
        percentile: float = opt("percentile", 50.0),
        headroom: float = opt("headroom", 1.0, help="peak-to-mean ratio of demand: GPUs are sized for mean x this"),
        gpus: Optional[int] = opt("gpus", None, help="the inverse: what this many GPUs of each chip serve",
                                  integer=True),
        weights: Optional[list[str]] = opt("weights", None, help="weight precisions to consider (repeatable; default: "
                                           "every one the chip runs natively)"),
        kv: Optional[str] = opt("kv", None, help="KV-cache precision (default: the engine's for the weights)"),
        engine: Optional[str] = opt("engine", None, help="tensorrt-llm (default), vllm, sglang, ..."),
        max_gpus: int = opt("max_gpus", 128, help="largest replica (GPUs) to consider"),
        spec_method: Optional[str] = opt("spec_method", None),
        price: Optional[float] = opt("price", None, help="$/GPU-hour for every chip (default: the catalog's dated "
                                     "price)"),
        watts: Optional[float] = opt("watts", None, help="rated power per GPU (default: TDP)"),
        load: float = opt("load", 0.7, help="average draw as a fraction of rated power (Epoch: 0.7)"),
        pue: float = opt("pue", 1.2, help="facility power usage effectiveness (Epoch: 1.2)"),
        profile: Optional[str] = opt("profile", None),
        disaggregated: bool = typer.Option(False, "--disaggregated", help="also consider prefill and decode pools "
                                           "apart (the planner's best of both)"),
        recipe: bool = typer.Option(False, "--recipe", help="also print launch commands for each chip's point"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output: a list, one entry per chip"),
    ):
        """GPUs per chip for a demand at latency targets: shape, precision, utilisation, $/month, $/M tokens, energy."""
        from infercast.analyses import sizing as S
        from infercast.engine.planner import Space, Targets
        from infercast.engine.speculative import speculation

        targets = Targets(min_tps_user=min_tps_user, max_ttft=max_ttft, max_tpot=max_tpot, percentile=percentile)
        prof = load_profile(profile)
        spec = speculation(spec_method) if spec_method else None
        chips = chips_given(chip, chip_file, default=S.DEFAULT_CHIPS)
        demands = _demand(model, tokens_per_day, requests_per_s, fleet, input_len, output_len, range_ratio, trace,
                          targets, weights, kv, gpus, prof)
        space = S.speculative_space(spec, Space(max_gpus=max_gpus, engine=engine, profile=prof,
                                                disaggregated=disaggregated))
        rows = S.size_chips(demands, chips, headroom=headroom, space=space, price=price, watts=watts,
                            load_fraction=load, pue=pue, gpus=gpus)
        recipes = {}
        if recipe:
            from infercast.analyses.recipe import recipe_for_sized

            recipes = {r.chip: [recipe_for_sized(p, r.chip, spec) for p in r.parts] for r in rows if not r.error}
        if json_:
            out = []
            for r in rows:
                d = r.as_dict()
                if recipe and r.chip in recipes:
                    d["recipe"] = [x.as_dict() for x in recipes[r.chip]]
                out.append(d)
            return print_json(out)
        _show(rows, demands, targets, headroom, gpus)
        for r in rows:
            for rec in recipes.get(r.chip, []):
                from infercast.cli.recipe import show_recipe

                console.print()
                show_recipe(rec, f"launch recipe: {rec.model} on {r.chip} ({r.gpus} GPUs)")


def _shape(s: dict | None) -> str:
    """'2 x tp2', '4 x tp8 pp2', '1 x tp1 dp8 ep8 +spec': replicas x the shape of one."""
    if not s:
        return "-"
    out = f"{s['replicas']} x tp{s['tp']}" + (f" pp{s['pp']}" if s["pp"] > 1 else "")
    if s["dp"] > 1:
        out += f" dp{s['dp']} ep{s['ep']}"
    elif s["ep"] > 1:
        out += f" ep{s['ep']}"
    return out + f" {s['precision']}" + (" +spec" if s.get("speculative") else "")  # replicas x shape, precision


def _show(rows, demands, targets, headroom, gpus) -> None:
    inverse = gpus is not None
    what = (f"what {fmt.num(gpus)} GPUs serve" if inverse else "GPUs for the demand at its peak" +
            (f" (mean x {headroom:g})" if headroom != 1 else ""))
    t = Table(title=f"{what}; targets: {targets.describe()}", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
              show_edge=False)
    cols = ("chip", "GPUs", "shape", "tok/s/user", "tok/day" if inverse else "util.", "$/month", "$/Mtok", "kW")
    for col in cols:
        t.add_column(col, justify="left" if col in ("chip", "shape") else "right", no_wrap=True)
    for r in rows:
        if r.error:
            t.add_row(r.chip, "-", "[red]see below[/]", *["-"] * 5)
            continue
        p = max(r.parts, key=lambda x: x.gpus)
        t.add_row(r.chip, fmt.num(r.gpus), _shape(r.shape) + (f" +{len(r.parts) - 1} more" if len(r.parts) > 1 else ""),
                  fmt.num(p.tokens_per_s_per_user),
                  fmt.num(r.capacity_tokens_per_day) if inverse else fmt.pct(r.utilisation),
                  fmt.money(r.cost_per_month), fmt.money(r.usd_per_m_tokens), fmt.sig(r.power_kw))
    console.print(t)
    for r in rows:
        if r.error:
            console.print(f"[red]{escape(r.chip)}[/]: {escape(render(InfercastError(r.error, field=r.error_field)))}")
    for d in demands:
        if d.requests_per_s > 0:
            console.print(escape(f"demand ({d.model}{', ' + d.name if d.name != 'demand' else ''}): {d.described}"))
    console.print("TTFT, TPOT, capacity and sources per chip: --json")
    if inverse:
        for r in rows:
            if not r.error and r.meets_peak is not None:
                console.print(f"{r.chip}: {'meets' if r.meets_peak else 'does not meet'} the demand at its peak "
                              f"(utilisation at the mean {fmt.pct(r.utilisation)})")
    notes = []
    for r in rows:
        for n in r.notes:
            if not n.startswith(("cost:", "power:")) and n not in notes:
                notes.append(n)
    for n in notes + ["$/M tokens: the month's cost over the mean month's input + output tokens (idle hours paid); "
                      "power counts every GPU busy or idle; `--json` has capacities, rates and sources"]:
        console.print(f"  - {escape(n)}")
