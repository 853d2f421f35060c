"""Number formats: bytes per element and how a chip's compute rate is chosen for one."""
from __future__ import annotations

from typing import Literal

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4"]
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")

# bytes per stored element (fp4/int4: two per byte; block scales ignored, < 1 %)
BYTES: dict[str, float] = {
    "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0,
    "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5,
}

# When a chip lacks a tensor rate for a format, kernels run at the next wider one
# (e.g. fp8 weights on A100 are dequantised to bf16 by weight-only kernels such as Marlin).
FALLBACK: dict[str, tuple[str, ...]] = {
    "fp4": ("fp4", "fp8", "bf16", "fp16"),
    "int4": ("int4", "int8", "fp8", "bf16", "fp16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
    "fp16": ("fp16", "bf16"),
    "bf16": ("bf16", "fp16"),
    "tf32": ("tf32", "bf16"),
    "fp32": ("fp32", "tf32", "bf16"),
}


def check(p: str, field: str = "precision") -> str:
    from .errors import InfercastError

    q = p.lower().strip()
    if q not in BYTES:
        raise InfercastError(f"{field}: unknown precision '{p}'; use one of {', '.join(PRECISIONS)}")
    return q


def nbytes(p: str) -> float:
    return BYTES[check(p)]
