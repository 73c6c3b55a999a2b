"""Train and evaluate a single-model long-tail baseline on an in-memory CIFAR-style split."""

from __future__ import annotations

import logging
from functools import partial

import pandas as pd

from longtail_lab.data.list_files import LabelList
from longtail_lab.data.sources import ImageSources
from longtail_lab.data.splits import select_split
from longtail_lab.engine.array_training import train_split
from longtail_lab.engine.checkpoint import RunCheckpoints, check_signature
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.predict import predict_logits
from longtail_lab.evaluation.metrics import long_tail_report
from longtail_lab.evaluation.plots import accuracy_vs_frequency
from longtail_lab.methods.losses import build_loss
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_spec

log = logging.getLogger(__name__)


def train_model(
    sources: ImageSources,
    split_list: LabelList,
    split_summary: dict,
    run_checkpoints: RunCheckpoints,
    dataset: str,
    model: dict,
    loss: str,
    augment: dict,
    train: dict,
) -> tuple[dict, pd.DataFrame]:
    """Train ``model`` with ``loss`` on the long-tailed split; resumes a matching unfinished run."""
    cfg = TrainConfig.from_params(train)
    data = sources.load(dataset)
    train_arrays = select_split(data.train, split_list, dataset)
    name, kwargs, signature = model_spec(model, data.train.num_classes)
    objective = SupervisedObjective(build_loss(loss, train_arrays.class_counts()))
    checkpoint, history = train_split(
        train_arrays,
        partial(build_model, name, data.train.num_classes, **kwargs),
        signature,
        objective,
        augment,
        cfg,
        {"dataset": dataset, "split": split_summary["content_sha256"], "loss": loss},
        run_checkpoints,
    )
    return checkpoint, pd.DataFrame(history)


def evaluate_model(
    sources: ImageSources,
    checkpoint: dict,
    split_summary: dict,
    test_agnostic_lists: dict[str, LabelList],
    dataset: str,
    model: dict,
    evaluation: dict,
):
    """Uniform top-1, many/medium/few, ECE, per-class table, test-agnostic table, accuracy plot."""
    test = sources.load(dataset).test
    name, kwargs, signature = model_spec(model, test.num_classes)
    check_signature(checkpoint, signature, "model_checkpoint")
    net = build_model(name, test.num_classes, **kwargs)
    net.load_state_dict(checkpoint["model"])
    logits = predict_logits(net, test.images, int(evaluation.get("batch_size", 512)))
    subsets = {n: test.indices_of(lst.items, f"test_agnostic_lists/{n}") for n, lst in test_agnostic_lists.items()}
    train_counts = split_summary["class_counts"]
    metrics, table, agnostic = long_tail_report(
        logits, test.labels, test.classes, train_counts, subsets, int(evaluation.get("ece_bins", 15))
    )
    metrics["dataset"] = dataset
    metrics["imbalance_ratio"] = split_summary["imbalance_ratio"]
    metrics["train"] = checkpoint["stats"]
    metrics["fingerprint"] = checkpoint["fingerprint"]
    title = f"{dataset} IR{split_summary['imbalance_ratio']:g}: top-1 {metrics['top1']:.3f}"
    log.info(
        "evaluation: top-1 %.4f many %s medium %s few %s ECE %.4f",
        metrics["top1"],
        metrics["many"],
        metrics["medium"],
        metrics["few"],
        metrics["ece"],
    )
    return metrics, table, agnostic, accuracy_vs_frequency(table, title)
