"""Nodes that restrict an official PYSKL annotation pickle to a long-tailed training list."""

from __future__ import annotations

from longtail_lab.data.skeletons.ntu_names import SampleNames
from longtail_lab.data.skeletons.pyskl import AnnotationSet, LongTailFilterParams, filter_annotations
from longtail_lab.errors import DataError


def filter_lt_annotations(
    annotations: AnnotationSet, lt_lists: dict[str, SampleNames], run_config: dict
) -> tuple[AnnotationSet, dict]:
    """-> (annotations of the long-tailed training list + the kept test split, report)."""
    block = f"{run_config['namespace']}.ntu_lt_pyskl"
    params = LongTailFilterParams.from_params(run_config["ntu_lt_pyskl"], block)
    if params.list not in lt_lists:
        raise DataError(f"parameter '{block}.list': {params.list!r} is not one of the ntu_lt lists {sorted(lt_lists)}")
    names = lt_lists[params.list]
    filtered, report = filter_annotations(
        annotations,
        names.names,
        split=params.split,
        keep_splits=list(params.keep_splits),
        on_missing=params.on_missing,
        list_source=names.source,
        expected_labels=names.labels.tolist(),
        block=block,
    )
    return filtered, {"list_name": params.list, "list_sha256": names.content_sha256(), **report}
