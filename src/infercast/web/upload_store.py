"""Uploaded Hugging Face configs: parsed in memory, never written anywhere, kept in a small LRU.

An upload is bytes: decoded as UTF-8, parsed by `json.loads` (no NaN/Infinity, nesting depth capped)
and handed to `hfconfig.from_hf_dict`, which builds the ModelSpec without touching the filesystem.
No path or folder name is ever derived from the content or the file name; the model's id and name
are sanitised for display. Specs live in this server's memory only, the most recent `capacity` of
them, under a token derived from their content.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from infercast.errors import InfercastError
from infercast.specs.hfconfig import from_hf_dict
from infercast.specs.model import ModelSpec
from infercast.web.errors import WebInputError

T = TypeVar("T")
MAX_UPLOAD_BYTES = 1_000_000
MAX_JSON_DEPTH = 32  # released configs nest 3 deep (text_config.rope_scaling.*)
MAX_UPLOADS = 32
MAX_PARAMS = 1e15  # parameters: 500x the largest model ever described

# ModelSpec field -> (config.json field, largest value accepted: >= 10x any released model's)
_LIMITS: dict[str, tuple[str, int]] = {
    "layers": ("num_hidden_layers", 10_000), "d_model": ("hidden_size", 1_000_000),
    "heads": ("num_attention_heads", 100_000), "kv_heads": ("num_key_value_heads", 100_000),
    "head_dim": ("head_dim", 100_000), "d_ff": ("intermediate_size", 10_000_000),
    "vocab": ("vocab_size", 100_000_000), "max_context": ("max_position_embeddings", 1_000_000_000),
    "sliding_window": ("sliding_window", 1_000_000_000),
}
_MOE_LIMITS: dict[str, tuple[str, int]] = {
    "experts": ("num_local_experts", 100_000), "active": ("num_experts_per_tok", 100_000),
    "expert_d_ff": ("moe_intermediate_size", 10_000_000), "shared_experts": ("n_shared_experts", 100_000),
    "shared_d_ff": ("shared_expert_intermediate_size", 10_000_000), "moe_every": ("moe_layer_freq", 10_000),
}
_MLA_LIMITS: dict[str, tuple[str, int]] = {
    "q_lora_rank": ("q_lora_rank", 1_000_000), "kv_lora_rank": ("kv_lora_rank", 1_000_000),
    "qk_nope_head_dim": ("qk_nope_head_dim", 100_000), "qk_rope_head_dim": ("qk_rope_head_dim", 100_000),
    "v_head_dim": ("v_head_dim", 100_000),
}


def _fail(shown: str, what: str) -> WebInputError:
    return WebInputError(f"uploaded '{shown}': {what}", "file", 400)


def display_name(filename: str | None, default: str = "config.json") -> str:
    """The uploaded file's base name for messages: printable ASCII, at most 60 characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip() or default
    return base if len(base) <= 60 else base[:57] + "..."


def _label(text: str | None, max_len: int = 64) -> str:
    """An id: lower-case letters, digits, '.', '_' and '-' only."""
    s = re.sub(r"[^a-z0-9._-]+", "-", (text or "").lower()).strip(".-_")
    return s[:max_len].strip(".-_")


def _printable(text: str, max_len: int = 120) -> str:
    s = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text).strip()
    return s if len(s) <= max_len else s[: max_len - 3] + "..."


