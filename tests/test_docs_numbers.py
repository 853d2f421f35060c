"""The numbers in README.md, docs/validation.md and docs/fleet.md are generated from the code
(`benchmarks/docs_numbers.py`): each generated block is recomputed here and compared with the file, so a
model change that moves a documented number fails until the docs are regenerated. Also: the module table
of docs/ARCHITECTURE.md names every module of src/infercast and nothing else."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_numbers", ROOT / "benchmarks" / "docs_numbers.py")
docs_numbers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(docs_numbers)


@pytest.mark.parametrize("doc", sorted(docs_numbers.DOCS))
def test_generated_numbers_are_current(doc):
    d = docs_numbers.diff(doc)
    assert not d, f"{doc} is not what the code gives now; run .venv/bin/python benchmarks/docs_numbers.py\n{d}"


def test_a_stale_number_is_caught():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    regenerated = docs_numbers.render("README.md", text)
    assert regenerated == text
    m = re.search(r"median \|error\| \*\*(\d+) %\*\*", text)  # the out-of-sample headline
    assert m, "README lost its out-of-sample headline"
    tampered = text.replace(m.group(0), f"median |error| **{int(m.group(1)) + 1} %**", 1)
    assert docs_numbers.render("README.md", tampered) == text


def test_out_of_sample_comes_first_in_readme():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    acc = text[text.index("## Accuracy"):]
    assert acc.index("Out of sample") < acc.index("In sample")


def test_a_missing_block_is_an_error():
    with pytest.raises(ValueError, match="has no block <!-- numbers:"):
        docs_numbers.render("README.md", "# no blocks here\n")


# ---------------------------------------------------------------- docs/ARCHITECTURE.md's module table

def _modules_in_tree() -> set[str]:
    src = ROOT / "src" / "infercast"
    out = set()
    for p in src.rglob("*.py"):
        rel = p.relative_to(src).with_suffix("")
        parts = rel.parts[:-1] if rel.name in ("__init__", "__main__") else rel.parts
        out.add(".".join(parts) if parts else "infercast")
    return out


def _modules_in_table() -> set[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    out = set()
    for line in text.splitlines():
        m = re.match(r"\|\s*(`[^|]+)\|", line)
        if m:
            out |= set(re.findall(r"`([a-z_][a-z0-9_.]*(?:\.\*)?)`", m.group(1)))
    return out


def test_architecture_table_matches_the_tree():
    tree, table = _modules_in_tree(), _modules_in_table()
    wild = {t[:-2] for t in table if t.endswith(".*")}
    named = {t for t in table if not t.endswith(".*")}
    covered = named | {m for m in tree if any(m.startswith(w + ".") for w in wild)}
    missing = sorted(tree - covered)
    extra = sorted((named - tree) | {w + ".*" for w in wild if not any(m.startswith(w + ".") for m in tree)})
    assert not missing and not extra, (f"docs/ARCHITECTURE.md's module table: missing {missing}, "
                                       f"names modules that do not exist {extra}")
