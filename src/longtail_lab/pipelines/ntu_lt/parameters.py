"""The parameter block of an ``ntu_lt`` namespace, read whole by both ``ntu_lt`` and ``ntu_lt_pyskl``.

An NTU namespace (``ntu60_xsub``, ``ntu60_xview``, ``ntu120_xsub``, ``ntu120_xset``) holds the ``ntu_lt`` list
settings and the ``ntu_lt_pyskl`` filter settings; ``nwucla`` holds only ``ntu_lt`` (there is no NW-UCLA
PYSKL pickle). Both pipelines check the same block with the same first node, so running them together
checks it once and writes one run configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from longtail_lab.data.skeletons.ntu_names import NWUCLA_NUM_CLASSES, LongTailListsParams
from longtail_lab.data.skeletons.pyskl import LongTailFilterParams
from longtail_lab.params import ParamBlock, Problems

NTU_NAMESPACES = ("ntu60_xsub", "ntu60_xview", "ntu120_xsub", "ntu120_xset")
NWUCLA_NAMESPACE = "nwucla"


@dataclass(frozen=True, kw_only=True)
class NtuBlock(ParamBlock):
    """An NTU RGB+D 60/120 benchmark split."""

    ntu_lt: LongTailListsParams
    ntu_lt_pyskl: LongTailFilterParams

    def cross_check(self, prefix: str) -> Problems:
        if self.ntu_lt.views is not None:
            return [
                (f"{prefix}.ntu_lt.views", f"applies to NW-UCLA only; set it to null, got {list(self.ntu_lt.views)}")
            ]
        return []


@dataclass(frozen=True, kw_only=True)
class NwuclaBlock(ParamBlock):
    """NW-UCLA (lists only)."""

    ntu_lt: LongTailListsParams

    def cross_check(self, prefix: str) -> Problems:
        if self.ntu_lt.num_classes != NWUCLA_NUM_CLASSES:
            return [(f"{prefix}.ntu_lt.num_classes", f"must be {NWUCLA_NUM_CLASSES} (the NW-UCLA actions), "
                     f"got {self.ntu_lt.num_classes}")]  # fmt: skip
        return []


def namespace_block(namespace: str) -> type[ParamBlock]:
    return NwuclaBlock if namespace == NWUCLA_NAMESPACE else NtuBlock
