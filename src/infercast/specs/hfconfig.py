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
* MLA (any type with ``kv_lora_rank``: deepseek_v2/v3/v32, kimi_k2, glm_moe_dsa): ``q_lora_rank``,
  ``kv_lora_rank``, ``qk_nope_head_dim``, ``qk_rope_head_dim``, ``v_head_dim``.
* DeepSeek sparse attention (deepseek_v32, glm_moe_dsa): ``index_n_heads``, ``index_head_dim``, ``index_topk``.

``published_params`` is set to the derived total (there is no published number in a config), and
``params_source`` says so.

Every field read is checked (a whole number in a stated range, a true/false flag, a list), and a
bad one is an `InfercastError` about the input ``model`` naming the file and the field in
transformers' terms (``num_hidden_layers``), never a traceback. A model is found as a config.json, a
folder holding one, or a hub id ("org/name") in the local Hugging Face cache (offline; nothing is
downloaded).
"""
from __future__ import annotations

import importlib.util
import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from infercast.errors import InfercastError
from infercast.files import read_json, shown
from infercast.specs import precision as P
from infercast.specs.model import DSA, GDN, MLA, ModelSpec, MoE
from infercast.vocabulary import check_number

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
    "qwen3_next": ("qwen3", 2025, False),
    "qwen3_vl": ("qwen3", 2025, False),  # the language model of Qwen3-VL (its text_config); the vision tower is not
    "qwen3_vl_text": ("qwen3", 2025, False),
    "qwen3_vl_moe": ("qwen3", 2025, False),
    "qwen3_vl_moe_text": ("qwen3", 2025, False),
    "qwen3_5": ("qwen3.5", 2026, False),
    "qwen3_5_text": ("qwen3.5", 2026, False),
    "qwen3_5_moe": ("qwen3.5", 2026, False),
    "qwen3_5_moe_text": ("qwen3.5", 2026, False),
    "deepseek_v2": ("deepseek", 2024, False),
    "deepseek_v3": ("deepseek", 2024, False),
    "deepseek_v32": ("deepseek", 2025, False),
    "kimi_k2": ("kimi", 2025, False),
    "glm_moe_dsa": ("glm", 2026, False),
    "minimax_m2": ("minimax-m2", 2025, False),
    "step3p7": ("step", 2026, False),
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

# ranges accepted for each field: far beyond any released model, small enough that every derived
# number (parameters, bytes, FLOPs) stays finite
BIG = 1_000_000
LIMITS: dict[str, tuple[int, int]] = {
    "num_hidden_layers": (1, 10_000), "hidden_size": (1, BIG), "num_attention_heads": (1, 100_000),
    "num_key_value_heads": (1, 100_000), "head_dim": (1, 100_000), "intermediate_size": (1, 10 * BIG),
    "intermediate_size_mlp": (1, 10 * BIG), "moe_intermediate_size": (1, 10 * BIG),
    "shared_expert_intermediate_size": (0, 10 * BIG), "vocab_size": (1, 100 * BIG),
    "max_position_embeddings": (1, 1000 * BIG), "sliding_window": (1, 1000 * BIG),
    "max_window_layers": (0, 10 * BIG), "sliding_window_pattern": (1, 10_000), "_sliding_window_pattern": (1, 10_000),
    "num_local_experts": (0, BIG), "num_experts": (0, BIG), "n_routed_experts": (0, BIG),
    "num_experts_per_tok": (1, BIG), "experts_per_token": (1, BIG), "num_experts_per_token": (1, BIG),
    "n_shared_experts": (0, 10_000), "first_k_dense_replace": (0, 10_000), "moe_layer_freq": (1, 10_000),
    "decoder_sparse_step": (1, 10_000), "interleave_moe_layer_step": (1, 10_000),
    "q_lora_rank": (1, BIG), "kv_lora_rank": (1, BIG), "qk_nope_head_dim": (1, 100_000),
    "qk_rope_head_dim": (1, 100_000), "v_head_dim": (1, 100_000),
    "index_n_heads": (1, 100_000), "index_head_dim": (1, 100_000), "index_topk": (1, 1000 * BIG),
    "linear_num_key_heads": (1, 100_000), "linear_num_value_heads": (1, 100_000), "linear_key_head_dim": (1, 100_000),
    "linear_value_head_dim": (1, 100_000), "linear_conv_kernel_dim": (1, 1_000), "full_attention_interval": (1, 10_000),
}
_STATE_BYTES = {"float32": 4.0, "float": 4.0, "bfloat16": 2.0, "float16": 2.0}

MODEL_SOURCES = ("a catalog id (`infercast models`), a config.json, a folder holding one, or a Hugging Face "
                 "hub id (org/name) whose config.json is in the local cache or shipped by aiconfigurator-core")


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED))


# ---------------------------------------------------------------- finding the file

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, as huggingface_hub finds it (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "huggingface" / "hub"


def is_hub_id(name: str) -> bool:
    return bool(_HUB_ID.fullmatch(name)) and ".." not in name


def cached_config(hub_id: str) -> Path | None:
    """The config.json of `hub_id` in the local cache: the snapshot refs/main points to, else the newest."""
    org, name = hub_id.split("/")
    repo = hf_cache_dir() / f"models--{org}--{name}"
    snaps = repo / "snapshots"
    try:
        ref_file = repo / "refs" / "main"
        if ref_file.is_file():
            ref = ref_file.read_text(encoding="utf-8").strip()
            if re.fullmatch(r"[0-9a-f]{7,64}", ref) and (snaps / ref / "config.json").is_file():
                return snaps / ref / "config.json"
        found = [d / "config.json" for d in snaps.iterdir() if (d / "config.json").is_file()] if snaps.is_dir() else []
        return max(found, key=lambda p: p.stat().st_mtime) if found else None
    except (OSError, UnicodeDecodeError):
        return None


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Path]:
    """Copies of released config.json files that aiconfigurator-core ships as data
    (`aiconfigurator_core/model_configs/<org>--<name>_config.json`, Apache-2.0), by lower-case hub id; empty when
    the package (the `kernels` extra) is not installed. The package is located, not imported."""
    try:
        spec = importlib.util.find_spec("aiconfigurator_core")
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = Path(list(spec.submodule_search_locations)[0]) / "model_configs"
    try:
        files = sorted(folder.glob("*--*_config.json")) if folder.is_dir() else []
    except OSError:
        return {}
    return {f.name[:-len("_config.json")].replace("--", "/", 1).lower(): f for f in files
            if not f.name.endswith("_hf_quant_config.json")}


def shipped_config(hub_id: str) -> Path | None:
    """`hub_id`'s config.json as aiconfigurator-core ships it (case-insensitive), or None."""
    return _shipped().get(hub_id.lower())


