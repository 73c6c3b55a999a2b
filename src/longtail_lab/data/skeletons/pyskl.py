"""PYSKL / mmaction skeleton annotation pickles, read without executing arbitrary code.

A full file is ``{'split': {name: [frame_dir, ...]}, 'annotations': [ann, ...]}``; a bare list of
annotations and a single annotation dict are accepted too. Each annotation needs ``frame_dir``
(str), ``label`` (int >= 0), ``keypoint`` (ndarray [M, T, V, C]) and ``total_frames`` (== T);
``keypoint_score`` [M, T, V] is checked when present; other keys are kept as they are.

Pickles are loaded with an unpickler that only resolves what numpy arrays and builtin containers
need (array reconstruction, dtypes, latin-1 byte strings); anything else (``os.system``, ...) is
refused with a ``DataError`` before it can run.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from longtail_lab.data.lists.format import MAX_LABEL
from longtail_lab.data.skeletons.ntu_names import SampleNames
from longtail_lab.errors import DataError
from longtail_lab.params import ParamBlock

REQUIRED_KEYS = ("frame_dir", "label", "keypoint", "total_frames")
MISSING_MODES = ("error", "skip")


class RefusedPickle(pickle.UnpicklingError):
    """The pickle asks for something outside the allowed globals; nothing has been called."""


def _latin1_encode(obj, encoding="latin1"):
    """Byte strings of Python-2 style pickles arrive as ``_codecs.encode(text, 'latin1')``."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise RefusedPickle(f"codecs.encode with encoding {encoding!r} is not allowed")
    return obj.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], object]:
    try:  # numpy 2
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1.26 (pyproject allows it)
        from numpy.core import multiarray, numeric

    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
        ("codecs", "encode"): _latin1_encode,
    }
    for module in ("numpy.core", "numpy._core"):  # numpy 1 writes numpy.core, numpy 2 numpy._core
        allowed[(f"{module}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{module}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{module}.numeric", "_frombuffer")] = numeric._frombuffer
    for name in dir(np.dtypes):
        obj = getattr(np.dtypes, name)
        if isinstance(obj, type) and issubclass(obj, np.dtype):
            allowed[("numpy.dtypes", name)] = obj
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only numpy array/dtype reconstruction and latin-1 byte strings."""

    _allowed: dict[tuple[str, str], object] | None = None

    def find_class(self, module: str, name: str):
        if RestrictedUnpickler._allowed is None:
            RestrictedUnpickler._allowed = _allowed_globals()
        try:
            return RestrictedUnpickler._allowed[(module, name)]
        except KeyError:
            raise RefusedPickle(f"global '{module}.{name}' is not allowed in an annotation pickle") from None


def restricted_loads(data: bytes, source: str = "<pickle>"):
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except RefusedPickle as exc:
        raise DataError(f"{source}: refused pickle, nothing was executed ({exc})") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
        OverflowError,
        RecursionError,
    ) as exc:
        raise DataError(f"{source}: truncated or corrupt pickle ({type(exc).__name__}: {exc})") from None


@dataclass(eq=False)
class AnnotationSet:
    """Annotations plus the split dict; ``split`` is None when the file had none (bare list / one dict)."""

    annotations: list[dict]
    split: dict[str, list[str]] | None = None
    source: str = "<annotations>"
    form: str = "full"  # full | list | single: what was read, and what ``dumps_annotations`` writes back
    extra: dict = field(default_factory=dict)  # other top-level keys of a full file, kept as they are

    def __len__(self) -> int:
        return len(self.annotations)

    def frame_dirs(self) -> list[str]:
        return [ann["frame_dir"] for ann in self.annotations]


def _where(source: str, index: int, ann) -> str:
    name = ann.get("frame_dir") if isinstance(ann, dict) else None
    return f"{source}, annotation {index}" + (f" ({name})" if isinstance(name, str) and name else "")


def validate_annotation(ann, source: str = "<annotations>", index: int = 0) -> None:
    where = _where(source, index, ann)
    if not isinstance(ann, dict):
        raise DataError(f"{where}: expected a dict, got {type(ann).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in ann]
    if missing:
        raise DataError(f"{where}: missing key(s) {missing}")
    if not isinstance(ann["frame_dir"], str) or not ann["frame_dir"]:
        raise DataError(f"{where}: 'frame_dir' must be a non-empty string, got {ann['frame_dir']!r}")
    label = ann["label"]
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or not 0 <= label <= MAX_LABEL:
        raise DataError(f"{where}: 'label' must be an int >= 0 (at most {MAX_LABEL}), got {label!r}")
    keypoint = ann["keypoint"]
    if not isinstance(keypoint, np.ndarray) or keypoint.ndim != 4:
        shape = getattr(keypoint, "shape", type(keypoint).__name__)
        raise DataError(f"{where}: 'keypoint' must be an array [M, T, V, C], got {shape}")
    total = ann["total_frames"]
    if isinstance(total, bool) or not isinstance(total, int | np.integer) or total != keypoint.shape[1]:
        raise DataError(f"{where}: 'total_frames' is {total!r} but keypoint has T={keypoint.shape[1]}")
    score = ann.get("keypoint_score")
    if score is not None and getattr(score, "shape", None) != keypoint.shape[:3]:
        raise DataError(
            f"{where}: 'keypoint_score' shape {getattr(score, 'shape', None)} "
            f"!= keypoint [M, T, V] {keypoint.shape[:3]}"
        )


def annotation_set(obj, source: str = "<annotations>") -> AnnotationSet:
    """Validate an unpickled object (full file, bare list or single annotation) into an ``AnnotationSet``."""
    if isinstance(obj, dict) and "annotations" in obj:
        form, annotations, split = "full", obj["annotations"], obj.get("split")
        extra = {k: v for k, v in obj.items() if k not in ("annotations", "split")}
    elif isinstance(obj, dict):
        form, annotations, split, extra = "single", [obj], None, {}
    elif isinstance(obj, list):
        form, annotations, split, extra = "list", obj, None, {}
    else:
        raise DataError(f"{source}: expected a dict or list of annotations, got {type(obj).__name__}")
    if not isinstance(annotations, list):
        raise DataError(f"{source}: 'annotations' must be a list, got {type(annotations).__name__}")
    seen: dict[str, int] = {}
    for index, ann in enumerate(annotations):
        validate_annotation(ann, source, index)
        name = ann["frame_dir"]
        if name in seen:
            raise DataError(f"{_where(source, index, ann)}: frame_dir repeats annotation {seen[name]}")
        seen[name] = index
    if split is not None:
        if not isinstance(split, dict):
            raise DataError(f"{source}: 'split' must be a dict of name -> list of frame_dir")
        for key, names in split.items():
            if not isinstance(key, str) or not isinstance(names, list | tuple):
                raise DataError(f"{source}: split {key!r} must map a string to a list of frame_dir")
            bad = [n for n in names if not isinstance(n, str)]
            if bad:
                raise DataError(f"{source}: split {key!r} holds a non-string entry {bad[0]!r}")
        split = {key: list(names) for key, names in split.items()}
    return AnnotationSet(list(annotations), split, source, form, extra)


def loads_annotations(data: bytes, source: str = "<annotations>") -> AnnotationSet:
    return annotation_set(restricted_loads(data, source), source)


def read_annotations(path: str | Path) -> AnnotationSet:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: annotation pickle does not exist")
    return loads_annotations(path.read_bytes(), str(path))


def dumps_annotations(annotations: AnnotationSet) -> bytes:
    """Pickle in the form it was read (full dict, bare list or single dict); validated first."""
    checked = annotation_set(_as_object(annotations), annotations.source)
    return pickle.dumps(_as_object(checked), protocol=pickle.HIGHEST_PROTOCOL)


def _as_object(annotations: AnnotationSet):
    if annotations.form == "single":
        if len(annotations.annotations) != 1:
            raise DataError(f"{annotations.source}: a single-annotation file must hold exactly one annotation")
        return annotations.annotations[0]
    if annotations.form == "list":
        return annotations.annotations
    return {**annotations.extra, "split": annotations.split or {}, "annotations": annotations.annotations}


@dataclass(frozen=True, kw_only=True)
class LongTailFilterParams(ParamBlock):
    """Which annotations a long-tailed pickle keeps (the ``ntu_lt_pyskl`` key of an NTU namespace):
    ``list``, one long-tailed list of ``ntu_lt``, within ``split``, plus the ``keep_splits`` unchanged."""

    list: str  # e.g. NTU60_xsub_exp_100
    split: str | None = None  # e.g. xsub_train; None: every split restricted to the list
    keep_splits: tuple[str, ...] = ()  # e.g. [xsub_val], the full test split
    on_missing: Literal["error", "skip"] = "error"  # MISSING_MODES: names of the list absent from the pickle


def _key(block: str, name: str) -> str:
    return f"{block}.{name}" if block else name


def filter_annotations(
    annotations: AnnotationSet,
    names,
    split: str | None = None,
    keep_splits=(),
    on_missing: str = "error",
    list_source: str = "<names>",
    expected_labels=None,
    block: str = "",
) -> tuple[AnnotationSet, dict]:
    """Restrict an annotation set to a list of sample names (BRL's long-tailed training subset).

    With ``split`` (e.g. ``xsub_train``) the list must be part of that split; the result has that
    split restricted to the list (in the split's order) plus the splits in ``keep_splits``
    unchanged (e.g. ``xsub_val``, the full test set), and only the annotations those reference.
    Without ``split`` only the listed annotations are kept and every split entry is restricted.
    Names of the list not found are an error (``on_missing='error'``) or skipped and reported
    (``'skip'``). ``expected_labels`` (parallel to ``names``, e.g. from the NTU action field) makes
    a kept annotation with another label an error. Returns (filtered set, report). ``block`` names the
    parameter block in messages (e.g. ``ntu60_xsub.ntu_lt_pyskl``).
    """
    if on_missing not in MISSING_MODES:
        raise DataError(f"parameter '{_key(block, 'on_missing')}': {on_missing!r} is not one of {MISSING_MODES}")
    wanted = list(names)
    by_name = {ann["frame_dir"]: ann for ann in annotations.annotations}
    if split is not None:
        if not annotations.split or split not in annotations.split:
            known = sorted(annotations.split or {})
            raise DataError(
                f"parameter '{_key(block, 'split')}': {annotations.source} has no split {split!r} to filter "
                f"(splits: {known})"
            )
        pool = set(annotations.split[split]) & set(by_name)
    else:
        pool = set(by_name)
    missing = [n for n in wanted if n not in pool]
    if missing and on_missing == "error":
        where = f"split {split!r} of " if split else ""
        raise DataError(
            f"{list_source}: {len(missing)} name(s) are not in {where}{annotations.source}, e.g. {missing[:5]}; "
            f"set {_key(block, 'on_missing')}: skip to drop them (they are reported)"
        )
    keep = set(wanted) & pool
    if split is not None:
        unknown = [k for k in keep_splits if k not in annotations.split]
        if unknown:
            raise DataError(
                f"parameter '{_key(block, 'keep_splits')}': {annotations.source} has no split {unknown[0]!r}"
            )
        new_split = {split: [n for n in annotations.split[split] if n in keep]}
        new_split.update({k: list(annotations.split[k]) for k in keep_splits})
        referenced = set().union(*new_split.values())
        missing_refs = sorted(referenced - set(by_name))
        if missing_refs:
            raise DataError(
                f"{annotations.source}: kept splits reference {len(missing_refs)} frame_dir(s) "
                f"without an annotation, e.g. {missing_refs[:5]}"
            )
    else:
        new_split = (
            None
            if annotations.split is None
            else {k: [n for n in v if n in keep] for k, v in annotations.split.items()}
        )
        referenced = keep
    if expected_labels is not None:
        for name, label in zip(wanted, expected_labels, strict=True):
            ann = by_name.get(name)
            if name in keep and int(ann["label"]) != int(label):
                index = annotations.annotations.index(ann)
                raise DataError(
                    f"{_where(annotations.source, index, ann)}: label {ann['label']} but {list_source} "
                    f"gives {name} label {label}"
                )
    kept = [ann for ann in annotations.annotations if ann["frame_dir"] in referenced]
    report = {
        "source": annotations.source,
        "list": list_source,
        "split": split,
        "keep_splits": list(keep_splits),
        "listed": len(wanted),
        "kept_from_list": len(keep),
        "missing_from_annotations": missing,
        "annotations_in": len(annotations.annotations),
        "annotations_out": len(kept),
        "split_sizes": {k: len(v) for k, v in (new_split or {}).items()},
    }
    form = "list" if annotations.form == "single" and len(kept) != 1 else annotations.form
    result = AnnotationSet(kept, new_split, annotations.source, form, dict(annotations.extra))
    return result, report


def filter_to_long_tail_list(
    annotations: AnnotationSet, lt_lists: Mapping[str, SampleNames], params: LongTailFilterParams, block: str = ""
) -> tuple[AnnotationSet, dict]:
    """``filter_annotations`` to the long-tailed list ``params.list`` of ``lt_lists`` (labels checked against
    the list's) -> (filtered set, report naming the list and its hash). ``block`` names the parameter block in
    messages (e.g. ``ntu60_xsub.ntu_lt_pyskl``)."""
    if params.list not in lt_lists:
        raise DataError(
            f"parameter '{_key(block, 'list')}': {params.list!r} is not one of the ntu_lt lists {sorted(lt_lists)}"
        )
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
