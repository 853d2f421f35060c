"""The user's files: read with limits and clear errors, written atomically.

Reading: a file given through an input (`model`, `data`, `profile`, `scenario`, `fleet`) must exist,
be a regular file of at most `MAX_READ_BYTES`, and be UTF-8 text; JSON and TOML must parse, hold no
NaN/Infinity and nest at most `MAX_DEPTH` levels. Each failure is an `InfercastError` naming the input
(`field`) and the file.

Writing: `write_atomic(path, data, field=...)` writes a temporary file in the destination's folder
and renames it over the destination (`os.replace`, atomic on POSIX), so a failed or interrupted
run never leaves a truncated file; an unwritable path, a folder given for a file or a full disk is
an `InfercastError` naming the input.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Callable

from infercast.errors import InfercastError
from infercast.format import truncate

MAX_READ_BYTES = 64 * 2 ** 20  # the largest input file read (a config.json is a few kB, the measured CSV ~1 MB)
MAX_DEPTH = 64  # JSON/TOML nesting; real configs nest 3-4 levels


def shown(path) -> str:
    """A path as echoed in a message: quoted, control characters replaced, long ones shortened."""
    return f"'{truncate(str(path), 120)}'"


def why(e: OSError) -> str:
    hints = {errno.ENOSPC: "the disk is full; free some space or write elsewhere",
             errno.EDQUOT: "the disk quota is used up; free some space or write elsewhere",
             errno.EACCES: "permission denied; choose a path you can write",
             errno.EPERM: "permission denied; choose a path you can write",
             errno.EROFS: "the file system is read-only; choose another place",
             errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.EISDIR: "it is a folder; give a file name",
             errno.ENAMETOOLONG: "the name is too long",
             errno.ENOENT: "no such file or folder, or a file cannot be created there"}
    return hints.get(e.errno, e.strerror or type(e).__name__)


# ---------------------------------------------------------------- reading

def read_bytes(path, *, field: str | None, what: str = "file") -> bytes:
    p = Path(path)
    try:
        if not p.exists():
            raise InfercastError(f"no such {what} {shown(path)}", field=field, value=str(path))
        if p.is_dir():
            raise InfercastError(f"{shown(path)} is a folder, not a {what}", field=field, value=str(path))
        if not p.is_file():
            raise InfercastError(f"{shown(path)} is not a regular file", field=field, value=str(path))
        size = p.stat().st_size
        if size > MAX_READ_BYTES:
            raise InfercastError(f"{shown(path)} is {size / 2 ** 20:,.0f} MiB; a {what} may be at most "
                                 f"{MAX_READ_BYTES // 2 ** 20} MiB", field=field, value=str(path))
        with p.open("rb") as fh:
            data = fh.read(MAX_READ_BYTES + 1)
    except InfercastError:
        raise
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        reason = why(e) if isinstance(e, OSError) else "not a usable path"
        raise InfercastError(f"cannot read {shown(path)}: {reason}", field=field, value=str(path)) from None
    if len(data) > MAX_READ_BYTES:
        raise InfercastError(f"{shown(path)} is larger than {MAX_READ_BYTES // 2 ** 20} MiB", field=field)
    return data


def read_text(path, *, field: str | None, what: str = "file") -> str:
    """A UTF-8 text file (a byte-order mark is allowed)."""
    data = read_bytes(path, field=field, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InfercastError(f"{shown(path)} is not UTF-8 text (invalid byte at offset {e.start}); "
                             "save it as UTF-8", field=field, value=str(path)) from None


def _depth(obj: Any, limit: int) -> int:
    """Nesting depth of lists/dicts, stopping once past `limit`."""
    stack = [(obj, 1)]
    deepest = 0
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            items = o.values()
        elif isinstance(o, list):
            items = o
        else:
            continue
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        stack.extend((x, d + 1) for x in items)
    return deepest


def _value_problem(e: ValueError) -> str:
    msg = str(e)
    if "digits" in msg and "integer" in msg:
        return "it holds a number with thousands of digits; write the real value"
    return truncate(msg, 100)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(text: str, where: str, *, field: str | None) -> Any:
    """Strict JSON: no NaN/Infinity, numbers of sane size, nesting at most MAX_DEPTH."""
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise InfercastError(f"{where} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
                             field=field) from None
    except RecursionError:
        raise InfercastError(f"{where} nests too deeply (at most {MAX_DEPTH} levels)", field=field) from None
    except ValueError as e:  # NaN/Infinity, or an integer of thousands of digits
        raise InfercastError(f"{where} is not valid JSON: {_value_problem(e)}", field=field) from None
    if _depth(obj, MAX_DEPTH) > MAX_DEPTH:
        raise InfercastError(f"{where} nests too deeply (at most {MAX_DEPTH} levels)", field=field)
    return obj


def parse_toml(text: str, where: str, *, field: str | None) -> dict:
    try:
        obj = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InfercastError(f"{where} is not valid TOML: {truncate(str(e), 160)}", field=field) from None
    except RecursionError:
        raise InfercastError(f"{where} nests too deeply (at most {MAX_DEPTH} levels)", field=field) from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise InfercastError(f"{where} is not valid TOML: {_value_problem(e)}", field=field) from None
    if _depth(obj, MAX_DEPTH) > MAX_DEPTH:
        raise InfercastError(f"{where} nests too deeply (at most {MAX_DEPTH} levels)", field=field)
    return obj


def read_json(path, *, field: str | None, what: str = "JSON file") -> Any:
    return parse_json(read_text(path, field=field, what=what), shown(path), field=field)


def read_toml(path, *, field: str | None, what: str = "TOML file") -> dict:
    return parse_toml(read_text(path, field=field, what=what), shown(path), field=field)


# ---------------------------------------------------------------- writing

def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def check_writable_folder(path, *, field: str | None) -> Path:
    """Create the folder `path` if needed and make sure files can be written in it."""
    p = Path(path)
    try:
        if p.exists() and not p.is_dir():
            raise InfercastError(f"{shown(path)} is a file; give a folder", field=field, value=str(path))
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".infercast-probe-")
        os.close(fd)
        os.unlink(probe)
    except InfercastError:
        raise
    except (OSError, ValueError) as e:
        reason = why(e) if isinstance(e, OSError) else "not a usable path"
        raise InfercastError(f"cannot write in {shown(path)}: {reason}", field=field, value=str(path)) from None
    return p


def _regular_or_absent(p: Path, path, field: str | None) -> None:
    """Never replace a device, pipe or socket (/dev/null, /dev/full) with a regular file."""
    if (p.exists() or p.is_symlink()) and not p.is_file():
        raise InfercastError(f"{shown(path)} is not a regular file (a device, pipe or socket); give a file name",
                             field=field, value=str(path))


def check_output_file(path, *, field: str | None, suffixes: tuple[str, ...] | None = None) -> Path:
    """Before any work: refuse an output path that cannot be written (wrong suffix, a folder, a parent
    that is a file, a folder without write permission). Creates nothing."""
    p = Path(path)
    try:
        if not p.name or p.is_dir():
            raise InfercastError(f"{shown(path)} is a folder; give a file name", field=field, value=str(path))
        if suffixes and p.suffix.lower() not in suffixes:
            raise InfercastError(f"{shown(path)}: use a file name ending in {' or '.join(suffixes)}", field=field,
                                 value=str(path))
        _regular_or_absent(p, path, field)
        anc = p.parent
        while not anc.exists() and anc != anc.parent:
            anc = anc.parent
        if not anc.is_dir():
            raise InfercastError(f"cannot write {shown(path)}: {shown(anc)} is a file, not a folder", field=field,
                                 value=str(path))
        if not os.access(anc, os.W_OK | os.X_OK):
            raise InfercastError(f"cannot write {shown(path)}: permission denied in {shown(anc)}; choose a path "
                                 "you can write", field=field, value=str(path))
        if p.exists() and not os.access(p, os.W_OK) and not os.access(p.parent, os.W_OK):
            raise InfercastError(f"cannot write {shown(path)}: permission denied", field=field, value=str(path))
    except InfercastError:
        raise
    except (OSError, ValueError) as e:
        reason = why(e) if isinstance(e, OSError) else "not a usable path"
        raise InfercastError(f"cannot write {shown(path)}: {reason}", field=field, value=str(path)) from None
    return p


def write_atomic(path, data: str | bytes | Callable[[Path], Any], *, field: str | None,
                 suffixes: tuple[str, ...] | None = None) -> Path:
    """Write `data` (text, bytes, or a callback that writes the file at the temporary path it is given)
    to `path` through a temporary file in the same folder and a rename: the destination is either
    untouched or complete. `suffixes`: the file name must end in one of these (e.g. ('.png', '.svg')).
    """
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise InfercastError(f"{shown(path)}: use a file name ending in {' or '.join(suffixes)}", field=field,
                             value=str(path))
    tmp: str | None = None
    try:
        if p.is_dir():
            raise InfercastError(f"{shown(path)} is a folder; give a file name", field=field, value=str(path))
        _regular_or_absent(p, path, field)
        folder = p.parent
        if folder.exists() and not folder.is_dir():
            raise InfercastError(f"cannot write {shown(path)}: {shown(folder)} is a file, not a folder",
                                 field=field, value=str(path))
        folder.mkdir(parents=True, exist_ok=True)
        # the temporary name keeps the suffix, so writers that infer the format from it (savefig) still do
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name[:40]}.", suffix=".tmp" + p.suffix)
        if callable(data):
            os.close(fd)
            data(Path(tmp))
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; a written file gets the usual mode
        os.replace(tmp, p)
        tmp = None
        return p
    except InfercastError:
        raise
    except OSError as e:
        raise InfercastError(f"cannot write {shown(path)}: {why(e)}", field=field, value=str(path)) from None
    except ValueError as e:  # a NUL byte in the path (a writer's own ValueError is a bug and propagates)
        if "null" not in str(e).lower() and "embedded" not in str(e).lower():
            raise
        raise InfercastError(f"cannot write {shown(path)}: not a usable path", field=field,
                             value=str(path)) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


__all__ = ["read_bytes", "read_text", "read_json", "read_toml", "parse_json", "parse_toml", "write_atomic",
           "check_writable_folder", "check_output_file", "shown", "MAX_READ_BYTES", "MAX_DEPTH"]
