"""`infercast forecast` (yearly Monte Carlo to 2030) and `infercast claims` (the essay's hardware claims)."""
from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from infercast import format as fmt
from infercast.cli.kit import PLOT_SUFFIXES, console, opt, print_json, user_errors
from infercast.errors import InfercastError
from infercast.files import check_output_file, write_atomic
from infercast.vocabulary import MAX_FORECAST_SAMPLES


def _n(x: float) -> str:
    return fmt.num(x)


def _rng(d: dict, f=_n) -> str:
    return f"{f(d['p50'])} [{f(d['p10'])}-{f(d['p90'])}]"


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def forecast(scenario: Optional[str] = typer.Argument(None, metavar="SCENARIO",
                                                          help="scenario TOML merged over the default, or a shipped "
                                                               "scenario: roadmap (vendors' announced chips)"),
                 json_: bool = typer.Option(False, "--json", help="per quantity and year: p10, p50, p90"),
                 plot: Optional[str] = opt("plot", None, help="write a fan chart (.png or .svg)"),
                 samples: Optional[int] = opt("samples", None, "--samples", lo=2, hi=MAX_FORECAST_SAMPLES,
                                              help="Monte Carlo samples (default 2000)", integer=True),
                 seed: Optional[int] = opt("seed", None, help="random seed (default 0)", integer=True),
                 model: Optional[list[str]] = opt("model", None, help="reference model(s) (repeatable)"),
                 set_: Optional[list[str]] = typer.Option(None, "--set", help="override one assumption: "
                                                          "KEY.PATH=VALUE, e.g. fleet.growth=lognormal:p10=1.3,p90=2 "
                                                          "(repeatable)"),
                 print_scenario: bool = typer.Option(False, "--print-scenario",
                                                     help="print the default scenario (every assumption and source)")):
        """How much inference in 2027 and 2030: trend (or roadmap) chips, the planner and Monte Carlo, P10/P50/P90."""
        from infercast.analyses import forecast as F

        if print_scenario:
            if json_:
                from infercast.specs.store import read_toml

                return print_json(read_toml("scenario_default.toml"))
            typer.echo(F._default_text())
            return
        if plot:
            check_output_file(plot, field="plot", suffixes=PLOT_SUFFIXES)
        sc = F.load_scenario(scenario, set_ or None)
        res = F.run_forecast(sc, samples=samples, seed=seed, models=model or None)
        if plot:
            write_atomic(plot, lambda tmp: F.fan_chart(res, tmp), field="plot", suffixes=PLOT_SUFFIXES)
        if json_:
            return print_json(res)
        t = Table(title="Hardware trend fits over the catalog's flagships (log-linear least squares)")
        for col in ("quantity", "growth/yr", "SE", "r²", "n", "used in the forecast"):
            t.add_column(col, justify="left" if col in ("quantity", "used in the forecast") else "right")
        for k, f in res["trends"].items():
            t.add_row(F.TREND_LABELS[k], fmt.pct(f['growth_pct'] / 100, signed=True), f"{fmt.sig(f['growth_se_pct'], 2)} pp",
                      fmt.sig(f['r2'], 2), str(f["n"]), f["used"]["growth"])
        console.print(t)
        console.print(f"[dim]{res['flagships_note']}[/]")
        op = res["operating_point"]
        if res["kind"] == "roadmap":
            console.print("roadmap: " + "; ".join(f"{y}: {name}" for y, name in res["chips"]["name"].items()))
        for mid, qs in res["results"].items():
            t = Table(title=f"{mid}: P50 [P10-P90], {res['samples']} samples, seed {res['seed']} "
                            f"(input {op['input_len']}, output {op['output_len']}, TPOT <= {op['tpot_max_s'] * 1e3:g} ms)")
            for col in ("year", "output tok/s/GPU", "realistic/upper", "$/M output tok", "$/M fixed capability",
                        "fleet tok/day", "fleet tok/day x algorithmic"):
                t.add_column(col, justify="right")
            for y in res["years"]:
                k = str(y)
                t.add_row(k, _rng(qs["output_tok_s_per_gpu"][k], _n),
                          _rng(qs["realistic_to_upper"][k], fmt.pct),
                          _rng(qs["usd_per_m_output_tokens"][k], fmt.money),
                          _rng(qs["usd_per_m_fixed_capability"][k], fmt.money),
                          _rng(qs["fleet_output_tokens_per_day"][k], _n),
                          _rng(qs["fleet_effective_tokens_per_day"][k], _n))
            console.print(t)
        for mid, rs in F.year_ratios(res).items():
            console.print(f"{mid}: P50 output tok/s per GPU year over year: "
                          + ", ".join(f"{k} x{fmt.sig(v, 2)}" for k, v in rs.items()))
        for line in F.headline(res):
            console.print(line)
        for n in res["notes"]:
            console.print(f"[dim]note: {n}[/]")
        console.print(f"[dim]scenario: {res['scenario']}; every assumption: `infercast forecast --print-scenario`; "
                      "override one with --set KEY=VALUE[/]")
        if plot:
            console.print(f"fan chart written to {plot}")

    @app.command()
    @user_errors
    def claims(claim: Optional[list[str]] = typer.Option(None, "--claim", "-c",
                                                         help="throughput | fp8 | h200 | b200 (repeatable; default all)"),
               json_: bool = typer.Option(False, "--json", help="machine-readable output")):
        """The essay's hardware claims checked with the planner: 20x vs 8x, FP8 doubling, H200 = 1.7x H100, B200 = 4-7x
        H100 for GPT-4."""
        from infercast.analyses import claims as C

        fns = {"throughput": C.throughput_vs_flops, "fp8": C.fp8_doubling, "h200": C.h200_vs_h100,
               "b200": C.b200_vs_h100}
        names = claim or list(fns)
        bad = [w for w in names if w not in fns]
        if bad:
            raise InfercastError(f"claim '{fmt.truncate(bad[0], 40)}' is not one of {', '.join(fns)}", field="claim")
        res = {w: fns[w]() for w in names}
        if json_:
            return print_json(res)
        for w, r in res.items():
            console.rule(f"[bold]{w}[/]")
            console.print(f"[italic]essay:[/] \"{r['claim']}\"")
            console.print(f"[bold]model:[/] {r['verdict']}")
            for line in r["text"]:
                console.print(f"  {line}")
