"""User-facing errors: every one says which input was wrong, what it was, and what to change.

An error carries the *field* it is about, named in the one vocabulary shared by the Python API,
the CLI and the web app (`infercast.vocabulary`). The library never writes CLI flags into a
message; the CLI renders `field` as its flag (``--tp``), the web app as the form field (``tp``).
"""
from __future__ import annotations

import difflib


class InfercastError(ValueError):
    """A problem with the user's input. The CLI prints it on one line (exit 2); the web app answers 4xx.

    field: the input it is about, in the shared vocabulary (``tp``, ``input_len``, ``chip`` ...),
    or a file field (``config.json: num_hidden_layers``); None when no single input is to blame.
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
    def __init__(self, kind: str, name: str, known: list[str], n_items: int | None = None):
        close = difflib.get_close_matches(str(name).lower(), known, n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        shown = name if len(str(name)) <= 60 else str(name)[:57] + "..."
        super().__init__(
            f"unknown {kind} '{shown}'.{hint} Run `infercast {kind}s` to list all "
            f"{n_items or len(known)} known {kind}s.", field=kind, value=name)
        self.kind, self.name, self.suggestions = kind, name, close


class DoesNotFitError(InfercastError):
    """The model (or the requested batch) does not fit in the accelerators' memory."""


class DamagedInstallError(InfercastError):
    """A data file shipped with the package is missing or unreadable: reinstall."""
