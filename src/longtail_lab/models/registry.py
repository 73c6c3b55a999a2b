"""Name -> model constructor. Add a family: one file with a builder, one line here."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from longtail_lab.models.resnet_cifar import resnet32

MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet32": resnet32,
}


class UnknownNameError(ValueError):
    pass


def build_model(name: str, num_classes: int, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise UnknownNameError(f"parameter 'model.name': unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](num_classes=num_classes, **kwargs)


def model_signature(name: str, num_classes: int, **kwargs) -> dict:
    """What a checkpoint records so that loading it into another architecture fails clearly."""
    return {"name": name, "num_classes": int(num_classes), "kwargs": dict(sorted(kwargs.items()))}
