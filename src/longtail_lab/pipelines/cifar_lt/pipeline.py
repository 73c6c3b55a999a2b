"""``cifar_lt`` = the split template + train + evaluate, in the ``cifar_lt`` namespace."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.cifar_lt.nodes import evaluate_model, train_model
from longtail_lab.pipelines.lt_splits.pipeline import RAW, split_template

NAMESPACE = "cifar_lt"


def train_evaluate_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                train_model,
                [
                    RAW,
                    "split_list",
                    "split_summary",
                    "run_checkpoints",
                    "params:dataset",
                    "params:model",
                    "params:loss",
                    "params:augment",
                    "params:train",
                ],
                ["model_checkpoint", "training_history"],
                name="train_model",
            ),
            Node(
                evaluate_model,
                [
                    RAW,
                    "model_checkpoint",
                    "split_summary",
                    "test_agnostic_lists",
                    "params:dataset",
                    "params:model",
                    "params:evaluation",
                ],
                ["metrics", "per_class_accuracy", "test_agnostic_accuracy", "accuracy_vs_frequency"],
                name="evaluate_model",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(split_template() + train_evaluate_template(), namespace=NAMESPACE, inputs={RAW}, tags=[NAMESPACE])
