"""Accelerators: a validated catalog of datasheet numbers, each with its source, and custom chips.

A chip that is not in the catalog (an A10G, next year's card) is described in a chip file: TOML or
JSON with the fields of a catalog entry (data/chips.json), validated by the same model plus limits
that keep every computation finite (`parse_chip`, `load_chip_file`). `custom_chips(chip, ...)` makes
such chips known by id to `get_chip` for the duration of a `with` block: a context variable, so a
CLI invocation or a web request sees its own chips and no other's, and the catalog is never changed.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, field_validator

from infercast.specs import precision as P
from infercast.specs.store import build, lookup, normalise, read_json
from infercast.errors import InfercastError, UnknownIdError


class Price(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    usd_per_hour: PositiveFloat
    date: str  # ISO date the listing was observed
    source: str
    kind: str = "on-demand cloud listing"


class Chip(BaseModel):
    """One accelerator (per GPU/chip, not per board or node). Rates are dense, not 2:4 sparse."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    id: str
    name: str
    vendor: str
    family: str  # efficiency family: ampere, hopper, blackwell, ada, cdna2, cdna3, cdna4, tpu, gaudi, trainium, xe
    year: int = Field(ge=2015, le=2035)
    aliases: list[str] = []
    memory_gb: PositiveFloat  # the vendor's capacity figure (binary GB for HBM parts, see memory_binary)
    memory_binary: bool = True  # vendor 'GB' is GiB (HBM stacks are binary-sized); False: decimal GB
    memory_type: str
    memory_bw_tbps: PositiveFloat  # TB/s (1e12 bytes/s), datasheet peak
    tflops: dict[str, PositiveFloat]  # dense peak TFLOP/s (TOP/s for int) per precision
    scaleup_gbps: PositiveFloat  # scale-up link bandwidth per GPU, GB/s per direction
    scaleup_domain: PositiveInt  # GPUs reachable at scale-up bandwidth (NVLink/xGMI/ICI domain)
    scaleup_name: str
    scaleout_gbps: PositiveFloat  # scale-out (network) bandwidth per GPU, GB/s per direction
    tdp_w: PositiveFloat | None = None
    price: Price | None = None
    sources: dict[str, str]  # field -> where the number was read
    notes: str = ""

    @field_validator("tflops")
    @classmethod
    def _known_precisions(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if k not in P.BYTES]
        if bad:
            raise ValueError(f"unknown precision(s) {bad}; use {P.PRECISIONS}")
        if "bf16" not in v and "fp16" not in v:
            raise ValueError("a chip needs a bf16 or fp16 rate")
        return v

    @property
    def bandwidth(self) -> float:
        """HBM bytes/s (datasheet)."""
        return self.memory_bw_tbps * 1e12

    @property
    def memory_bytes(self) -> float:
        """Capacity in bytes: an H100 '80GB' is 80 GiB (nvidia-smi: 81,559 MiB usable = 85.5e9 B)."""
        return self.memory_gb * (2 ** 30 if self.memory_binary else 1e9)

    def compute_precision(self, want: str) -> tuple[str, str]:
        """The precision the tensor cores actually run for `want`, and a note if it differs."""
        want = P.check(want)
        for q in P.FALLBACK[want]:
            if q in self.tflops:
                note = "" if q == want else (
                    f"{self.id} has no {want} tensor rate; computing at {q} "
                    f"(weights stay {want} in memory; dequantised in the kernel)")
                return q, note
        raise InfercastError(f"{self.id} has no usable compute rate for {want}", field="weights")

    def peak_flops(self, want: str) -> float:
        """Dense peak FLOP/s at the precision kernels would run for `want`."""
        q, _ = self.compute_precision(want)
        return self.tflops[q] * 1e12

    @property
    def price_per_hour(self) -> float | None:
        return self.price.usd_per_hour if self.price else None


@lru_cache(maxsize=None)
def _catalog() -> tuple[dict[str, Chip], dict[str, str]]:
    raw = read_json("chips.json")

    def make():
        chips = {c["id"]: Chip(**c) for c in raw["chips"]}
        return chips, {a.lower(): c.id for c in chips.values() for a in c.aliases}

    return build("chips.json", make)


def all_chips() -> list[Chip]:
    return list(_catalog()[0].values())


