"""Predicted vs measured: every row of the measured CSVs, summarised honestly.

`validate()` predicts every row (`analyses.predict.predict_row`) of the visible measured set
(data/measured/measured-dev.csv and measured-techniques.csv; provenance in data/measured/README.md),
or of the files given, and reports:

* the error by source family and overall (median and p90 of |predicted / measured - 1|, median signed);
* the out-of-sample figure: each family predicted with every choice that was made after looking at
  that family's rows switched off (`predict.ROW_INFORMED`; no constant is fitted to rows), pooled;
* the error by band: chip generation, dense vs MoE, weight precision, interactivity (tokens/s per
  user < 20, 20-60, > 60 at the predicted operating point), scenario;
* the aiconfigurator-core silicon rows (family AIC) on their own: they come from the machines that
  measured the kernel tables, so they are not evidence the way the other families are.

A row the model cannot represent is 'not comparable: <reason>', never dropped.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from infercast.analyses.measured import (PACKAGED, SEPARATE_FAMILIES, VISIBLE, family_of, packaged_path, read_rows,
                                         source_facts)
from infercast.analyses.predict import ROW_INFORMED, Context, RowResult, predict_row
from infercast.errors import InfercastError

__all__ = ["validate", "summarise", "default_data_path", "read_rows", "predict_row", "family_of", "RowResult",
           "bands_of", "default_paths"]


def default_data_path() -> Path:
    """The main measured set shipped with the package (data/measured/measured-dev.csv)."""
    return packaged_path("measured-dev.csv")


def default_paths(include_aic: bool = False) -> list[Path]:
    return [packaged_path(n) for n in (PACKAGED if include_aic else VISIBLE)]


def _stats(rs: list[RowResult]) -> dict:
    e = np.array([r.error for r in rs], dtype=float)
    if not len(e):
        return {"compared": 0, "median_abs_error": None, "p90_abs_error": None, "median_signed_error": None}
    return {"compared": len(rs), "median_abs_error": float(np.median(np.abs(e))),
            "p90_abs_error": float(np.percentile(np.abs(e), 90)), "median_signed_error": float(np.median(e))}


def bands_of(r: RowResult) -> dict[str, str]:
    """The bands a compared row falls in."""
    from infercast.specs.hardware import get_chip
    from infercast.specs.model import get_model

    out = {"scenario": r.scenario or "?"}
    try:
        out["chip generation"] = get_chip(r.gpu).family
    except Exception:  # noqa: BLE001 - a row naming no catalog chip is not compared anyway
        out["chip generation"] = "?"
    try:
        out["model"] = "MoE" if get_model(r.model).moe else "dense"
    except Exception:  # noqa: BLE001
        out["model"] = "?"
    out["precision"] = r.weights or "?"
    t = r.tokens_per_s_per_user
    out["interactivity"] = ("?" if t is None else "< 20 tok/s/user" if t < 20 else "20-60 tok/s/user" if t <= 60
                            else "> 60 tok/s/user")
    return out


PCT = re.compile(r"_p\d+$")  # ttft_ms_p99, tpot_ms_p50, ...


def beats_bound(r: RowResult) -> bool:
    """A row measured faster than its speed-of-light prediction (datasheet peaks, no overheads, the engine's scheduling
    as modelled): unexplained by the model's physics, so something the row does not state did work for it (a prompt
    cache, speculation, a lighter precision), its engine schedules otherwise than modelled, or it was misread.
    Throughputs (`..._per_s...`) beat the bound from above, times from below. Only where the row fixes the load (a
    batch, a concurrency, an offline queue) and reports a mean: an MLPerf server run's latencies are read at the
    model's own highest rate, and a percentile rests on the simulation's draws."""
    if r.status != "compared" or r.predicted is None or r.scenario.startswith("server") or PCT.search(r.metric):
        return False
    return r.measured > r.predicted * (1 + 1e-9) if "per_s" in r.metric else r.measured < r.predicted * (1 - 1e-9)


def summarise(results: list[RowResult], out_of_sample: list[RowResult] | None = None,
              speed_of_light: bool = False) -> dict:
    main = [r for r in results if r.family not in SEPARATE_FAMILIES]
    comp = [r for r in main if r.status == "compared"]
    by_family = {}
    for f in sorted({r.family for r in results}):
        s = _stats([r for r in results if r.family == f and r.status == "compared"])
        s["not_comparable"] = sum(1 for r in results if r.family == f and r.status != "compared")
        by_family[f] = s
    bands: dict[str, dict[str, dict]] = {}
    for r in comp:
        for kind, value in bands_of(r).items():
            bands.setdefault(kind, {}).setdefault(value, []).append(r)
    bands = {k: {v: _stats(rs) for v, rs in sorted(d.items())} for k, d in bands.items()}
    overall = _stats(comp)
    summary = {"compared": overall["compared"], "not_comparable": len(main) - len(comp),
               "median_abs_error": overall["median_abs_error"], "p90_abs_error": overall["p90_abs_error"],
               "median_signed_error": overall["median_signed_error"], "by_family": by_family, "by_band": bands}
    if speed_of_light:  # the predictions are the physics bound: a row faster than it is unexplained
        fast = [r for r in results if beats_bound(r)]
        summary["beats_bound"] = {"rows": len(fast), "ids": [r.id for r in fast],
                                  "by_family": {f: sum(1 for r in fast if r.family == f)
                                                for f in sorted({r.family for r in fast})}}
    if out_of_sample is not None:
        oos = [r for r in out_of_sample if r.family not in SEPARATE_FAMILIES and r.status == "compared"]
        s = _stats(oos)
        summary["out_of_sample"] = {
            "median_abs_error": s["median_abs_error"], "p90_abs_error": s["p90_abs_error"],
            "median_signed_error": s["median_signed_error"], "compared": s["compared"],
            "method": "each source family predicted with every choice made after looking at that family's rows "
                      "switched off (leave-one-family-out); no constant is fitted to rows",
            "choices": {k: list(v) for k, v in ROW_INFORMED.items()},
            "by_family": {f: _stats([r for r in oos if r.family == f]) for f in sorted({r.family for r in oos})}}
    sep = [r for r in results if r.family in SEPARATE_FAMILIES]
    if sep:
        s = _stats([r for r in sep if r.status == "compared"])
        s["not_comparable"] = sum(1 for r in sep if r.status != "compared")
        summary["separate"] = {f: s for f in SEPARATE_FAMILIES if any(r.family == f for r in sep)}
    return summary


def _ablations_for(family: str) -> frozenset:
    return frozenset(k for k, fams in ROW_INFORMED.items() if family in fams)


def validate(path: str | Path | list | None = None, profile=None, speed_of_light: bool = False,
             include_aic: bool = False, out_of_sample: bool = True) -> tuple[dict, list[RowResult]]:
    """Predict every row of the measured CSV(s) at `path` (default: the visible packaged set; with
    `include_aic` also the aiconfigurator silicon rows, summarised apart) and summarise the error."""
    paths = default_paths(include_aic) if path is None else (list(path) if isinstance(path, (list, tuple)) else [path])
    rows = [r for p in paths for r in read_rows(p)]
    if profile is not None:
        from infercast.specs.profile import load as load_profile

        many = profile if isinstance(profile, (list, tuple)) else [profile]
        profile = [p if isinstance(p, dict) else load_profile(p) for p in many]
        cards = [p.get("catalog_id") for p in profile]
        if len(set(cards)) != len(cards):
            raise InfercastError(f"--profile: two profiles for the same card ({', '.join(str(c) for c in cards)}); "
                                 "give one profile per chip", field="profile")
        profile = profile[0] if len(profile) == 1 else tuple(profile)
    ctx = Context(profile=profile, facts=source_facts(rows), speed_of_light=speed_of_light)
    results = [predict_row(r, ctx) for r in rows]
    oos = None
    if out_of_sample and not speed_of_light:
        oos = []
        contexts: dict[frozenset, Context] = {}
        for r, res in zip(rows, results):
            abl = _ablations_for(res.family)
            if not abl:
                oos.append(res)
                continue
            c = contexts.setdefault(abl, Context(profile=profile, facts=ctx.facts, ablate=abl))
            oos.append(predict_row(r, c))
    return summarise(results, oos, speed_of_light), results
