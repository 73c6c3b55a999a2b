"""Method name + options -> the training ``Objective`` (what the training node asks for)."""

from __future__ import annotations

from collections.abc import Sequence

from longtail_lab.engine.step import Objective
from longtail_lab.methods.losses import build_loss
from longtail_lab.methods.reflective import ReflectiveObjective, ReflectiveOptions
from longtail_lab.methods.supervised import SupervisedObjective


def build_objective(
    method: str,
    class_counts: Sequence[int],
    num_samples: int,
    method_options: dict | None = None,
    reflective: bool = False,
    reflective_options: ReflectiveOptions | None = None,
) -> Objective:
    """``method`` names a loss (``ce``, ``bsce``/``balanced_softmax``, ``sade``); ``reflective`` wraps it in
    LTRL's reflective learning with ``reflective_options`` (see ``ReflectiveOptions``)."""
    loss = build_loss(method, class_counts, param="method", **(method_options or {}))
    if not reflective:
        return SupervisedObjective(loss)
    options = reflective_options or ReflectiveOptions()
    return ReflectiveObjective(loss, num_samples, len(class_counts), options, class_counts=class_counts)
