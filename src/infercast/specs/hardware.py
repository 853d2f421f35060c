"""Accelerators: a validated catalog of datasheet numbers, each with its source."""
from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator

from infercast.specs import precision as P
from infercast.specs.store import build, lookup, read_json
from infercast.errors import InfercastError


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
    if isinstance(name, Chip):
        return name
    chips, aliases = _catalog()
    return lookup("chip", name, chips, aliases)
