"""Shared CLI helpers: one-line errors (exit 2), strict JSON output, options from the vocabulary, tables.

Every failure the user can cause ends in exit status 2 and one line on stderr naming the option as
its flag, the file and the place in it, and what to change:

* library errors (`InfercastError`) are rendered by `render`: the error's `field` becomes the flag of
  the current command's parameter of that name (``min_tps_user`` -> ``--min-tps-user``);
* usage errors (unknown option, missing value, a value of the wrong type) are one line, not a box;
* a value out of its range (NaN, infinity, negative, too large) is refused while the options are
  parsed, by the check attached to every numeric option (`opt`);
* standard output that is closed (a pipe whose reader left) or full (a full disk) ends the run
  with one line and exit 2, never a Python warning at exit.
"""
from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
from typing import Any, Callable

import numpy as np
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # recent typer carries its own copy of click
    from typer._click import core as _core, exceptions as _exc, globals as _globals
except ImportError:  # pragma: no cover - older typer runs on click itself
    import click.core as _core
    import click.exceptions as _exc
    import click.globals as _globals

from infercast.errors import InfercastError
from infercast.format import truncate
from infercast.vocabulary import FLAG_ALIASES, TERMS, Term, check_number, describe_range

console = Console()
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

PLOT_SUFFIXES = (".png", ".svg")
LONG_TOKEN = 120  # a word longer than this in a message is shortened (a 5,000-digit number, a pasted file)


# ---------------------------------------------------------------- JSON

def _default(o: Any):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    if hasattr(o, "as_dict"):
        return o.as_dict()
    if hasattr(o, "model_dump"):
        return o.model_dump()
    if isinstance(o, (set, tuple, frozenset)):
        return list(o)
    return str(o)


def dumps(obj: Any) -> str:
    """Strict JSON: a NaN or an infinity is a bug to fix where it is computed, so it raises here."""
    return json.dumps(obj, default=_default, indent=2, allow_nan=False)


def print_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")


# ---------------------------------------------------------------- one-line errors

def one_line(msg: str) -> str:
    """Whitespace collapsed to single spaces; very long words shortened."""
    msg = " ".join(str(msg).split())
    return re.sub(r"\S{%d,}" % (LONG_TOKEN + 1), lambda m: truncate(m.group(0), LONG_TOKEN), msg)


def _param_flag(ctx: _core.Context | None, field: str) -> str | None:
    """The flag (or argument name) of the current command's parameter called `field`, if it has one."""
    while ctx is not None:
        for p in ctx.command.params:
            if p.name == field or p.name == field + "_":
                if getattr(p, "param_type_name", "") == "option":
                    longs = [o for o in p.opts if o.startswith("--")]
                    return (longs or p.opts)[0]
                return (p.metavar or p.name or field).upper()
        ctx = ctx.parent
    return None


def render(e: InfercastError, ctx: _core.Context | None = None) -> str:
    """The message with its field shown as the command's flag: 'concurrency must be > 0' -> '--concurrency must be > 0'."""
    msg = one_line(e.message if isinstance(e, InfercastError) else str(e))
    field = getattr(e, "field", None)
    if field:
        ctx = ctx or _globals.get_current_context(silent=True)
        shown = _param_flag(ctx, field)
        if shown:
            if re.match(re.escape(field) + r"(:| must | is | has | cannot )", msg):
                msg = shown + msg[len(field):]
            elif shown not in msg:
                msg = f"{shown}: {msg}"
    return msg


def say_error(msg: str) -> None:
    """One line on stderr (never wrapped; safe when stderr is gone)."""
    try:
        err_console.print(f"[bold red]error:[/] {escape(one_line(msg))}", soft_wrap=True)
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After stdout failed, point it at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def stdout_problem(e: OSError) -> str:
    if e.errno == errno.EPIPE or isinstance(e, BrokenPipeError):
        return "standard output was closed before all output was written (the reading program stopped)"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "cannot write to standard output: the device is full; free some space or redirect elsewhere"
    return f"cannot write to standard output: {e.strerror or type(e).__name__}"


def _os_error(e: OSError) -> str:
    if getattr(e, "filename", None) is None and (isinstance(e, BrokenPipeError) or e.errno in (
            errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EBADF)):
        _silence_stdout()
        return stdout_problem(e)
    name = truncate(str(e.filename), 120) if getattr(e, "filename", None) is not None else "a file"
    return f"cannot use '{name}': {e.strerror or type(e).__name__}"