def locate(name: str) -> Path | None:
    """The config.json that `name` designates (a file, a folder holding config.json, a cached hub id),
    None when it designates none; an error when it is a path that leads nowhere useful."""
    try:
        p = Path(name).expanduser()
        if p.is_dir():
            cfg = p / "config.json"
            if not cfg.is_file():
                raise InfercastError(f"the folder {shown(name)} holds no config.json; give {MODEL_SOURCES}",
                                     field="model", value=name)
            return cfg
        if p.is_file():
            return p
    except InfercastError:
        raise
    except (OSError, ValueError):  # unreadable, a NUL byte, a name too long for the file system
        return None
    if is_hub_id(name):
        return cached_config(name) or shipped_config(name)
    return None


def looks_like_path(name: str) -> bool:
    return name.endswith(".json") or name.startswith((".", "~", "/")) or os.sep in name and not is_hub_id(name)


def _load(path: str | Path) -> tuple[dict[str, Any], Path]:
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "config.json"
    raw = read_json(p, field="model", what="config.json")
    if not isinstance(raw, dict):
        raise InfercastError(f"{shown(p)} must hold a JSON object (a Hugging Face config.json)", field="model")
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
    mt = cfg.get("model_type")
    if not isinstance(mt, str) or mt not in SUPPORTED:
        cfg["model_type"] = raw.get("model_type", mt)
    return cfg


# ---------------------------------------------------------------- reading fields

_MISSING = object()


