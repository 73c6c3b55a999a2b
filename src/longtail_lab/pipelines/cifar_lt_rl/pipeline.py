"""``cifar_lt_rl`` = split template -> resolve recipe -> train -> test-time aggregation -> evaluate/report."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.cifar_lt_rl.nodes import aggregate_experts, evaluate_model, resolve_run_config, train_model
from longtail_lab.pipelines.lt_splits.pipeline import RAW, split_template

NAMESPACE = "cifar_lt_rl"


def method_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                resolve_run_config,
                [
                    "params:method",
                    "params:reflective",
                    "params:recipe",
                    "params:recipes",
                    "params:models",
                    "params:model",
                    "params:method_options",
                    "params:reflective_learning",
                    "params:augment",
                    "params:train",
                ],
                "run_config",
                name="resolve_run_config",
            ),
            Node(
                train_model,
                [RAW, "split_list", "split_summary", "run_checkpoints", "params:dataset", "run_config"],
                ["model_checkpoint", "training_history"],
                name="train_model",
            ),
            Node(
                aggregate_experts,
                [RAW, "model_checkpoint", "test_agnostic_lists", "params:dataset", "run_config", "params:aggregation"],
                "expert_weights",
                name="aggregate_experts",
            ),
            Node(
                evaluate_model,
                [
                    RAW,
                    "model_checkpoint",
                    "split_summary",
                    "test_agnostic_lists",
                    "expert_weights",
                    "params:dataset",
                    "run_config",
                    "params:evaluation",
                ],
                [
                    "metrics",
                    "per_class_accuracy",
                    "test_agnostic_accuracy",
                    "accuracy_vs_frequency",
                    "expert_accuracy",
                ],
                name="evaluate_model",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(split_template() + method_template(), namespace=NAMESPACE, inputs={RAW}, tags=[NAMESPACE])
