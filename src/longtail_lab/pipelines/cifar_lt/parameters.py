"""The ``cifar_lt`` parameter block: a long-tailed split, one model, one loss, the training schedule."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.data.images.sources import ImageLoading, ImageSources
from longtail_lab.engine.config import TrainConfig
from longtail_lab.evaluation.metrics import EvaluationParams
from longtail_lab.methods.losses import LOSSES
from longtail_lab.models.registry import check_model_params
from longtail_lab.params import Problems
from longtail_lab.pipelines.lt_splits.parameters import SplitBlock


@dataclass(frozen=True, kw_only=True)
class CifarLtParams(SplitBlock):
    model: dict[str, Any] = dataclasses.field(default_factory=lambda: {"name": "resnet32"})
    loss: str = "ce"
    data: ImageLoading = ImageLoading()
    augment: AugmentParams = AugmentParams()
    train: TrainConfig = TrainConfig()
    evaluation: EvaluationParams = EvaluationParams()

    def check_inputs(self, prefix: str, sources: ImageSources) -> Problems:
        return super().check_inputs(prefix, sources) + self.data.check_dataset(prefix, self.dataset, sources)

    def cross_check(self, prefix: str) -> Problems:
        problems: Problems = []
        check_model_params(self.model, f"{prefix}.model", problems)
        if self.loss not in LOSSES:
            problems.append((f"{prefix}.loss", f"must be one of {', '.join(sorted(LOSSES))}, got {self.loss!r}"))
        return problems
