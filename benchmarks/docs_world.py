"""Write docs/world.md's worked-example numbers from the code (`infercast.analyses.world_docs`).

    python benchmarks/docs_world.py [--check] [--doc docs/world.md]

`--check` writes nothing and exits 1 when the document differs (tests/test_docs_world.py checks the same).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--doc", default=str(Path(__file__).resolve().parents[1] / "docs" / "world.md"))
    a = ap.parse_args(argv)
    from infercast.analyses.world_docs import numbers, replace

    p = Path(a.doc)
    old = p.read_text(encoding="utf-8")
    new = replace(old, numbers())
    if a.check:
        if new != old:
            print(f"{p} is not current: run python benchmarks/docs_world.py", file=sys.stderr)
            return 1
        return 0
    p.write_text(new, encoding="utf-8")
    print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
