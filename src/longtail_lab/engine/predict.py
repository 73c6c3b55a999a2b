"""Batched prediction over the same sources the loop trains on, with a reduce hook; outputs gathered on the device.

``predict(model, batches, ...)`` runs ``model`` in eval mode (bf16 autocast and channels_last on CUDA) over any
iterable of input batches and keeps one output per batch on the device until the end (no host sync per batch).
``reduce(output, inputs)`` turns a batch's raw output into its per-sample result, e.g. the mean softmax over the
clips of each sample (BRL's 10-clip test) or nothing at all. Input batches come from :func:`image_batches`: an
in-memory uint8 image array sliced on the device, or the files of an ``ImageFiles`` split decoded in DataLoader
workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from longtail_lab.data.images.augment import to_eval_tensor
from longtail_lab.data.images.files import ImageFiles

# transform(uint8 NHWC batch on the device, generator) -> normalised float NCHW batch
BatchTransform = Callable[[torch.Tensor, "torch.Generator | None"], torch.Tensor]
# reduce(raw model output of a batch, the batch's model inputs) -> per-sample output
Reduce = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _eval_transform(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return to_eval_tensor(images)


def image_batches(
    images: np.ndarray | torch.Tensor | ImageFiles, batch_size: int, device: torch.device, workers: int = 4
) -> Iterator[torch.Tensor]:
    """uint8 NHWC batches on ``device``, in order: slices of an array moved there once, or the decoded files of
    ``ImageFiles`` (``workers`` DataLoader workers, pinned memory on CUDA)."""
    if isinstance(images, ImageFiles):
        loader = DataLoader(
            images.dataset(),
            batch_size=batch_size,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            generator=torch.Generator(),  # leaves the global RNG (random views, AutoAugment) as it was
        )
        for batch, _ in loader:
            yield batch.to(device, non_blocking=True)
        return
    data = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    data = data.to(device)  # moved once; batches are slices on the device
    for start in range(0, len(data), batch_size):
        yield data[start : start + batch_size]


@torch.inference_mode()
def predict(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    device: torch.device | None = None,
    transform: BatchTransform | None = None,
    generator: torch.Generator | None = None,
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
    reduce: Reduce | None = None,
    on_batch: Callable[[int], None] | None = None,
    dim: int = 0,
) -> list[torch.Tensor]:
    """One float32 output per batch, kept on the device: ``reduce(forward(model, transform(x)), x)``.

    ``forward`` defaults to ``model(x)``; ``dim`` is the sample dimension of the outputs (for ``on_batch`` only).
    ``on_batch(n)`` is called after every batch of ``n`` samples (progress; host-side bookkeeping only).
    """
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    transform = transform or _eval_transform
    outputs = []
    for batch in batches:
        x = transform(batch.to(device), generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            out = forward(model, x) if forward is not None else model(x)
        out = out.float()
        if reduce is not None:
            out = reduce(out, x)
        outputs.append(out)
        if on_batch is not None:
            on_batch(out.shape[dim])
    return outputs


def predict_logits(
    model: nn.Module,
    images: np.ndarray | torch.Tensor | ImageFiles,
    batch_size: int = 512,
    device: torch.device | None = None,
    on_batch: Callable[[int], None] | None = None,
    workers: int = 4,
) -> torch.Tensor:
    """Logits [N, C] (float32, on CPU) of ``model`` in eval mode on uint8 NHWC ``images`` (or image files)."""
    device = torch.device(device) if device is not None else default_device()
    outputs = predict(model, image_batches(images, batch_size, device, workers), device, on_batch=on_batch)
    if not outputs:
        return torch.zeros((0, getattr(model, "num_classes", 0)))
    return torch.cat(outputs).cpu()


def _expert_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x, details=True).expert_logits


def predict_expert_logits(
    model: nn.Module,
    images_uint8_nhwc: np.ndarray | torch.Tensor | ImageFiles,
    batch_size: int = 512,
    device: torch.device | None = None,
    transform: BatchTransform | None = None,
    generator: torch.Generator | None = None,
    on_batch: Callable[[int], None] | None = None,
    workers: int = 4,
) -> torch.Tensor:
    """Per-expert logits [E, N, C] (float32, on CPU) of ``model(x, details=True)`` in eval mode.

    ``transform(uint8 batch on the device, generator)`` makes the model input (default: the clean eval
    transform); pass e.g. ``StrongViewAugment()`` and a generator on ``device`` for random views. The result is an
    ordinary tensor (not an inference tensor), so it can feed an autograd graph, e.g. learning expert weights.
    """
    device = torch.device(device) if device is not None else default_device()
    batches = image_batches(images_uint8_nhwc, batch_size, device, workers)
    outputs = predict(model, batches, device, transform, generator, _expert_logits, on_batch=on_batch, dim=1)
    if not outputs:
        return torch.zeros((getattr(model, "num_experts", 1), 0, getattr(model, "num_classes", 0)))
    return torch.cat(outputs, dim=1).cpu()  # cat outside inference_mode: an ordinary tensor


def mean_softmax_over_clips(clips: int) -> Reduce:
    """``reduce`` for a multi-clip test: a batch holds ``clips`` consecutive inputs per sample; the result is the
    mean of their softmax, [B, C] (BRL / PYSKL's 10-clip test averages the clips' class scores per sample)."""

    def reduce(output: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        if output.shape[0] % clips:
            raise ValueError(f"a batch of {output.shape[0]} outputs is not a whole number of {clips}-clip samples")
        return output.softmax(-1).view(-1, clips, output.shape[-1]).mean(1)

    return reduce
