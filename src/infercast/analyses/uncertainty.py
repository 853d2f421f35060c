"""Uncertain inputs as distributions, seeded vectorised Monte Carlo, and P10/P50/P90 summaries.

A distribution is written as a string (CLI, scenario files) or a TOML table:

    "3.5"                         fixed value
    "fixed:3.5"                   the same
    "lognormal:p10=2,p90=5"       lognormal by its 10th and 90th percentiles (also "lognormal:2,5",
                                  or median= with p10= or p90=)
    "normal:p10=1.2,p90=1.4"      normal by percentiles (or mean=, sd=)
    "triangle:1,2,4"              triangular: min, mode, max (or min=, mode=, max=)
    "uniform:1,3"                 uniform between min and max (or min=, max=)
    {dist = "lognormal", p10 = 2, p90 = 5}     the TOML form (key "dist" or "kind")

Every sample is drawn from a stream named after the input (`rng_for(seed, name)`), so one seed
reproduces a run exactly and adding an input does not change the draws of the others.

`estimate_with_uncertainty` propagates the spread of the efficiency fractions and the model's own
validation error through `serving.continuous` (vectorised over samples) for one configuration.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

import numpy as np

from infercast.errors import InfercastError

Z90 = 1.2815515655446004  # standard-normal 90th percentile
PCTS = (10.0, 50.0, 90.0)
KINDS = ("fixed", "lognormal", "normal", "triangle", "uniform")
_HELP = ('write e.g. "3.5", "lognormal:p10=2,p90=5", "normal:mean=1,sd=0.1", "triangle:1,2,4" '
         '(min, mode, max) or "uniform:1,3" (min, max)')


@dataclass(frozen=True)
class Dist:
    """One uncertain input. `params` hold the canonical parameters of `kind`:
    fixed: (value,), lognormal: (mu, sigma) of log x, normal: (mean, sd),
    triangle: (min, mode, max), uniform: (min, max)."""

    kind: str
    params: tuple[float, ...]
    spec: str = ""

    # -- construction -------------------------------------------------------
    @staticmethod
    def fixed(value: float) -> "Dist":
        return Dist("fixed", (float(value),), f"{float(value):g}")

    @staticmethod
    def lognormal(p10: float, p90: float) -> "Dist":
        if p10 <= 0 or p90 <= 0:
            raise InfercastError(f"lognormal: p10 and p90 must be positive, got p10={p10:g}, p90={p90:g}")
        if p10 > p90:
            raise InfercastError(f"lognormal: p10 ({p10:g}) must not exceed p90 ({p90:g})")
        if p10 == p90:
            return Dist.fixed(p10)
        mu = 0.5 * (math.log(p10) + math.log(p90))
        return Dist("lognormal", (mu, (math.log(p90) - math.log(p10)) / (2 * Z90)),
                    f"lognormal:p10={p10:g},p90={p90:g}")

    @staticmethod
    def normal(mean: float, sd: float) -> "Dist":
        if sd < 0:
            raise InfercastError(f"normal: sd must not be negative, got {sd:g}")
        if sd == 0:
            return Dist.fixed(mean)
        return Dist("normal", (float(mean), float(sd)), f"normal:mean={mean:g},sd={sd:g}")

    @staticmethod
    def triangle(lo: float, mode: float, hi: float) -> "Dist":
        if not lo <= mode <= hi:
            raise InfercastError(f"triangle: need min <= mode <= max, got {lo:g}, {mode:g}, {hi:g}")
        if lo == hi:
            return Dist.fixed(lo)
        return Dist("triangle", (float(lo), float(mode), float(hi)), f"triangle:{lo:g},{mode:g},{hi:g}")

    @staticmethod
    def uniform(lo: float, hi: float) -> "Dist":
        if lo > hi:
            raise InfercastError(f"uniform: min ({lo:g}) must not exceed max ({hi:g})")
        if lo == hi:
            return Dist.fixed(lo)
        return Dist("uniform", (float(lo), float(hi)), f"uniform:{lo:g},{hi:g}")

    # -- use ---------------------------------------------------------------
    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` draws (float array of shape (n,)); a fixed value is repeated."""
        k, p = self.kind, self.params
        if k == "fixed":
            return np.full(n, p[0])
        if k == "lognormal":
            return np.exp(p[0] + p[1] * rng.standard_normal(n))
        if k == "normal":
            return p[0] + p[1] * rng.standard_normal(n)
        if k == "uniform":
            return rng.uniform(p[0], p[1], n)
        return rng.triangular(p[0], p[1], p[2], n)

    def quantile(self, q: float) -> float:
        """Exact quantile (q in 0..1)."""
        from statistics import NormalDist

        k, p = self.kind, self.params
        if k == "fixed":
            return p[0]
        if k in ("lognormal", "normal"):
            z = NormalDist().inv_cdf(q)
            return math.exp(p[0] + p[1] * z) if k == "lognormal" else p[0] + p[1] * z
        if k == "uniform":
            return p[0] + q * (p[1] - p[0])
        lo, mode, hi = p
        f = (mode - lo) / (hi - lo)
        if q < f:
            return lo + math.sqrt(q * (hi - lo) * (mode - lo))
        return hi - math.sqrt((1 - q) * (hi - lo) * (hi - mode))

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    def describe(self) -> dict:
        return {"spec": self.spec or self.kind, "p10": self.quantile(0.1), "p50": self.median,
                "p90": self.quantile(0.9)}

    def __str__(self) -> str:
        return self.spec or self.kind


