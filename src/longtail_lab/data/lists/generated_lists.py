"""New lists from the checked lists of a dataset: a long-tailed list drawn from a balanced list, and the
test-agnostic distributions (forward-r / uniform / backward-r) drawn from a balanced test list.

Numbers the user writes as integers (ratios, factors) stay integers in the settings: they are saved in the
run configuration and the summary, which must not change when ``4`` is written ``4``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.long_tail import test_agnostic_name
from longtail_lab.data.lists.splits import long_tail_from_list, test_agnostic_lists
from longtail_lab.params import MAX_SEED, ParamBlock, setting

Number = int | float  # an integer stays an integer in the saved configuration


@dataclass(frozen=True, kw_only=True)
class LongTailListParams(ParamBlock):
    """A long-tailed list drawn from a balanced list of the folder."""

    source: str = "train"
    profile: Literal["exponential", "step"] = "exponential"
    n_max: int | None = setting(None, ge=1)  # None: the smallest class of ``source``
    seed: int = setting(0, ge=0, le=MAX_SEED)
    imbalance_ratio: Number = setting(ge=1)


@dataclass(frozen=True, kw_only=True)
class AgnosticListsParams(ParamBlock):
    """The test-agnostic distributions (forward-r / uniform / backward-r) drawn from a balanced test list."""

    source: str | None = None  # None: lists.test (else "test")
    rank_by: str | None = None  # the list whose class counts rank the classes; None: lists.train
    ratios: tuple[Number, ...] = setting((50, 25, 10, 5, 2), gt=0)
    n_max: int = setting(50, ge=1)
    seed: int = setting(0, ge=0, le=MAX_SEED)
    factors: dict[str, Number] = field(default_factory=dict)  # e.g. forward3: 0.3333 instead of 1/3

    def distribution_names(self) -> set[str]:
        return {test_agnostic_name(d, float(r)) for r in self.ratios for d in ("forward", "backward")}


@dataclass(frozen=True, kw_only=True)
class GenerateParams(ParamBlock):
    long_tail: LongTailListParams | None = None  # null: no long-tailed list
    test_agnostic: AgnosticListsParams | None = None  # null: no test-agnostic lists


def generate_lists(lists: dict[str, LabelList], num_classes: int, generate: GenerateParams) -> dict[str, LabelList]:
    """``long_tail`` (from the balanced list ``long_tail.source``) and the test-agnostic lists (from the
    balanced list ``test_agnostic.source``, classes ranked by the counts of ``test_agnostic.rank_by``, which
    may be the new ``long_tail``). ``source`` and ``rank_by`` of ``test_agnostic`` must be set (the parameter
    block resolves their defaults)."""
    lt, ta = generate.long_tail, generate.test_agnostic
    out: dict[str, LabelList] = {}
    if lt is not None:
        out["long_tail"] = long_tail_from_list(
            lists[lt.source], num_classes, lt.profile, float(lt.imbalance_ratio), lt.n_max, lt.seed
        )
    if ta is not None:
        available = lists | out
        counts = available[ta.rank_by].class_counts(num_classes)
        out |= test_agnostic_lists(
            available[ta.source], counts, [float(r) for r in ta.ratios], ta.n_max, ta.seed, ta.factors
        )
    return out
