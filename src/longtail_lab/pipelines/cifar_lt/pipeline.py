"""``cifar_lt`` = check parameters -> the split template -> train -> evaluate (namespace ``cifar_lt``)."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.cifar_lt.nodes import evaluate_model, train_model
from longtail_lab.pipelines.cifar_lt.parameters import CifarLtParams
from longtail_lab.pipelines.lt_splits.pipeline import RAW, split_template

NAMESPACE = "cifar_lt"


def train_evaluate_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                train_model,
                [RAW, "split_list", "split_summary", "run_checkpoints", "run_config"],
                ["model_checkpoint", "training_history"],
                name="train_model",
            ),
            Node(
                evaluate_model,
                [RAW, "model_checkpoint", "split_summary", "test_agnostic_lists", "run_config"],
                [
                    "metrics",
                    "per_class_accuracy",
                    "test_agnostic_accuracy",
                    "accuracy_vs_frequency",
                    "test_agnostic_plot",
                    "training_curves",
                ],
                name="evaluate_model",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    template = split_template() + train_evaluate_template()
    return checked(NAMESPACE, CifarLtParams, template, inputs=(RAW,), check_inputs=(RAW,))
