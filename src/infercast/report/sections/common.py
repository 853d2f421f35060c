"""Cells several sections share: a chip with its datasheet sources, its dated price, a deployment shape."""
from __future__ import annotations

from infercast import format as F
from infercast.report.view import Val, missing, text
from infercast.specs.hardware import get_chip


def memory_text(chip_id: str) -> str:
    """HBM as the vendor states it: '80 GB HBM3', with the byte count when the vendor's GB is binary."""
    c = get_chip(chip_id)
    s = f"{F.num(c.memory_gb)} GB {c.memory_type}"
    if c.memory_binary:  # vendor 'GB' of HBM stacks is 2^30 bytes (specs.hardware.Chip.memory_bytes)
        s += f" (GiB: {F.sig(c.memory_bytes / 1e9)} billion bytes)"
    return s


def chip_cell(chip_id: str, year: bool = False) -> Val:
    """The chip's name; hover: id, year, memory and the datasheet source of each field."""
    c = get_chip(chip_id)
    srcs = "; ".join(f"{k}: {v}" for k, v in c.sources.items())
    return text(c.name, tip=f"{c.id} ({c.year}), {memory_text(chip_id)}. Datasheet sources - {srcs}",
                note=str(c.year) if year else "")


def price_source(chip_id: str) -> str | None:
    c = get_chip(chip_id)
    if c.price is None:
        return None
    p = c.price
    return (f"{c.name} price: {F.money(p.usd_per_hour, '/GPU-hour')}, {p.kind}, observed {p.date}; {p.source}")


def price_cell(chip_id: str) -> Val:
    c = get_chip(chip_id)
    if c.price is None:
        return missing("no price", "no dated price in the catalog (data/chips.json); $/M shown at $1/GPU-hour on "
                                   "hover")
    return text(F.money(c.price.usd_per_hour, "/h"), note=c.price.date, refs=(price_source(chip_id),))


def shape_text(tp: int, pp: int, ep: int = 1, gpus: int | None = None) -> str:
    s = f"{tp}×{pp}" + (f", EP {ep}" if ep > 1 else "")
    return s + (f" ({gpus} GPU{'s' if gpus != 1 else ''})" if gpus is not None else "")


__all__ = ["memory_text", "chip_cell", "price_cell", "price_source", "shape_text"]