def _validation(e: ValidationError) -> str:
    first = e.errors()[0]
    loc = ".".join(str(x) for x in first.get("loc", ()))
    msg = str(first.get("msg", "")).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def user_errors(fn: Callable) -> Callable:
    """Turn the user's errors into one line on stderr and exit status 2; a bug says it is one (exit 1)."""

    @functools.wraps(fn)
    def wrapper(*a, **k):
        try:
            return fn(*a, **k)
        except InfercastError as e:
            say_error(render(e))
            raise typer.Exit(2) from None
        except ValidationError as e:
            say_error(_validation(e))
            raise typer.Exit(2) from None
        except OSError as e:
            say_error(_os_error(e))
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, _exc.ClickException):
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Exception as e:  # a bug: say so plainly; INFERCAST_DEBUG=1 shows the traceback
            if os.environ.get("INFERCAST_DEBUG"):
                raise
            say_error(f"internal error: {type(e).__name__}: {truncate(str(e), 300)}. This is a bug in infercast; "
                      "rerun with INFERCAST_DEBUG=1 for the traceback and report it.")
            raise typer.Exit(1) from None

    return wrapper


class OptionError(_exc.ClickException):
    """An option's value refused while parsing (already rendered with its flag)."""

    exit_code = 2


# ---------------------------------------------------------------- options from the vocabulary

def _checker(name: str, integer: bool | None, lim: dict):
    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any):
        if value is None:
            return None
        try:
            _capped(name, value)
            if isinstance(value, (list, tuple)):
                return [check_number(name, v, integer=isinstance(v, int) if integer is None else integer, **lim)
                        for v in value]
            return check_number(name, value, integer=isinstance(value, int) if integer is None else integer, **lim)
        except InfercastError as e:
            raise OptionError(render(e, ctx)) from None

    return check


MAX_REPEATS = 32  # values of one repeatable option (chips, precisions, models): each is a full evaluation


def _capped(name: str, values) -> None:
    if isinstance(values, (list, tuple)) and len(values) > MAX_REPEATS:
        raise InfercastError(f"{name}: at most {MAX_REPEATS} values, got {len(values)}", field=name)


def _check_engine(v: str) -> str:
    from infercast.engine.efficiency import get_engine

    get_engine(v)
    return v


def _check_precision(name: str):
    def check(v: str) -> str:
        from infercast.specs import precision as P

        return P.check(v, name)

    return check


# text options checked while parsing (so a typo is refused before any work, naming the flag)
TEXT_CHECKS: dict[str, Callable[[str], Any]] = {"engine": _check_engine, "weights": _check_precision("weights"),
                                                "kv": _check_precision("kv")}


def _text_checker(name: str):
    fn = TEXT_CHECKS[name]

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any):
        if value is None:
            return None
        try:
            _capped(name, value)
            if isinstance(value, (list, tuple)):
                return [fn(v) for v in value]
            return fn(value)
        except InfercastError as e:
            if e.field is None:
                e.field = name
            raise OptionError(render(e, ctx)) from None

    return check


def _list_checker(name: str):
    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any):
        try:
            _capped(name, value)
        except InfercastError as e:
            raise OptionError(render(e, ctx)) from None
        return value

    return check


def opt(name: str, default: Any = None, *flags: str, help: str | None = None, integer: bool | None = None,
        lo: float | None = None, hi: float | None = None, **kw) -> Any:
    """A typer.Option for a vocabulary term: its flag and short alias (unless `flags` are given), its help
    with unit and range, and a check of every value (NaN, infinities and values out of range are refused).
    `lo`/`hi` narrow the term's range for one command."""
    t = TERMS[name]
    lim = {k: v for k, v in (("lo", lo), ("hi", hi)) if v is not None}
    if lim:
        t = Term(t.name, t.help, t.unit, lim.get("lo", t.lo), lim.get("hi", t.hi), t.lo_open, t.short)
    decls = list(flags) or [t.flag] + ([f"-{t.short}"] if t.short else [])
    text = help or t.help
    ranged = t.lo is not None or t.hi is not None
    if ranged:
        text += f" ({describe_range(t, bool(integer) or isinstance(default, int) and not isinstance(default, bool))})"
    elif t.unit and t.unit not in text:
        text += f" ({t.unit})"
    cb = _checker(name, integer, lim) if ranged else _text_checker(name) if name in TEXT_CHECKS else _list_checker(name)
    return typer.Option(default, *decls, help=text, callback=cb, **kw)


