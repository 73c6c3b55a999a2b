"""Nodes of ``cifar_lt_rl``: train the resolved configuration, learn expert weights at test time, evaluate."""

from __future__ import annotations

import logging
from functools import partial

import pandas as pd
import torch

from longtail_lab.data.images.arrays import ImageArrays, TrainTest
from longtail_lab.data.images.augment import StrongViewAugment
from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.split_identity import trained_split_sha
from longtail_lab.data.lists.splits import list_rows, select_split, test_agnostic_lists, union_rows
from longtail_lab.engine.checkpoints import RunCheckpoints
from longtail_lab.engine.image_training import train_split
from longtail_lab.engine.threads import use_threads
from longtail_lab.evaluation.metrics import classification_metrics, long_tail_report
from longtail_lab.evaluation.plots import (
    accuracy_vs_frequency,
    agnostic_accuracy,
    expert_accuracy_by_group,
    training_curves,
)
from longtail_lab.evaluation.report import ordered, provenance, rounded, summary_line
from longtail_lab.evaluation.test_set import test_logits, test_subsets, trained_model_and_test
from longtail_lab.methods.aggregation import ViewLogitsCache, aggregate_all, aggregate_logits
from longtail_lab.methods.objectives import build_objective
from longtail_lab.models import build_model, model_spec
from longtail_lab.pipelines.cifar_lt_rl.parameters import CifarLtRlRun
from longtail_lab.progress import StepProgress

log = logging.getLogger(__name__)
GROUPS = ("top1", "many", "medium", "few")


def train_model(
    sources: ImageSources,
    split_list: LabelList,
    split_summary: dict,
    run_checkpoints: RunCheckpoints,
    run_config: dict,
) -> tuple[dict, pd.DataFrame]:
    """Train the resolved configuration on the long-tailed split; resumes a matching unfinished run."""
    run = CifarLtRlRun.from_run_config(run_config)
    train = select_split(sources.load(run.dataset, run.data.in_memory).train, split_list, run.dataset)
    num_classes = train.num_classes
    name, kwargs, signature = model_spec(run.model, num_classes)
    objective = build_objective(
        run.method,
        train.class_counts(),
        len(train),
        run.method_options,
        run.reflective,
        run.reflective_learning,
    )
    run_key = {
        "dataset": run.dataset,
        "split": trained_split_sha(split_list, split_summary, run_config["namespace"]),
        "method": run.method,
        "method_options": run.method_options,
        "reflective": run.reflective,
        "reflective_learning": run.reflective_learning.to_dict() if run.reflective_learning else {},
    }
    checkpoint, history = train_split(
        train,
        partial(build_model, name, num_classes, **kwargs),
        signature,
        objective,
        run.augment,
        run.train,
        run_key,
        run_checkpoints,
        run.data.workers,
    )
    checkpoint["run_config"] = run_config
    return checkpoint, pd.DataFrame(history)


def aggregation_pool(
    pool: str, data: TrainTest, train_counts: list[int], lists: dict[str, LabelList], run: CifarLtRlRun, prefix: str
) -> tuple[ImageArrays, dict]:
    """The unlabelled images of one pool and, per test distribution, the positions of its images among them.

    ``test``: each distribution's own test images. ``train_reshaped``: the balanced training set drawn with each
    distribution's profile (SADE's released CIFAR script: the same per-class counts and selection as the test
    lists, with the per-class maximum of the training set). Only the images some distribution uses are kept.
    """
    if pool == "test":
        rows = list_rows(data.test, lists)
        source = data.test
    else:
        n_max = run.aggregation.train_pool_n_max or int(data.train.class_counts().min())
        reshaped = test_agnostic_lists(
            data.train, train_counts, run.test_agnostic.ratios, n_max, run.test_agnostic.seed,
            prefix=f"{prefix}.aggregation.train_pool",
        )  # fmt: skip
        rows = list_rows(data.train, {name: reshaped[name] for name in lists}, "train_reshaped")
        source = data.train
    union, positions = union_rows(rows)
    pool_images = source.subset(union)
    if not isinstance(pool_images, ImageArrays):  # a file-backed dataset: the pool's images decoded into memory
        pool_images = pool_images.decode(max(run.data.workers, 1))
    return pool_images, ordered(positions)


def aggregate_experts(
    sources: ImageSources,
    checkpoint: dict,
    split_summary: dict,
    test_agnostic_lists: dict[str, LabelList],
    run_config: dict,
) -> dict:
    """SADE's test-time self-supervised aggregation: expert weights per test distribution, learned on that
    distribution's unlabelled images (two strong views, prediction stability), fresh for each; one set per pool."""
    run = CifarLtRlRun.from_run_config(run_config)
    params = run.aggregation
    net, _ = trained_model_and_test(
        sources, checkpoint, split_summary, run.model, run.dataset, run_config["namespace"], run.data.in_memory
    )
    data = sources.load(run.dataset, run.data.in_memory)
    experts = getattr(net, "num_experts", 1)
    if experts < 2 or not params.enabled or not params.pools:
        reason = "single-expert model" if experts < 2 else "aggregation is disabled (enabled: false or no pools)"
        log.info("test-time aggregation skipped (%s): equal expert weights", reason)
        return {"learned": False, "reason": reason, "pools": {}}
    use_threads(run.train.num_threads)
    out = {"learned": True, "pools": {}}
    for pool in params.pools:
        images, subsets = aggregation_pool(
            pool, data, split_summary["class_counts"], test_agnostic_lists, run, run_config["namespace"]
        )
        log.info(
            "test-time aggregation on the %s pool: %d distributions, views of %d images per epoch",
            pool,
            len(subsets),
            len(images),
        )
        with StepProgress(f"aggregation views ({pool})", 2 * len(images)) as progress:
            cache = ViewLogitsCache(
                net,
                images.images,
                StrongViewAugment(groups=params.views.groups),
                batch_size=params.views.batch_size,
                seed=params.seed,
                keep_epochs=1,
                progress=progress,
            )
            results = aggregate_all(cache, subsets, **params.options().to_dict())
        for name, res in results.items():
            log.info(
                "aggregation (%s pool) %s: weights %s after %d epoch(s)%s",
                pool,
                name,
                [round(w, 3) for w in res.weights],
                res.epochs_run,
                " (early stop)" if res.stopped_early else "",
            )
        out["pools"][pool] = {
            "images": len(images),
            "distributions": {name: rounded(res.to_dict()) for name, res in results.items()},
        }
    return out


