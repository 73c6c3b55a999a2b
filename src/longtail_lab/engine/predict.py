"""Inference over an in-memory uint8 image array, batched, logits gathered on the device."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from longtail_lab.data.augment import to_eval_tensor


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def predict_logits(
    model: nn.Module, images: np.ndarray, batch_size: int = 512, device: torch.device | None = None
) -> torch.Tensor:
    """Logits [N, C] (float32, on CPU) of ``model`` in eval mode on uint8 NHWC ``images``."""
    device = device or default_device()
    model = model.to(device).eval()
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    data = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    outputs = []
    for start in range(0, len(data), batch_size):
        x = to_eval_tensor(data[start : start + batch_size])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            outputs.append(model(x).float())
    if not outputs:
        return torch.zeros((0, getattr(model, "num_classes", 0)))
    return torch.cat(outputs).cpu()
