"""Nodes of ``cifar_lt_rl``: resolve the recipe, train, learn expert weights at test time, evaluate."""

from __future__ import annotations

import copy
import logging
from functools import partial

import pandas as pd
import torch

from longtail_lab.data.augment import StrongViewAugment
from longtail_lab.data.list_files import LabelList
from longtail_lab.data.sources import ImageSources
from longtail_lab.data.splits import select_split
from longtail_lab.engine.array_training import build_augment, train_split
from longtail_lab.engine.checkpoint import RunCheckpoints, check_signature
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.predict import predict_expert_logits
from longtail_lab.evaluation.metrics import classification_metrics, long_tail_report
from longtail_lab.evaluation.plots import accuracy_vs_frequency, expert_accuracy_by_group
from longtail_lab.methods.aggregation import ViewLogitsCache, aggregate_all, aggregate_logits
from longtail_lab.methods.losses import LOSSES
from longtail_lab.methods.objectives import build_objective
from longtail_lab.methods.reflective import ReflectiveOptions
from longtail_lab.models import build_model, model_spec
from longtail_lab.params import reject_unknown_keys

log = logging.getLogger(__name__)

AGGREGATION_KEYS = {
    "enabled",
    "epochs",
    "lr",
    "momentum",
    "nesterov",
    "weight_decay",
    "batch_size",
    "min_weight",
    "seed",
}
VIEW_KEYS = {"groups", "batch_size"}


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def resolve_run_config(
    method: str,
    reflective: bool,
    recipe: str,
    recipes: dict,
    models: dict,
    model: dict,
    method_options: dict,
    reflective_learning: dict,
    augment: dict,
    train: dict,
) -> dict:
    """One explicit configuration: the recipe's augmentation and schedule under ``augment``/``train``
    overrides, the method's model under ``model`` overrides. Saved as the run's resolved parameters."""
    if method not in LOSSES:
        raise ValueError(f"parameter 'method': unknown method {method!r}; known: {sorted(LOSSES)}")
    if not isinstance(reflective, bool):
        raise ValueError(f"parameter 'reflective' must be true or false, got {reflective!r}")
    if recipe not in recipes:
        raise ValueError(f"parameter 'recipe': unknown recipe {recipe!r}; known: {sorted(recipes)}")
    if method not in models and not model.get("name"):
        raise ValueError(f"parameter 'models' has no model for method {method!r}; add models.{method} or model.name")
    chosen = recipes[recipe] or {}
    unknown = sorted(set(chosen) - {"augment", "train", "description"})
    if unknown:
        raise ValueError(f"parameter 'recipes.{recipe}.{unknown[0]}' is unknown; a recipe sets augment and train")
    resolved = {
        "method": method,
        "reflective": reflective,
        "recipe": recipe,
        "model": _merge(models.get(method, {}), model),
        "method_options": dict((method_options or {}).get(method, {}) or {}),
        "reflective_learning": dict(reflective_learning or {}) if reflective else {},
        "augment": _merge(chosen.get("augment", {}), augment),
        "train": _merge(chosen.get("train", {}), train),
    }
    # fail here, before any data is read, on settings the later nodes would refuse
    TrainConfig.from_params(resolved["train"])
    build_augment(resolved["augment"])
    if reflective:
        ReflectiveOptions.from_params(resolved["reflective_learning"])
    return resolved


def train_model(
    sources: ImageSources,
    split_list: LabelList,
    split_summary: dict,
    run_checkpoints: RunCheckpoints,
    dataset: str,
    run_config: dict,
) -> tuple[dict, pd.DataFrame]:
    """Train the resolved configuration on the long-tailed split; resumes a matching unfinished run."""
    cfg = TrainConfig.from_params(run_config["train"])
    data = sources.load(dataset)
    train_arrays = select_split(data.train, split_list, dataset)
    num_classes = data.train.num_classes
    name, kwargs, signature = model_spec(run_config["model"], num_classes)
    objective = build_objective(
        run_config["method"],
        train_arrays.class_counts(),
        len(train_arrays),
        run_config["method_options"],
        run_config["reflective"],
        run_config["reflective_learning"],
    )
    run_key = {
        "dataset": dataset,
        "split": split_summary["content_sha256"],
        **{k: run_config[k] for k in ("method", "method_options", "reflective", "reflective_learning")},
    }
    checkpoint, history = train_split(
        train_arrays,
        partial(build_model, name, num_classes, **kwargs),
        signature,
        objective,
        run_config["augment"],
        cfg,
        run_key,
        run_checkpoints,
    )
    checkpoint["run_config"] = run_config
    return checkpoint, pd.DataFrame(history)


def _load_model(checkpoint: dict, run_config: dict, num_classes: int) -> torch.nn.Module:
    name, kwargs, signature = model_spec(run_config["model"], num_classes)
    check_signature(checkpoint, signature, "model_checkpoint")
    net = build_model(name, num_classes, **kwargs)
    net.load_state_dict(checkpoint["model"])
    return net


