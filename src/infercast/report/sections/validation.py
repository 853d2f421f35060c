"""Section 5: predicted vs measured: the figure and the error by source family.

Sources: `analyses.validate.validate` on the packaged measured set (via `Inputs.validation`), each family's
first row's source; falls back to the packaged `data/validation_summary.json` when validation cannot run.
"""
from __future__ import annotations

from pathlib import Path

from infercast import format as F
from infercast.report.inputs import Inputs
from infercast.report.sections import View
from infercast.report.view import Figure, text, val
from infercast.specs.store import read_json


def family_sources(path) -> dict[str, str]:
    from infercast.analyses.validate import family_of, read_rows

    out: dict[str, str] = {}
    for r in read_rows(path):
        out.setdefault(family_of(r["id"]), f"{r.get('source', '')} ({r.get('date', '')})")
    return out


def _live(inp: Inputs) -> tuple[dict, Figure | None, str | None, dict, str]:
    """(summary, figure, why there is no figure, family -> source, where the numbers come from)."""
    summary, results, path = inp.validation
    fig, why = None, None
    try:
        from infercast.report.plots_validation import validation_plot

        fpath = Path(validation_plot(results, summary, inp.out / "validation.png"))
        fig = Figure("validation", fpath, "predicted vs measured",
                     "Each dot is one published or own measurement; the diagonal is perfect agreement, dashed lines "
                     "±25 %.")
    except Exception as e:  # noqa: BLE001 - the table still shows
        why = f"{type(e).__name__}: {e}"
    return summary, fig, why, family_sources(path), f"run now on the measured data ({Path(path).name})"


def build(inp: Inputs) -> View:
    if isinstance(inp.validation, tuple):
        summary, fig, why, fams, origin = _live(inp)
        fallback = None
    else:
        summary, fig, why, fams = read_json("validation_summary.json"), None, None, {}
        origin = "from the packaged data/validation_summary.json"
        fallback = str(inp.validation)
    rows = [{"family": text(f, refs=[f"validation rows {f}: {fams[f]}"] if f in fams else []),
             "compared": val(v["compared"]), "not_comparable": val(v["not_comparable"]),
             "median": val(v["median_abs_error"], F.pct), "p90": val(v["p90_abs_error"], F.pct),
             "signed": val(v["median_signed_error"], lambda x: F.pct(x, signed=True))}
            for f, v in summary["by_family"].items()]
    total = {"compared": val(summary["compared"], strong=True), "not_comparable": val(summary["not_comparable"]),
             "median": val(summary["median_abs_error"], F.pct, strong=True), "p90": val(summary["p90_abs_error"], F.pct),
             "signed": val(summary["median_signed_error"], lambda x: F.pct(x, signed=True))}
    context = {"origin": origin, "median": F.pct(summary["median_abs_error"]), "p90": F.pct(summary["p90_abs_error"]),
               "compared": F.num(summary["compared"]), "not_comparable": F.num(summary["not_comparable"]),
               "figure": fig, "plot_error": why, "fallback": fallback, "rows": rows, "total": total}
    return View(context=context, numbers={"validation": summary})


__all__ = ["build", "family_sources"]
