"""The parameter block of a ``seg_labels`` namespace (``cityscapes``, ``gtav``, ``synthia``): one ``seg_labels``
key with the conversion settings, whether the dataset must be present and (Cityscapes only) the splits."""

from __future__ import annotations

from dataclasses import dataclass

from longtail_lab.data.segmentation.conversion import ConversionSettings
from longtail_lab.params import ParamBlock, Problems

NAMESPACES = ("cityscapes", "gtav", "synthia")
CITYSCAPES = "cityscapes"


@dataclass(frozen=True, kw_only=True)
class LabelParams(ConversionSettings):
    required: bool = False  # true: an absent dataset root is an error instead of a reported "absent"


@dataclass(frozen=True, kw_only=True)
class CityscapesLabelParams(LabelParams):
    splits: tuple[str, ...] | None = None  # None: every split found under leftImg8bit/

    def cross_check(self, prefix: str) -> Problems:
        problems = super().cross_check(prefix)
        if self.splits is not None and not self.splits:
            problems.append((f"{prefix}.splits", "must name at least one split (or be null for all), got []"))
        return problems


@dataclass(frozen=True, kw_only=True)
class SegLabelsBlock(ParamBlock):
    seg_labels: LabelParams = LabelParams()


@dataclass(frozen=True, kw_only=True)
class CityscapesBlock(ParamBlock):
    seg_labels: CityscapesLabelParams = CityscapesLabelParams()


def namespace_block(namespace: str) -> type[SegLabelsBlock | CityscapesBlock]:
    return CityscapesBlock if namespace == CITYSCAPES else SegLabelsBlock