MAX_ABS = 1e30  # a distribution's parameters: beyond this, samples and their products overflow


def _shown(v: Any) -> str:
    from infercast.format import truncate

    try:
        return truncate(repr(v), 60)
    except ValueError:  # an integer too long to print
        return "a number too long to print"


def _num(name: str, v: Any, where: str) -> float:
    if isinstance(v, bool):
        raise InfercastError(f"{where}: '{name}' must be a number, got {v!r}; {_HELP}")
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise InfercastError(f"{where}: '{name}' must be a number, got {_shown(v)}; {_HELP}") from None
    if not math.isfinite(x) or abs(x) > MAX_ABS:
        raise InfercastError(f"{where}: '{name}' must be a finite number of at most {MAX_ABS:g} in size, "
                             f"got {_shown(v)}")
    return x


def _from_params(kind: str, pos: list[float], kw: dict[str, float], where: str) -> Dist:
    def need(names: tuple[str, ...]) -> list[float]:
        if pos and not kw and len(pos) == len(names):
            return pos
        if pos:
            raise InfercastError(f"{where}: {kind} takes {len(names)} values ({', '.join(names)}), "
                                 f"got {len(pos)} positional; {_HELP}")
        missing = [n for n in names if n not in kw]
        extra = [k for k in kw if k not in names]
        if missing or extra:
            raise InfercastError(f"{where}: {kind} needs {', '.join(names)}"
                                 + (f"; unknown: {', '.join(extra)}" if extra else "")
                                 + (f"; missing: {', '.join(missing)}" if missing else "") + f". {_HELP}")
        return [kw[n] for n in names]

    if kind == "fixed":
        return Dist.fixed(need(("value",))[0])
    if kind == "lognormal":
        if kw and "median" in kw and len(kw) == 2:
            med = kw["median"]
            if med <= 0:
                raise InfercastError(f"{where}: lognormal median must be positive")
            if "p90" in kw:
                return Dist.lognormal(med * med / kw["p90"], kw["p90"])
            if "p10" in kw:
                return Dist.lognormal(kw["p10"], med * med / kw["p10"])
        if kw and "p50" in kw:
            return _from_params(kind, pos, {("median" if k == "p50" else k): v for k, v in kw.items()}, where)
        p10, p90 = need(("p10", "p90"))
        return Dist.lognormal(p10, p90)
    if kind == "normal":
        if kw and ("p10" in kw or "p90" in kw):
            p10, p90 = need(("p10", "p90"))
            if p10 > p90:
                raise InfercastError(f"{where}: normal p10 ({p10:g}) must not exceed p90 ({p90:g})")
            return Dist.normal((p10 + p90) / 2, (p90 - p10) / (2 * Z90))
        m, s = need(("mean", "sd"))
        return Dist.normal(m, s)
    if kind == "triangle":
        return Dist.triangle(*need(("min", "mode", "max")))
    if kind == "uniform":
        return Dist.uniform(*need(("min", "max")))
    raise InfercastError(f"{where}: unknown distribution '{kind}'; use one of {', '.join(KINDS)}. {_HELP}")


