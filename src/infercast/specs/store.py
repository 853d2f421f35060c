"""Loading the data files shipped in `infercast/data`, with id/alias look-up.

A shipped file that cannot be read, is not valid JSON/TOML, or lacks the top-level sections the
package reads is a damaged installation (`DamagedInstallError`: reinstall), never a traceback.
"""
from __future__ import annotations

import json
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, TypeVar

from infercast.errors import DamagedInstallError, UnknownIdError

# top-level keys each shipped JSON file must hold (what the package reads from it)
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "chips.json": ("chips",),
    "models.json": ("models",),
    "efficiency.json": ("families", "engines", "memory", "collectives", "kernel_us", "overlap_exponent"),
    "market.json": ("quotes",),
    "mlperf_datasets.json": ("datasets",),
}

T = TypeVar("T")


def data_path(name: str) -> Path:
    """The path of a shipped data file (`name` relative to infercast/data)."""
    return Path(str(resources.files("infercast").joinpath("data", *name.split("/"))))


def read_data_text(name: str) -> str:
    try:
        return data_path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DamagedInstallError(name, "missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DamagedInstallError(name, getattr(e, "strerror", None) or "unreadable") from None


@lru_cache(maxsize=None)
def read_json(name: str) -> Any:
    text = read_data_text(name)
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise DamagedInstallError(name, "not valid JSON") from None
    need = REQUIRED_KEYS.get(name, ())
    if need and (not isinstance(raw, dict) or any(k not in raw for k in need)):
        raise DamagedInstallError(name, f"it must hold {', '.join(need)}")
    return raw


@lru_cache(maxsize=None)
def read_toml(name: str) -> dict:
    try:
        return tomllib.loads(read_data_text(name))
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        raise DamagedInstallError(name, "not valid TOML") from None


def build(name: str, fn: Callable[[], T]) -> T:
    """Run `fn` (which builds objects from the shipped file `name`); malformed content is a damaged install."""
    try:
        return fn()
    except DamagedInstallError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as e:  # pydantic's ValidationError is a ValueError
        raise DamagedInstallError(name, f"invalid content: {type(e).__name__}") from None


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def lookup(kind: str, name: str, items: dict[str, Any], aliases: dict[str, str], also: str = "") -> Any:
    if not isinstance(name, str):
        raise UnknownIdError(kind, repr(name), sorted(items) + sorted(aliases), len(items), also)
    key = normalise(name)
    if key in items:
        return items[key]
    if key in aliases:
        return items[aliases[key]]
    raise UnknownIdError(kind, name, sorted(items) + sorted(aliases), len(items), also)
