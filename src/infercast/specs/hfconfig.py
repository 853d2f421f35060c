"""Build a ModelSpec from a local Hugging Face ``config.json`` (offline; nothing is downloaded).

Field mapping (transformers names -> ModelSpec):

* ``num_hidden_layers`` -> layers, ``hidden_size`` -> d_model, ``num_attention_heads`` -> heads,
  ``num_key_value_heads`` -> kv_heads (default: heads), ``head_dim`` -> head_dim (default hidden/heads),
  ``intermediate_size`` -> d_ff, ``vocab_size`` -> vocab, ``tie_word_embeddings`` -> tied_embeddings
  (default per model_type, as transformers does), ``max_position_embeddings`` -> max_context,
  ``torch_dtype``/``dtype`` (or ``quantization_config.quant_method`` fp8/mxfp4) -> dtype.
* Sliding window: ``layer_types`` (count of "sliding_attention") when present; otherwise
  mistral/mixtral/phi3: every layer when ``sliding_window`` is set; qwen2/qwen3: layers at or above
  ``max_window_layers`` when ``use_sliding_window``; gemma2: every other layer; gemma3: all but every
  ``sliding_window_pattern``-th layer.
* MoE: ``num_local_experts``/``num_experts``/``n_routed_experts``, ``num_experts_per_tok``,
  ``moe_intermediate_size`` (else ``intermediate_size``), ``n_shared_experts`` or
  ``shared_expert_intermediate_size``, ``first_k_dense_replace``, ``moe_layer_freq``/
  ``decoder_sparse_step``/``interleave_moe_layer_step``.
* MLA (deepseek_v2/v3): ``q_lora_rank``, ``kv_lora_rank``, ``qk_nope_head_dim``, ``qk_rope_head_dim``,
  ``v_head_dim``.

``published_params`` is set to the derived total (there is no published number in a config), and
``params_source`` says so.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infercast.errors import InfercastError
from infercast.specs.model import MLA, ModelSpec, MoE

# model_type -> (family, first release year, tie_word_embeddings default in transformers)
SUPPORTED: dict[str, tuple[str, int, bool]] = {
    "llama": ("llama", 2023, False),
    "llama4": ("llama-4", 2025, False),
    "llama4_text": ("llama-4", 2025, False),
    "mistral": ("mistral", 2023, False),
    "mixtral": ("mixtral", 2023, False),
    "qwen2": ("qwen2", 2024, False),
    "qwen2_moe": ("qwen2", 2024, False),
    "qwen3": ("qwen3", 2025, False),
    "qwen3_moe": ("qwen3", 2025, False),
    "deepseek_v2": ("deepseek", 2024, False),
    "deepseek_v3": ("deepseek", 2024, False),
    "gpt_oss": ("gpt-oss", 2025, False),
    "gemma": ("gemma", 2024, True),
    "gemma2": ("gemma", 2024, True),
    "gemma3": ("gemma", 2025, True),
    "gemma3_text": ("gemma", 2025, True),
    "phi3": ("phi", 2024, False),
}

# transformers' class defaults for fields that released configs of these types leave out
_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {"vocab_size": 262208, "max_position_embeddings": 131072, "sliding_window_pattern": 6},
    "gemma3": {"vocab_size": 262208, "max_position_embeddings": 131072, "sliding_window_pattern": 6},
}

_DTYPES = {"float32": "fp32", "float": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16",
           "float8_e4m3fn": "fp8"}
_QUANT = {"fp8": "fp8", "mxfp4": "fp4"}


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED))


def _load(path: str) -> tuple[dict[str, Any], Path]:
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise InfercastError(f"Hugging Face config not found: '{path}' (give the path to a config.json "
                             "or to the folder holding it)")
    try:
        raw = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise InfercastError(f"'{p}' is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise InfercastError(f"'{p}' must hold a JSON object (a Hugging Face config.json)")
    return raw, p


def _flatten(raw: dict[str, Any]) -> dict[str, Any]:
    """Multimodal configs (gemma3, llama4) nest the language model under ``text_config``."""
    text = raw.get("text_config")
    if not isinstance(text, dict):
        return raw
    cfg = dict(text)
    for k in ("torch_dtype", "dtype", "_name_or_path", "quantization_config", "tie_word_embeddings"):
        if k not in cfg and k in raw:
            cfg[k] = raw[k]
    if not cfg.get("model_type") or cfg.get("model_type") not in SUPPORTED:
        cfg["model_type"] = raw.get("model_type", cfg.get("model_type"))
    return cfg


class _Cfg:
    def __init__(self, cfg: dict[str, Any], path: Path, model_type: str):
        self.cfg, self.path, self.model_type = cfg, path, model_type

    def get(self, *names: str, default: Any = None) -> Any:
        for n in names:
            v = self.cfg.get(n)
            if v is not None:
                return v
        return default

    def need(self, *names: str) -> Any:
        v = self.get(*names)
        if v is None:
            alt = " or ".join(f"'{n}'" for n in names)
            raise InfercastError(
                f"{self.path}: missing required field {alt} for model_type '{self.model_type}' "
                f"(supported model types: {_supported_list()})")
        return v


def _dtype(c: _Cfg) -> str:
    q = c.get("quantization_config")
    if isinstance(q, dict):
        m = str(q.get("quant_method", "")).lower()
        if m in _QUANT:
            return _QUANT[m]
    d = c.get("torch_dtype", "dtype", default="bfloat16")
    return _DTYPES.get(str(d).replace("torch.", "").lower(), "bf16")


def _sliding(c: _Cfg, layers: int) -> tuple[int | None, int]:
    mt = c.model_type
    window = c.get("sliding_window")
    types = c.get("layer_types")
    if isinstance(types, list) and types:
        n = sum(1 for t in types if "sliding" in str(t))
        return (int(window), n) if n and window else (None, 0)
    if not window:
        return None, 0
    window = int(window)
    if mt in ("mistral", "mixtral", "phi3"):
        return window, layers
    if mt.startswith("qwen"):
        if not c.get("use_sliding_window", default=False):
            return None, 0
        first = int(c.get("max_window_layers", default=layers))
        return window, max(0, layers - first)
    if mt == "gemma2":  # even layers are local (transformers: `not bool(layer_idx % 2)`)
        return window, (layers + 1) // 2
    if mt in ("gemma3", "gemma3_text"):
        pattern = int(c.get("sliding_window_pattern", "_sliding_window_pattern", default=6))
        return window, layers - layers // pattern
    return None, 0


def _moe(c: _Cfg, layers: int) -> MoE | None:
    mt = c.model_type
    experts = c.get("num_local_experts", "num_experts", "n_routed_experts")
    if not experts or int(experts) <= 1:
        return None
    active = int(c.need("num_experts_per_tok", "experts_per_token", "num_experts_per_token"))
    if mt.startswith("llama4"):
        expert_ff = int(c.need("intermediate_size"))
    else:
        expert_ff = int(c.get("moe_intermediate_size", default=None) or c.need("intermediate_size"))
    shared, shared_ff = 0, None
    if c.get("n_shared_experts"):
        shared = int(c.get("n_shared_experts"))
    elif c.get("shared_expert_intermediate_size"):
        shared, shared_ff = 1, int(c.get("shared_expert_intermediate_size"))
    elif mt.startswith("llama4"):
        shared = 1  # every Llama-4 MoE block has one shared expert of intermediate_size
    dense = int(c.get("first_k_dense_replace", default=0))
    every = int(c.get("moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step", default=1))
    only_dense = c.get("mlp_only_layers", default=[])
    if only_dense and not dense:
        dense = len(only_dense)  # approximation: listed dense layers counted as leading dense layers
    return MoE(experts=int(experts), active=active, expert_d_ff=expert_ff, shared_experts=shared,
               shared_d_ff=shared_ff, dense_layers=min(dense, layers), moe_every=max(1, every))


def from_hf_config(path: str) -> ModelSpec:
    """A ModelSpec for a local Hugging Face ``config.json`` (or a folder holding one)."""
    raw, p = _load(path)
    return from_hf_dict(raw, str(p), default_name=p.parent.name)


def from_hf_dict(raw: dict[str, Any], where: str = "config.json", default_name: str = "uploaded-model") -> ModelSpec:
    """A ModelSpec from the parsed contents of a config.json; `where` names it in messages (no file is read)."""
    p = Path(where)
    cfg = _flatten(raw)
    mt = cfg.get("model_type")
    if not mt:
        raise InfercastError(f"{p}: no 'model_type' field; supported model types: {_supported_list()}")
    if mt not in SUPPORTED:
        raise InfercastError(f"{p}: unsupported model_type '{mt}'; supported model types: {_supported_list()}")
    family, year, tie_default = SUPPORTED[mt]
    cfg = {**_TYPE_DEFAULTS.get(mt, {}), **cfg}
    c = _Cfg(cfg, p, mt)

    layers = int(c.need("num_hidden_layers"))
    d = int(c.need("hidden_size"))
    heads = int(c.need("num_attention_heads"))
    kv = int(c.get("num_key_value_heads", default=heads))
    mla = None
    if mt.startswith("deepseek") and c.get("kv_lora_rank"):
        mla = MLA(q_lora_rank=c.get("q_lora_rank"), kv_lora_rank=int(c.need("kv_lora_rank")),
                  qk_nope_head_dim=int(c.need("qk_nope_head_dim")),
                  qk_rope_head_dim=int(c.need("qk_rope_head_dim")), v_head_dim=int(c.need("v_head_dim")))
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    else:
        head_dim = int(c.get("head_dim", default=None) or d // heads)
    vocab = int(c.need("vocab_size"))
    if mt.startswith("llama4"):
        d_ff = int(c.get("intermediate_size_mlp", default=None) or c.need("intermediate_size"))
    else:
        d_ff = int(c.need("intermediate_size"))
    moe = _moe(c, layers)
    window, n_sliding = _sliding(c, layers)

    bias = qkv_bias = False
    if mt == "gpt_oss":
        bias = bool(c.get("attention_bias", default=True))
    elif mt.startswith("qwen2"):
        qkv_bias = True  # Qwen2 projects q/k/v with bias (not configurable in transformers)
    elif c.get("attention_bias", default=False):
        qkv_bias = True  # o_proj bias (d_model weights) not counted

    name = str(raw.get("_name_or_path") or cfg.get("_name_or_path") or "").strip().rstrip("/")
    if not name:
        name = default_name
    model_id = name.split("/")[-1].lower().replace("_", "-").replace(" ", "-")

    spec = dict(
        id=model_id, name=name, family=family, year=year, layers=layers, d_model=d, heads=heads,
        kv_heads=kv, head_dim=head_dim, d_ff=d_ff, vocab=vocab, mlp="gated",
        tied_embeddings=bool(c.get("tie_word_embeddings", default=tie_default)),
        bias=bias, qkv_bias=qkv_bias, mla=mla, moe=moe, sliding_window=window, sliding_layers=n_sliding,
        max_context=int(c.get("max_position_embeddings", default=4096)), dtype=_dtype(c),
    )
    try:
        probe = ModelSpec(**spec, published_params=1.0, params_source="")
    except ValueError as e:
        raise InfercastError(f"{p}: config values do not describe a valid model: {e}") from None
    return ModelSpec(**spec, published_params=probe.total_params,
                     published_active_params=probe.active_params if moe else None,
                     params_source=f"derived from config.json at {p} (model_type {mt}); no published count",
                     notes=f"Loaded from a Hugging Face config.json (model_type {mt}); the year is that "
                           f"family's first release, not necessarily this checkpoint's.")
