"""``cifar_lt_rl`` = check parameters (resolve the recipe) -> split template -> train -> test-time aggregation
-> evaluate/report."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.cifar_lt_rl.nodes import aggregate_experts, evaluate_model, train_model
from longtail_lab.pipelines.cifar_lt_rl.parameters import CifarLtRlParams
from longtail_lab.pipelines.lt_splits.pipeline import RAW, split_template

NAMESPACE = "cifar_lt_rl"


def method_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                train_model,
                [RAW, "split_list", "split_summary", "run_checkpoints", "run_config"],
                ["model_checkpoint", "training_history"],
                name="train_model",
            ),
            Node(
                aggregate_experts,
                [RAW, "model_checkpoint", "split_summary", "test_agnostic_lists", "run_config"],
                "expert_weights",
                name="aggregate_experts",
            ),
            Node(
                evaluate_model,
                [RAW, "model_checkpoint", "split_summary", "test_agnostic_lists", "expert_weights", "run_config"],
                [
                    "metrics",
                    "per_class_accuracy",
                    "test_agnostic_accuracy",
                    "accuracy_vs_frequency",
                    "expert_accuracy",
                    "test_agnostic_plot",
                    "training_curves",
                ],
                name="evaluate_model",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    template = split_template() + method_template()
    return checked(NAMESPACE, CifarLtRlParams, template, inputs=(RAW,), check_inputs=(RAW,))
