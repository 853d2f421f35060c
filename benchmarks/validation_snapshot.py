"""Write the model's published error (validation summary) into the package.

    .venv/bin/python benchmarks/validation_snapshot.py

The snapshot feeds `--uncertainty` (the model's own error as an input) and the report; a test
recomputes it, so it cannot go stale silently.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from infercast.analyses.validate import default_data_path, validate

OUT = Path(__file__).resolve().parents[1] / "src" / "infercast" / "data" / "validation_summary.json"


def main() -> None:
    data = [Path(sys.argv[1])] if len(sys.argv) > 1 else None
    summary, _ = validate(data)
    summary = {"data": "visible measured set" if data is None else data[0].name,
               **{k: v for k, v in summary.items() if k != "by_band"}}
    OUT.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "by_family"}, indent=2))


if __name__ == "__main__":
    main()