class _Cfg:
    def __init__(self, cfg: dict[str, Any], where: str, model_type: str):
        self.cfg, self.where, self.model_type = cfg, where, model_type

    def _first(self, names: tuple[str, ...]) -> tuple[str | None, Any]:
        for n in names:
            v = self.cfg.get(n)
            if v is not None:
                return n, v
        return None, None

    def _missing(self, names: tuple[str, ...]) -> InfercastError:
        alt = " or ".join(names)
        return InfercastError(f"{self.where}: missing the field {alt}, which model_type '{self.model_type}' needs; "
                              "add it (see the model's config.json on the Hugging Face hub)", field="model")

    def int(self, *names: str, default: Any = _MISSING, lo: int | None = None, hi: int | None = None) -> Any:
        """A whole number within the field's range; `default` when absent (missing and no default: error)."""
        n, v = self._first(names)
        if n is None:
            if default is _MISSING:
                raise self._missing(names)
            return default
        flo, fhi = LIMITS.get(n, (1, 10 * BIG))
        flo, fhi = flo if lo is None else lo, fhi if hi is None else hi
        label = f"{self.where}: {n}"
        if isinstance(v, str):
            raise InfercastError(f"{label} must be a whole number from {flo:,} to {fhi:,}, got the text "
                                 f"{_short(v)}; write it without quotes", field="model", value=v)
        return check_number(n, v, integer=True, allow_none=False, field="model", label=label, lo=flo, hi=fhi,
                            lo_open=False)

    def bool(self, name: str, default: bool) -> bool:
        v = self.cfg.get(name)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise InfercastError(f"{self.where}: {name} must be true or false, got {_short(v)}", field="model",
                                 value=v)
        return v

    def has(self, *names: str) -> bool:
        return self._first(names)[0] is not None

    def raw(self, name: str, default: Any = None) -> Any:
        v = self.cfg.get(name)
        return default if v is None else v


def _short(v: Any) -> str:
    from infercast.format import truncate

    try:
        return truncate(repr(v), 40)
    except ValueError:  # an integer too long to print
        return "a number too long to print"


def _quant(c: _Cfg) -> tuple[str | None, float | None, list]:
    """(weight precision, stored bits per weight with scales or None, names of modules left unquantised) that the
    config's `quantization_config` states, (None, None, []) when it states none this reader knows:

    * `quant_method` fp8 / mxfp4 (transformers), with `modules_to_not_convert`;
    * ModelOpt (`quant_method` modelopt, or its `hf_quant_config.json` beside the config): `quant_algo` FP8 or NVFP4,
      `group_size`, `exclude_modules`;
    * ModelOpt MIXED_PRECISION: `quantized_layers` maps each layer to its own `quant_algo`; the experts' (or the
      dense MLP's) algorithm is the checkpoint's precision, and modules quantised otherwise keep theirs (NVIDIA's
      Qwen3.6 NVFP4 releases: attention FP8, MLP and experts W4A16_NVFP4);
    * compressed-tensors: the first `config_groups` entry's weights (`num_bits`, `type` float/int, `group_size`),
      `ignore`.
    Module names come back with the precision they keep ("bf16" for an unquantised list).
    4-bit formats carry one scale per group: 8-bit for FP4 (NVFP4's E4M3 per 16, MXFP4's E8M0 per 32; OCP MX v1.0,
    NVIDIA's NVFP4 post of 2025-06-24), 16-bit for integer groups (compressed-tensors' pack-quantized scales; with
    them Kimi-K2.5's INT4 release derives 594 GB, the size of its published checkpoint)."""
    q = c.raw("quantization_config")
    if not isinstance(q, dict):
        return None, None, []
    method = str(q.get("quant_method", "")).lower()
    names = q.get("modules_to_not_convert", q.get("exclude_modules", q.get("ignore")))
    names = [(n.lower(), "bf16") for n in names[:10_000] if isinstance(n, str)] if isinstance(names, list) else []
    if method in _QUANT:
        return _QUANT[method], (4.25 if method == "mxfp4" else None), names
    group = q.get("group_size")
    if not method:  # ModelOpt's own keys written into a config without a quant_method
        method = "modelopt" if "quant_algo" in q else "compressed-tensors" if "config_groups" in q else ""
    if method == "modelopt":
        algo = str(q.get("quant_algo", "")).upper()
        if algo == "MIXED_PRECISION":
            return _mixed(q.get("quantized_layers"))
        got = _modelopt_algo(algo, group)
        return (got[0], got[1], names) if got else (None, None, [])
    if method == "compressed-tensors":
        groups = q.get("config_groups")
        first = next(iter(groups.values()), None) if isinstance(groups, dict) and groups else None
        w = first.get("weights") if isinstance(first, dict) else None
        if not isinstance(w, dict):
            return None, None, []
        bits, kind, gs = w.get("num_bits"), str(w.get("type", "")).lower(), w.get("group_size")
        gs = gs if isinstance(gs, int) and not isinstance(gs, bool) and 1 <= gs <= 4096 else None
        if bits == 8:
            return ("fp8" if kind == "float" else "int8"), None, names
        if bits == 4 and kind in ("float", "int"):
            scale = 8.0 if kind == "float" else 16.0
            return ("fp4" if kind == "float" else "int4"), (4.0 + scale / gs if gs else None), names
    return None, None, []


