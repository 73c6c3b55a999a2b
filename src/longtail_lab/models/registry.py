"""Name -> model constructor. Add a family: one file with a builder, one line here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import nn

from longtail_lab.models.experts_cifar import resnet32_experts
from longtail_lab.models.resnet_cifar import resnet32
from longtail_lab.params import Problems, check_kwargs

MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet32": resnet32,
    "resnet32_experts": resnet32_experts,
}


class UnknownNameError(ValueError):
    pass


def check_model_params(params: Mapping | None, prefix: str, problems: Problems) -> dict | None:
    """A ``model`` block ``{name, **kwargs}`` checked against the named builder's keyword arguments (unknown
    keys and wrong types become problems naming ``<prefix>.<key>``); returns it, or ``None`` with problems."""
    if not isinstance(params, Mapping):
        problems.append((prefix, f"must be a mapping with 'name' and the model's options, got {params!r}"))
        return None
    name = params.get("name")
    if not isinstance(name, str) or name not in MODELS:
        problems.append((f"{prefix}.name", f"must be one of {', '.join(sorted(MODELS))}, got {name!r}"))
        return None
    kwargs = check_kwargs(
        MODELS[name], {k: v for k, v in params.items() if k != "name"}, prefix, problems, ("num_classes",)
    )
    return None if kwargs is None else {"name": name, **kwargs}


def build_model(name: str, num_classes: int, **kwargs) -> nn.Module:
    if not isinstance(name, str) or name not in MODELS:
        raise UnknownNameError(f"parameter 'model.name': unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](num_classes=num_classes, **kwargs)


def model_signature(name: str, num_classes: int, **kwargs) -> dict:
    """What a checkpoint records so that loading it into another architecture fails clearly."""
    return {"name": name, "num_classes": int(num_classes), "kwargs": dict(sorted(kwargs.items()))}


def model_spec(params: dict, num_classes: int) -> tuple[str, dict, dict]:
    """A ``model`` parameter block -> (name, constructor kwargs, signature); lists become tuples' lists."""
    kwargs = {k: v for k, v in params.items() if k != "name"}
    if "widths" in kwargs:  # checked integers (check_model_params); a list whether written as a list or tuple
        kwargs["widths"] = list(kwargs["widths"])
    name = params.get("name", "resnet32")
    return name, kwargs, model_signature(name, num_classes, **kwargs)