def _located(kind: str, pos: list[float], kw: dict[str, float], where: str) -> Dist:
    """`_from_params`, with `where` in every error message."""
    try:
        return _from_params(kind, pos, kw, where)
    except InfercastError as e:
        if where in str(e):
            raise
        raise InfercastError(f"{where}: {e}") from None


_ALIASES = {"lognorm": "lognormal", "log-normal": "lognormal", "tri": "triangle", "triangular": "triangle",
            "const": "fixed", "constant": "fixed", "point": "fixed", "gaussian": "normal"}


def parse(spec: Any, where: str = "distribution") -> Dist:
    """A `Dist` from a number, a string like "lognormal:p10=2,p90=5", a TOML table, or a Dist."""
    if isinstance(spec, Dist):
        return spec
    if isinstance(spec, bool) or spec is None:
        raise InfercastError(f"{where}: expected a number or a distribution, got {spec!r}; {_HELP}")
    if isinstance(spec, (int, float, np.floating, np.integer)):
        return Dist.fixed(_num("value", spec, where))
    if isinstance(spec, Mapping):
        d = dict(spec)
        kind = d.pop("dist", None) or d.pop("kind", None)
        d.pop("source", None)
        d.pop("note", None)
        if kind is None:
            if set(d) == {"value"}:
                kind = "fixed"
            else:
                raise InfercastError(f"{where}: a distribution table needs dist = \"lognormal\" | \"normal\" | "
                                     f"\"triangle\" | \"uniform\" | \"fixed\"; got keys {sorted(spec)}")
        kind = _ALIASES.get(str(kind).lower(), str(kind).lower())
        kw = {k: _num(k, v, where) for k, v in d.items()}
        return _located(kind, [], kw, where)
    if not isinstance(spec, str):
        raise InfercastError(f"{where}: cannot read {_shown(spec)} as a distribution; {_HELP}")
    s = spec.strip()
    if not s:
        raise InfercastError(f"{where}: empty distribution; {_HELP}")
    if len(s) > 500:
        raise InfercastError(f"{where}: a distribution is at most 500 characters, got {len(s):,}; {_HELP}")
    spec = s
    try:
        return Dist.fixed(_num("value", s.replace("_", ""), where))
    except InfercastError:
        pass
    m = re.fullmatch(r"([A-Za-z][\w-]*)\s*[:(]\s*(.*?)\s*\)?", s)
    if not m:
        raise InfercastError(f"{where}: cannot read '{spec}' as a distribution; {_HELP}")
    kind = _ALIASES.get(m.group(1).lower(), m.group(1).lower())
    if kind not in KINDS:
        raise InfercastError(f"{where}: unknown distribution '{m.group(1)}' in '{spec}'; "
                             f"use one of {', '.join(KINDS)}. {_HELP}")
    pos: list[float] = []
    kw: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in m.group(2).split(","))):
        if "=" in part:
            k, v = (x.strip() for x in part.split("=", 1))
            kw[k.lower()] = _num(k, v, f"{where} '{spec}'")
        else:
            pos.append(_num(f"value {len(pos) + 1}", part, f"{where} '{spec}'"))
    if pos and kw:
        raise InfercastError(f"{where}: '{spec}' mixes positional and named values; use one form. {_HELP}")
    if not pos and not kw:
        raise InfercastError(f"{where}: '{spec}' has no values; {_HELP}")
    d = _located(kind, pos, kw, f"{where} '{spec}'")
    return d if d.is_fixed else dataclasses.replace(d, spec=s)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible stream for one named input."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


def draw(spec: Any, n: int, seed: int, name: str) -> np.ndarray:
    """`n` seeded draws of the input `name` given by `spec` (number, string, table or Dist)."""
    return parse(spec, name).sample(n, rng_for(seed, name))