def get_chip(name: str | Chip) -> Chip:
    """A chip by catalog id or alias, or by the id of a custom chip made known with `custom_chips`."""
    if isinstance(name, Chip):
        return name
    custom = _CUSTOM.get()
    if custom and isinstance(name, str) and normalise(name) in custom:
        return custom[normalise(name)]
    chips, aliases = _catalog()
    try:
        return lookup("chip", name, chips, aliases)
    except UnknownIdError as e:
        known = sorted(chips) + sorted(aliases) + sorted(custom)
        raise UnknownIdError("chip", name if isinstance(name, str) else repr(name), known, len(chips) + len(custom),
                             "; a chip that is not in the catalog can be described in a chip file (chip_file)"
                             ) from e


# ---------------------------------------------------------------- custom chips (chip files)

_CUSTOM: ContextVar[dict[str, Chip]] = ContextVar("infercast_custom_chips", default={})

# Limits for a chip file: far beyond any accelerator either way (the largest catalog entries are ~20x below
# the upper ones, the smallest ~1000x above the lower ones), so a value past them is a typo or a hostile
# file, and every derived rate (tokens per kWh, $/M tokens) stays a finite number.
CHIP_LIMITS: dict[str, tuple[float, float, str]] = {
    "memory_gb": (0.1, 1e5, "GB"), "memory_bw_tbps": (1e-3, 1e4, "TB/s"), "tflops": (1e-3, 1e7, "TFLOP/s"),
    "scaleup_gbps": (1e-3, 1e6, "GB/s"), "scaleout_gbps": (1e-3, 1e6, "GB/s"), "scaleup_domain": (1, 65_536, "GPUs"),
    "tdp_w": (1.0, 1e5, "W"), "usd_per_hour": (1e-6, 1e6, "$/GPU-hour"),
}
MAX_ID = 64
CHIP_FILE_SUFFIXES = (".toml", ".json")


def _efficiency_families() -> list[str]:
    return sorted(read_json("efficiency.json")["families"])


def _loc(err: dict) -> str:
    return ".".join(str(x) for x in err.get("loc", ()))


def _problem(err: dict) -> str:
    """A pydantic error in the catalog's terms: 'must be > 0 (got -1)', 'is required'."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a chip field (see the entries of data/chips.json)"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sign = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "")
        msg = f"must be {sign} {bound:g}" if isinstance(bound, (int, float)) else f"must be {sign} {bound}"
    elif kind == "finite_number":
        msg = "must be a finite number"
    else:
        msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ").replace("Input should be", "must be")
    if "input" in err and not isinstance(err["input"], (dict, list)):
        from infercast.format import truncate

        try:
            got = truncate(repr(err["input"]), 40)
        except ValueError:  # an integer too long to print
            got = "a number too long to print"
        msg += f" (got {got})"
    return msg


def _limits(data: dict) -> list[tuple[str, str]]:
    """(field, message) for values past CHIP_LIMITS (the model itself checks > 0 and finiteness)."""
    out = []

    def check(name: str, value: Any, key: str) -> None:
        lo, hi, unit = CHIP_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if isinstance(value, int) and value > hi:  # may be too large for a float: no float arithmetic on it
            shown = f"{value:,}" if value < 10 ** 30 else "a number too long to print"
            out.append((name, f"{name}: must be <= {hi:,.0f} {unit} for one accelerator (got {shown})"))
        elif isinstance(value, float) and math.isfinite(value) and value > hi:
            out.append((name, f"{name}: must be <= {hi:,.0f} {unit} for one accelerator (got {value:g})"))
        elif 0 < value < lo:  # zero and negatives are the model's own '> 0' message
            out.append((name, f"{name}: must be >= {lo:g} {unit} for an accelerator (got {value:g})"))

    for k in ("memory_gb", "memory_bw_tbps", "scaleup_gbps", "scaleout_gbps", "scaleup_domain", "tdp_w"):
        if k in data:
            check(k, data[k], k)
    if isinstance(data.get("tflops"), dict):
        for p, v in data["tflops"].items():
            check(f"tflops.{p}", v, "tflops")
    if isinstance(data.get("price"), dict) and "usd_per_hour" in data["price"]:
        check("price.usd_per_hour", data["price"]["usd_per_hour"], "usd_per_hour")
    return out


class ChipFileError(InfercastError):
    """A chip file that cannot be used: the message names the file and up to three problems. `problems` holds
    every (field, message) pair, for interfaces that point at the field in the file ('' when the file as a
    whole is wrong); each message names its field itself."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{source}: " + "; ".join(m for _, m in problems[:3]) + more, field="chip_file")
        self.problems = problems


