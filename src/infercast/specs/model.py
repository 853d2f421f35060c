"""Model architectures: parameters, FLOPs and KV-cache bytes derived from a few fields."""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from infercast.specs import precision as P
from infercast.specs.store import build, lookup, normalise, read_json


class MoE(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    experts: PositiveInt  # routed experts per MoE layer
    active: PositiveInt  # routed experts per token (top-k)
    expert_d_ff: PositiveInt  # hidden size of one routed expert
    shared_experts: int = Field(0, ge=0)  # always-on experts per MoE layer
    shared_d_ff: int | None = None  # hidden size of one shared expert (default expert_d_ff)
    dense_layers: int = Field(0, ge=0)  # leading layers with a dense MLP of width d_ff
    moe_every: PositiveInt = 1  # MoE every n-th layer (Llama-4 Maverick interleaves: 2)

    @model_validator(mode="after")
    def _check(self) -> "MoE":
        if self.active > self.experts:
            raise ValueError(f"moe.active ({self.active}) exceeds moe.experts ({self.experts}); "
                             "top-k cannot be larger than the number of experts")
        return self


Module = Literal["attention", "o_proj", "dense_mlp", "shared_experts"]


class Checkpoint(BaseModel):
    """How a model quantised to one precision runs its modules: those at another precision than the
    experts' (a config's `modules_to_not_convert` / `exclude_modules` leave them 16-bit; an engine may
    requantise them), and the bits per quantised weight as stored, scales included."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    modules: dict[Module, str] = {}  # module group -> the precision its weights are stored and run at
    weight_bits: float | None = Field(None, gt=0, le=16)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> "Checkpoint":
        for mod, prec in self.modules.items():
            if P.check(prec, "checkpoints") != prec:
                raise ValueError(f"checkpoints: {mod} precision '{prec}' is not a canonical name (bf16, fp8, fp4...)")
        return self


class MLA(BaseModel):
    """DeepSeek multi-head latent attention (arXiv 2405.04434 §2.1)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    q_lora_rank: int | None = None
    kv_lora_rank: PositiveInt
    qk_nope_head_dim: PositiveInt
    qk_rope_head_dim: PositiveInt
    v_head_dim: PositiveInt


class DSA(BaseModel):
    """DeepSeek Sparse Attention (DeepSeek-V3.2, arXiv 2512.02556 §2.1): a lightning indexer of `index_heads` FP8
    heads of `index_head_dim` scores every cached token, and MLA attends only to the `topk` best."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    index_heads: PositiveInt
    index_head_dim: PositiveInt
    topk: PositiveInt


class GDN(BaseModel):
    """Gated DeltaNet linear attention (arXiv 2412.06464; Qwen3-Next, Qwen3.5): `layers` of the model's layers keep a
    fixed-size recurrent state per sequence instead of a KV cache; the others are full (gated) attention layers.
    Projections (transformers' Qwen3NextGatedDeltaNet / Qwen3_5GatedDeltaNet): q, k (key heads x key dim), v and the
    output gate z (value heads x value dim), the decay a and gate b (value heads each), a depthwise causal
    conv of `conv_kernel` over q, k and v, a gated RMSNorm and the output projection."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    layers: PositiveInt  # linear-attention layers (the rest are full attention)
    key_heads: PositiveInt
    value_heads: PositiveInt
    key_head_dim: PositiveInt
    value_head_dim: PositiveInt
    conv_kernel: PositiveInt = 4
    state_bytes: float = Field(4.0, gt=0, le=8)  # bytes per recurrent-state element (config mamba_ssm_dtype)

    @model_validator(mode="after")
    def _check(self) -> "GDN":
        if self.value_heads % self.key_heads:
            raise ValueError(f"linear value heads ({self.value_heads}) must be a multiple of its key heads "
                             f"({self.key_heads})")
        return self

    @property
    def key_dim(self) -> int:
        return self.key_heads * self.key_head_dim

    @property
    def value_dim(self) -> int:
        return self.value_heads * self.value_head_dim

    @property
    def conv_dim(self) -> int:
        return 2 * self.key_dim + self.value_dim

    def params(self, d_model: int) -> float:
        """Weights of one layer: in-projections (q, k, v, z; b, a), conv, dt_bias and A_log, norm, out-projection."""
        return (d_model * (self.conv_dim + self.value_dim + 2 * self.value_heads) + self.conv_dim * self.conv_kernel
                + 2 * self.value_heads + self.value_head_dim + self.value_dim * d_model)

    def state_bytes_per_layer(self) -> float:
        return gdn_state_bytes(self.value_heads, self.key_heads, self.key_head_dim, self.value_head_dim,
                               self.conv_kernel, self.state_bytes)

    def flops_per_token_layer(self) -> float:
        return gdn_flops_per_token(self.value_heads, self.key_heads, self.key_head_dim, self.value_head_dim,
                                   self.conv_kernel)


def gdn_state_bytes(hv, hk, dk, dv, conv_kernel, state_bytes):
    """One sequence's cache in one Gated DeltaNet layer of `hv` value and `hk` key heads: the value heads' dk x dv
    state and the conv's last conv_kernel - 1 inputs of q, k and v in 16-bit (SGLang's and vLLM's mamba cache:
    temporal + conv state)."""
    return hv * dk * dv * state_bytes + (2.0 * hk * dk + hv * dv) * (conv_kernel - 1) * 2.0


def gdn_flops_per_token(hv, hk, dk, dv, conv_kernel):
    """Recurrent form per token: per value head the decay and rank-1 update of the state and its products with k and
    q (about 8 x dk x dv), and the depthwise conv (2 x kernel per q/k/v channel)."""
    return 8.0 * hv * dk * dv + 2.0 * (2.0 * hk * dk + hv * dv) * conv_kernel


# bytes per cached token per layer of the indexer's key: FP8 values plus one FP32 scale (FlashInfer's DSA indexer
# kernel definition, bench.flashinfer.ai 'dsa_topk_indexer_fp8_h64_d128_topk2048_ps64': head_dim_with_scale 132)
INDEX_SCALE_BYTES = 4.0


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    id: str
    name: str
    family: str
    year: int = Field(ge=2017, le=2035)
    aliases: list[str] = []
    layers: PositiveInt
    d_model: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    d_ff: PositiveInt  # dense MLP hidden size (dense layers of a MoE too)
    vocab: PositiveInt
    mlp: Literal["gated", "standard"] = "gated"  # gated: 3 matrices (SwiGLU); standard: 2
    tied_embeddings: bool = False
    bias: bool = False  # linear layers carry biases (GPT-J, Qwen2 QKV only -> "qkv")
    qkv_bias: bool = False
    mla: MLA | None = None
    dsa: DSA | None = None  # sparse attention over MLA (DeepSeek-V3.2, GLM-5)
    gdn: GDN | None = None  # hybrid: Gated DeltaNet layers beside full attention (Qwen3-Next, Qwen3.5)
    attn_output_gate: bool = False  # full attention's q_proj also yields a sigmoid output gate (Qwen3-Next, Qwen3.5)
    moe: MoE | None = None
    sliding_window: int | None = Field(None, ge=1)  # tokens seen by a sliding-window layer
    sliding_layers: int = Field(0, ge=0)  # how many layers use the window
    max_context: PositiveInt = 4096
    dtype: str = "bf16"  # released weight precision
    # quantised checkpoints, by weight precision, whose modules are not all at that precision
    checkpoints: dict[str, Checkpoint] = {}
    published_params: float = Field(gt=0)  # total parameters as published
    published_active_params: float | None = None
    params_source: str
    rumoured: bool = False
    notes: str = ""

    @model_validator(mode="after")
    def _check(self) -> "ModelSpec":
        if self.heads % self.kv_heads:
            raise ValueError(f"heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})")
        if self.sliding_layers > self.layers:
            raise ValueError("sliding_layers cannot exceed layers")
        if self.sliding_layers and not self.sliding_window:
            raise ValueError("sliding_layers needs sliding_window")
        if self.gdn and (self.gdn.layers >= self.layers or self.mla or self.sliding_layers):
            raise ValueError("gdn.layers must leave at least one full-attention layer, and Gated DeltaNet is not "
                             "combined with MLA or sliding windows here")
        if self.dsa and not self.mla:
            raise ValueError("dsa (DeepSeek sparse attention) needs mla: its indexer selects tokens of the latent cache")
        if self.moe and self.moe.dense_layers > self.layers:
            raise ValueError("moe.dense_layers cannot exceed layers")
        P.check(self.dtype, "dtype")
        for k in self.checkpoints:
            if P.check(k, "checkpoints") != k or P.nbytes(k) >= 2.0:
                raise ValueError(f"checkpoints: '{k}' is not a quantised precision's name (fp8, fp4, int8, int4)")
        return self

    # ---- layer counts -------------------------------------------------------------
    @property
    def moe_layers(self) -> int:
        if not self.moe:
            return 0
        return (self.layers - self.moe.dense_layers) // self.moe.moe_every

    @property
    def dense_mlp_layers(self) -> int:
        return self.layers - self.moe_layers

    @property
    def linear_layers(self) -> int:
        """Gated DeltaNet layers (0 without them)."""
        return self.gdn.layers if self.gdn else 0

    @property
    def attention_layers(self) -> int:
        """Layers with full (softmax) attention and a KV cache."""
        return self.layers - self.linear_layers

    # ---- parameters per component (count of weights) -----------------------------
    @property
    def attn_params_per_layer(self) -> float:
        d, h, kv, hd = self.d_model, self.heads, self.kv_heads, self.head_dim
        if self.mla:
            m = self.mla
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            q = (d * m.q_lora_rank + m.q_lora_rank * h * qk + m.q_lora_rank) if m.q_lora_rank else d * h * qk
            kv_p = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank + \
                m.kv_lora_rank * h * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv_p + h * m.v_head_dim * d + self.indexer_params_per_layer
        # [SB-inf Q1]: Q and O are D x N*H, K and V are D x K*H; a gated q_proj doubles Q (Qwen3-Next)
        p = d * hd * ((3 if self.attn_output_gate else 2) * h + 2 * kv)
        if self.bias:
            p += hd * (h + 2 * kv) + d
        elif self.qkv_bias:
            p += hd * (h + 2 * kv)
        return p

    @property
    def indexer_params_per_layer(self) -> float:
        """The DSA lightning indexer's weights: wq_b (q_lora x heads x dim), wk (d x dim), its LayerNorm and
        weights_proj (d x heads) (DeepSeek-V3.2-Exp inference/model.py, class Indexer)."""
        if not self.dsa:
            return 0.0
        x, q_in = self.dsa, (self.mla.q_lora_rank or self.d_model)
        return q_in * x.index_heads * x.index_head_dim + self.d_model * x.index_head_dim + 2 * x.index_head_dim \
            + self.d_model * x.index_heads

    @property
    def attn_o_params_per_layer(self) -> float:
        """The output projection's share of attn_params_per_layer: heads x v_head_dim (or head_dim) x d."""
        v = self.mla.v_head_dim if self.mla else self.head_dim
        return self.heads * v * self.d_model + (self.d_model if self.bias else 0)

    def _mlp(self, width: int) -> float:
        mats = 3 if self.mlp == "gated" else 2
        p = mats * self.d_model * width
        if self.bias:
            p += width * (mats - 1) + self.d_model
        return p

    @property
    def dense_mlp_params(self) -> float:
        return self._mlp(self.d_ff)

    @property
    def expert_params(self) -> float:
        return self._mlp(self.moe.expert_d_ff) if self.moe else 0.0

    @property
    def shared_expert_params(self) -> float:
        if not self.moe or not self.moe.shared_experts:
            return 0.0
        return self.moe.shared_experts * self._mlp(self.moe.shared_d_ff or self.moe.expert_d_ff)

    @property
    def router_params(self) -> float:
        return self.d_model * self.moe.experts if self.moe else 0.0

    @property
    def norm_params(self) -> float:
        return (2 * self.layers + 1) * self.d_model

    @property
    def embedding_params(self) -> float:
        return self.vocab * self.d_model

    @property
    def lm_head_params(self) -> float:
        return 0.0 if self.tied_embeddings else self.vocab * self.d_model

    @property
    def gdn_params_per_layer(self) -> float:
        return self.gdn.params(self.d_model) if self.gdn else 0.0

    @property
    def mixer_params(self) -> float:
        """Token-mixing weights over all layers: full attention layers and Gated DeltaNet layers."""
        return self.attention_layers * self.attn_params_per_layer + self.linear_layers * self.gdn_params_per_layer

    @property
    def layer_params_dense_part(self) -> float:
        """Weights every token touches in the transformer blocks (attention, dense MLPs, shared experts)."""
        return (self.mixer_params + self.dense_mlp_layers * self.dense_mlp_params
                + self.moe_layers * (self.shared_expert_params + self.router_params) + self.norm_params)

    @property
    def total_params(self) -> float:
        routed = self.moe_layers * self.moe.experts * self.expert_params if self.moe else 0.0
        return self.layer_params_dense_part + routed + self.embedding_params + self.lm_head_params

    @property
    def active_params(self) -> float:
        """Parameters one token multiplies through (embedding counted once; tied head counted as a matmul)."""
        routed = self.moe_layers * self.moe.active * self.expert_params if self.moe else 0.0
        return self.layer_params_dense_part + routed + self.embedding_params + self.lm_head_params

    @property
    def matmul_params_per_token(self) -> float:
        """Weights in matrix multiplies per token: blocks + lm_head (embedding is a gather)."""
        routed = self.moe_layers * self.moe.active * self.expert_params if self.moe else 0.0
        return self.layer_params_dense_part - self.norm_params + routed + self.vocab * self.d_model

    # ---- FLOPs ----------------------------------------------------------------------
    def flops_per_token(self, context: float = 0.0) -> float:
        """Forward FLOPs for one token attending to `context` earlier tokens.

        2 FLOPs per multiply-add through every active weight [KIP], plus attention's
        QK^T and AV: 2*2*heads*head_dim per attended token per layer [EP-nb arithmetic_cost_flop].
        """
        return 2.0 * self.matmul_params_per_token + self.attn_flops_per_token(context) + \
            (self.linear_layers * self.gdn.flops_per_token_layer() if self.gdn else 0.0)

    def attn_flops_per_token(self, context: float, absorbed: bool = True) -> float:
        """QK^T + AV FLOPs of one query attending to `context` tokens, summed over layers."""
        if self.mla:
            m = self.mla
            # absorbed MLA (decode): scores over the latent (kv_lora + rope), values in the latent
            per = (m.kv_lora_rank + m.qk_rope_head_dim + m.kv_lora_rank) if absorbed else \
                (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)
            if self.dsa:  # MLA over the top-k tokens; the indexer's FP8 dot products over all of them
                x = self.dsa
                return (2.0 * self.heads * per * np.minimum(context, x.topk)
                        + 2.0 * x.index_heads * x.index_head_dim * context) * self.layers
            return 2.0 * self.heads * per * context * self.layers
        return 4.0 * self.heads * self.head_dim * self._attended(context)

    def _attended(self, context: float) -> float:
        """Sum over layers of tokens attended (sliding-window layers see at most the window; Gated DeltaNet
        layers attend to none: their state is counted apart)."""
        full = self.attention_layers - self.sliding_layers
        sw = min(context, self.sliding_window) if self.sliding_layers else 0.0
        return full * context + self.sliding_layers * sw

    # ---- bytes ----------------------------------------------------------------------
    def module_bytes(self, module: str, weights: str | None = None) -> float:
        """Bytes per weight of one module group ('attention' (q/k/v or MLA projections), 'o_proj', 'dense_mlp',
        'shared_experts', 'experts', 'lm_head') at a weight precision.

        Quantisation leaves the output head in 16-bit: ModelOpt's quantisation configs disable
        "*lm_head*" (and the MoE routers), vLLM's and SGLang's FP8 methods quantise linear layers, not the
        vocabulary-parallel head, and DeepSeek-V3's FP8 release keeps it BF16 (arXiv 2412.19437 §3.3.1).
        A checkpoint listed in `checkpoints` runs its `modules` at their own precision and stores the rest at
        its `weight_bits`; otherwise every other module is at the precision's bytes."""
        p = self.module_dtype(module, weights)
        ck = self.checkpoints.get(P.check(weights or self.dtype, "weights"))
        if ck and ck.weight_bits and module not in ck.modules and module != "lm_head":
            return ck.weight_bits / 8.0
        return P.nbytes(p)

    def module_dtype(self, module: str, weights: str | None = None) -> str:
        """The precision a module's matmuls run with at a weight precision (see module_bytes)."""
        w = P.check(weights or self.dtype, "weights")
        if P.nbytes(w) >= 2.0:
            return w
        if module == "lm_head":
            return "bf16"
        ck = self.checkpoints.get(w)
        return ck.modules.get(module, w) if ck else w

    def weight_bytes(self, weights: str | None = None) -> float:
        """All weights stored in memory at a precision, module by module (router, norms, embedding at 16-bit)."""
        b = lambda mod: self.module_bytes(mod, weights)  # noqa: E731
        routed = self.moe_layers * self.moe.experts * self.expert_params if self.moe else 0.0
        o = self.attn_o_params_per_layer
        return (self.attention_layers * ((self.attn_params_per_layer - o) * b("attention") + o * b("o_proj"))
                + self.linear_layers * self.gdn_params_per_layer * b("attention")
                + self.dense_mlp_layers * self.dense_mlp_params * b("dense_mlp")
                + self.moe_layers * self.shared_expert_params * b("shared_experts")
                + routed * b("experts") + self.lm_head_params * b("lm_head")
                + (self.moe_layers * self.router_params + self.norm_params + self.embedding_params) * 2.0)

    @property
    def kv_elems_per_token_layer(self) -> float:
        """K and V elements cached per token per layer [SB-inf]: 2*K*H; MLA: kv_lora + rope [DeepSeek-V2]."""
        if self.mla:
            return float(self.mla.kv_lora_rank + self.mla.qk_rope_head_dim)
        return 2.0 * self.kv_heads * self.head_dim

    @property
    def index_bytes_per_token_layer(self) -> float:
        """The DSA indexer's cached key per token per layer: FP8 values and a scale, whatever the KV precision."""
        return self.dsa.index_head_dim + INDEX_SCALE_BYTES if self.dsa else 0.0

    def kv_bytes_per_token(self, kv: str | None = None) -> float:
        """KV-cache bytes per token of context summed over full-attention layers (no sliding-window cap)."""
        return (self.kv_elems_per_token_layer * P.nbytes(kv or "bf16") + self.index_bytes_per_token_layer) * \
            self.attention_layers

    @property
    def state_bytes_per_seq(self) -> float:
        """Bytes of fixed-size state one sequence holds whatever its length (Gated DeltaNet layers)."""
        return self.linear_layers * self.gdn.state_bytes_per_layer() if self.gdn else 0.0

    def kv_bytes_per_seq(self, context: float, kv: str | None = None) -> float:
        """KV-cache bytes held by one sequence of `context` tokens (sliding layers capped), with its fixed state."""
        per_layer = self.kv_elems_per_token_layer * P.nbytes(kv or "bf16") + self.index_bytes_per_token_layer
        return per_layer * self._attended(context) + self.state_bytes_per_seq

    @property
    def attention_kind(self) -> str:
        if self.mla:
            return "MLA+DSA" if self.dsa else "MLA"
        if self.gdn:
            return "GQA+GDN" if self.kv_heads < self.heads else "MHA+GDN"
        if self.kv_heads == 1:
            return "MQA"
        return "MHA" if self.kv_heads == self.heads else "GQA"


@lru_cache(maxsize=None)
def _catalog() -> tuple[dict[str, ModelSpec], dict[str, str]]:
    raw = read_json("models.json")

    def make():
        models = {m["id"]: ModelSpec(**m) for m in raw["models"]}
        return models, {a.lower(): m.id for m in models.values() for a in m.aliases}

    return build("models.json", make)


def all_models() -> list[ModelSpec]:
    return list(_catalog()[0].values())


def get_model(name: str | ModelSpec) -> ModelSpec:
    """A catalog id or alias; a Hugging Face config.json or a folder holding one; or a hub id ("org/name")
    whose config.json is in the local Hugging Face cache (offline: nothing is downloaded)."""
    if isinstance(name, ModelSpec):
        return name
    if not isinstance(name, str) or not name.strip():
        from infercast.errors import InfercastError
        from infercast.specs.hfconfig import MODEL_SOURCES

        raise InfercastError(f"model is required: give {MODEL_SOURCES}", field="model", value=name)
    models, aliases = _catalog()
    key = normalise(name)
    if key in models or key in aliases:
        return lookup("model", name, models, aliases)
    from infercast.specs import hfconfig

    cfg = hfconfig.locate(name)
    if cfg is not None:
        return hfconfig.from_hf_config(cfg, default_name=name if hfconfig.is_hub_id(name) else None)
    if hfconfig.looks_like_path(name):
        from infercast.errors import InfercastError
        from infercast.files import shown

        raise InfercastError(f"no such file or folder {shown(name)}; give {hfconfig.MODEL_SOURCES}",
                             field="model", value=name)
    if hfconfig.is_hub_id(name):
        from infercast.errors import InfercastError
        from infercast.files import shown

        org, repo = name.split("/")
        where = hfconfig.hf_cache_dir() / f"models--{org}--{repo}"
        raise InfercastError(
            f"'{name}' is not in the catalog and its config.json is not in the local Hugging Face cache "
            f"(looked in {shown(where)}) nor among aiconfigurator-core's shipped configs; fetch it with "
            f"`huggingface-cli download {name} config.json`, "
            "or give the path to its config.json or to the folder holding it", field="model", value=name)
    return lookup("model", name, models, aliases, also=", or give a Hugging Face config.json, a folder holding "
                  "one, or a hub id (org/name) in the local cache")