def percentiles(x, axis: int = 0) -> dict[str, Any]:
    """P10, P50, P90 of samples along `axis` (floats for 1-D input). Monotone by construction."""
    a = np.asarray(x, dtype=float)
    q = np.percentile(a, PCTS, axis=axis)
    out = {f"p{int(p)}": q[i] for i, p in enumerate(PCTS)}
    if np.ndim(q[0]) == 0:
        out = {k: float(v) for k, v in out.items()}
    return out


# ---------------------------------------------------------------------------
# today's estimate with uncertainty
# ---------------------------------------------------------------------------

EFFICIENCY_INPUTS = ("weight_stream", "gemm_compute", "kv_stream")
DEFAULT_EFFICIENCY_SPREAD = "lognormal:p10=0.8696,p90=1.15"  # x/÷ 1.15: median 1, P90 +15 %
OUTPUTS = ("output_tok_s_per_gpu", "input_tok_s_per_gpu", "ttft_s", "tpot_s")
_THROUGHPUTS = ("output_tok_s_per_gpu", "input_tok_s_per_gpu")


def _scale(v, f: np.ndarray):
    """A fraction (or a per-precision dict of fractions) times sampled multipliers, capped at 1."""
    if isinstance(v, Mapping):
        return {k: np.minimum(x * f, 1.0) for k, x in v.items()}
    return np.minimum(v * f, 1.0)


def _frac(v) -> float | None:
    if v is None:
        return None
    x = float(v)
    return x / 100.0 if x > 1.0 else x  # "15" means 15 %


def _find_error(d: Any) -> dict | None:
    if isinstance(d, Mapping):
        if "median_abs_error" in d or "p90_abs_error" in d:
            return dict(d)
        for k in ("overall", "all", "summary", "output_tok_s_per_gpu", "throughput"):
            if k in d:
                r = _find_error(d[k])
                if r:
                    return r
    return None


def load_model_error(model_error: Mapping | None = None) -> dict:
    """The model's own error: given, else data/validation_summary.json, else ±20 % (P10/P90)."""
    if model_error is not None:
        src, raw = "given", dict(model_error)
    else:
        raw, src = None, None
        try:
            f = resources.files("infercast").joinpath("data/validation_summary.json")
            if f.is_file():
                raw = _find_error(json.loads(f.read_text()))
                src = "data/validation_summary.json (infercast validate)"
        except (OSError, ValueError):
            raw = None
        if raw is None:
            s = math.log(1.2) / Z90
            return {"source": "default ±20 % at P10/P90 (no data/validation_summary.json)",
                    "median_abs_error": None, "p90_abs_error": None, "sigma_log": s,
                    "multiplier_p10": math.exp(-Z90 * s), "multiplier_p90": math.exp(Z90 * s)}
    if isinstance(raw.get("out_of_sample"), dict) and raw["out_of_sample"].get("median_abs_error") is not None:
        raw = {**raw, **{k: raw["out_of_sample"][k] for k in ("median_abs_error", "p90_abs_error")}}
        src = f"{src}, out of sample"
    med, p90 = _frac(raw.get("median_abs_error")), _frac(raw.get("p90_abs_error"))
    if med is None and p90 is None:
        raise InfercastError("model_error needs 'median_abs_error' and/or 'p90_abs_error' (fractions, e.g. 0.15)")
    # |log(predicted/measured)| ~ |N(0, s)|: its median is 0.6745 s, its P90 1.645 s; take the wider
    sig = []
    if med is not None:
        sig.append(math.log1p(med) / 0.6744897501960817)
    if p90 is not None:
        sig.append(math.log1p(p90) / 1.6448536269514722)
    s = max(sig)
    return {"source": src, "median_abs_error": med, "p90_abs_error": p90, "sigma_log": s,
            "multiplier_p10": math.exp(-Z90 * s), "multiplier_p90": math.exp(Z90 * s)}


