"""Write docs/world.md's worked-example numbers from the code (`infercast.analyses.world_docs`).

    python benchmarks/docs_world.py [--check] [--doc docs/world.md]

`--check` writes nothing and exits 1 when the document differs (tests/test_docs_world.py checks the same).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_forecast import rewrite  # noqa: E402  (the shared writer)


def main(argv=None) -> int:
    def produce(text: str) -> str:
        from infercast.analyses.world_docs import numbers, replace

        return replace(text, numbers())

    return rewrite(argv, Path(__file__).resolve().parents[1] / "docs" / "world.md", produce, "docs_world.py",
                   __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
