"""Catalogs and model shapes: precisions, accelerators, model architectures, Hugging Face configs."""
