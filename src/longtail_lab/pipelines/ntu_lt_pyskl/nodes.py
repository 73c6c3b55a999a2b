"""Nodes that restrict an official PYSKL annotation pickle to a long-tailed training list."""

from __future__ import annotations

from longtail_lab.data.arrays import DataError
from longtail_lab.data.ntu_names import SampleNames
from longtail_lab.data.pyskl import AnnotationSet, filter_annotations
from longtail_lab.params import reject_unknown_keys

PYSKL_KEYS = {"list", "split", "keep_splits", "on_missing"}


def filter_lt_annotations(
    annotations: AnnotationSet, lt_lists: dict[str, SampleNames], ntu_lt_pyskl: dict
) -> tuple[AnnotationSet, dict]:
    """-> (annotations of the long-tailed training list + the kept test split, report)."""
    reject_unknown_keys(ntu_lt_pyskl, PYSKL_KEYS, "ntu_lt_pyskl", DataError)
    name = ntu_lt_pyskl.get("list")
    if name not in lt_lists:
        raise DataError(f"parameter 'ntu_lt_pyskl.list': {name!r} is not one of the ntu_lt lists {sorted(lt_lists)}")
    names = lt_lists[name]
    filtered, report = filter_annotations(
        annotations,
        names.names,
        split=ntu_lt_pyskl.get("split"),
        keep_splits=list(ntu_lt_pyskl.get("keep_splits") or []),
        on_missing=ntu_lt_pyskl.get("on_missing", "error"),
        list_source=names.source,
        expected_labels=names.labels.tolist(),
    )
    return filtered, {"list_name": name, "list_sha256": names.content_sha256(), **report}
