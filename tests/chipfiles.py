"""The shipped example chip file (examples/a10g.toml) as a fixture: one card under any id, with extra fields.

Tests and benchmarks/web_abuse.py take their chip files from here, so the card's numbers (and their
sources, in the example) live in one place. The `[sources]` table is left out, so that lines a test
appends stay top-level chip fields."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "a10g.toml"


def a10g_toml(chip_id: str, **extra) -> str:
    """The example's top-level fields as TOML text, its id replaced, `extra` fields (numbers) appended."""
    text = EXAMPLE.read_text(encoding="utf-8").split("\n[sources]")[0]
    lines = [f'id = "{chip_id}"' if ln.startswith("id = ") else ln for ln in text.splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    return "\n".join(lines + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]) + "\n"


def a10g_fields(chip_id: str, **extra) -> dict:
    """The same card as a dict (what a JSON chip file holds)."""
    return tomllib.loads(a10g_toml(chip_id, **extra))
