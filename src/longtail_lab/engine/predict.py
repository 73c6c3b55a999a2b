"""Inference over an in-memory uint8 image array, batched, logits gathered on the device."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from longtail_lab.data.images.augment import to_eval_tensor

# transform(uint8 NHWC batch on the device, generator) -> normalised float NCHW batch
BatchTransform = Callable[[torch.Tensor, "torch.Generator | None"], torch.Tensor]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _eval_transform(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return to_eval_tensor(images)


def _as_device_images(images: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images.to(device)
    return torch.from_numpy(np.ascontiguousarray(images)).to(device)


@torch.inference_mode()
def _predict_batches(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    batch_size: int,
    device: torch.device | None,
    transform: BatchTransform | None,
    generator: torch.Generator | None,
    details: bool,
    on_batch: Callable[[int], None] | None = None,
) -> list[torch.Tensor]:
    """One output per batch, kept on the device: logits [B, C], or expert logits [E, B, C] with ``details``."""
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    transform = transform or _eval_transform
    data = _as_device_images(images, device)
    outputs = []
    for start in range(0, len(data), batch_size):
        x = transform(data[start : start + batch_size], generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            out = model(x, details=True).expert_logits if details else model(x)
        outputs.append(out.float())
        if on_batch is not None:
            on_batch(len(x))  # e.g. ``StepProgress.advance``: host-side bookkeeping only
    return outputs


def predict_logits(
    model: nn.Module,
    images: np.ndarray,
    batch_size: int = 512,
    device: torch.device | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Logits [N, C] (float32, on CPU) of ``model`` in eval mode on uint8 NHWC ``images``; ``on_batch(n)`` is
    called after every batch of ``n`` images (progress)."""
    outputs = _predict_batches(model, images, batch_size, device, None, None, details=False, on_batch=on_batch)
    if not outputs:
        return torch.zeros((0, getattr(model, "num_classes", 0)))
    return torch.cat(outputs).cpu()


def predict_expert_logits(
    model: nn.Module,
    images_uint8_nhwc: np.ndarray | torch.Tensor,
    batch_size: int = 512,
    device: torch.device | None = None,
    transform: BatchTransform | None = None,
    generator: torch.Generator | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Per-expert logits [E, N, C] (float32, on CPU) of ``model(x, details=True)`` in eval mode.

    ``transform(uint8 batch on the device, generator)`` makes the model input (default: the clean eval
    transform); pass e.g. ``StrongViewAugment()`` and a generator on ``device`` for random views. bf16
    autocast and channels_last on CUDA, like :func:`predict_logits`. The result is an ordinary tensor (not an
    inference tensor), so it can feed an autograd graph, e.g. learning expert aggregation weights.
    """
    outputs = _predict_batches(
        model, images_uint8_nhwc, batch_size, device, transform, generator, details=True, on_batch=on_batch
    )
    if not outputs:
        return torch.zeros((getattr(model, "num_experts", 1), 0, getattr(model, "num_classes", 0)))
    return torch.cat(outputs, dim=1).cpu()  # cat outside inference_mode: an ordinary tensor
