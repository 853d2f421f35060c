"""`infercast calibrate` and `infercast measure`: measurements on a real device (PyTorch optional)."""
from __future__ import annotations

from contextlib import contextmanager

from infercast.format import truncate as fmt_truncate
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infercast.cli.kit import console, err_console, opt, print_json, user_errors
from infercast.errors import InfercastError
from infercast.files import check_output_file, write_atomic

MAX_STEPS = 64  # values per list option of `measure`


@contextmanager
def _progress(title: str) -> Iterator:
    """A rich progress bar on stderr (stdout stays clean for --json); yields a (label, fraction) callback.

    The bar starts at the first callback, so errors raised before any measurement print cleanly.
    """
    bar = Progress(TextColumn(f"[bold]{title}[/]"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), TextColumn("{task.description}"), console=err_console, transient=True)
    task = None

    def cb(label: str, frac: float) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("", total=1000)
        bar.update(task, completed=int(frac * 1000), description=label)

    try:
        yield cb
    finally:
        if task is not None:
            bar.stop()


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def calibrate(out: Optional[Path] = opt("out", None, help="write the profile here (JSON); use it with --profile"),
                  quick: bool = typer.Option(False, "--quick", help="smaller sizes and fewer repeats (~4x faster)"),
                  device: str = opt("device", "cuda"),
                  models: str = typer.Option("llama-3-8b", "--models",
                                             help="catalog models whose weight shapes are timed, comma-separated (a MoE "
                                                  "model's routed-expert layer too)"),
                  sustained: float = typer.Option(0.0, "--sustained", min=0.0, max=120.0,
                                                  help="seconds of back-to-back GEMMs to see the clock fall at the "
                                                       "power limit (0: skip)"),
                  json_: bool = typer.Option(False, "--json", help="print the profile as JSON")):
        """Measure this device's ceilings (copy bandwidth, GEMM, attention, MoE layers, launch cost) into a profile.

        Needs PyTorch (pip install 'infercast[gpu]'). Takes well under 3 minutes on an H100.
        """
        from infercast.gpu.calibrate import calibrate as run, summary_lines, write_profile

        from infercast.specs.model import get_model

        ids = [x.strip() for x in models.split(",") if x.strip()]
        if not ids or len(ids) > 8:
            raise InfercastError(f"--models '{fmt_truncate(models)}': give 1 to 8 catalog models, comma-separated")
        ids = [get_model(x).id for x in ids]  # an unknown model fails here, before any measurement
        if out is not None:
            check_output_file(out, field="out")
        with _progress("calibrate") as cb:
            prof = run(device=device, quick=quick, progress=cb, models=tuple(ids), sustained_s=sustained)
        if out is not None:
            write_atomic(out, lambda tmp: write_profile(prof, tmp), field="out")
        if json_:
            return print_json(prof)
        for line in summary_lines(prof):
            console.print(line)
        if out is not None:
            chip = prof.get("catalog_id") or "<chip>"
            console.print(f"wrote {out}; use it with `infercast estimate --chip {chip} --profile {out}` "
                          f"or `infercast validate --profile {out}`")
        else:
            console.print("not saved: pass --out FILE to write the profile (or --json to print it)")

    @app.command()
    @user_errors
    def measure(model: str = typer.Option(..., "--model", "-m", help="catalog id or alias (dense or MoE; not MLA)"),
                batch: str = typer.Option("1,8,32", "--batch", "-b", help="decode batch sizes, comma-separated"),
                context: str = typer.Option("1024,4096", "--context", "-c",
                                            help="cached tokens per sequence in decode, comma-separated"),
                prefill: str = typer.Option("512,2048", "--prefill", "-p",
                                            help="prompt lengths for prefill steps ('' for none)"),
                prefill_batch: str = typer.Option("1", "--prefill-batch", help="sequences per prefill step"),
                out: Optional[Path] = opt("out", None, help="write rows here (CSV, the columns of measured-dev.csv)"),
                device: str = opt("device", "cuda"),
                dtype: str = typer.Option("bf16", "--dtype", help="weights, activations and KV cache: bf16, fp16, fp32"),
                weights: Optional[str] = typer.Option(None, "--weights",
                                                      help="fp8: the linear layers' weights in fp8 (torch._scaled_mm)"),
                layers: Optional[int] = opt("layers", None, help="build only the first N layers (recorded in notes)",
                                            integer=True),
                scale: Optional[str] = typer.Option(None, "--scale",
                                                    help="shrink widths, e.g. 1/16 (recorded in notes; for CPU tests)"),
                repeats: Optional[int] = opt("repeats", None, integer=True),
                json_: bool = typer.Option(False, "--json", help="print the rows as JSON")):
        """Time decode steps (CUDA graphs) and prefills of a random-weight decoder with a model's shapes.

        Writes rows in the format of the measured CSV, so `infercast validate --data FILE` compares them
        with the model's predictions. Needs PyTorch (pip install 'infercast[gpu]').
        """
        from infercast.gpu.measure import measure as run, write_rows

        for flag_, v in (("--batch", batch), ("--context", context), ("--prefill", prefill),
                         ("--prefill-batch", prefill_batch)):
            if len(v) > 1000 or v.count(",") >= MAX_STEPS:
                raise InfercastError(f"{flag_}: at most {MAX_STEPS} comma-separated values (each is a timed step)")

        if out is not None:
            check_output_file(out, field="out")
        with _progress(f"measure {fmt_truncate(model)}") as cb:
            rows = run(model, batch=batch, context=context, prefill=prefill, prefill_batch=prefill_batch,
                       device=device, dtype=dtype, layers=layers, scale=scale, repeats=repeats, progress=cb,
                       weights=weights)
        if out is not None:
            write_atomic(out, lambda tmp: write_rows(rows, tmp), field="out")
        if json_:
            return print_json(rows)
        t = Table(title=f"{fmt_truncate(model)}: measured steps ({rows[0]['engine']} on {rows[0]['gpu']})" if rows else model)
        for col in ("scenario", "batch", "tokens", "ms", "tok/s"):
            t.add_column(col, justify="left" if col == "scenario" else "right")
        for r in rows:
            b, n, ms = r["concurrency"], r["input_len"], r["value"]
            tok = b if r["scenario"] == "decode-step" else b * n
            t.add_row(r["scenario"], str(b), str(n), f"{ms:.3f}", f"{tok / (ms * 1e-3):,.0f}")
        console.print(t)
        if out is not None:
            console.print(f"wrote {len(rows)} rows to {out}; compare with `infercast validate --data {out}`")
