"""`infercast validate`: the model's own error against measured benchmarks."""
from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from infercast.cli.kit import console, print_json, user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def validate(
        data: Optional[str] = typer.Option(None, "--data", help="measured CSV (default: shared/data/measured-dev.csv)"),
        profile: Optional[str] = typer.Option(None, "--profile", help="calibration profile JSON (applied to rows of its chip)"),
        speed_of_light: bool = typer.Option(False, "--speed-of-light", help="predict at datasheet peaks with no overheads"),
        plot: Optional[str] = typer.Option("validation.png", "--plot", help="predicted-vs-measured PNG ('' to skip)"),
        rows: bool = typer.Option(False, "--rows", help="print every row"),
        json_: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Predict every row of a measured CSV; error by source family and overall."""
        from infercast.analyses.validate import validate as run

        summary, results = run(data, profile=profile, speed_of_light=speed_of_light)
        if plot:
            from infercast.report.plots_validation import validation_plot

            validation_plot(results, summary, plot)
        if json_:
            return print_json({"summary": summary, "rows": [r.as_dict() for r in results]})
        t = Table(title="predicted / measured - 1, by source family")
        for col in ("family", "compared", "not comparable", "median |err|", "p90 |err|", "median signed"):
            t.add_column(col, justify="right" if col != "family" else "left")
        pct = lambda x: "-" if x is None else f"{x:+.0%}" if x < 0 else f"{x:.0%}"  # noqa: E731
        for f, s in summary["by_family"].items():
            t.add_row(f, str(s["compared"]), str(s["not_comparable"]), pct(s["median_abs_error"]),
                      pct(s["p90_abs_error"]), pct(s["median_signed_error"]))
        t.add_row("ALL", str(summary["compared"]), str(summary["not_comparable"]), pct(summary["median_abs_error"]),
                  pct(summary["p90_abs_error"]), pct(summary["median_signed_error"]), style="bold")
        console.print(t)
        if rows:
            r = Table()
            for col in ("id", "metric", "measured", "predicted", "error / status"):
                r.add_column(col)
            for x in results:
                r.add_row(x.id, x.metric, f"{x.measured:,.4g}", f"{x.predicted:,.4g}" if x.predicted else "-",
                          f"{x.error:+.0%}" if x.error is not None else x.status)
            console.print(r)
        if plot:
            console.print(f"plot: {plot}")
