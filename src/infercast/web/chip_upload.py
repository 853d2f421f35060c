"""Uploaded chip files: parsed in memory, never written anywhere, kept in a small LRU (web.upload_store).

A chip file is the CLI's `--chip-file` (TOML or JSON with the fields of a catalog entry). The upload is
bytes: decoded as UTF-8, parsed by `infercast.files.parse_toml`/`parse_json` (text in, no file I/O: no
NaN/Infinity in JSON, nesting capped) and validated by `specs.hardware.parse_chip` (the catalog's model plus
limits that keep every computation finite; an id of the catalog is refused). Nothing is read or written at
a path; the file name only chooses TOML or JSON and is shown, sanitised, in messages. The chip is then
used by its server-generated token (`chip-` and 16 hex digits), as uploaded models are.
"""
from __future__ import annotations

from infercast.errors import InfercastError
from infercast.files import parse_json, parse_toml
from infercast.specs.hardware import Chip, ChipFileError, parse_chip
from infercast.web.errors import WebInputError
from infercast.web.upload_store import display_name

MAX_CHIP_BYTES = 64_000  # a chip file is well under 2 kB; the catalog's longest entry is ~1.5 kB of JSON
TOKEN_PREFIX = "chip-"


def _fail(message: str, status: int = 400, problems: list[tuple[str, str]] | None = None) -> WebInputError:
    """A 4xx naming the form field `file`; `errors` points at each field of the chip file to change."""
    extra = {"errors": [{"loc": ["file", f] if f else ["file"], "msg": m} for f, m in problems[:20]]} if problems else None
    return WebInputError(message, "file", status, extra=extra)


def parse_chip_upload(data: bytes, filename: str | None) -> Chip:
    """A Chip from uploaded chip-file bytes; WebInputError (400/413, field 'file') when unusable."""
    shown = display_name(filename, "chip-file")
    where = f"uploaded '{shown}'"
    if len(data) > MAX_CHIP_BYTES:
        raise _fail(f"{where} is larger than {MAX_CHIP_BYTES // 1000} kB; a chip file is a few hundred bytes", 413)
    if not data.strip():
        raise _fail(f"{where}: the file is empty; give the chip's fields (see `infercast chips --json` for the "
                    "catalog's entries)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _fail(f"{where} is not UTF-8 text (invalid byte at offset {e.start}); save it as UTF-8") from None
    suffix = shown.lower().rsplit(".", 1)[-1] if "." in shown else ""
    as_json = suffix == "json" or (suffix != "toml" and text.lstrip().startswith(("{", "[")))
    try:
        raw = parse_json(text, where, field="chip_file") if as_json else parse_toml(text, where, field="chip_file")
        return parse_chip(raw, where)
    except ChipFileError as e:
        raise _fail(str(e), 400, e.problems) from None
    except InfercastError as e:  # the file as a whole: not TOML/JSON, too deep, NaN
        raise _fail(str(e)) from None
