"""Speculative decoding: a drafter proposes k tokens, one verify step of the target checks them all.

A verify step processes k + 1 tokens per sequence (the last accepted token and k drafts) and emits
the accepted prefix plus one token of its own. With the first draft accepted with probability a1
and each later one (given the earlier ones) with probability a, the mean tokens per step is
1 + a1 (1 - a^k) / (1 - a) [Leviathan et al. 2023, geometric acceptance; first position separate
because MTP heads are trained for it]. Defaults per method, with their sources: data/speculative.json.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from infercast.errors import InfercastError
from infercast.specs.store import read_json

METHODS = ("mtp", "eagle", "eagle3", "draft", "ngram")
ALIASES = {"deepseek_mtp": "mtp", "nextn": "mtp", "eagle-3": "eagle3", "eagle2": "eagle", "eagle-2": "eagle",
           "draft_model": "draft", "draft-model": "draft", "lookahead": "ngram", "prompt-lookup": "ngram"}


@lru_cache(maxsize=1)
def _defaults() -> dict:
    return read_json("speculative.json")["methods"]


@dataclass(frozen=True)
class Speculation:
    method: str
    tokens: int  # k drafted tokens per verify step
    first_acceptance: float
    later_acceptance: float
    draft_model: str | None = None  # a catalog id, for method 'draft'
    source: str = ""
    accepted_override: float | None = None  # a measured mean tokens per step, when stated

    @property
    def tokens_per_step(self) -> float:
        """Mean tokens emitted per verify step (>= 1, <= k + 1)."""
        if self.accepted_override is not None:
            return self.accepted_override
        a1, a, k = self.first_acceptance, self.later_acceptance, self.tokens
        if k <= 0:
            return 1.0
        tail = k if a >= 1.0 else (1.0 - a ** k) / (1.0 - a)
        return 1.0 + a1 * tail

    def describe(self) -> str:
        how = (f"{self.tokens_per_step:.2f} tokens per verify step" + (" (measured)" if self.accepted_override else
               f" (acceptance {self.first_acceptance:g} then {self.later_acceptance:g})"))
        return f"speculative decoding: {self.method}, {self.tokens} drafted tokens, {how}"


def speculation(method: str | None, tokens: int | None = None, acceptance: float | None = None,
                accepted: float | None = None, draft_model: str | None = None) -> Speculation | None:
    """A speculation setting: the method's sourced defaults, overridden by what is given.

    acceptance: per-token acceptance (first and later positions alike); accepted: a measured mean
    number of tokens per verify step (the bonus token included), which wins over both.
    """
    if not method:
        return None
    m = str(method).strip().lower()
    m = ALIASES.get(m, m)
    if m not in METHODS:
        raise InfercastError(f"unknown speculative method '{str(method)[:30]}'; use one of {', '.join(METHODS)}",
                             field="spec_method", value=method)
    d = _defaults()[m]
    k = int(tokens) if tokens is not None else int(d["tokens"])
    if not 1 <= k <= 16:
        raise InfercastError(f"spec_tokens must be 1..16 drafted tokens, got {tokens}", field="spec_tokens")
    a1 = a = None
    if acceptance is not None:
        if not 0.0 <= float(acceptance) <= 1.0:
            raise InfercastError(f"spec_acceptance must be a probability in [0, 1], got {acceptance}",
                                 field="spec_acceptance")
        a1 = a = float(acceptance)
    if accepted is not None and not 1.0 <= float(accepted) <= k + 1:
        raise InfercastError(f"spec_accept (mean tokens per verify step) must be in [1, {k + 1}] for {k} drafted "
                             f"tokens, got {accepted}", field="spec_accept")
    if m == "draft" and not draft_model:
        raise InfercastError("draft-model speculation needs the draft model's id (spec_draft)", field="spec_draft")
    return Speculation(method=m, tokens=k, first_acceptance=d["first_acceptance"] if a1 is None else a1,
                       later_acceptance=d["later_acceptance"] if a is None else a, draft_model=draft_model,
                       source=d["source"], accepted_override=None if accepted is None else float(accepted))