def _modelopt_algo(algo: str, group: Any) -> tuple[str, float | None] | None:
    """(precision, stored bits per weight or None) of one ModelOpt `quant_algo`; None for a scheme not read."""
    if algo == "FP8":
        return "fp8", None
    if algo in ("NVFP4", "W4A16_NVFP4"):  # the weights alike; W4A16 runs them with 16-bit activations
        gs = group if isinstance(group, int) and not isinstance(group, bool) and 1 <= group <= 4096 else 16
        return "fp4", 4.0 + 8.0 / gs
    return None


# a MIXED_PRECISION layer name that holds the checkpoint's bulk: routed experts, else a dense MLP's projections
_BULK = (re.compile(r"mlp\.experts"), re.compile(r"mlp\.(gate|up|down)_proj"))


def _mixed(layers: Any) -> tuple[str | None, float | None, list]:
    """ModelOpt MIXED_PRECISION (`quantized_layers`: layer name -> {quant_algo, group_size}): the bulk's precision
    and bits, and every other layer with the precision it keeps; (None, None, []) when unreadable."""
    if not isinstance(layers, dict) or not layers:
        return None, None, []
    per: list[tuple[str, tuple[str, float | None] | None]] = []
    for name, spec in list(layers.items())[:100_000]:
        if isinstance(name, str) and isinstance(spec, dict):
            per.append((name.lower(), _modelopt_algo(str(spec.get("quant_algo", "")).upper(), spec.get("group_size"))))
    bulk = next((got for pat in _BULK for n, got in per if pat.search(n) and got), None)
    if bulk is None:
        return None, None, []
    return bulk[0], bulk[1], [(n, got[0]) for n, got in per if got and got[0] != bulk[0]]


def _dtype(c: _Cfg, quantised: str | None) -> str:
    """The weight precision: what `quantization_config` states (`_quant`), else torch_dtype / dtype."""
    if quantised:
        return quantised
    d = c.raw("torch_dtype", None) or c.raw("dtype", "bfloat16")
    return _DTYPES.get(str(d).replace("torch.", "").lower(), "bf16") if isinstance(d, str) else "bf16"


# module group -> name fragments that leave it unquantised when listed (a layer's self_attn covers o_proj too)
_KEPT = (("attention", (re.compile(r"self_attn|\.attn|linear_attn"),)),
         ("o_proj", (re.compile(r"self_attn|\.attn|o_proj"),)),
         ("shared_experts", (re.compile(r"shared_expert"),)),
         # a dense MLP's projections, not an expert's nor the router (`mlp.gate`): Kimi's
         # `re:.*mlp\.(gate|up|gate_up|down)_proj.*`
         ("dense_mlp", (re.compile(r"mlp\W{0,3}\(?(gate|up|down)(_proj|\|)"),)))
# listed names that are not a module group's matmuls: norms, biases, the DSA indexer's small projections, embeddings
_NOT_MATMUL = re.compile(r"norm|bias|indexer|embed")


