"""infercast: how much LLM inference can some accelerators do, at what latency and cost.

Public API (everything else is an implementation detail):

    from infercast import get_chip, get_model, bounds, estimate, deployment
"""
from infercast.analyses.essay import Bounds, bounds
from infercast.errors import DoesNotFitError, InfercastError, UnknownIdError
from infercast.engine.estimate import Estimate, estimate
from infercast.specs.hardware import Chip, all_chips, get_chip
from infercast.specs.model import ModelSpec, all_models, get_model
from infercast.engine.step import Deployment, deployment, step_time

__version__ = "0.1.0"
__all__ = [
    "Bounds", "bounds", "Estimate", "estimate", "Chip", "all_chips", "get_chip", "ModelSpec", "all_models",
    "get_model", "Deployment", "deployment", "step_time", "InfercastError", "UnknownIdError", "DoesNotFitError",
]
