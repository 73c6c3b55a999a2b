"""The parameter block of one list-file dataset (namespaces ``imagenet_lt``, ``places_lt``, ``inat18_lt``).

Its parts are the settings of the functions they drive, declared beside them in ``data/lists``: ``lists`` and
``check`` (``dataset_check``), ``class_remap`` (``class_remap``), ``generate`` (``generated_lists``). The block
adds the checks across parts and names every parameter by its full key (``places_lt.lists.train``).
Numbers the user writes as integers (ratios, factors) stay integers: the resolved block is saved as the run
configuration and copied into ``list_summary.json``, which must not change when ``4`` is written ``4``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from longtail_lab.data.lists.class_remap import ClassRemapParams
from longtail_lab.data.lists.dataset_check import ListCheckParams, ListSpec
from longtail_lab.data.lists.generated_lists import GenerateParams
from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.errors import DataError
from longtail_lab.params import ParamBlock, Problems


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

    def training_lists(self, prefix: str) -> dict[str, str]:
        """Full parameter key -> name of every list of the folder whose class counts drive a result (it trains
        on it or ranks the classes by it; the generated ``long_tail`` is not a list of the folder)."""
        gen, keys = self.generate, {f"{prefix}.lists.train": self.lists.train}
        if gen.long_tail is not None:
            keys[f"{prefix}.generate.long_tail.source"] = gen.long_tail.source
        if gen.test_agnostic is not None and gen.test_agnostic.rank_by != "long_tail":
            keys[f"{prefix}.generate.test_agnostic.rank_by"] = gen.test_agnostic.rank_by or self.lists.train
        return {key: name for key, name in keys.items() if name is not None}
