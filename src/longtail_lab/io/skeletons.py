"""Skeleton data as catalog entries: sample-name lists, sets of them, PYSKL annotation pickles."""

from __future__ import annotations

import re
from pathlib import Path

from kedro.io.core import Version

from longtail_lab.atomic import atomic_folder, atomic_write_bytes
from longtail_lab.data.skeletons.ntu_names import (
    SampleNames,
    check_num_classes,
    format_names,
    names_from_sequence,
    read_names,
)
from longtail_lab.data.skeletons.pyskl import AnnotationSet, dumps_annotations, read_annotations
from longtail_lab.errors import DataError
from longtail_lab.io._local import LocalVersionedDataset

_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def _as_names(data, dataset: str, where: str) -> SampleNames:
    if isinstance(data, SampleNames):
        return data
    if isinstance(data, list | tuple):
        return names_from_sequence(data, dataset, where)
    raise DataError(f"{where}: expected SampleNames or a list of names, got {type(data).__name__}")


class NameListDataset(LocalVersionedDataset):
    """One name list in the official form (one name per line, no trailing newline).

    Loading validates every name (``dataset``: ``ntu`` or ``nwucla``; labels < ``num_classes``).
    """

    def __init__(
        self,
        *,
        filepath: str,
        dataset: str = "ntu",
        num_classes: int | None = None,
        version: Version | None = None,
        metadata: dict | None = None,
    ) -> None:
        super().__init__(filepath=filepath, version=version, metadata=metadata)
        self.dataset = dataset
        self.num_classes = None if num_classes is None else int(num_classes)

    def load(self) -> SampleNames:
        return read_names(self.load_path(), self.dataset, self.num_classes)

    def save(self, data: SampleNames | list[str]) -> None:
        path = self.save_path()
        names = _as_names(data, self.dataset, str(path))
        if self.num_classes is not None:
            check_num_classes(names, self.num_classes)
        atomic_write_bytes(path, format_names(names.names).encode())


class NameListSetDataset(LocalVersionedDataset):
    """A folder of name lists ``<stem>.txt`` as ``{stem: SampleNames}`` (e.g. one per imbalance ratio).

    ``pattern`` picks the files of a folder shared by several entries (e.g. ``NTU60_xsub_exp_*.txt``
    in the official ``NTU60_LT`` folder). With ``missing_ok`` an absent folder loads as ``{}``; this
    is for optional raw inputs. Saving writes a hidden folder and renames it into place.
    """

    def __init__(
        self,
        *,
        filepath: str,
        dataset: str = "ntu",
        pattern: str = "*.txt",
        missing_ok: bool = False,
        version: Version | None = None,
        metadata: dict | None = None,
    ) -> None:
        super().__init__(filepath=filepath, version=version, metadata=metadata)
        self.dataset = dataset
        self.pattern = pattern
        self.missing_ok = bool(missing_ok)

    def load(self) -> dict[str, SampleNames]:
        folder = self.load_path()
        if not folder.is_dir():
            if self.missing_ok and not folder.exists():
                return {}
            raise DataError(f"{folder}: name-list folder does not exist")
        return {p.stem: read_names(p, self.dataset) for p in sorted(folder.glob(self.pattern)) if p.is_file()}

    def save(self, data: dict[str, SampleNames | list[str]]) -> None:
        folder = self.save_path()
        if folder.exists():
            raise FileExistsError(f"{folder}: exists already; versions are never overwritten")
        files = {}
        for stem, names in data.items():
            if not isinstance(stem, str) or not _SAFE_STEM.fullmatch(stem):
                raise DataError(f"{folder}: list name {stem!r} is not a safe file name")
            files[f"{stem}.txt"] = format_names(_as_names(names, self.dataset, f"{folder}/{stem}.txt").names)
        with atomic_folder(folder) as tmp:
            for name, text in files.items():
                atomic_write_bytes(tmp / name, text.encode())


class PysklAnnotationsDataset(LocalVersionedDataset):
    """A PYSKL annotation pickle. Loads through the restricted unpickler (no code runs) and validates
    every annotation; saves the set in the form it was read, atomically."""

    def load(self) -> AnnotationSet:
        return read_annotations(self.load_path())

    def save(self, data: AnnotationSet) -> None:
        path = self.save_path()
        if not isinstance(data, AnnotationSet):
            raise DataError(f"{path}: expected an AnnotationSet, got {type(data).__name__}")
        atomic_write_bytes(Path(path), dumps_annotations(data))
