"""Model families, one per file, built by name: ``build_model(name, num_classes, **kwargs)``."""

from longtail_lab.models.registry import MODELS, build_model, model_signature, model_spec

__all__ = ["MODELS", "build_model", "model_signature", "model_spec"]