def aggregate_experts(
    sources: ImageSources,
    checkpoint: dict,
    test_agnostic_lists: dict[str, LabelList],
    dataset: str,
    run_config: dict,
    aggregation: dict,
) -> dict:
    """SADE's test-time self-supervised aggregation: expert weights per test distribution, learned on that
    distribution's unlabeled test images (two strong views, prediction stability), fresh for each."""
    aggregation = dict(aggregation)
    views = dict(aggregation.pop("views", {}) or {})
    reject_unknown_keys(aggregation, AGGREGATION_KEYS, "aggregation")
    reject_unknown_keys(views, VIEW_KEYS, "aggregation.views")
    test = sources.load(dataset).test
    net = _load_model(checkpoint, run_config, test.num_classes)
    experts = getattr(net, "num_experts", 1)
    enabled = bool(aggregation.pop("enabled", True))
    if experts < 2 or not enabled:
        reason = "single-expert model" if experts < 2 else "aggregation.enabled is false"
        log.info("test-time aggregation skipped (%s): equal expert weights", reason)
        return {"learned": False, "reason": reason, "distributions": {}}
    subsets = {n: test.indices_of(lst.items, f"test_agnostic_lists/{n}") for n, lst in test_agnostic_lists.items()}
    cache = ViewLogitsCache(
        net,
        test.images,
        StrongViewAugment(groups=int(views.get("groups", 16))),
        batch_size=int(views.get("batch_size", 512)),
        seed=int(aggregation.get("seed", 0)),
        keep_epochs=1,
    )
    results = aggregate_all(cache, subsets, **aggregation)
    for name, res in results.items():
        log.info(
            "aggregation %s: weights %s after %d epoch(s)%s",
            name,
            [round(w, 3) for w in res.weights],
            res.epochs_run,
            " (early stop)" if res.stopped_early else "",
        )
    return {"learned": True, "distributions": {n: r.to_dict() for n, r in results.items()}}


def evaluate_model(
    sources: ImageSources,
    checkpoint: dict,
    split_summary: dict,
    test_agnostic_lists: dict[str, LabelList],
    expert_weights: dict,
    dataset: str,
    run_config: dict,
    evaluation: dict,
):
    """Uniform and test-agnostic accuracy with equal expert weights (SADE's plain prediction) and with the
    learned weights; per-expert accuracy by shot group; per-class table; plots."""
    test = sources.load(dataset).test
    net = _load_model(checkpoint, run_config, test.num_classes)
    experts = predict_expert_logits(net, test.images, int(evaluation.get("batch_size", 512)))  # [E, N, C]
    equal = experts.mean(0)
    subsets = {n: test.indices_of(lst.items, f"test_agnostic_lists/{n}") for n, lst in test_agnostic_lists.items()}
    train_counts = split_summary["class_counts"]
    bins = int(evaluation.get("ece_bins", 15))
    metrics, table, agnostic = long_tail_report(equal, test.labels, test.classes, train_counts, subsets, bins)
    labels = torch.from_numpy(test.labels).long()

    # learned weights, one set per distribution, evaluated on that distribution's images
    learned = expert_weights.get("distributions", {})
    rows = []
    for name, idx in subsets.items():
        row = {"distribution": name, "num_test": len(idx)}
        row["top1_equal_weights"] = float(agnostic.loc[agnostic["distribution"] == name, "top1"].iloc[0])
        if name in learned:
            weights = learned[name]["weights"]
            idx_t = torch.as_tensor(idx, dtype=torch.long)
            pred = aggregate_logits(experts[:, idx_t], weights).argmax(1)
            row["top1_aggregated"] = float((pred == labels[idx_t]).float().mean()) if len(idx_t) else float("nan")
            row.update({f"weight_expert{k + 1}": w for k, w in enumerate(weights)})
            row["aggregation_epochs"] = learned[name]["epochs_run"]
        rows.append(row)
    agnostic_table = pd.DataFrame(rows)

    # each expert alone, the equal-weight ensemble and (if learned) the uniform-distribution aggregate
    by_expert = {}
    for k in range(experts.shape[0]):
        m, _ = classification_metrics(experts[k], labels, train_counts, bins)
        by_expert[f"expert{k + 1}"] = {g: m[g] for g in ("top1", "many", "medium", "few")}
    by_expert["equal_weights"] = {g: metrics[g] for g in ("top1", "many", "medium", "few")}
    if "uniform" in learned:
        m, _ = classification_metrics(aggregate_logits(experts, learned["uniform"]["weights"]), labels, train_counts)
        by_expert["aggregated_uniform"] = {g: m[g] for g in ("top1", "many", "medium", "few")}
        metrics["aggregated"] = {g: m[g] for g in ("top1", "many", "medium", "few", "ece")}
        metrics["test_agnostic_aggregated"] = dict(
            zip(agnostic_table["distribution"], agnostic_table["top1_aggregated"], strict=True)
        )
    metrics["experts"] = by_expert
    metrics["expert_weights"] = {n: r["weights"] for n, r in learned.items()}
    metrics["dataset"] = dataset
    metrics["imbalance_ratio"] = split_summary["imbalance_ratio"]
    metrics["method"] = run_config["method"]
    metrics["reflective"] = run_config["reflective"]
    metrics["recipe"] = run_config["recipe"]
    metrics["train"] = checkpoint["stats"]
    metrics["fingerprint"] = checkpoint["fingerprint"]
    label = f"{run_config['method']}{'+RL' if run_config['reflective'] else ''}"
    title = f"{dataset} IR{split_summary['imbalance_ratio']:g} {label}: top-1 {metrics['top1']:.3f}"
    log.info(
        "evaluation (%s, equal weights): top-1 %.4f many %s medium %s few %s; aggregated uniform %s",
        label,
        metrics["top1"],
        metrics["many"],
        metrics["medium"],
        metrics["few"],
        metrics.get("aggregated", {}).get("top1"),
    )
    return (
        metrics,
        table,
        agnostic_table,
        accuracy_vs_frequency(table, title),
        expert_accuracy_by_group(by_expert, title),
    )
