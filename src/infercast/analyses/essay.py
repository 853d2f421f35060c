"""The essay's three estimates (benjamintodd.substack.com, 'How much AI inference can we do?').

upper  = peak FLOP/s / matmul FLOPs per token (the essay approximates these FLOPs as 2 x active
         parameters, `essay_upper`; the matmul count leaves out the embedding gather and the lm_head of
         prompt tokens, so no realistic or speed-of-light figure exceeds it)
lower  = memory bandwidth / bytes of active weights (batch 1, one forward pass per weight read)
market = forward passes per chip-second implied by a $/M-token price and a $/chip-hour
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from infercast.specs import precision as P
from infercast.specs.store import read_json
from infercast.specs.hardware import Chip, get_chip
from infercast.specs.model import ModelSpec, get_model


@dataclass(frozen=True)
class Bounds:
    model: str
    chip: str
    precision: str
    compute_precision: str
    flop_per_forward: float  # the essay's 2 x active parameters
    matmul_flop_per_token: float  # matrix-multiply FLOPs of a prompt token (no embedding gather, no lm_head)
    bytes_per_forward: float
    upper_forward_passes_per_s: float  # FLOP bound on matmul FLOPs: no configuration exceeds it
    essay_upper_forward_passes_per_s: float  # the essay's approximation: peak / (2 x active parameters)
    lower_forward_passes_per_s: float  # memory-bandwidth bound at batch 1
    lower_total_weights_per_s: float  # same, reading every expert (MoE): the essay's footnote 3
    market_forward_passes_per_s: float | None
    market_source: str | None
    notes: tuple[str, ...]

    def as_dict(self) -> dict:
        return asdict(self)


def flop_per_forward(m: ModelSpec) -> float:
    """The essay's FLOP per forward pass: 2 x active parameters (footnote 2: 280 B active -> 560 GFLOP)."""
    return 2.0 * m.active_params


def matmul_flop_per_token(m: ModelSpec) -> float:
    """2 FLOPs per multiply-add through every weight matrix a prompt token passes [KIP]: the embedding
    is a gather (no FLOPs) and prompt tokens other than a sequence's last skip the lm_head."""
    return 2.0 * (m.matmul_params_per_token - m.vocab * m.d_model)


def peak_for(c: Chip, precision: str) -> tuple[str, str]:
    """The tensor precision a deployment computes at for weights of `precision` (int4 is weight-only)."""
    return c.compute_precision("bf16" if precision == "int4" else precision)


def upper_bound(m: ModelSpec, c: Chip, precision: str = "bf16") -> float:
    """Forward passes (tokens) per chip-second at the FLOP roof: peak / matmul FLOPs per prompt token."""
    return c.peak_flops(peak_for(c, precision)[0]) / matmul_flop_per_token(m)


def essay_upper_bound(m: ModelSpec, c: Chip, precision: str = "bf16") -> float:
    # essay: 3.12e14 FLOP/s / 5.6e11 FLOP = ~557 forward passes per second
    return c.peak_flops(peak_for(c, precision)[0]) / flop_per_forward(m)


def lower_bound(m: ModelSpec, c: Chip, precision: str = "bf16") -> float:
    # essay: 2.0e12 B/s / (2.8e11 params x 2 B) = ~3.6 forward passes per second
    return c.bandwidth / (m.active_params * P.nbytes(precision))


def market_rate(usd_per_mtok: float, usd_per_chip_hour: float) -> float:
    """Forward passes per chip per second implied by a price: essay's $1/h / $4.9 per M = ~57."""
    return usd_per_chip_hour / 3600.0 / (usd_per_mtok / 1e6)


@lru_cache(maxsize=None)
def _quotes() -> tuple[dict, ...]:
    return tuple(read_json("market.json")["quotes"])


def market_quote(model_id: str, chip_id: str) -> dict | None:
    for q in _quotes():
        if q["model"] == model_id and q["chip"] == chip_id:
            return q
    return None


def bounds(model: str | ModelSpec, chip: str | Chip, precision: str = "bf16") -> Bounds:
    m, c = get_model(model), get_chip(chip)
    precision = P.check(precision)
    comp, note = peak_for(c, precision)
    notes = [note] if note else []
    if m.moe:
        notes.append(f"MoE: {m.active_params / 1e9:.0f} B of {m.total_params / 1e9:.0f} B parameters active per token; "
                     "the lower bound reads active weights only, as the essay does (footnote 3)")
    q = market_quote(m.id, c.id)
    return Bounds(
        model=m.id, chip=c.id, precision=precision, compute_precision=comp,
        flop_per_forward=flop_per_forward(m), matmul_flop_per_token=matmul_flop_per_token(m),
        bytes_per_forward=m.active_params * P.nbytes(precision),
        upper_forward_passes_per_s=upper_bound(m, c, precision),
        essay_upper_forward_passes_per_s=essay_upper_bound(m, c, precision),
        lower_forward_passes_per_s=lower_bound(m, c, precision),
        lower_total_weights_per_s=c.bandwidth / (m.total_params * P.nbytes(precision)),
        market_forward_passes_per_s=market_rate(q["usd_per_mtok"], q["usd_per_chip_hour"]) if q else None,
        market_source=q["source"] if q else None,
        notes=tuple(notes),
    )
