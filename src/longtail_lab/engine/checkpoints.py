"""Atomic checkpoint files and the per-configuration resume store."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import torch
from torch import nn

from longtail_lab.atomic import atomic_write_bytes, remove_stale_temporaries
from longtail_lab.errors import CheckpointError, ConfigurationBusyError
from longtail_lab.models import build_model, model_spec

log = logging.getLogger(__name__)


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through ``atomic_write_bytes`` (see ``longtail_lab.atomic``)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """``torch.load(weights_only=True)``; any failure becomes one error naming the file.

    A file that holds objects other than tensors and plain values (a pickle with code in it, or a model
    saved whole) is refused as such: it is never loaded, whatever torch's own message suggests."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint does not exist") from None
    except pickle.UnpicklingError as exc:
        refused = _REFUSED_GLOBAL.search(str(exc))
        if refused or "Weights only load failed" in str(exc):
            what = f" ({refused.group(1)})" if refused else ""
            raise CheckpointError(
                f"{path}: the file holds Python objects{what} that LongTail Lab refuses to load: only tensors "
                f"and plain values are read from checkpoints, so code inside a file never runs. It was not "
                f"written by this project (or was altered); replace it with a checkpoint the project wrote."
            ) from None
        raise CheckpointError(_corrupt(path, exc)) from None
    except Exception as exc:
        raise CheckpointError(_corrupt(path, exc)) from None
    if not isinstance(obj, dict) or "model" not in obj:
        raise CheckpointError(f"{path}: not a LongTail Lab checkpoint (no 'model' entry)")
    return obj


_REFUSED_GLOBAL = re.compile(r"unsupported global:? (?:GLOBAL )?([\w.]+)", re.IGNORECASE)


def _corrupt(path: Path, exc: Exception) -> str:
    reason = str(exc).split("\n", 1)[0].split(". ", 1)[0][:200]
    return (
        f"{path}: checkpoint is truncated or corrupt ({type(exc).__name__}: {reason}). Delete it to start over, "
        f"or pass resume: false."
    )


def load_weights(module: nn.Module, state: dict, source: str | Path) -> None:
    """``module.load_state_dict(state)``, or one error naming ``source`` and the tensors that do not fit
    (missing, unexpected, or of another shape) instead of torch's page of ``size mismatch`` lines."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(state[k].shape)} (the model has {tuple(own[k].shape)})"
        for k in own
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    for label, names in (("of another shape", wrong), ("missing", missing), ("unexpected", unexpected)):
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            problems.append(f"{len(names)} tensor(s) {label}: {', '.join(names[:3])}{more}")
    if problems:
        raise CheckpointError(
            f"{source}: the weights do not match the model the checkpoint's own signature describes "
            f"({'; '.join(problems)}); the file was altered or written by another version. Delete it, or pass "
            f"resume: false."
        )
    module.load_state_dict(state)


def check_signature(checkpoint: dict, expected: dict, source: str, dataset: str | None = None) -> None:
    """Refuse a checkpoint whose recorded architecture or class count differs from ``expected`` (``dataset``:
    the dataset it is about to be used on, named in the message beside the one it was trained on)."""
    found = checkpoint.get("model_signature")
    if found is None:
        raise CheckpointError(f"{source}: checkpoint records no model signature")
    if found.get("name") != expected.get("name") or found.get("num_classes") != expected.get("num_classes"):
        trained_on = f", trained on {checkpoint['dataset']}" if checkpoint.get("dataset") else ""
        used_on = f" (dataset {dataset})" if dataset else ""
        raise CheckpointError(
            f"{source}: checkpoint is for model {found.get('name')!r} with {found.get('num_classes')} classes"
            f"{trained_on}, but {expected.get('name')!r} with {expected.get('num_classes')} classes was asked "
            f"for{used_on}"
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
    load_weights(net, checkpoint["model"], "model_checkpoint")
    return net


class RunCheckpoints:
    """Where one training configuration keeps its last-epoch checkpoint: ``<root>/<fingerprint>/last.pt``.

    A rerun with the same fingerprint finds the file and resumes from it. ``claim`` holds the configuration
    for one process at a time and removes what a killed run left half-written.
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

    @contextlib.contextmanager
    def claim(self, fingerprint: str) -> Iterator[None]:
        """Hold ``fingerprint`` for this process (an advisory lock on ``<folder>/.lock``, released when the
        process ends, however it ends): two runs of one configuration at once would write one ``last.pt``.
        Stale temporary checkpoints of killed runs are removed first, and logged."""
        folder = self.path(fingerprint).parent
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as lock:
            if fcntl is not None:  # POSIX; elsewhere runs of one configuration are not kept apart
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock.seek(0)
                    holder = lock.read().strip() or "another process"
                    raise ConfigurationBusyError(
                        f"{folder}: {holder} is training this configuration right now. Wait until it has "
                        f"finished (this run would then reuse its result) or change a setting."
                    ) from None
            lock.seek(0)
            lock.truncate()
            lock.write(f"process {os.getpid()} (started {time.strftime('%Y-%m-%d %H:%M:%S')})")
            lock.flush()
            removed = remove_stale_temporaries([folder])
            if removed:
                log.warning(
                    "removed %d temporary file(s) a killed run left in %s: %s",
                    len(removed),
                    folder,
                    ", ".join(p.name for p in removed),
                )
            yield

    def __repr__(self) -> str:
        return f"RunCheckpoints({str(self.root)!r})"


def fingerprint(config: dict) -> str:
    """Stable short hash of everything that determines a run's result (the resume key)."""
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
