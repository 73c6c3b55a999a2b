"""The ``cifar_lt_rl`` parameter block and the run configuration it resolves to.

The block holds presets (``recipes``, the model of each method under ``models``) and overrides (``augment``,
``train``, ``model``); :meth:`CifarLtRlParams.run_config` merges them into one explicit configuration
(:class:`CifarLtRlRun`), which is saved as the run's ``run_config`` and read by every later node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.data.images.sources import ImageLoading, ImageSources
from longtail_lab.engine.config import TrainConfig
from longtail_lab.evaluation.metrics import EvaluationParams
from longtail_lab.methods.aggregation import AggregationParams
from longtail_lab.methods.losses import LOSSES, check_loss_options
from longtail_lab.methods.reflective import ReflectiveOptions
from longtail_lab.models.registry import check_model_params
from longtail_lab.params import ParamBlock, Problems, merge, parse_block
from longtail_lab.pipelines.lt_splits.parameters import SplitBlock


@dataclass(frozen=True, kw_only=True)
class Recipe(ParamBlock):
    """An augmentation + schedule preset; keys set under the block's ``augment`` / ``train`` override it."""

    description: str = ""
    augment: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    def cross_check(self, prefix: str) -> Problems:
        problems: Problems = []
        parse_block(AugmentParams, self.augment, f"{prefix}.augment", problems, partial=True)
        parse_block(TrainConfig, self.train, f"{prefix}.train", problems, partial=True)
        return problems


@dataclass(frozen=True, kw_only=True)
class CifarLtRlRun(SplitBlock):
    """The resolved configuration of one run (what ``run_config`` holds besides the namespace and run info)."""

    method: str
    reflective: bool
    recipe: str
    model: dict[str, Any]
    method_options: dict[str, Any] = field(default_factory=dict)
    reflective_learning: ReflectiveOptions | None = None  # None when reflective is false
    data: ImageLoading = ImageLoading()
    augment: AugmentParams = AugmentParams()
    train: TrainConfig = TrainConfig()
    aggregation: AggregationParams = AggregationParams()
    evaluation: EvaluationParams = EvaluationParams()

    @property
    def label(self) -> str:
        return f"{self.method}{'+RL' if self.reflective else ''}"


@dataclass(frozen=True, kw_only=True)
class CifarLtRlParams(SplitBlock):
    method: str = "sade"
    reflective: bool = True
    recipe: str = "ltrl"
    recipes: dict[str, Recipe] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    reflective_learning: ReflectiveOptions = ReflectiveOptions()
    data: ImageLoading = ImageLoading()
    augment: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    aggregation: AggregationParams = AggregationParams()
    evaluation: EvaluationParams = EvaluationParams()

    def check_inputs(self, prefix: str, sources: ImageSources) -> Problems:
        return super().check_inputs(prefix, sources) + self.data.check_dataset(prefix, self.dataset, sources)

    def cross_check(self, prefix: str) -> Problems:
        problems: Problems = []
        if self.method not in LOSSES:
            problems.append((f"{prefix}.method", f"must be one of {', '.join(sorted(LOSSES))}, got {self.method!r}"))
        if self.recipe not in self.recipes:
            problems.append((f"{prefix}.recipe", f"must be one of {', '.join(self.recipes)}, got {self.recipe!r}"))
        for name, model in self.models.items():
            check_model_params(model, f"{prefix}.models.{name}", problems)
        for name, options in self.method_options.items():
            if name not in LOSSES:
                problems.append((f"{prefix}.method_options.{name}", f"is not a method; known: {', '.join(LOSSES)}"))
            else:
                check_loss_options(name, options, f"{prefix}.method_options.{name}", problems)
        parse_block(AugmentParams, self.augment, f"{prefix}.augment", problems, partial=True)
        parse_block(TrainConfig, self.train, f"{prefix}.train", problems, partial=True)
        if problems:
            return problems
        if self.method not in self.models and not self.model.get("name"):
            problems.append((f"{prefix}.models", f"has no model for method {self.method!r}: add models.{self.method}"))
            return problems
        # the resolved settings, checked as a whole (e.g. milestones that do not fit the recipe's epochs)
        resolved = self._resolved_settings()
        check_model_params(resolved["model"], f"{prefix}.model", problems)
        parse_block(AugmentParams, resolved["augment"], f"{prefix}.augment", problems)
        parse_block(TrainConfig, resolved["train"], f"{prefix}.train", problems)
        return problems

    def _resolved_settings(self) -> dict:
        recipe = self.recipes[self.recipe]
        return {
            "model": merge(self.models.get(self.method), self.model),
            "augment": merge(recipe.augment, self.augment),
            "train": merge(recipe.train, self.train),
        }

    def resolve(self, namespace: str) -> CifarLtRlRun:
        settings = self._resolved_settings()
        return CifarLtRlRun(
            dataset=self.dataset,
            split=self.split,
            test_agnostic=self.test_agnostic,
            method=self.method,
            reflective=self.reflective,
            recipe=self.recipe,
            model=settings["model"],
            method_options=dict(self.method_options.get(self.method, {}) or {}),
            reflective_learning=self.reflective_learning if self.reflective else None,
            data=self.data,
            augment=AugmentParams.from_params(settings["augment"], f"{namespace}.augment"),
            train=TrainConfig.from_params(settings["train"], f"{namespace}.train"),
            aggregation=self.aggregation,
            evaluation=self.evaluation,
        )

    def run_config(self, namespace: str) -> dict:
        return self.resolve(namespace).to_dict()
