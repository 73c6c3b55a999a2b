"""List files (``<item> <label>`` per line) as versioned catalog entries."""

from __future__ import annotations

from pathlib import Path

from kedro.io.core import AbstractDataset, Version
from kedro_datasets._typing import TablePreview

from longtail_lab.atomic import atomic_folder, atomic_write_bytes
from longtail_lab.data.lists.format import LabelList, ListFolder, check_labels, format_list, read_list
from longtail_lab.errors import DataError
from longtail_lab.io._local import LocalVersionedDataset


class ListFileDataset(LocalVersionedDataset):
    """One list file. Loading validates every line (and labels < ``num_classes`` when given)."""

    def __init__(
        self,
        *,
        filepath: str,
        num_classes: int | None = None,
        version: Version | None = None,
        metadata: dict | None = None,
    ) -> None:
        super().__init__(filepath=filepath, version=version, metadata=metadata)
        self.num_classes = num_classes

    def load(self) -> LabelList:
        return read_list(self.load_path(), self.num_classes)

    def preview(self, nrows: int = 20) -> TablePreview:
        lst = self.load()
        rows = [[item, int(label)] for item, label in zip(lst.items[:nrows], lst.labels[:nrows].tolist(), strict=True)]
        return TablePreview({"index": list(range(len(rows))), "columns": ["item", "label"], "data": rows})

    def save(self, data: LabelList) -> None:
        path = self.save_path()
        if self.num_classes is not None:
            check_labels(data, self.num_classes, str(path))
        atomic_write_bytes(path, format_list(data).encode())


class ListFileSetDataset(LocalVersionedDataset):
    """A named set of list files in one folder (``<name>.txt``), e.g. the test-agnostic distributions."""

    def load(self) -> dict[str, LabelList]:
        folder = self.load_path()
        return {p.stem: read_list(p) for p in sorted(folder.glob("*.txt"))}

    def save(self, data: dict[str, LabelList]) -> None:
        with atomic_folder(self.save_path()) as tmp:
            for name, lst in data.items():
                atomic_write_bytes(tmp / f"{name}.txt", format_list(lst).encode())


class ListFolderDataset(AbstractDataset):
    """Raw input: a dataset folder ``path`` holding the official list files (``<path>/<lists>/*.txt``) and
    the image root their items are relative to (``<path>/<images>``; either may be an absolute path).

    Loading only reads the text; parsing and validation are the pipeline's job, so that every bad line
    can be reported at once. ``images: null`` means the images are not available.
    """

    def __init__(
        self, *, path: str, lists: str = "lists", images: str | None = "images", metadata: dict | None = None
    ) -> None:
        self.path = Path(path)
        self.lists = self.path / lists
        self.image_root = self.path / images if images else None
        self.metadata = metadata

    def load(self) -> ListFolder:
        if not self.lists.is_dir():
            raise DataError(f"{self.lists}: list folder does not exist (put the official list files there)")
        files = sorted(self.lists.glob("*.txt"))
        if not files:
            raise DataError(f"{self.lists}: no list files (*.txt) in the folder")
        texts, sources = {}, {}
        for file in files:
            try:
                texts[file.stem] = file.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise DataError(f"{file}: not a text list file ({error})") from None
            sources[file.stem] = str(file)
        return ListFolder(texts, sources, self.image_root)

    def save(self, data) -> None:
        raise DataError(f"{self.lists}: official list files are raw inputs and are never written")

    def _exists(self) -> bool:
        return self.lists.is_dir()

    def _describe(self) -> dict:
        return {"lists": str(self.lists), "image_root": str(self.image_root) if self.image_root else None}
