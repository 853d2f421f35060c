"""User-facing errors: every one says what was wrong and what to change."""
from __future__ import annotations

import difflib


class InfercastError(ValueError):
    """A problem with the user's input. The CLI prints it without a traceback (exit 2)."""


class UnknownIdError(InfercastError):
    def __init__(self, kind: str, name: str, known: list[str], n_items: int | None = None):
        close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(
            f"unknown {kind} '{name}'.{hint} Run `infercast {kind}s` to list all "
            f"{n_items or len(known)} known {kind}s."
        )
        self.kind, self.name, self.suggestions = kind, name, close


class DoesNotFitError(InfercastError):
    """The model (or the requested batch) does not fit in the accelerators' memory."""