def parse_chip(data: Any, source: str = "chip file") -> Chip:
    """A custom chip from a chip file's fields, validated as the catalog's entries are, plus limits.

    Descriptive fields the catalog requires (name, vendor, memory_type, scaleup_name, sources) default
    to the id and the file; every number must be given. A price may be a number ($/GPU-hour). The id
    must not be a catalog id or alias: the catalog's numbers and measured kernel tables belong to it.
    Errors name the file and the field: "a10g.toml: memory_bw_tbps: must be > 0 (got -1)".
    """
    if not isinstance(data, dict):
        raise ChipFileError(source, [("", "a chip file holds one accelerator's fields (id, family, year, memory_gb, "
                                          "memory_bw_tbps, tflops, scaleup_gbps, scaleup_domain, scaleout_gbps ...) "
                                          "at the top level")])
    if "chips" in data:
        raise ChipFileError(source, [("chips", "give one chip's fields at the top level, not a 'chips' list (one "
                                               "file per accelerator)")])
    d = dict(data)
    cid = d.get("id")
    if not isinstance(cid, str) or not cid.strip():
        raise ChipFileError(source, [("id", "id is required: a short name for the chip (letters, digits, '-', '.')")])
    key = normalise(cid)
    if len(key) > MAX_ID or not key[0].isalnum() or not all(ch.isalnum() or ch in "-._" for ch in key):
        from infercast.format import truncate

        raise ChipFileError(source, [("id", f"id must be 1 to {MAX_ID} letters, digits, '-', '.' or '_' starting "
                                            f"with a letter or digit (got {truncate(repr(cid), 40)})")])
    chips, aliases = _catalog()
    if key in chips or key in aliases:
        raise ChipFileError(source, [("id", f"id '{key}' is a catalog chip; give your chip its own id (the "
                                            "catalog's numbers and measured kernel tables belong to the catalog "
                                            "entry)")])
    d["id"] = key
    fams = _efficiency_families()
    if "family" in d and d["family"] not in fams:
        from infercast.format import truncate

        raise ChipFileError(source, [("family", f"family must be one of {', '.join(fams)} (the efficiency family "
                                                f"whose measured fractions apply; 'default' when none fits), got "
                                                f"{truncate(repr(d['family']), 40)}")])
    for k, default in (("name", key), ("vendor", "custom"), ("memory_type", "unspecified"),
                       ("scaleup_name", "scale-up link"), ("sources", {"all": f"user-supplied chip file {source}"})):
        d.setdefault(k, default)
    if isinstance(d.get("price"), (int, float)) and not isinstance(d.get("price"), bool):
        d["price"] = {"usd_per_hour": d["price"]}
    if isinstance(d.get("price"), dict):
        d["price"] = {"date": "given", "source": f"chip file {source}", "kind": "given in a chip file", **d["price"]}
    problems = _limits(d)
    try:
        chip = Chip(**d)
    except ValidationError as e:
        problems = [(_loc(err), f"{_loc(err)}: {_problem(err)}" if _loc(err) else _problem(err))
                    for err in e.errors()] + problems
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        problems = [("", f"invalid chip fields ({type(e).__name__})")] + problems
    if problems:
        raise ChipFileError(source, problems)
    return chip


def load_chip_file(path: str | Path) -> Chip:
    """A custom chip from a TOML or JSON file (by its suffix; otherwise JSON if it starts with '{')."""
    from infercast.files import parse_json, parse_toml, read_text, shown

    text = read_text(path, field="chip_file", what="chip file")
    where = shown(path)
    suffix = Path(str(path)).suffix.lower()
    as_json = suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{"))
    data = parse_json(text, where, field="chip_file") if as_json else parse_toml(text, where, field="chip_file")
    return parse_chip(data, where)


@contextmanager
def custom_chips(*chips: Chip) -> Iterator[dict[str, Chip]]:
    """Make `chips` known to `get_chip` by id inside the block (this context only; nested blocks add)."""
    current = dict(_CUSTOM.get())
    for c in chips:
        if c.id in current and current[c.id] != c:
            raise InfercastError(f"two different chips share the id '{c.id}'; give each chip file its own id",
                                 field="chip_file")
        current[c.id] = c
    token = _CUSTOM.set(current)
    try:
        yield current
    finally:
        _CUSTOM.reset(token)


def custom_chip_ids() -> list[str]:
    """Ids of the custom chips known in this context."""
    return sorted(_CUSTOM.get())
