"""The summary of a list-file dataset: every list's totals, the training list's class counts and shot groups,
generated lists compared with the official ones of the same name; and what its class histogram shows."""

from __future__ import annotations

import numpy as np

from longtail_lab.data.lists.dataset_check import ListSpec, named_list, train_counts
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.long_tail import shot_groups
from longtail_lab.data.lists.splits import compare_class_counts


def list_stats(lst: LabelList, num_classes: int) -> dict:
    """Total, classes present, largest and smallest class, content hash of one list."""
    counts = lst.class_counts(num_classes)
    return {
        "total": len(lst),
        "classes_present": int((counts > 0).sum()),
        "max_count": int(counts.max()),
        "min_count": int(counts.min()),
        "content_sha256": lst.content_hash(),
    }


def dataset_summary(
    dataset: str,
    spec: ListSpec,
    spec_key: str,
    lists: dict[str, LabelList],
    generated: dict[str, LabelList],
    *,
    config: dict,
    check_report: dict,
    class_remap: str,
) -> dict:
    """The summary (``list_summary.json``) of the lists and generated lists of ``dataset``; ``config``, the
    ``check_report`` and the ``class_remap`` mode are recorded as given. ``spec_key``: the full key of ``spec``."""
    num_classes = spec.num_classes
    counts = train_counts(lists, spec, spec_key)
    summary = {
        "dataset": dataset,
        "num_classes": num_classes,
        "config": config,
        "check": check_report,
        "class_remap": class_remap,
        "lists": {name: list_stats(lst, num_classes) for name, lst in sorted(lists.items())},
    }
    if counts is not None:
        groups = shot_groups(counts)
        summary["train"] = {
            "list": spec.train,
            "class_counts": counts.tolist(),
            "shot_thresholds": {"many": "> 100", "medium": "20-100", "few": "< 20"},
            "shot_group_sizes": {k: len(v) for k, v in groups.items()},
            "shot_groups": groups,
        }
    summary["generated"] = {}
    for name, lst in sorted(generated.items()):
        entry = list_stats(lst, num_classes)
        if name in lists and counts is not None:
            entry["vs_official"] = compare_class_counts(lst, lists[name], counts)
        summary["generated"][name] = entry
    return summary


def histogram_counts(
    dataset: str, spec: ListSpec, spec_key: str, lists: dict[str, LabelList]
) -> tuple[np.ndarray, str]:
    """(class counts, title) of the list the class histogram shows: the training list, else the test list,
    else the first list by name."""
    shown = spec.train or spec.test or min(lists)
    counts = named_list(lists, shown, f"{spec_key}.train").class_counts(spec.num_classes)
    return counts, f"{dataset}: list '{shown}' ({int(counts.sum())} images, {spec.num_classes} classes)"
