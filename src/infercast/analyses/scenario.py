"""Forecast scenarios: the default (data/scenario_default.toml) merged with a user's TOML file and
`--set KEY.PATH=VALUE` overrides, and every value the forecast reads checked.

`load_scenario` returns the merged scenario; `check_scenario` refuses unknown sections and settings,
values of the wrong type, numbers out of range (years 2015-2040, at most 20,000 samples) and
distributions that can go negative where a quantity cannot. An error names the key path
(`run.last_year`) and blames `set` when a --set override gave the value, else `scenario` (the file).
"""
from __future__ import annotations

import copy
import difflib
import tomllib
from pathlib import Path
from typing import Any

from infercast.analyses.uncertainty import Dist, parse
from infercast.errors import InfercastError
from infercast.files import read_toml, shown
from infercast.format import truncate
from infercast.specs import precision as P
from infercast.specs.hardware import get_chip
from infercast.vocabulary import MAX_FORECAST_SAMPLES, check_number

TREND_KEYS = ("bf16_tflops", "hbm_tbps", "hbm_gb", "usd_per_pflop_hour")

MAX_FORECAST_MODELS = 10
# samples x years x models drawn in one run (numpy arrays): 20,000 x 7 x 2
MAX_FORECAST_WORK = 280_000
# years x models planned in one run: each is up to 3 precisions x 7 planner calls (10-80 ms each)
MAX_FORECAST_MODEL_YEARS = 40
SCENARIO_KEYS = ("run", "operating_point", "trends", "future_chip", "roadmap", "precision_mix", "algorithmic",
                 "models", "fleet")
# scenarios shipped with infercast, by name (`infercast forecast roadmap`), merged over the default
SHIPPED = {"default": None, "roadmap": "scenario_roadmap.toml"}


# ---------------------------------------------------------------------------
# scenario
# ---------------------------------------------------------------------------

def _default_text() -> str:
    from infercast.specs.store import read_data_text

    return read_data_text("scenario_default.toml")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _check_keys(sc: dict, where: str, field: str = "scenario") -> None:
    bad = [k for k in sc if k not in SCENARIO_KEYS]
    if bad:
        hint = difflib.get_close_matches(str(bad[0]), SCENARIO_KEYS, n=1)
        raise InfercastError(f"{where}: unknown section [{truncate(bad[0], 40)}]"
                             + (f" (did you mean [{hint[0]}]?)" if hint else "")
                             + f"; sections are {', '.join(SCENARIO_KEYS)}", field=field)
    tr = sc.get("trends", {})
    if isinstance(tr, dict):
        for k, v in tr.items():
            if isinstance(v, dict) and k not in TREND_KEYS:
                raise InfercastError(f"{where}: unknown trend [trends.{truncate(k, 40)}]; use {', '.join(TREND_KEYS)}",
                                     field=field)


def _coerce(v: str) -> Any:
    """A --set value: TOML scalar/array if it parses, else the raw string (e.g. a distribution)."""
    try:
        return tomllib.loads(f"x = {v}")["x"]
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return v


def load_scenario(path: str | Path | None = None, overrides: dict[str, Any] | list[str] | None = None) -> dict:
    """The default scenario, merged with the TOML file at `path` and `overrides`
    ({"trends.hbm_tbps.growth": "lognormal:p10=1.1,p90=1.3"} or ["key.path=value", ...]).
    Every value the forecast reads is checked (`check_scenario`)."""
    from infercast.specs.store import read_toml as read_shipped

    sc = copy.deepcopy(read_shipped("scenario_default.toml"))
    sc["_path"] = "data/scenario_default.toml (default)"
    if path is not None and _is_shipped(path):
        if SHIPPED[str(path)]:
            sc = _merge(sc, read_shipped(SHIPPED[str(path)]))
            sc["_path"] = f"data/{SHIPPED[str(path)]} (shipped scenario '{path}', over the default)"
        path = None
    if path is not None:
        p = Path(path)
        try:
            exists = p.is_file()
        except (OSError, ValueError):
            exists = False
        if not exists:
            raise InfercastError(f"scenario file {shown(path)} not found; pass a TOML file "
                                 "(start from `infercast forecast --print-scenario`) or a shipped scenario: "
                                 f"{', '.join(SHIPPED)}", field="scenario",
                                 value=str(path))
        user = read_toml(p, field="scenario", what="scenario file")
        _check_keys(user, shown(path))
        sc = _merge(sc, user)
        sc["_path"] = f"{path} (over the default)"
        sc["_file"] = shown(path)
    set_keys = []
    if overrides:
        items = overrides.items() if isinstance(overrides, dict) else [_split_set(s) for s in overrides]
        for key, val in items:
            parts = key.split(".")
            if parts[0] not in SCENARIO_KEYS or any(not x for x in parts):
                raise InfercastError(f"{truncate(key, 60)}: unknown section '{truncate(parts[0], 40)}'; use one of "
                                     f"{', '.join(SCENARIO_KEYS)}", field="set", value=key)
            d = sc
            for part in parts[:-1]:
                d = d.setdefault(part, {})
                if not isinstance(d, dict):
                    raise InfercastError(f"{truncate(key, 60)}: '{truncate(part, 40)}' is a value, not a table",
                                         field="set", value=key)
            d[parts[-1]] = _coerce(val) if isinstance(val, str) else val
            set_keys.append(key)
        _check_keys({k: v for k, v in sc.items() if not k.startswith("_")}, "set", field="set")
    sc["_set"] = set_keys
    check_scenario(sc)
    return sc


