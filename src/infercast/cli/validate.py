"""`infercast validate`: the model's own error against measured benchmarks."""
from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from infercast import format as fmt
from infercast.cli.estimate import load_profile
from infercast.cli.kit import PLOT_SUFFIXES, console, opt, print_json, user_errors
from infercast.errors import InfercastError
from infercast.files import check_output_file, write_atomic


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def validate(
        data: Optional[str] = opt("data", None),
        profile: Optional[List[str]] = typer.Option(None, "--profile", help="calibration profile (applied to rows of "
                                                    "its chip): a JSON file or a shipped profile's name (h100-sxm); "
                                                    "repeat it for several cards, one profile each"),
        speed_of_light: bool = typer.Option(False, "--speed-of-light", help="predict at datasheet peaks with no overheads"),
        plot: Optional[str] = opt("plot", None, help="write the predicted-vs-measured figure here (.png or .svg)"),
        rows: bool = typer.Option(False, "--rows", help="print every row"),
        aic: bool = typer.Option(False, "--aic", help="also NVIDIA's own silicon rows from aiconfigurator-core (1.6k "
                                 "rows; the run then takes about a minute), reported apart: they come from the "
                                 "machines the kernel tables come from"),
        bands: bool = typer.Option(False, "--bands", help="the error by band: chip generation, dense/MoE, precision, "
                                   "interactivity, scenario"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Predict every measured row; error out of sample, by source family, by band, and overall."""
        from infercast.analyses.validate import validate as run

        if plot:
            check_output_file(plot, field="plot", suffixes=PLOT_SUFFIXES)
        if profile and len(profile) > 16:
            raise InfercastError("--profile: at most 16 profiles, one per card", field="profile")
        profs = [load_profile(p) for p in profile] if profile else None
        summary, results = run(data, profile=profs, speed_of_light=speed_of_light,
                               include_aic=aic)
        if plot:
            if not summary["compared"]:
                raise InfercastError("no row could be compared with a prediction, so there is nothing to plot; "
                                     "see --rows for why each row is not comparable", field="plot")
            from infercast.report.plots_validation import validation_plot

            write_atomic(plot, lambda tmp: validation_plot(results, summary, tmp), field="plot",
                         suffixes=PLOT_SUFFIXES)
        if json_:
            return print_json({"summary": summary, "rows": [r.as_dict() for r in results]})
        fast = summary.get("beats_bound")
        if fast and fast["rows"]:
            shown = ", ".join(fast["ids"][:12]) + (f" and {fast['rows'] - 12} more" if fast["rows"] > 12 else "")
            console.print(f"[bold]{fast['rows']} row(s) measured faster than the speed-of-light prediction[/] "
                          f"(unexplained by the model's physics and scheduling: a prompt cache, speculation or a "
                          f"lighter precision they do not state, another scheduler, or a misread value): {shown}")
        oos = summary.get("out_of_sample")
        if oos and oos.get("median_abs_error") is not None:
            console.print(f"[bold]out of sample[/] (each family predicted with the choices its own rows prompted "
                          f"switched off): median |error| {fmt.pct(oos['median_abs_error'])}, p90 "
                          f"{fmt.pct(oos['p90_abs_error'])}, over {oos['compared']} rows")
        t = Table(title="in sample: predicted / measured - 1, by source family")
        for col in ("family", "compared", "not comparable", "median |err|", "p90 |err|", "median signed"):
            t.add_column(col, justify="right" if col != "family" else "left")
        for f, s in summary["by_family"].items():
            t.add_row(f, str(s["compared"]), str(s["not_comparable"]), fmt.pct(s["median_abs_error"]),
                      fmt.pct(s["p90_abs_error"]), fmt.pct(s["median_signed_error"], signed=True))
        t.add_row("ALL", str(summary["compared"]), str(summary["not_comparable"]), fmt.pct(summary["median_abs_error"]),
                  fmt.pct(summary["p90_abs_error"]), fmt.pct(summary["median_signed_error"], signed=True), style="bold")
        console.print(t)
        for fam, s in summary.get("separate", {}).items():
            console.print(f"{fam} (aiconfigurator-core silicon rows, the kernel tables' own machines, apart): "
                          f"{s['compared']} compared, median |error| {fmt.pct(s['median_abs_error'])}, p90 "
                          f"{fmt.pct(s['p90_abs_error'])}, median signed {fmt.pct(s['median_signed_error'], signed=True)}; "
                          f"{s['not_comparable']} not comparable")
        if bands:
            b = Table(title="by band (in sample)")
            for col in ("band", "value", "compared", "median |err|", "p90 |err|", "median signed"):
                b.add_column(col, justify="left" if col in ("band", "value") else "right")
            for kind, vals in summary["by_band"].items():
                for v, s in vals.items():
                    b.add_row(kind, v, str(s["compared"]), fmt.pct(s["median_abs_error"]), fmt.pct(s["p90_abs_error"]),
                              fmt.pct(s["median_signed_error"], signed=True))
            console.print(b)
        if rows:
            r = Table()
            for col in ("id", "metric", "measured", "predicted", "error / status"):
                r.add_column(col)
            for x in results:
                r.add_row(fmt.truncate(x.id, 60), x.metric, fmt.sig(x.measured, 4),
                          fmt.sig(x.predicted, 4) if x.predicted else "-",
                          fmt.pct(x.error, signed=True) if x.error is not None else x.status)
            console.print(r)
        if plot:
            console.print(f"plot: {plot}")