def _pool_columns(pool: str) -> tuple[str, str, str]:
    """(top-1, weight prefix, epochs) columns of a pool in the test-agnostic table; the test pool keeps the
    plain names."""
    if pool == "test":
        return "top1_aggregated", "weight_expert", "aggregation_epochs"
    return f"top1_aggregated_{pool}", f"{pool}_weight_expert", f"aggregation_epochs_{pool}"


def evaluate_model(
    sources: ImageSources,
    checkpoint: dict,
    split_summary: dict,
    test_agnostic_lists: dict[str, LabelList],
    expert_weights: dict,
    run_config: dict,
):
    """Uniform and test-agnostic accuracy with equal expert weights (SADE's plain prediction) and with the
    learned weights of each pool; per-expert accuracy by shot group; per-class table; plots."""
    run, namespace = CifarLtRlRun.from_run_config(run_config), run_config["namespace"]
    use_threads(run.train.num_threads)
    net, test = trained_model_and_test(
        sources, checkpoint, split_summary, run.model, run.dataset, namespace, run.data.in_memory
    )
    experts = test_logits(net, test, run.evaluation.batch_size, namespace, experts=True, workers=run.data.workers)
    equal = experts.mean(0)
    subsets = test_subsets(test, test_agnostic_lists)
    train_counts = split_summary["class_counts"]
    bins = run.evaluation.ece_bins
    metrics, table, agnostic = long_tail_report(equal, test.labels, test.classes, train_counts, subsets, bins)
    labels = torch.from_numpy(test.labels).long()

    # learned weights, one set per distribution and pool, evaluated on that distribution's test images
    pools = expert_weights.get("pools", {})
    rows = []
    for name, idx in subsets.items():
        row = {"distribution": name, "num_test": len(idx)}
        row["top1_equal_weights"] = float(agnostic.loc[agnostic["distribution"] == name, "top1"].iloc[0])
        idx_t = torch.as_tensor(idx, dtype=torch.long)
        for pool, learned in pools.items():
            if name not in learned["distributions"]:
                continue
            top1_column, weight_column, epochs_column = _pool_columns(pool)
            weights = learned["distributions"][name]["weights"]
            pred = aggregate_logits(experts[:, idx_t], weights).argmax(1)
            row[top1_column] = float((pred == labels[idx_t]).float().mean()) if len(idx_t) else float("nan")
            row.update({f"{weight_column}{k + 1}": w for k, w in enumerate(weights)})
            row[epochs_column] = learned["distributions"][name]["epochs_run"]
        rows.append(row)
    agnostic_table = pd.DataFrame(rows)

    # each expert alone, the equal-weight ensemble and (if learned) the uniform-distribution aggregate
    by_expert = {}
    for k in range(experts.shape[0]):
        m, _ = classification_metrics(experts[k], labels, train_counts, bins)
        by_expert[f"expert{k + 1}"] = {g: m[g] for g in GROUPS}
    by_expert["equal_weights"] = {g: metrics[g] for g in GROUPS}
    for pool, learned in pools.items():
        top1_column = _pool_columns(pool)[0]
        suffix = "" if pool == "test" else f"_{pool}"
        weights = {n: r["weights"] for n, r in learned["distributions"].items()}
        metrics[f"expert_weights{suffix}"] = weights
        metrics[f"test_agnostic_aggregated{suffix}"] = dict(
            zip(agnostic_table["distribution"], agnostic_table[top1_column], strict=True)
        )
        if "uniform" in weights:
            m, _ = classification_metrics(aggregate_logits(experts, weights["uniform"]), labels, train_counts)
            by_expert[f"aggregated_uniform{suffix}"] = {g: m[g] for g in GROUPS}
            metrics[f"aggregated{suffix}"] = {g: m[g] for g in (*GROUPS, "ece")}
    metrics["experts"] = by_expert
    metrics["aggregation_pools"] = list(pools)
    metrics.update(provenance(run_config, split_summary, checkpoint))
    metrics["imbalance_ratio"] = split_summary["imbalance_ratio"]
    metrics["method"] = run.method
    metrics["reflective"] = run.reflective
    metrics["recipe"] = run.recipe
    metrics["train"] = checkpoint["stats"]
    title = f"{run.dataset} IR{split_summary['imbalance_ratio']:g} {run.label}: top-1 {metrics['top1']:.3f}"
    aggregated = metrics.get("aggregated", {}).get("top1")
    log.info(
        "evaluation (%s, equal weights): %s; aggregated uniform %s",
        run.label,
        summary_line(metrics),
        "n/a" if aggregated is None else f"{aggregated:.4f}",
    )
    history = pd.DataFrame(checkpoint["history"])
    return (
        rounded(metrics),
        rounded(table),
        rounded(agnostic_table),
        accuracy_vs_frequency(table, title),
        expert_accuracy_by_group(by_expert, title),
        agnostic_accuracy(agnostic_table, title, [c for c in agnostic_table.columns if c.startswith("top1")]),
        training_curves(history, title),
    )
