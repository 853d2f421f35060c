"""Number formats: bytes per element and how a chip's compute rate is chosen for one."""
from __future__ import annotations

from typing import Literal

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4"]
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")

# bytes per stored element, with the block scales the 4-bit formats carry (8-bit formats' per-channel or
# 128x128 block scales are < 0.1 %):
# fp4: NVFP4, two E2M1 values per byte and one E4M3 scale per 16 values, 4.5 bits (NVIDIA technical blog
#   "Introducing NVFP4 for efficient and accurate low-precision inference", 2025; the format engines and
#   ModelOpt quantise to on Blackwell). A checkpoint in MXFP4 (one E8M0 scale per 32, 4.25 bits: OCP MX spec
#   v1.0) states its own bits in the model catalog (`weight_bits`).
# int4: AWQ/GPTQ with a 16-bit scale and zero point per group of 128, 4.25 bits (AWQ, arXiv 2306.00978 §5.1
#   group size 128)
BYTES: dict[str, float] = {
    "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0,
    "fp8": 1.0, "int8": 1.0, "fp4": 4.5 / 8, "int4": 4.25 / 8,
}

# When a chip lacks a tensor rate for a format, kernels run at the next wider one
# (e.g. fp8 weights on A100 are dequantised to bf16 by weight-only kernels such as Marlin).
FALLBACK: dict[str, tuple[str, ...]] = {
    # 4-bit weights without an fp4 tensor rate run weight-only (W4A16: Marlin/Machete, MXFP4 on Hopper)
    "fp4": ("fp4", "bf16", "fp16"),
    "int4": ("int4", "int8", "fp8", "bf16", "fp16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
    "fp16": ("fp16", "bf16"),
    "bf16": ("bf16", "fp16"),
    "tf32": ("tf32", "bf16"),
    "fp32": ("fp32", "tf32", "bf16"),
}


# names engines and papers use for the same formats
ALIASES: dict[str, str] = {
    "float16": "fp16", "half": "fp16", "bfloat16": "bf16", "float32": "fp32",
    "e4m3": "fp8", "fp8-e4m3": "fp8", "fp8_e4m3": "fp8", "w8a8-fp8": "fp8", "fp8-dynamic": "fp8",
    "nvfp4": "fp4", "mxfp4": "fp4", "fp4-e2m1": "fp4", "w4a4": "fp4",
    "awq": "int4", "gptq": "int4", "w4a16": "int4", "int4-awq": "int4", "int4_awq": "int4",
    "w8a8": "int8", "int8-sq": "int8", "smoothquant": "int8", "w8a16": "int8",
}


def check(p: str, field: str = "precision") -> str:
    """The canonical name of a precision (aliases such as nvfp4 or awq accepted); `field` names the input
    in the message ('weights', 'kv cache', a file's field)."""
    if type(p) is str and p in BYTES:  # already canonical: the sweep's hot path
        return p
    from infercast.errors import InfercastError
    from infercast.format import truncate
    from infercast.vocabulary import TERMS

    name = {"kv cache": "kv"}.get(field, field)
    blame = name if name in TERMS else None
    field = name if blame else field
    if not isinstance(p, str):
        raise InfercastError(f"{field} must be a precision name such as bf16 or fp8, got {truncate(repr(p), 40)}",
                             field=blame, value=p)
    q = p.lower().strip()
    q = ALIASES.get(q, q)
    if q not in BYTES:
        raise InfercastError(f"{field}: unknown precision '{truncate(p, 40)}'; use one of {', '.join(PRECISIONS)}",
                             field=blame, value=p)
    return q


def nbytes(p: str) -> float:
    return BYTES[check(p)]