# ---------------------------------------------------------------- custom chips

def _load_chip_files(ctx: typer.Context, param: typer.CallbackParam, value: Any):
    """--chip-file: each file read and validated; the chips are known by id for the rest of the command."""
    if not value:
        return []
    from infercast.specs.hardware import custom_chips, load_chip_file

    try:
        _capped("chip_file", value)
        chips = [load_chip_file(v) for v in value]
        ctx.with_resource(custom_chips(*chips))
    except InfercastError as e:
        if e.field is None:
            e.field = "chip_file"
        raise OptionError(render(e, ctx)) from None
    return chips


def chip_file_option() -> Any:
    """The --chip-file option (repeatable): custom accelerators usable by id wherever --chip is accepted."""
    t = TERMS["chip_file"]
    return typer.Option(None, t.flag, help=t.help + " (repeatable); its id is then usable with --chip",
                        callback=_load_chip_files)


def chips_given(chip, chip_files, default=None) -> list[str]:
    """The chips a command runs on: those given with --chip, else the chip files' ids, else `default`."""
    if chip:
        return list(chip) if isinstance(chip, (list, tuple)) else [chip]
    if chip_files:
        return [c.id for c in chip_files]
    if default is None:
        raise InfercastError("chip is required: give an accelerator id (see `infercast chips`) or a chip file "
                             "(--chip-file FILE)", field="chip")
    return list(default)


def one_chip(chip, chip_files) -> str:
    """The one chip of a single-chip command: --chip, else the only chip file's id."""
    if chip:
        return chip
    if chip_files and len(chip_files) == 1:
        return chip_files[0].id
    if chip_files:
        raise InfercastError(f"{len(chip_files)} chip files given; say which chip to use with its id (--chip ID)",
                             field="chip")
    return chips_given(None, None)[0]


# ---------------------------------------------------------------- the command group

def rewrite_aliases(group, args: list[str]) -> list[str]:
    """Older spellings of options (vocabulary.FLAG_ALIASES) -> the current flag, where the command has it."""
    cmd_i = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
    if cmd_i is None:
        return args
    cmd = group.commands.get(args[cmd_i])
    if cmd is None:
        return args
    known = {o for p in cmd.params for o in getattr(p, "opts", ()) + getattr(p, "secondary_opts", ())}
    out = list(args[:cmd_i + 1])
    rest = args[cmd_i + 1:]
    for i, a in enumerate(rest):
        if a == "--":
            out.extend(rest[i:])
            break
        head, eq, val = a.partition("=")
        new = FLAG_ALIASES.get(head)
        if new and head not in known and new in known:
            a = new + eq + val
        out.append(a)
    return out


def _finish_stdout(rc: int) -> int:
    """Flush stdout; if that fails (closed pipe, full device) say so in one line and return 2."""
    try:
        sys.stdout.flush()
    except OSError as e:
        _silence_stdout()
        say_error(stdout_problem(e))
        return 2
    except ValueError:  # stdout already closed by the caller
        return rc
    return rc


class InfercastGroup(TyperGroup):
    """The `infercast` command group: old option spellings accepted, usage errors on one line, stdout checked."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = rewrite_aliases(self, list(sys.argv[1:] if args is None else args))
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                              **extra)
            rc = rv if isinstance(rv, int) else 0
        except _exc.NoArgsIsHelpError as e:
            e.show()
            rc = 2
        except _exc.ClickException as e:
            msg = e.format_message()
            ctx = getattr(e, "ctx", None)
            if isinstance(e, _exc.UsageError) and not isinstance(e, OptionError) and ctx is not None:
                msg += f" (see `{ctx.command_path} --help`)"
            say_error(msg)
            rc = 2
        except InfercastError as e:  # raised while parsing (a callback)
            say_error(render(e))
            rc = 2
        except typer.Abort:
            say_error("aborted")
            rc = 130
        except OSError as e:
            say_error(_os_error(e))
            rc = 2
        rc = _finish_stdout(rc)
        if standalone_mode:
            sys.exit(rc)
        return rc


def si(x: float, unit: str = "", digits: int = 3) -> str:
    """A quantity for a person, through the one formatter (`infercast.format.num`): 7,480 / 12.3k / 4.56M."""
    from infercast.format import num

    return num(x, unit, digits)