def _is_shipped(path) -> bool:
    """A shipped scenario's name, when no file of that name exists."""
    if not isinstance(path, str) or path not in SHIPPED:
        return False
    try:
        return not Path(path).is_file()
    except (OSError, ValueError):
        return True


def _split_set(s: str) -> tuple[str, str]:
    if "=" not in s:
        raise InfercastError(f"'{truncate(s, 60)}': write KEY.PATH=VALUE, e.g. fleet.growth=lognormal:p10=1.5,p90=2.5",
                             field="set", value=s)
    k, v = s.split("=", 1)
    return k.strip(), v.strip()


# ---------------------------------------------------------------------------
# scenario validation: every value the forecast reads, with its place in the file
# ---------------------------------------------------------------------------

class _Checker:
    """Checks values of a merged scenario; errors name the key path and blame --set or the file."""

    def __init__(self, sc: dict):
        self.sc = sc
        self.set_keys = list(sc.get("_set", []))
        self.file = sc.get("_file")

    def field(self, path: str) -> str:
        return "set" if any(path == k or path.startswith(k + ".") or k.startswith(path + ".")
                            for k in self.set_keys) else "scenario"

    def label(self, path: str) -> str:
        return f"{self.file}: {path}" if self.field(path) == "scenario" and self.file else path

    def fail(self, path: str, what: str) -> InfercastError:
        return InfercastError(f"{self.label(path)} {what}", field=self.field(path))

    def table(self, path: str, v: Any, allowed: tuple[str, ...] | None) -> dict:
        if not isinstance(v, dict):
            raise self.fail(path, f"must be a table, got {_got(v)}")
        if allowed is not None:
            bad = [k for k in v if k not in allowed]
            if bad:
                hint = difflib.get_close_matches(str(bad[0]), allowed, n=1)
                raise self.fail(f"{path}.{truncate(bad[0], 40)}", "is not a setting"
                                + (f" (did you mean {path}.{hint[0]}?)" if hint else "")
                                + f"; [{path}] takes {', '.join(allowed)}")
        return v

    def number(self, path: str, v: Any, term: str, *, integer: bool = False, **lim) -> float:
        if isinstance(v, str):
            raise self.fail(path, f"must be a number, got the text {_got(v)}")
        return check_number(term, v, integer=integer, allow_none=False, field=self.field(path),
                            label=self.label(path), **lim)

    def text(self, path: str, v: Any) -> str:
        if not isinstance(v, str) or len(v) > 10_000:
            raise self.fail(path, f"must be text (at most 10,000 characters), got {_got(v)}")
        return v

    def flag(self, path: str, v: Any) -> bool:
        if not isinstance(v, bool):
            raise self.fail(path, f"must be true or false, got {_got(v)}")
        return v

    def dist(self, path: str, v: Any, positive: bool = True) -> Dist:
        try:
            d = parse(v, self.label(path))
        except InfercastError as e:
            raise InfercastError(e.message, field=self.field(path)) from None
        lo = d.quantile(0.0) if d.kind in ("uniform", "triangle", "fixed") else None
        if positive and lo is not None and lo <= 0:
            raise self.fail(path, f"must be positive everywhere, but its lowest value is {lo:g}")
        return d

    def chips(self, path: str, v: Any, at_least: int = 0) -> list[str]:
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v) or len(v) > 200:
            raise self.fail(path, f"must be a list of chip ids (at most 200), got {_got(v)}")
        if len(v) < at_least:
            raise self.fail(path, f"needs at least {at_least} chips, got {len(v)}")
        for x in v:
            try:
                get_chip(x)
            except InfercastError as e:
                raise self.fail(path, f"has an {e.message}") from None
        return v


def _got(v: Any) -> str:
    try:
        return truncate(repr(v), 40)
    except ValueError:  # an integer too long to print
        return "a number too long to print"


