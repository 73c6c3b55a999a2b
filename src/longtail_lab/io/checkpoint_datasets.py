"""Torch checkpoints in the catalog: versioned final checkpoints and the per-configuration resume store."""

from __future__ import annotations

from typing import Any

from kedro.io.core import AbstractDataset, DatasetError
from kedro_datasets._typing import TablePreview

from longtail_lab.engine.checkpoints import RunCheckpoints, atomic_save, load_checkpoint
from longtail_lab.io._local import LocalVersionedDataset


class TorchCheckpointDataset(LocalVersionedDataset):
    """A checkpoint dict (state_dicts, tensors, primitives); loaded with ``weights_only=True``."""

    def load(self) -> dict:
        return load_checkpoint(self.load_path())

    def save(self, data: dict) -> None:
        atomic_save(data, self.save_path())

    def preview(self) -> TablePreview:
        """kedro-viz side panel: one row per tensor of the model state (the annotation selects the view)."""
        rows = [[name, list(t.shape), str(t.dtype)] for name, t in self.load()["model"].items()]
        return TablePreview({"index": list(range(len(rows))), "columns": ["tensor", "shape", "dtype"], "data": rows})


class RunCheckpointsDataset(AbstractDataset):
    """Loads a ``RunCheckpoints`` handle on ``path``: where a training node keeps resumable state."""

    def __init__(self, *, path: str, metadata: dict | None = None) -> None:
        self.path = path
        self.metadata = metadata

    def load(self) -> RunCheckpoints:
        return RunCheckpoints(self.path)

    def save(self, data: Any) -> None:
        raise DatasetError("RunCheckpointsDataset is read-only: the engine writes checkpoints through it")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"path": self.path}
