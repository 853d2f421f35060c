"""User-facing errors: every one says which input was wrong, what it was, and what to change.

An error carries the *field* it is about, named in the one vocabulary shared by the Python API,
the CLI and the web app (`infercast.vocabulary`). The library never writes CLI flags into a
message; the CLI renders `field` as its flag (``--tp``), the web app as the form field (``tp``).

A message names its subject in the vocabulary's terms ("concurrency must be > 0, got nan"); the CLI
shows it as "--concurrency must be > 0, got nan". When the problem is inside a file given through
an input (a config.json given as `model`, a CSV given as `data`), `field` is that input and the
message names the file and the place in it in the file's own terms ("'cfg/config.json':
num_hidden_layers must be a whole number >= 1, got -3"), so the user sees which option, which file,
which field and what to change.
"""
from __future__ import annotations

import difflib


class InfercastError(ValueError):
    """A problem with the user's input. The CLI prints it on one line (exit 2); the web app answers 4xx.

    field: the input it is about, in the shared vocabulary (``tp``, ``input_len``, ``chip`` ...;
    for a problem inside a file, the input that named the file: ``model``, ``data``, ``profile``);
    None when no single input is to blame.
    value: the offending value, when useful to echo (long values are truncated when shown).
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value

    def __str__(self) -> str:  # the message alone; interfaces add the field in their own terms
        return self.message


class UnknownIdError(InfercastError):
    def __init__(self, kind: str, name: str, known: list[str], n_items: int | None = None, also: str = ""):
        from infercast.format import truncate

        close = difflib.get_close_matches(str(name).lower()[:200], known, n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(
            f"unknown {kind} '{truncate(name, 60)}'.{hint} Run `infercast {kind}s` to list all "
            f"{n_items or len(known)} known {kind}s{also}.", field=kind, value=name)
        self.kind, self.name, self.suggestions = kind, name, close


class DoesNotFitError(InfercastError):
    """The model (or the requested batch) does not fit in the accelerators' memory."""


class DamagedInstallError(InfercastError):
    """A data file shipped with the package is missing, unreadable or invalid: reinstall."""

    def __init__(self, name: str, why: str = ""):
        detail = f" ({why})" if why else ""
        super().__init__(f"infercast's data file {name} is damaged{detail}; reinstall infercast "
                         "(pip install --force-reinstall infercast)")
        self.name = name
