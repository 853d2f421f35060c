"""Calibration profiles (what `infercast calibrate` measured on one card): found by name or path, validated.

`load(name_or_path)` accepts the name of a profile shipped in infercast/data/profiles/ (`h100-sxm`)
or a path to a JSON file, checks every field the efficiency model reads (positive, finite, within
a physical range) and returns the profile as a dict, ready for `engine.efficiency.efficiency_for`.
A bad profile is an `InfercastError` about the input ``profile`` naming the file and the field.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infercast.errors import InfercastError
from infercast.files import read_json, shown
from infercast.specs import precision as P
from infercast.specs.store import data_path

# ranges: a measurement outside them is a typo or a broken run, and would make step times non-finite
_RATE = dict(gt=0, le=1e7)


class GemmRow(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    dtype: str
    M: int = Field(ge=1, le=10_000_000)
    N: int = Field(ge=1, le=10_000_000)
    K: int = Field(ge=1, le=10_000_000)
    ms: float = Field(gt=0, le=1e7)
    tflops: float = Field(**_RATE)

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        if v not in P.BYTES:
            raise ValueError(f"unknown precision '{v[:20]}'; use one of {', '.join(P.PRECISIONS)}")
        return v


class Profile(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    device: str = "profile"
    catalog_id: str | None = None
    measured: str | None = None
    copy_gbps: float | None = Field(None, **_RATE)
    gemm: list[GemmRow] = Field(default_factory=list, max_length=100_000)
    attention_prefill_tflops: float | None = Field(None, **_RATE)
    attention_decode_gbps: float | None = Field(None, **_RATE)
    graph_kernel_us: float | None = Field(None, ge=0, le=1e6)
    launch_us: float | None = Field(None, ge=0, le=1e6)


def shipped() -> dict[str, Path]:
    """Name -> path of the profiles shipped in infercast/data/profiles/."""
    d = data_path("profiles")
    try:
        return {p.stem: p for p in sorted(d.iterdir()) if p.suffix == ".json"}
    except OSError:
        return {}


def _loc(err: dict) -> str:
    out = ""
    for x in err.get("loc", ()):
        out += f"[{x}]" if isinstance(x, int) else (("." if out else "") + str(x))
    return out


def validate(raw: Any, where: str = "profile") -> dict:
    """A checked profile dict from parsed JSON; `where` names it in messages."""
    if not isinstance(raw, dict):
        raise InfercastError(f"{where} must hold a JSON object (a profile written by `infercast calibrate`)",
                             field="profile")
    if "copy_gbps" not in raw and "gemm" not in raw:
        raise InfercastError(f"{where} has neither copy_gbps nor gemm, so it is not a calibration profile; "
                             "write one with `infercast calibrate --out FILE`", field="profile")
    try:
        prof = Profile(**raw)
    except ValidationError as e:
        err = e.errors()[0]
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        got = err.get("input")
        got = "" if isinstance(got, (dict, list)) or "missing" in msg.lower() else f", got {str(got)[:40]!r}"
        raise InfercastError(f"{where}: {_loc(err)}: {msg}{got}", field="profile") from None
    except TypeError as e:  # keys that are not strings
        raise InfercastError(f"{where}: {e}", field="profile") from None
    return prof.model_dump(exclude_none=True)


def load(name_or_path: str | Path | dict) -> dict:
    """A checked profile: a dict passes through validation; a shipped name or a path is read first."""
    if isinstance(name_or_path, dict):
        return validate(name_or_path)
    name = str(name_or_path)
    ships = shipped()
    p = Path(name).expanduser()
    try:
        exists = p.exists()
    except (OSError, ValueError):
        exists = False
    if not exists and name in ships:
        p = ships[name]
    elif not exists:
        known = ", ".join(ships) or "none"
        raise InfercastError(f"no profile file {shown(name)} and no shipped profile of that name (shipped: {known}); "
                             "give a JSON file written by `infercast calibrate`", field="profile", value=name)
    return validate(read_json(p, field="profile", what="profile"), shown(p))


__all__ = ["load", "validate", "shipped", "Profile", "GemmRow"]