def check_scenario(sc: dict) -> None:
    """Every value `run_forecast` reads: types, ranges, known ids; unknown settings are refused."""
    from infercast.engine.efficiency import get_engine
    from infercast.specs.store import read_json

    c = _Checker(sc)
    for sec in SCENARIO_KEYS:
        if sec not in sc:
            raise c.fail(sec, "is missing")
        c.table(sec, sc[sec], None)
    run = c.table("run", sc["run"], ("first_year", "last_year", "models", "samples", "seed", "interpolation", "source"))
    if run.get("interpolation", "star") not in ("star", "grid"):
        raise c.fail("run.interpolation", f"must be \"star\" (7 planned chips per year and precision) or \"grid\" (27), "
                     f"got {_got(run.get('interpolation'))}")
    y1 = c.number("run.first_year", run.get("first_year", 2024), "year", integer=True)
    y2 = c.number("run.last_year", run.get("last_year", 2030), "year", integer=True)
    if y2 < y1:
        raise c.fail("run.last_year", f"({y2}) is before run.first_year ({y1})")
    ms = run.get("models", ["llama-3.1-70b", "gpt-4"])
    if not isinstance(ms, list) or not ms or len(ms) > MAX_FORECAST_MODELS or not all(isinstance(m, str) for m in ms):
        raise c.fail("run.models", f"must be a list of 1 to {MAX_FORECAST_MODELS} model ids, got {_got(ms)}")
    c.number("run.samples", run.get("samples", 2000), "samples", integer=True, lo=2, hi=MAX_FORECAST_SAMPLES)
    c.number("run.seed", run.get("seed", 0), "seed", integer=True)

    op = c.table("operating_point", sc["operating_point"], ("input_len", "output_len", "tpot_max_s", "engine",
                                                             "kv_cache", "max_gpus_per_replica", "disaggregated",
                                                             "source"))
    c.flag("operating_point.disaggregated", op.get("disaggregated", False))
    for k, term, whole in (("input_len", "input_len", True), ("output_len", "output_len", True),
                           ("tpot_max_s", "max_tpot", False)):
        if k not in op:
            raise c.fail(f"operating_point.{k}", "is missing")
        c.number(f"operating_point.{k}", op[k], term, integer=whole)
    c.number("operating_point.max_gpus_per_replica", op.get("max_gpus_per_replica", 128), "max_gpus", integer=True,
             lo=1, hi=4096)
    if op.get("engine") is not None:
        try:
            get_engine(c.text("operating_point.engine", op["engine"]))
        except InfercastError as e:
            raise c.fail("operating_point.engine", f"is not known: {e.message}") from None
    kvr = op.get("kv_cache", "match")
    if c.text("operating_point.kv_cache", kvr) != "match":
        try:
            P.check(kvr, "kv_cache")
        except InfercastError:
            raise c.fail("operating_point.kv_cache", f"must be \"match\" or a precision "
                         f"({', '.join(P.PRECISIONS)}), got {_got(kvr)}") from None

    tr = c.table("trends", sc["trends"], ("flagships", "flagships_note", "residual_scatter", "catalog_cutoff_year",
                                          "source") + TREND_KEYS)
    c.chips("trends.flagships", tr.get("flagships"), at_least=3)
    if tr.get("catalog_cutoff_year") is not None:
        cut = c.number("trends.catalog_cutoff_year", tr["catalog_cutoff_year"], "year", integer=True)
        from infercast.specs.hardware import get_chip as _gc

        if len([x for x in tr["flagships"] if _gc(x).year <= cut]) < 3:
            raise c.fail("trends.catalog_cutoff_year", f"({cut}) leaves fewer than 3 flagships to fit a trend")
    c.flag("trends.residual_scatter", tr.get("residual_scatter", True))
    for q in TREND_KEYS:
        t = c.table(f"trends.{q}", tr.get(q, {}), ("growth", "anchor", "anchor_year", "fit_chips", "source"))
        if "growth" in t:
            c.dist(f"trends.{q}.growth", t["growth"])
        if "anchor" in t:
            c.dist(f"trends.{q}.anchor", t["anchor"])
        if "anchor_year" in t:
            c.number(f"trends.{q}.anchor_year", t["anchor_year"], "year")
        if "fit_chips" in t:
            c.chips(f"trends.{q}.fit_chips", t["fit_chips"], at_least=3)

    fc = c.table("future_chip", sc["future_chip"], ("family", "links_from", "fp8_per_bf16", "fp4_per_bf16", "source"))
    fams = read_json("efficiency.json")["families"]
    fam = c.text("future_chip.family", fc.get("family", "blackwell"))
    if fam not in fams:
        raise c.fail("future_chip.family", f"'{truncate(fam, 40)}' is not an efficiency family; use one of "
                     f"{', '.join(k for k in fams if k != 'default')}")
    c.chips("future_chip.links_from", [fc.get("links_from", "b200")])
    for k in ("fp8_per_bf16", "fp4_per_bf16"):
        c.number(f"future_chip.{k}", fc.get(k, 2.0), "", lo=0.01, hi=100)

    mix = c.table("precision_mix", sc["precision_mix"], None)
    years = [k for k in mix if k != "source"]
    if not years:
        raise c.fail("precision_mix", "needs at least one year, e.g. 2027 = { fp8 = 0.5, fp4 = 0.5 }")
    for k in years:
        if not str(k).isdigit() or not 2015 <= int(k) <= 2040:
            raise c.fail(f"precision_mix.{truncate(k, 20)}", "is not a setting; [precision_mix] takes source and "
                         "years 2015 to 2040, each a table of precision = share")
        shares = c.table(f"precision_mix.{k}", mix[k], None)
        for prec, v in shares.items():
            try:
                P.check(prec, "precision_mix")
            except InfercastError:
                raise c.fail(f"precision_mix.{k}.{truncate(prec, 20)}", f"is not a precision; use "
                             f"{', '.join(P.PRECISIONS)}") from None
            c.number(f"precision_mix.{k}.{prec}", v, "", lo=0, hi=1e6)
        if not sum(float(v) for v in shares.values()) > 0:
            raise c.fail(f"precision_mix.{k}", "needs a share above 0")

    alg = c.table("algorithmic", sc["algorithmic"], ("base_year", "per_year", "factor_by_2030", "source"))
    c.number("algorithmic.base_year", alg.get("base_year", 2025), "year", lo=2015, hi=2039)
    if ("per_year" in alg) == ("factor_by_2030" in alg):
        raise c.fail("algorithmic.per_year", "or algorithmic.factor_by_2030: give exactly one (an annual factor, "
                     "or the factor reached in 2030)")
    for k in ("per_year", "factor_by_2030"):
        if k in alg:
            c.dist(f"algorithmic.{k}", alg[k])
            if k == "factor_by_2030" and alg.get("base_year", 2025) >= 2030:
                raise c.fail("algorithmic.base_year", "must be before 2030 with factor_by_2030")

    rm = c.table("roadmap", sc["roadmap"], ("enabled", "line", "values", "links_from", "family", "source"))
    if c.flag("roadmap.enabled", rm.get("enabled", False)) or "line" in rm:
        from infercast.analyses import roadmap as R

        ln = rm.get("line", [])
        if not isinstance(ln, list) or not ln or len(ln) > 50 or not all(isinstance(x, str) for x in ln):
            raise c.fail("roadmap.line", f"must be a list of 1 to 50 chips (catalog ids or roadmap names), got {_got(ln)}")
        if rm.get("values", "central") not in R.VALUES:
            raise c.fail("roadmap.values", f"must be one of {', '.join(R.VALUES)}, got {_got(rm.get('values'))}")
        c.chips("roadmap.links_from", [rm.get("links_from", "b300")])
        if "family" in rm and c.text("roadmap.family", rm["family"]) not in fams:
            raise c.fail("roadmap.family", f"'{truncate(rm['family'], 40)}' is not an efficiency family; use one of "
                         f"{', '.join(k for k in fams if k != 'default')}")
        try:
            R.line(rm)
        except InfercastError as e:
            raise c.fail("roadmap.line", f"is not usable: {e.message}") from None

    mc = c.table("models", sc["models"], None)
    for mid, cfg in mc.items():
        t = c.table(f"models.{truncate(mid, 40)}", cfg, ("size_factor", "source"))
        if "size_factor" in t:
            c.dist(f"models.{mid}.size_factor", t["size_factor"])

    fl = c.table("fleet", sc["fleet"], ("base_year", "h100e", "growth", "inference_share", "utilisation", "source"))
    c.number("fleet.base_year", fl.get("base_year", 2024), "year")
    for k in ("h100e", "growth", "inference_share", "utilisation"):
        if k not in fl:
            raise c.fail(f"fleet.{k}", "is missing")
        d = c.dist(f"fleet.{k}", fl[k])
        if k in ("inference_share", "utilisation") and d.kind in ("uniform", "triangle", "fixed") and d.quantile(1.0) > 1:
            raise c.fail(f"fleet.{k}", f"is a fraction and must stay at or below 1, but reaches {d.quantile(1.0):g}")
    for sec in ("run", "operating_point", "future_chip", "roadmap", "algorithmic", "fleet"):
        if "source" in sc[sec]:
            c.text(f"{sec}.source", sc[sec]["source"])
    for k in ("flagships_note", "source"):
        if k in tr:
            c.text(f"trends.{k}", tr[k])


# ---------------------------------------------------------------------------
