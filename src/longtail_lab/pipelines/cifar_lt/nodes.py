"""Train and evaluate a single-model long-tail baseline on an in-memory CIFAR-style split."""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
import pandas as pd
import torch

from longtail_lab.data.arrays import DataError
from longtail_lab.data.list_files import LabelList, check_labels
from longtail_lab.data.sources import ImageSources
from longtail_lab.engine.array_training import fit_arrays
from longtail_lab.engine.checkpoint import RunCheckpoints, check_signature, fingerprint
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.predict import predict_logits
from longtail_lab.evaluation.metrics import classification_metrics, per_class_table, subset_accuracy_table
from longtail_lab.evaluation.plots import accuracy_vs_frequency
from longtail_lab.methods.losses import build_loss
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_signature

log = logging.getLogger(__name__)

# Settings that change how a run is shown or where it runs, not what it computes.
NOT_IN_FINGERPRINT = ("resume", "progress", "log_every")


def _model_spec(model: dict, num_classes: int) -> tuple[str, dict, dict]:
    kwargs = {k: v for k, v in model.items() if k != "name"}
    if "widths" in kwargs:
        kwargs["widths"] = [int(w) for w in kwargs["widths"]]
    return (
        model.get("name", "resnet32"),
        kwargs,
        model_signature(model.get("name", "resnet32"), num_classes, **kwargs),
    )


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
    check_labels(split_list, data.train.num_classes, "split_list")
    rows = data.train.indices_of(split_list.items, "split_list")
    mismatch = np.flatnonzero(data.train.labels[rows] != split_list.labels)
    if mismatch.size:
        pos = int(mismatch[0])
        raise DataError(
            f"split_list, line {split_list.line_of(pos)}: item {split_list.items[pos]!r} has label "
            f"{int(split_list.labels[pos])} but {dataset} labels it {int(data.train.labels[rows[pos]])}; "
            f"the list was made for another dataset ({mismatch.size} lines disagree)"
        )
    train_arrays = data.train.subset(rows)
    counts = train_arrays.class_counts()
    name, kwargs, signature = _model_spec(model, data.train.num_classes)
    objective = SupervisedObjective(build_loss(loss, counts))
    key = fingerprint(
        {
            "dataset": dataset,
            "split": split_summary["content_sha256"],
            "model": signature,
            "loss": loss,
            "augment": augment,
            "train": {k: v for k, v in cfg.to_dict().items() if k not in NOT_IN_FINGERPRINT},
        }
    )
    log.info("training %s (%s loss) on %d images of %s; run %s", name, loss, len(train_arrays), dataset, key)
    result = fit_arrays(
        train_arrays,
        partial(build_model, name, data.train.num_classes, **kwargs),
        objective,
        augment,
        cfg,
        signature,
        run_checkpoints,
        key,
    )
    checkpoint = {
        "model": result.model_state,
        "model_signature": signature,
        "fingerprint": key,
        "class_counts": counts.tolist(),
        "stats": result.stats,
        "history": result.history,
    }
    return checkpoint, pd.DataFrame(result.history)


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
    name, kwargs, signature = _model_spec(model, test.num_classes)
    check_signature(checkpoint, signature, "model_checkpoint")
    net = build_model(name, test.num_classes, **kwargs)
    net.load_state_dict(checkpoint["model"])
    logits = predict_logits(net, test.images, int(evaluation.get("batch_size", 512)))
    labels = torch.from_numpy(test.labels)
    train_counts = split_summary["class_counts"]
    metrics, per_class = classification_metrics(logits, labels, train_counts, int(evaluation.get("ece_bins", 15)))
    correct = logits.argmax(1) == labels
    subsets = {n: test.indices_of(lst.items, f"test_agnostic_lists/{n}") for n, lst in test_agnostic_lists.items()}
    agnostic = subset_accuracy_table(correct, subsets)
    metrics["test_agnostic"] = dict(zip(agnostic["distribution"], agnostic["top1"], strict=True))
    metrics["dataset"] = dataset
    metrics["imbalance_ratio"] = split_summary["imbalance_ratio"]
    metrics["train"] = checkpoint["stats"]
    metrics["fingerprint"] = checkpoint["fingerprint"]
    table = per_class_table(per_class, train_counts, np.bincount(test.labels, minlength=test.num_classes), test.classes)
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
