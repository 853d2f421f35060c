"""`infercast` command line: thin layer over the library (every command has --json)."""
from __future__ import annotations

import importlib
from typing import Optional

import typer
from rich.table import Table

from infercast.analyses import essay as B
from infercast.cli.kit import InfercastGroup, chip_file_option, chips_given, console, opt, print_json, si, user_errors
from infercast.specs import precision as P
from infercast.specs.hardware import all_chips, get_chip
from infercast.specs.model import all_models, get_model

app = typer.Typer(cls=InfercastGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="How much LLM inference can some accelerators do: tokens/s, latency, cost.")

ESSAY_CHIPS = ["a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "b300", "mi300x", "mi355x"]


@app.command()
@user_errors
def chips(chip_file: Optional[list[str]] = chip_file_option(),
          json_: bool = typer.Option(False, "--json", help="machine-readable output")):
    """List the accelerator catalog (dense peak rates, memory, links, dated price), and any chip files given."""
    cs = all_chips() + list(chip_file or [])
    if json_:
        return print_json([c.model_dump() for c in cs])
    t = Table(title=f"{len(cs)} accelerators (dense peaks; sources: `infercast chips --json`)")
    for col in ("id", "year", "bf16 TF", "fp8 TF", "fp4 TF", "HBM GB", "TB/s", "scale-up GB/s", "$/h (date)"):
        if col == "id":  # ids are what the user types: never truncated
            t.add_column(col, no_wrap=True, min_width=max(len(c.id) for c in cs))
        else:
            t.add_column(col, justify="right")
    for c in cs:
        p = f"{c.price.usd_per_hour:.2f} ({c.price.date})" if c.price else "-"
        t.add_row(c.id, str(c.year), f"{c.tflops.get('bf16', c.tflops.get('fp16', 0)):.0f}",
                  f"{c.tflops['fp8']:.0f}" if "fp8" in c.tflops else "-",
                  f"{c.tflops['fp4']:.0f}" if "fp4" in c.tflops else "-",
                  f"{c.memory_gb:.0f}", f"{c.memory_bw_tbps:.2f}", f"{c.scaleup_gbps:.0f} x{c.scaleup_domain}", p)
    console.print(t)


@app.command()
@user_errors
def models(json_: bool = typer.Option(False, "--json", help="machine-readable output")):
    """List the model catalog with derived parameter counts and KV-cache size."""
    ms = all_models()
    if json_:
        return print_json([dict(m.model_dump(), total_params=m.total_params, active_params=m.active_params,
                                kv_bytes_per_token_bf16=m.kv_bytes_per_token("bf16"),
                                state_bytes_per_seq=m.state_bytes_per_seq) for m in ms])
    t = Table(title=f"{len(ms)} models (derived from architecture fields)")
    for col in ("id", "total B", "active B", "layers", "attention", "KV kB/token (bf16)", "experts"):
        if col == "id":  # ids are what the user types: never truncated
            t.add_column(col, no_wrap=True, min_width=max(len(m.id) + (11 if m.rumoured else 0) for m in ms))
        else:
            t.add_column(col, justify="right")
    for m in ms:
        ex = f"{m.moe.active}/{m.moe.experts}" if m.moe else "-"
        t.add_row(m.id + (" (rumoured)" if m.rumoured else ""), f"{m.total_params / 1e9:.1f}",
                  f"{m.active_params / 1e9:.1f}", str(m.layers), m.attention_kind,
                  f"{m.kv_bytes_per_token('bf16') / 1e3:.0f}", ex)
    console.print(t)
    hybrid = [m for m in ms if m.state_bytes_per_seq]
    if hybrid:  # a fixed state per sequence besides the KV cache of the full-attention layers
        console.print("state per sequence (Gated DeltaNet layers), whatever its length: "
                      + ", ".join(f"{m.id} {m.state_bytes_per_seq / 1e6:.0f} MB" for m in hybrid))


@app.command()
@user_errors
def bounds(model: str = opt("model", "gpt-4"),
           chip: Optional[list[str]] = opt("chip", None, help="accelerator id (repeatable; default: the chip files' "
                                           "ids, else the essay's chips)"),
           chip_file: Optional[list[str]] = chip_file_option(),
           weights: Optional[list[str]] = opt("weights", None, help="weight precision(s) (repeatable; default: fp16 "
                                              "and fp8, or fp16 for one chip)"),
           json_: bool = typer.Option(False, "--json", help="machine-readable output")):
    """The essay's three estimates: FLOP upper bound, bandwidth lower bound, market-price figure."""
    m = get_model(model)
    chip = chips_given(chip, chip_file, default=ESSAY_CHIPS)
    chips_ = [get_chip(c).id for c in chip]
    precs = [P.check(w, "weights") for w in weights] if weights else (
        ["fp16"] if len(chip) == 1 else ["fp16", "fp8"])
    rows = [B.bounds(m, c, p) for c in chips_ for p in precs]
    if json_:
        return print_json(rows[0].as_dict() if len(rows) == 1 else [r.as_dict() for r in rows])
    t = Table(title=f"{m.id}: forward passes per chip per second (essay's three estimates)")
    for col in ("chip", "precision", "upper (FLOP)", "lower (bandwidth, batch 1)", "market price", "upper/lower"):
        t.add_column(col, justify="right" if col != "chip" else "left")
    for r in rows:
        t.add_row(r.chip, r.precision + ("" if r.compute_precision == r.precision else f" (computes {r.compute_precision})"),
                  f"{r.upper_forward_passes_per_s:,.0f}", f"{r.lower_forward_passes_per_s:,.1f}",
                  f"{r.market_forward_passes_per_s:,.0f}" if r.market_forward_passes_per_s else "-",
                  f"{r.upper_forward_passes_per_s / r.lower_forward_passes_per_s:,.0f}x")
    console.print(t)
    console.print(f"FLOP per forward pass = 2 x {m.active_params / 1e9:.0f} B active parameters = "
                  f"{si(B.flop_per_forward(m), 'FLOP')}. Market figures: `--json` gives their sources.")


# Commands that live in their own modules register themselves here.
for _mod in ("estimate", "size", "validate", "frontier", "forecast", "world", "gpu", "report", "web"):
    importlib.import_module(f"infercast.cli.{_mod}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
