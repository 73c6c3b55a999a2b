"""The parameter block of a long-tailed split (``lt_splits`` namespaces; the start of ``cifar_lt``/``cifar_lt_rl``)."""

from __future__ import annotations

from dataclasses import dataclass

from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.splits import AgnosticListParams, SplitParams
from longtail_lab.params import ParamBlock, Problems


@dataclass(frozen=True, kw_only=True)
class SplitBlock(ParamBlock):
    dataset: str  # a name under raw_image_datasets.sources in the catalog
    split: SplitParams = SplitParams()
    test_agnostic: AgnosticListParams = AgnosticListParams()

    def check_inputs(self, prefix: str, sources: ImageSources) -> Problems:
        if self.dataset not in sources.names():
            return [(f"{prefix}.dataset", f"must name a raw dataset of the catalog ({', '.join(sources.names())}), "
                     f"got {self.dataset!r}")]  # fmt: skip
        return []