def estimate_with_uncertainty(model, chip, *, samples: int = 2000, seed: int = 0, model_error=None,
                              efficiency: Mapping[str, Any] | None = None, **estimate_kwargs) -> dict:
    """P10/P50/P90 of today's estimate: spread of the efficiency fractions and the model's own error.

    `efficiency` maps weight_stream / gemm_compute / kv_stream to a multiplier distribution on that
    fraction (default x/÷ 1.15 at P10/P90, capped at 1.0 of peak). `model_error` is
    {"median_abs_error": x, "p90_abs_error": y} (fractions); default: the validation summary if
    shipped, else ±20 %. The operating point (concurrency) is the point estimate's; only the
    efficiency and error inputs vary. Returns {output: {p10, p50, p90, point}} for
    output_tok_s_per_gpu, input_tok_s_per_gpu, ttft_s, tpot_s, plus 'samples', 'seed',
    'inputs', 'model_error' (with its source) and 'notes'.
    """
    from infercast.engine.estimate import estimate
    from infercast.engine.step import deployment, with_rank_tokens
    from infercast.engine.serving import continuous, static_batch

    from infercast.vocabulary import check_number

    n = check_number("samples", samples, integer=True, allow_none=False)
    seed = check_number("seed", seed, integer=True, allow_none=False)
    est = estimate(model, chip, **estimate_kwargs)
    dk = {k: estimate_kwargs[k] for k in ("tp", "pp", "ep", "weights", "kv", "engine", "profile")
          if k in estimate_kwargs}
    dep = deployment(model, chip, **dk)
    if est.rank_tokens:  # the point estimate's step budget
        dep = with_rank_tokens(dep, est.rank_tokens)
    eff = dep.eff
    spreads = {k: parse(DEFAULT_EFFICIENCY_SPREAD, k) for k in EFFICIENCY_INPUTS}
    for k, v in (efficiency or {}).items():
        if k not in EFFICIENCY_INPUTS:
            raise InfercastError(f"efficiency: unknown input '{k}'; use {', '.join(EFFICIENCY_INPUTS)}")
        spreads[k] = parse(v, f"efficiency.{k}")
    f = {k: d.sample(n, rng_for(seed, f"efficiency.{k}")) for k, d in spreads.items()}
    new_eff = dataclasses.replace(eff, **{k: _scale(getattr(eff, k), f[k]) for k in EFFICIENCY_INPUTS})
    vdep = dataclasses.replace(dep, eff=new_eff)
    c = est.concurrency / est.replicas
    fn = static_batch if est.mode == "static" else continuous
    r = fn(vdep, est.input_len, est.output_len, c)
    me = load_model_error(model_error)
    err = np.exp(me["sigma_log"] * rng_for(seed, "model_error").standard_normal(n))
    point = est.as_dict()
    out: dict[str, Any] = {}
    for k in OUTPUTS:
        x = np.broadcast_to(np.asarray(r[k], dtype=float), (n,))
        x = x * err if k in _THROUGHPUTS else x / err
        out[k] = dict(percentiles(x), point=float(point[k]))
    out.update(
        samples=n, seed=int(seed), model=est.model, chip=est.chip, mode=est.mode, concurrency=est.concurrency,
        inputs={**{f"efficiency.{k}": spreads[k].describe() for k in EFFICIENCY_INPUTS},
                "model_error": {"spec": f"lognormal:p10={me['multiplier_p10']:.4g},p90={me['multiplier_p90']:.4g}",
                                "p10": me["multiplier_p10"], "p50": 1.0, "p90": me["multiplier_p90"]}},
        model_error=me,
        notes=[f"efficiency fractions ({', '.join(EFFICIENCY_INPUTS)}) multiplied by independent draws, "
               "capped at 1.0 of peak",
               f"model error from {me['source']}: throughputs x, times ÷ a lognormal with P10/P90 "
               f"{me['multiplier_p10']:.3f}/{me['multiplier_p90']:.3f}",
               f"operating point held at the point estimate's concurrency ({est.concurrency:g}, mode {est.mode})"])
    return out


__all__ = ["Dist", "parse", "draw", "rng_for", "percentiles", "load_model_error", "estimate_with_uncertainty",
           "KINDS", "OUTPUTS"]
