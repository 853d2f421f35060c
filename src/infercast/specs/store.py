"""Loading the JSON catalogs shipped in `infercast/data`, with id/alias look-up."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from infercast.errors import UnknownIdError


@lru_cache(maxsize=None)
def read_json(name: str) -> Any:
    return json.loads(resources.files("infercast").joinpath("data", name).read_text())


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def lookup(kind: str, name: str, items: dict[str, Any], aliases: dict[str, str]) -> Any:
    key = normalise(name)
    if key in items:
        return items[key]
    if key in aliases:
        return items[aliases[key]]
    raise UnknownIdError(kind, name, sorted(items) + sorted(aliases), len(items))