def _checkpoint(c: _Cfg, dtype: str, bits: float | None, names: list) -> dict:
    """A quantised config's own checkpoint: the modules its unquantised-module list (`modules_to_not_convert`,
    ModelOpt's `exclude_modules`, compressed-tensors' `ignore`) leaves in 16-bit or a mixed-precision one keeps at
    another precision, and the stored bits per weight of a grouped 4-bit format (`_quant`). The output head, router
    and embedding are 16-bit in every quantised checkpoint."""
    if P.nbytes(dtype) >= 2.0:
        return {}
    kept = {}
    for mod, pats in _KEPT:
        for n, prec in names:
            if (any(p.search(n) for p in pats) and not _NOT_MATMUL.search(n)
                    and (mod != "dense_mlp" or "expert" not in n)):
                kept[mod] = prec
                break
    if not kept and bits is None:
        return {}
    return {dtype: dict(modules=kept, weight_bits=bits, source=f"{c.where}: quantization_config")}


def _sliding(c: _Cfg, layers: int) -> tuple[int | None, int]:
    mt = c.model_type
    window = c.int("sliding_window", default=None)
    types = c.raw("layer_types")
    if types is not None and not isinstance(types, list):
        raise InfercastError(f"{c.where}: layer_types must be a list of layer kinds, got {_short(types)}",
                             field="model")
    if types:
        n = min(layers, sum(1 for t in types if "sliding" in str(t)))
        return (window, n) if n and window else (None, 0)
    if not window:
        return None, 0
    if mt in ("mistral", "mixtral", "phi3"):
        return window, layers
    if mt.startswith("qwen"):
        if not c.bool("use_sliding_window", False):
            return None, 0
        first = c.int("max_window_layers", default=layers)
        return window, max(0, layers - first)
    if mt == "gemma2":  # even layers are local (transformers: `not bool(layer_idx % 2)`)
        return window, (layers + 1) // 2
    if mt in ("gemma3", "gemma3_text"):
        pattern = c.int("sliding_window_pattern", "_sliding_window_pattern", default=6)
        return window, layers - layers // pattern
    return None, 0


def _gdn(c: _Cfg, layers: int) -> GDN | None:
    """Gated DeltaNet layers of a hybrid config (qwen3_next, qwen3_5): `layer_types` ('linear_attention' /
    'full_attention'), else every `full_attention_interval`-th layer full (transformers' default layout)."""
    if not c.has("linear_num_value_heads"):
        return None
    types = c.raw("layer_types")
    if isinstance(types, list) and types:
        n = min(layers, sum(1 for t in types if str(t) == "linear_attention"))
    else:
        n = layers - layers // c.int("full_attention_interval", default=4)
    if n <= 0:
        return None
    if n >= layers:
        raise InfercastError(f"{c.where}: every layer is linear attention; a hybrid model needs at least one "
                             "full_attention layer (layer_types or full_attention_interval)", field="model")
    dtype = c.raw("mamba_ssm_dtype", "float32")
    if not isinstance(dtype, str) or dtype not in _STATE_BYTES:
        raise InfercastError(f"{c.where}: mamba_ssm_dtype {_short(dtype)} is not one of {', '.join(_STATE_BYTES)}",
                             field="model")
    kh, vh = c.int("linear_num_key_heads"), c.int("linear_num_value_heads")
    if vh % kh:
        raise InfercastError(f"{c.where}: linear_num_value_heads ({vh}) must be a multiple of linear_num_key_heads "
                             f"({kh})", field="model")
    return GDN(layers=n, key_heads=kh, value_heads=vh, key_head_dim=c.int("linear_key_head_dim"),
               value_head_dim=c.int("linear_value_head_dim"), conv_kernel=c.int("linear_conv_kernel_dim", default=4),
               state_bytes=_STATE_BYTES[dtype])


