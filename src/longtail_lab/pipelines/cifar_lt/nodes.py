"""Train and evaluate a single-model long-tail baseline on a CIFAR-style split (in memory or from image files)."""

from __future__ import annotations

import logging
from functools import partial

import pandas as pd

from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.split_identity import trained_split_sha
from longtail_lab.data.lists.splits import select_split
from longtail_lab.engine.checkpoints import RunCheckpoints
from longtail_lab.engine.image_training import train_split
from longtail_lab.engine.threads import use_threads
from longtail_lab.evaluation.metrics import long_tail_report
from longtail_lab.evaluation.plots import accuracy_vs_frequency, agnostic_accuracy, training_curves
from longtail_lab.evaluation.report import provenance, rounded, summary_line
from longtail_lab.evaluation.test_set import test_logits, test_subsets, trained_model_and_test
from longtail_lab.methods.losses import build_loss
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_spec
from longtail_lab.pipelines.cifar_lt.parameters import CifarLtParams

log = logging.getLogger(__name__)


def train_model(
    sources: ImageSources,
    split_list: LabelList,
    split_summary: dict,
    run_checkpoints: RunCheckpoints,
    run_config: dict,
) -> tuple[dict, pd.DataFrame]:
    """Train the configured model with its loss on the long-tailed split; resumes a matching unfinished run."""
    cfg = CifarLtParams.from_run_config(run_config)
    train = select_split(sources.load(cfg.dataset, cfg.data.in_memory).train, split_list, cfg.dataset)
    name, kwargs, signature = model_spec(cfg.model, train.num_classes)
    checkpoint, history = train_split(
        train,
        partial(build_model, name, train.num_classes, **kwargs),
        signature,
        SupervisedObjective(build_loss(cfg.loss, train.class_counts())),
        cfg.augment,
        cfg.train,
        {
            "dataset": cfg.dataset,
            "split": trained_split_sha(split_list, split_summary, run_config["namespace"]),
            "loss": cfg.loss,
        },
        run_checkpoints,
        cfg.data.workers,
    )
    return checkpoint, pd.DataFrame(history)


def evaluate_model(
    sources: ImageSources,
    checkpoint: dict,
    split_summary: dict,
    test_agnostic_lists: dict[str, LabelList],
    run_config: dict,
):
    """Uniform top-1, many/medium/few, ECE, per-class table, test-agnostic table and plots, training curves."""
    cfg, namespace = CifarLtParams.from_run_config(run_config), run_config["namespace"]
    use_threads(cfg.train.num_threads)
    net, test = trained_model_and_test(
        sources, checkpoint, split_summary, cfg.model, cfg.dataset, namespace, cfg.data.in_memory
    )
    logits = test_logits(net, test, cfg.evaluation.batch_size, namespace, workers=cfg.data.workers)
    metrics, table, agnostic = long_tail_report(
        logits,
        test.labels,
        test.classes,
        split_summary["class_counts"],
        test_subsets(test, test_agnostic_lists),
        cfg.evaluation.ece_bins,
    )
    metrics.update(provenance(run_config, split_summary, checkpoint))
    metrics["imbalance_ratio"] = split_summary["imbalance_ratio"]
    metrics["loss"] = cfg.loss
    metrics["train"] = checkpoint["stats"]
    title = f"{cfg.dataset} IR{split_summary['imbalance_ratio']:g} {cfg.loss}: top-1 {metrics['top1']:.3f}"
    log.info("evaluation: %s", summary_line(metrics, ("top1", "many", "medium", "few", "ece")))
    history = pd.DataFrame(checkpoint["history"])
    return (
        rounded(metrics),
        rounded(table),
        rounded(agnostic),
        accuracy_vs_frequency(table, title),
        agnostic_accuracy(agnostic, title),
        training_curves(history, title),
    )