def _depth(o: object) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(o, 1)]
    while stack:
        x, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(x, dict):
            stack.extend((v, d + 1) for v in x.values())
        elif isinstance(x, list):
            stack.extend((v, d + 1) for v in x)
    return deepest


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(data: bytes, shown: str) -> dict:
    if len(data) > MAX_UPLOAD_BYTES:
        raise WebInputError(f"uploaded '{shown}' is larger than {MAX_UPLOAD_BYTES // 1000} kB; a Hugging Face "
                            "config.json is a few kB", "file", 413)
    if not data.strip():
        raise _fail(shown, "the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(shown, "not UTF-8 text (a config.json is JSON)") from None
    try:
        raw = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        raise _fail(shown, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise _fail(shown, f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as e:  # NaN/Infinity, or an integer of thousands of digits
        raise _fail(shown, f"not a config.json this app reads ({str(e)[:80]})") from None
    if not isinstance(raw, dict):
        raise _fail(shown, "must hold a JSON object (a Hugging Face config.json)")
    if _depth(raw) > MAX_JSON_DEPTH:
        raise _fail(shown, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return raw


def _check_plausible(spec: ModelSpec, shown: str) -> None:
    """Reject configs whose numbers describe no buildable model (and would overflow the arithmetic)."""
    groups = [(spec, _LIMITS)]
    if spec.moe:
        groups.append((spec.moe, _MOE_LIMITS))
    if spec.mla:
        groups.append((spec.mla, _MLA_LIMITS))
    for obj, limits in groups:
        for attr, (hf, hi) in limits.items():
            v = getattr(obj, attr, None)
            if v is not None and not 1 <= v <= hi:
                raise WebInputError(f"uploaded '{shown}': {hf} must be between 1 and {hi:,}, got {v}",
                                    "file", 400)
    try:
        total, kv = spec.total_params, spec.kv_bytes_per_token()
    except (ArithmeticError, ValueError):
        total = kv = math.inf
    if not (math.isfinite(total) and 0 < total <= MAX_PARAMS and math.isfinite(kv) and kv > 0):
        raise _fail(shown, f"the fields describe {total:.3g} parameters; at most {MAX_PARAMS:.0e} are accepted")


def parse_upload(data: bytes, filename: str | None, label: str | None = None) -> ModelSpec:
    """A ModelSpec from uploaded config.json bytes; WebInputError (400/413, field 'file') when unusable."""
    shown = display_name(filename)
    raw = parse_json(data, shown)
    mt = raw.get("model_type")
    fallback = _label(label) or _label(shown.rsplit(".", 1)[0] if shown != "config.json" else "") or (
        f"{_label(mt)}-upload" if isinstance(mt, str) and _label(mt) else "uploaded-model")
    try:
        spec = from_hf_dict(raw, f"uploaded '{shown}'", default_name=fallback)
    except InfercastError as e:
        raise WebInputError(str(e), "file", 400) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError, RecursionError) as e:
        # hfconfig read a field of the wrong type (a list, a string, null): say which kind of problem
        raise _fail(shown, f"a field has a value of the wrong type or range ({type(e).__name__}: "
                           f"{_printable(str(e), 100)})") from None
    _check_plausible(spec, shown)
    model_id = _label(spec.id) or fallback
    return spec.model_copy(update={"id": model_id, "name": _printable(spec.name) or model_id, "aliases": []})


class UploadStore(Generic[T]):
    """The most recent `capacity` uploads (model specs, or chips), by a token derived from their bytes
    (thread-safe). `prefix` starts every token: 'upload-' for models, 'chip-' for chips."""

    def __init__(self, capacity: int = MAX_UPLOADS, prefix: str = "upload-"):
        self.capacity, self.prefix = capacity, prefix
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def token_for(self, data: bytes, label: str | None = None) -> str:
        return self.prefix + hashlib.sha256(data + b"\0" + (label or "").encode("utf-8", "replace")).hexdigest()[:16]

    def get(self, token: str) -> T | None:
        with self._lock:
            spec = self._items.get(token)
            if spec is not None:
                self._items.move_to_end(token)
            return spec

    def put(self, token: str, spec: T) -> None:
        with self._lock:
            self._items[token] = spec
            self._items.move_to_end(token)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def items(self) -> list[tuple[str, T]]:
        with self._lock:
            return list(self._items.items())

    def __len__(self) -> int:
        return len(self._items)
