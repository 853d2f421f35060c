"""What the report computes: chips, models, workloads and operating points, and the `--quick` variant."""
from __future__ import annotations

from dataclasses import dataclass

ESSAY_MODEL = "gpt-4"
ESSAY_QUESTION = "Suppose you have a bunch of GPUs. How many LLM forward passes can you do with them?"
ESSAY_URL = "https://benjamintodd.substack.com/p/how-much-ai-inference-can-we-do"
REPORT_CHIPS = ("a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300", "mi300x", "mi325x",
                "mi355x")
FRONTIER_CHIPS = ("a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi355x")
QUICK_FRONTIER_CHIPS = ("h100-sxm", "b200", "mi300x")
REFERENCE_MODELS = ("llama-3.1-8b", "llama-3.1-70b", "deepseek-v3")
MODEL_LABELS = {"llama-3.1-8b": "dense 8B", "llama-3.1-70b": "dense 70B", "deepseek-v3": "large MoE (671B, 37B active)"}
PRECISIONS = ("bf16", "fp8", "fp4")
PRECISION_LABEL = {"bf16": "16-bit (bf16)", "fp8": "FP8", "fp4": "FP4"}


@dataclass(frozen=True)
class Settings:
    quick: bool = False
    chips: tuple[str, ...] = REPORT_CHIPS
    frontier_chips: tuple[str, ...] = FRONTIER_CHIPS
    models: tuple[str, ...] = REFERENCE_MODELS
    precision_model: str = "llama-3.1-70b"
    essay_input_len: int = 7680  # the essay's 8k context (SemiAnalysis' GPT-4 figure)
    essay_output_len: int = 512
    # section 1 also shows the essay's realistic figure at these usable speeds (tokens/s per user), issue #15
    usable_tps: tuple[float, ...] = (10.0, 20.0)
    input_len: int = 2000
    output_len: int = 500
    min_tps: float = 20.0  # tokens/s per user
    max_ttft_s: float = 2.0
    n_concurrency: int = 48
    max_gpus: int = 128
    max_cloud: int = 20000
    forecast_samples: int = 2000


def settings(quick: bool = False) -> Settings:
    if not quick:
        return Settings()
    return Settings(quick=True, frontier_chips=QUICK_FRONTIER_CHIPS, n_concurrency=12, max_gpus=64, max_cloud=3000,
                    forecast_samples=200)


__all__ = ["Settings", "settings", "ESSAY_MODEL", "ESSAY_QUESTION", "ESSAY_URL", "REPORT_CHIPS", "FRONTIER_CHIPS",
           "QUICK_FRONTIER_CHIPS", "REFERENCE_MODELS", "MODEL_LABELS", "PRECISIONS", "PRECISION_LABEL"]
