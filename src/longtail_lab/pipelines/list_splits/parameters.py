"""The parameter block of one list-file dataset (namespaces ``imagenet_lt``, ``places_lt``, ``inat18_lt``).

Numbers the user writes as integers (ratios, factors) stay integers: the resolved block is saved as the run
configuration and copied into ``list_summary.json``, which must not change when ``4`` is written ``4``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from longtail_lab.data.lists.long_tail import class_profile, test_agnostic_name
from longtail_lab.errors import DataError
from longtail_lab.params import MAX_CLASSES, MAX_SEED, ParamBlock, Problems, setting

Number = int | float  # an integer stays an integer in the saved configuration


@dataclass(frozen=True, kw_only=True)
class ListSpec(ParamBlock):
    """Which official list files make the dataset: ``<prefix><name>.txt`` is the list ``<name>``."""

    prefix: str = ""
    num_classes: int = setting(ge=1, le=MAX_CLASSES)
    train: str | None = None  # the training list: class counts, shot groups, frequency ranking
    test: str | None = None


@dataclass(frozen=True, kw_only=True)
class ListCheckParams(ParamBlock):
    """How the list files are validated (``check.strict``: any problem stops the run)."""

    files: bool = True  # every image named by a list exists under the image root
    decode: bool = False  # every image decodes
    strict: bool = True  # false: bad lines are left out and reported
    workers: int = setting(4, ge=1)  # decoding threads
    max_reported: int = setting(20, ge=0)  # problems listed in the error message


@dataclass(frozen=True, kw_only=True)
class ClassRemapParams(ParamBlock):
    mode: Literal["none", "frequency"] = "none"  # frequency: class 0 = most frequent training class (SADE)
    tie_break: Literal["class_id", "numpy_quicksort"] = "class_id"  # data.long_tail.TIE_BREAKS


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


@dataclass(frozen=True, kw_only=True)
class ListSplitsBlock(ParamBlock):
    """The whole block of a list-file dataset namespace."""

    dataset: str  # the dataset's display name (summary, histogram title)
    lists: ListSpec
    check: ListCheckParams = ListCheckParams()
    class_remap: ClassRemapParams = ClassRemapParams()
    generate: GenerateParams = GenerateParams()

    def cross_check(self, prefix: str) -> Problems:
        problems: Problems = []
        if self.class_remap.mode != "none" and self.lists.train is None:
            problems.append((f"{prefix}.class_remap.mode", f"'{self.class_remap.mode}' ranks classes by training "
                             f"counts: set {prefix}.lists.train"))  # fmt: skip
        lt, key = self.generate.long_tail, f"{prefix}.generate.long_tail"
        if lt is not None:
            try:  # no class may get 0 samples (n_max null: the source's smallest class, checked as if large)
                class_profile(lt.profile, self.lists.num_classes, float(lt.imbalance_ratio), lt.n_max or 1_000_000, key)
            except DataError as exc:
                problems.append((f"{key}.imbalance_ratio", f"does not fit: {exc}"))
        ta, key = self.generate.test_agnostic, f"{prefix}.generate.test_agnostic"
        if ta is not None:
            if ta.rank_by is None and self.lists.train is None:
                problems.append((f"{key}.rank_by", f"is needed to rank classes by training frequency: set "
                                 f"{prefix}.lists.train or {key}.rank_by"))  # fmt: skip
            for name in ("source", "rank_by"):
                if getattr(ta, name) == "long_tail" and lt is None:
                    problems.append(
                        (f"{key}.{name}", f"is the generated list 'long_tail': set {prefix}.generate.long_tail")
                    )
            unknown = sorted(set(ta.factors) - ta.distribution_names())
            if unknown:
                problems.append((f"{key}.factors", f"names no test distribution among the ratios "
                                 f"{list(ta.ratios)}: {unknown}"))  # fmt: skip
        return problems

    def normalized(self) -> ListSplitsBlock:
        """Defaults that depend on other keys made explicit (test-agnostic source and ranking list)."""
        ta = self.generate.test_agnostic
        if ta is None:
            return self
        source, rank_by = ta.source or self.lists.test or "test", ta.rank_by or self.lists.train
        ta = dataclasses.replace(ta, source=source, rank_by=rank_by)
        return dataclasses.replace(self, generate=dataclasses.replace(self.generate, test_agnostic=ta))

    def summary_config(self) -> dict:
        """The settings as ``list_summary.json`` records them."""
        settings = self.to_dict()
        return {key: settings[key] for key in ("lists", "check", "class_remap", "generate")}

    def referenced_lists(self, prefix: str) -> dict[str, str]:
        """Full parameter key -> list name, for every list of the folder the block names."""
        names = {f"{prefix}.lists.{key}": getattr(self.lists, key) for key in ("train", "test")}
        gen = self.generate
        if gen.long_tail is not None:
            names[f"{prefix}.generate.long_tail.source"] = gen.long_tail.source
        if gen.test_agnostic is not None:  # may also name the generated list "long_tail"
            for key in ("source", "rank_by"):
                if getattr(gen.test_agnostic, key) != "long_tail":
                    names[f"{prefix}.generate.test_agnostic.{key}"] = getattr(gen.test_agnostic, key)
        return {key: name for key, name in names.items() if name is not None}
