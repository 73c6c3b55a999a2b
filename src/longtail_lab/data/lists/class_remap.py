"""Re-indexing the classes of every list of a dataset by descending training frequency (SADE's Places-LT
``class_map``: class 0 becomes the most frequent training class)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from longtail_lab.data.lists.dataset_check import ListSpec, train_counts
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.long_tail import frequency_class_map
from longtail_lab.data.lists.splits import relabel
from longtail_lab.params import ParamBlock


@dataclass(frozen=True, kw_only=True)
class ClassRemapParams(ParamBlock):
    mode: Literal["none", "frequency"] = "none"  # frequency: class 0 = most frequent training class (SADE)
    tie_break: Literal["class_id", "numpy_quicksort"] = "class_id"  # long_tail.TIE_BREAKS


def remap_lists(
    lists: dict[str, LabelList], remap: ClassRemapParams, spec: ListSpec, spec_key: str
) -> tuple[dict[str, LabelList], dict]:
    """Every list relabelled by ``remap`` -> (lists, class map record). ``mode: none`` returns ``lists`` as they
    are with the identity map; ``frequency`` ranks the classes by the counts of the training list ``spec.train``
    (``spec_key``: the full key of ``spec``, for messages)."""
    if remap.mode == "none":
        return lists, {"mode": "none", "class_map": list(range(spec.num_classes))}
    class_map = frequency_class_map(train_counts(lists, spec, spec_key), remap.tie_break)
    record = {
        "mode": remap.mode,
        "tie_break": remap.tie_break,
        "class_map": class_map.tolist(),
        "note": "class_map[original label] = new label",
    }
    return {name: relabel(lst, class_map) for name, lst in lists.items()}, record
