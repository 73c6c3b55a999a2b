"""The pipelines ``kedro run --pipelines=NAME`` knows.

- every package under ``pipelines/`` (as ``find_pipelines`` would find them): ``cifar_lt_rl``, ``cifar_lt``, ...;
- ``imagenet_lt``, ``places_lt``, ``inat18_lt``: one namespace of ``list_splits`` each;
- a family, the chain of one paper: ``ltrl``, ``brl``, ``patchdrop``, ``stal``;
- ``__default__`` (``kedro run``, and the pipeline kedro-viz opens on): ``cifar_lt_rl``, SADE + reflective
  learning on CIFAR-100-LT.

A pipeline is built (its package imported) when Kedro first asks for it, as Kedro's own selective loading does:
``--pipelines=ntu_lt`` imports no CIFAR training code. ``find_pipelines`` cannot serve the names that are not
packages (under ``--pipelines=brl`` it only looks for a ``pipelines/brl/`` package), hence this registry.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Iterator, Mapping
from importlib import import_module

from kedro.pipeline import Pipeline

from longtail_lab import pipelines as pipeline_packages

MAIN_PIPELINE = "cifar_lt_rl"
LIST_DATASETS = ("imagenet_lt", "places_lt", "inat18_lt")  # namespaces of list_splits
FAMILIES = {
    # LTRL's main job only. The list pipelines stay out: they need the official ImageNet-LT / Places-LT /
    # iNat-2018 list files, which a CIFAR run does not, and no LTRL training reads their lists yet.
    "ltrl": ("cifar_lt_rl",),
    "brl": ("ntu_lt", "ntu_lt_pyskl"),
    "patchdrop": ("fmow_crops",),
    "stal": ("seg_labels",),
}
PACKAGES = tuple(m.name for m in pkgutil.iter_modules(pipeline_packages.__path__) if m.ispkg)


class Registry(Mapping[str, Pipeline]):
    """Name -> pipeline, each built on first access."""

    def __init__(self) -> None:
        self._names = ("__default__", *PACKAGES, *LIST_DATASETS, *FAMILIES)
        self._built: dict[str, Pipeline] = {}

    def __getitem__(self, name: str) -> Pipeline:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def _build(self, name: str) -> Pipeline:
        if name == "__default__":
            return self[MAIN_PIPELINE]
        if name in FAMILIES:
            return sum((self[part] for part in FAMILIES[name]), Pipeline([]))
        if name in LIST_DATASETS:
            return self["list_splits"].only_nodes_with_namespaces([name])
        return import_module(f"{pipeline_packages.__name__}.{name}").create_pipeline()


def register_pipelines() -> Mapping[str, Pipeline]:
    return Registry()