def _moe(c: _Cfg, layers: int) -> MoE | None:
    mt = c.model_type
    experts = c.int("num_local_experts", "num_experts", "n_routed_experts", default=0)
    if experts <= 1:
        return None
    active = c.int("num_experts_per_tok", "experts_per_token", "num_experts_per_token")
    if active > experts:
        raise InfercastError(f"{c.where}: num_experts_per_tok ({active}) exceeds the number of experts ({experts}); "
                             "a token cannot use more experts than exist", field="model")
    if mt.startswith("llama4"):
        expert_ff = c.int("intermediate_size")
    else:
        expert_ff = c.int("moe_intermediate_size", default=None) or c.int("intermediate_size")
    shared, shared_ff = 0, None
    if c.int("n_shared_experts", default=0):
        shared = c.int("n_shared_experts")
    elif c.int("shared_expert_intermediate_size", default=None):
        shared, shared_ff = 1, c.int("shared_expert_intermediate_size")
    elif mt.startswith("llama4"):
        shared = 1  # every Llama-4 MoE block has one shared expert of intermediate_size
    dense = c.int("first_k_dense_replace", default=0)
    every = c.int("moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step", default=1)
    only_dense = c.raw("mlp_only_layers", [])
    if not isinstance(only_dense, list):
        raise InfercastError(f"{c.where}: mlp_only_layers must be a list of layer numbers, got {_short(only_dense)}",
                             field="model")
    if only_dense and not dense:
        dense = min(len(only_dense), layers)  # approximation: listed dense layers counted as leading dense layers
    return MoE(experts=experts, active=active, expert_d_ff=expert_ff, shared_experts=shared,
               shared_d_ff=shared_ff, dense_layers=min(dense, layers), moe_every=every)


# ---------------------------------------------------------------- building the spec

def _modelopt_beside(p: Path) -> dict | None:
    """ModelOpt's `hf_quant_config.json` beside a config (`<org>--<name>_hf_quant_config.json` for a shipped copy),
    as a quantization_config ({'quant_method': 'modelopt', 'quant_algo', 'group_size', 'exclude_modules'})."""
    q = p.with_name("hf_quant_config.json") if p.name == "config.json" else \
        p.with_name(p.name[:-len("_config.json")] + "_hf_quant_config.json") if p.name.endswith("_config.json") else None
    try:
        if q is None or not q.is_file():
            return None
    except OSError:
        return None
    raw = read_json(q, field="model", what="hf_quant_config.json")
    body = raw.get("quantization") if isinstance(raw, dict) else None
    return {"quant_method": "modelopt", **body} if isinstance(body, dict) else None


def from_hf_config(path: str | Path, default_name: str | None = None) -> ModelSpec:
    """A ModelSpec for a local Hugging Face ``config.json`` (or a folder holding one), with ModelOpt's
    ``hf_quant_config.json`` beside it read as its quantization_config when the config states none."""
    raw, p = _load(path)
    text = raw.get("text_config")
    has_q = isinstance(raw.get("quantization_config"), dict) or (isinstance(text, dict) and
                                                                isinstance(text.get("quantization_config"), dict))
    if not has_q:
        mo = _modelopt_beside(p)
        if mo is not None:
            raw = {**raw, "quantization_config": mo}
    return from_hf_dict(raw, str(p), default_name=default_name or p.parent.name)


def _model_id(name: str) -> str:
    mid = re.sub(r"[^a-z0-9.+-]+", "-", name.split("/")[-1].lower()).strip("-.")
    return (mid or "hf-model")[:80]


