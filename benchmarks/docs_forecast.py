"""Write docs/forecast.md's generated tables from the code (`infercast.analyses.forecast_docs`).

    python benchmarks/docs_forecast.py [--check] [--doc docs/forecast.md]

Replaces each `<!-- BEGIN GENERATED: name -->` ... `<!-- END GENERATED: name -->` block with what the
code gives now (default and roadmap forecasts at 2000 samples, seed 0; the backtest; the B200 claim).
`--check` writes nothing and exits 1 when the file differs (tests/test_forecast.py checks the same).
The `interpolation` block comes from `benchmarks/forecast_interpolation.py --write docs/forecast.md`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def rewrite(argv, doc: Path, produce, script: str, description: str) -> int:
    """Write `produce(old text)` into `doc`, or with --check write nothing and exit 1 when it differs (the writer
    shared by this script and benchmarks/docs_world.py)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--doc", default=str(doc))
    a = ap.parse_args(argv)
    p = Path(a.doc)
    old = p.read_text(encoding="utf-8")
    new = produce(old)
    if a.check:
        if new != old:
            print(f"{p} is not current: run python benchmarks/{script}", file=sys.stderr)
            return 1
        return 0
    p.write_text(new, encoding="utf-8")
    print(f"wrote {p}")
    return 0


def main(argv=None) -> int:
    def produce(text: str) -> str:
        from infercast.analyses.forecast_docs import blocks, replace

        return replace(text, blocks())

    return rewrite(argv, Path(__file__).resolve().parents[1] / "docs" / "forecast.md", produce, "docs_forecast.py",
                   __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
