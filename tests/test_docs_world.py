"""docs/world.md's worked-example table is recomputed here: a number in the docs that the code no longer gives
fails this test (the table is checked, never trusted; `benchmarks/docs_world.py` rewrites it)."""
from __future__ import annotations

from pathlib import Path

import pytest

from infercast.analyses.world_docs import documented, numbers, replace

DOC = Path(__file__).resolve().parents[1] / "docs" / "world.md"


@pytest.fixture(scope="module")
def computed() -> dict[str, str]:
    return numbers()


def test_every_documented_number_is_what_the_code_gives(computed):
    rows = documented(DOC.read_text(encoding="utf-8"))
    assert set(rows) == set(computed), set(rows) ^ set(computed)
    wrong = {k: (rows[k], computed[k]) for k in rows if rows[k] != computed[k]}
    assert not wrong, f"docs/world.md says / the code gives: {wrong}; run python benchmarks/docs_world.py"


def test_the_writer_changes_only_the_numbers(computed):
    text = DOC.read_text(encoding="utf-8")
    stale = replace(text, {k: "0" for k in computed})
    assert stale != text and documented(stale) == {k: "0" for k in computed}
    assert replace(stale, computed) == replace(text, computed)
