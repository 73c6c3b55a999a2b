"""Atomic checkpoint files and the per-configuration resume store."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from longtail_lab.models import build_model, model_spec


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: truncated, corrupt, or made for another model."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``: readers see the old
    file or the new one, never a partial write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through ``atomic_write_bytes``."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """``torch.load(weights_only=True)``; any failure becomes one error naming the file."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint does not exist") from None
    except Exception as exc:
        raise CheckpointError(
            f"{path}: checkpoint is truncated or corrupt ({type(exc).__name__}: {exc}). Delete it to start "
            f"over, or pass resume: false."
        ) from exc
    if not isinstance(obj, dict) or "model" not in obj:
        raise CheckpointError(f"{path}: not a LongTail Lab checkpoint (no 'model' entry)")
    return obj


def check_signature(checkpoint: dict, expected: dict, source: str, dataset: str | None = None) -> None:
    """Refuse a checkpoint whose recorded architecture or class count differs from ``expected`` (``dataset``:
    the dataset it is about to be used on, named in the message beside the one it was trained on)."""
    found = checkpoint.get("model_signature")
    if found is None:
        raise CheckpointError(f"{source}: checkpoint records no model signature")
    if found.get("name") != expected["name"] or found.get("num_classes") != expected["num_classes"]:
        trained_on = f", trained on {checkpoint['dataset']}" if checkpoint.get("dataset") else ""
        used_on = f" (dataset {dataset})" if dataset else ""
        raise CheckpointError(
            f"{source}: checkpoint is for model {found.get('name')!r} with {found.get('num_classes')} classes"
            f"{trained_on}, but {expected['name']!r} with {expected['num_classes']} classes was asked for{used_on}"
        )
    if found.get("kwargs") != expected.get("kwargs"):
        raise CheckpointError(
            f"{source}: checkpoint model options {found.get('kwargs')} differ from {expected.get('kwargs')}"
        )


def load_trained_model(checkpoint: dict, params: dict, num_classes: int, dataset: str | None = None) -> nn.Module:
    """The model of a ``model_checkpoint`` (weights + signature), built from its ``model`` parameter block;
    refuses a checkpoint made for another architecture, class count or dataset (see ``check_signature``)."""
    name, kwargs, signature = model_spec(params, num_classes)
    check_signature(checkpoint, signature, "model_checkpoint", dataset)
    net = build_model(name, num_classes, **kwargs)
    net.load_state_dict(checkpoint["model"])
    return net


class RunCheckpoints:
    """Where one training configuration keeps its last-epoch checkpoint: ``<root>/<fingerprint>/last.pt``.

    A rerun with the same fingerprint finds the file and resumes from it.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, fingerprint: str) -> Path:
        return self.root / fingerprint / "last.pt"

    def load(self, fingerprint: str) -> dict | None:
        path = self.path(fingerprint)
        return load_checkpoint(path) if path.exists() else None

    def save(self, fingerprint: str, state: dict) -> Path:
        path = self.path(fingerprint)
        atomic_save(state, path)
        return path

    def __repr__(self) -> str:
        return f"RunCheckpoints({str(self.root)!r})"


def fingerprint(config: dict) -> str:
    """Stable short hash of everything that determines a run's result (the resume key)."""
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
