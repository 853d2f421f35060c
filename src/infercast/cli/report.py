"""CLI: `infercast report` (the HTML report) and `infercast demo` (the report plus the essay's table)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from infercast.cli.kit import console, opt, print_json, user_errors
from infercast.errors import InfercastError
from infercast.files import check_writable_folder, shown, why as os_why


def _build(out: Path, quick: bool, progress: bool):
    """The report, written in `out` (checked writable first; a failure while writing names --out)."""
    from infercast.report import build_report
    from infercast.report.render import environment

    environment()  # the 'report' extra first: a missing install fails before any folder is made
    check_writable_folder(out, field="out")
    try:
        return build_report(out, quick=quick, progress=progress)
    except OSError as e:
        raise InfercastError(f"cannot write the report in {shown(out)}: {os_why(e)}", field="out") from None


def _num(x) -> str:
    from infercast.report import num

    return num(x)


def essay_table_rich(t) -> Table:
    """The essay's table with the realistic estimate, as a rich table (fits 80 columns)."""
    at = t.operating_point.split("; ")[-1]  # "best throughput (max throughput)" or "... with >= T tokens/s per user"
    rt = Table(title=f"{t.model}, {t.precision}, {t.input_len:,} in + {t.output_len:,} out, {at}: forward passes "
                     "(tokens) per chip per second", box=box.SIMPLE_HEAD)
    rt.add_column("chip", no_wrap=True)
    for col in ("upper", "lower", "prefill", "decode", "mixed", "tps/user", "market"):
        rt.add_column(col, justify="right", no_wrap=True)
    for r in t.rows:
        rt.add_row(r.chip, _num(r.upper), _num(r.lower), _num(r.realistic_prefill), _num(r.realistic_decode),
                   f"[bold]{_num(r.realistic_mixed)}[/]", _num(r.tokens_per_s_per_user),
                   _num(r.market) if r.market else "-")
    return rt


def usable_table(res):
    """The essay's table at the report's lowest usable speed (>= 10 tokens/s per user), from the report's numbers;
    None when the report has no such rows. Chips with no shape at that speed are left out (the report says why)."""
    from infercast.analyses.table import Row, Table

    usable = (res.data or {}).get("essay_table_usable") or {}
    if not usable or res.essay_table is None:
        return None
    tps = min(usable, key=float)
    rows = [Row(**{**r, "notes": tuple(r.get("notes", ()))}) for r in usable[tps].values() if isinstance(r, dict)]
    t = res.essay_table
    return Table(model=t.model, precision=t.precision, input_len=t.input_len, output_len=t.output_len,
                 operating_point=f"at >= {tps} tokens/s per user", rows=rows) if rows else None


def print_summary(res, with_table: bool) -> None:
    """A few lines for the terminal: headline numbers, what is missing, where the report is."""
    if with_table and res.essay_table is not None:
        console.print(essay_table_rich(res.essay_table))
        usable = usable_table(res)
        if usable is not None:
            console.print(essay_table_rich(usable))
        console.print("[dim]upper = peak FLOP/s / (2 x active params); lower = HBM bandwidth / weight bytes (batch 1); "
                      "prefill / decode / mixed = infercast's realistic estimate (prefill only, decode only, "
                      "continuous batching of both); tps/user = tokens/s per user at that realistic point; "
                      "market = implied by a dated $/M-token quote[/]")
    me = res.model_error
    if me.get("median_abs_error") is not None:
        oos = "out of sample" in me["source"]
        console.print(f"model error vs measured benchmarks{', out of sample' if oos else ''}: median "
                      f"{me['median_abs_error']:.0%}, P90 {me['p90_abs_error']:.0%} "
                      f"({'every packaged measured set; ' if oos else ''}`infercast validate` prints in-sample and "
                      "per-family figures)")
    for line in res.headline:
        console.print(line)
    for sid, why in res.unavailable.items():
        console.print(f"[yellow]section '{sid}' not available:[/] {why}")
    mode = " (quick)" if res.quick else ""
    console.print(f"report{mode} written in {res.seconds:.1f} s: [bold]{res.path}[/] "
                  f"(open file://{Path(res.path).resolve()})")


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def report(out: Path = opt("out", Path("report"), help="folder for index.html and figures"),
               quick: bool = typer.Option(False, "--quick", help="smaller sweeps and forecast (seconds)"),
               json_: bool = typer.Option(False, "--json", help="print the summary as JSON")):
        """Write the HTML report: per-chip table, frontiers, cost, precision, validation, forecast, claims."""
        res = _build(out, quick, progress=not json_)
        if json_:
            return print_json(res.as_dict())
        print_summary(res, with_table=False)

    @app.command()
    @user_errors
    def demo(out: Path = opt("out", Path("report"), help="folder for the report"),
             quick: bool = typer.Option(False, "--quick", help="smaller sweeps (seconds)")):
        """The main job: build the full report and print the essay's table with the realistic estimate."""
        res = _build(out, quick, progress=True)
        print_summary(res, with_table=True)