def from_hf_dict(raw: dict[str, Any], where: str = "config.json", default_name: str = "uploaded-model") -> ModelSpec:
    """A ModelSpec from the parsed contents of a config.json; `where` names it in messages (no file is read)."""
    w = shown(where)
    if not isinstance(raw, dict):
        raise InfercastError(f"{w} must hold a JSON object (a Hugging Face config.json)", field="model")
    cfg = _flatten(raw)
    mt = cfg.get("model_type")
    if mt is None or mt == "":
        raise InfercastError(f"{w}: no model_type field; supported model types: {_supported_list()}", field="model")
    if not isinstance(mt, str) or mt not in SUPPORTED:
        raise InfercastError(f"{w}: unsupported model_type {_short(mt)}; supported model types: "
                             f"{_supported_list()}", field="model", value=mt)
    family, year, tie_default = SUPPORTED[mt]
    cfg = {**_TYPE_DEFAULTS.get(mt, {}), **cfg}
    c = _Cfg(cfg, w, mt)

    layers = c.int("num_hidden_layers")
    d = c.int("hidden_size")
    heads = c.int("num_attention_heads")
    kv = c.int("num_key_value_heads", default=heads)
    if kv > heads or heads % kv:
        raise InfercastError(f"{w}: num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv})",
                             field="model")
    quantised, bits, kept_names = _quant(c)  # read once: the precision and the checkpoint's modules both need it
    mla = dsa = None
    if c.has("kv_lora_rank"):
        mla = MLA(q_lora_rank=c.int("q_lora_rank", default=None), kv_lora_rank=c.int("kv_lora_rank"),
                  qk_nope_head_dim=c.int("qk_nope_head_dim"), qk_rope_head_dim=c.int("qk_rope_head_dim"),
                  v_head_dim=c.int("v_head_dim"))
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
        if c.has("index_topk"):
            dsa = DSA(index_heads=c.int("index_n_heads"), index_head_dim=c.int("index_head_dim"),
                      topk=c.int("index_topk"))
    else:
        head_dim = c.int("head_dim", default=None)
        if head_dim is None:
            if heads > d:
                raise InfercastError(f"{w}: num_attention_heads ({heads}) exceeds hidden_size ({d}) and there is no "
                                     "head_dim; fix one of them or add head_dim", field="model")
            head_dim = d // heads
    vocab = c.int("vocab_size")
    moe = _moe(c, layers)
    if mt.startswith("llama4"):
        d_ff = c.int("intermediate_size_mlp", default=None) or c.int("intermediate_size")
    else:  # a MoE config without dense layers may leave intermediate_size out (Qwen3.5's): its experts' width stands in
        d_ff = c.int("intermediate_size", default=moe.expert_d_ff if moe else _MISSING)
    gdn = _gdn(c, layers)
    window, n_sliding = _sliding(c, layers) if gdn is None else (None, 0)

    bias = qkv_bias = False
    if mt == "gpt_oss":
        bias = c.bool("attention_bias", True)
    elif mt.startswith("qwen2"):
        qkv_bias = True  # Qwen2 projects q/k/v with bias (not configurable in transformers)
    elif c.bool("attention_bias", False):
        qkv_bias = True  # o_proj bias (d_model weights) not counted

    name = raw.get("_name_or_path") or cfg.get("_name_or_path") or ""
    name = name.strip().rstrip("/") if isinstance(name, str) else ""
    if not name or len(name) > 200 or not name.isprintable():
        name = default_name
    model_id = _model_id(name)

    spec = dict(
        id=model_id, name=name, family=family, year=year, layers=layers, d_model=d, heads=heads,
        kv_heads=kv, head_dim=head_dim, d_ff=d_ff, vocab=vocab, mlp="gated",
        tied_embeddings=c.bool("tie_word_embeddings", tie_default),
        bias=bias, qkv_bias=qkv_bias, mla=mla, dsa=dsa, moe=moe, sliding_window=window, sliding_layers=n_sliding,
        gdn=gdn, attn_output_gate=c.bool("attn_output_gate", mt == "qwen3_next") if gdn else False,
        max_context=c.int("max_position_embeddings", default=4096), dtype=_dtype(c, quantised),
    )
    spec["checkpoints"] = _checkpoint(c, spec["dtype"], bits, kept_names)
    try:
        probe = ModelSpec(**spec, published_params=1.0, params_source="")
        total = probe.total_params
        if not math.isfinite(total) or total <= 0:
            raise ValueError("the parameter count is not a finite positive number")
    except ValueError as e:
        first = e.errors()[0].get("msg", str(e)) if hasattr(e, "errors") else str(e)
        raise InfercastError(f"{w}: the config's values do not describe a valid model: "
                             f"{str(first).removeprefix('Value error, ')}", field="model") from None
    return ModelSpec(**spec, published_params=total,
                     published_active_params=probe.active_params if moe else None,
                     params_source=f"derived from config.json at {where} (model_type {mt}); no published count",
                     notes=f"Loaded from a Hugging Face config.json (model_type {mt}); the year is that "
                           f"family's first release, not necessarily this checkpoint's.")
