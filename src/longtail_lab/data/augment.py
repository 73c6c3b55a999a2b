"""Batched, device-side augmentation for in-memory uint8 image batches (no per-sample Python)."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


def random_crop_flip(images: torch.Tensor, padding: int, generator: torch.Generator | None) -> torch.Tensor:
    """RandomCrop(size, padding, fill 0) + RandomHorizontalFlip(0.5) on uint8 NHWC, as one gather."""
    n, h, w, _ = images.shape
    dev = images.device
    padded = torch.nn.functional.pad(images, (0, 0, padding, padding, padding, padding))
    oy = torch.randint(0, 2 * padding + 1, (n, 1), device=dev, generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (n, 1), device=dev, generator=generator)
    flip = torch.rand((n, 1), device=dev, generator=generator) < 0.5
    ar_h = torch.arange(h, device=dev)
    ar_w = torch.arange(w, device=dev)
    rows = oy + ar_h
    cols = ox + torch.where(flip, w - 1 - ar_w, ar_w)
    batch = torch.arange(n, device=dev)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]]


def cutout(images: torch.Tensor, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """Cutout (DeVries & Taylor): one size x size hole per image, centre uniform over the image, clipped.

    Not in torchvision (RandomErasing samples area and aspect instead), so it is written here, batched.
    Works on NCHW float images; the hole is set to 0 like the reference (before normalisation).
    """
    n, _, h, w = images.shape
    dev = images.device
    cy = torch.randint(0, h, (n, 1, 1), device=dev, generator=generator)
    cx = torch.randint(0, w, (n, 1, 1), device=dev, generator=generator)
    ys = torch.arange(h, device=dev)[None, :, None]
    xs = torch.arange(w, device=dev)[None, None, :]
    half = size // 2
    hole = (ys >= cy - half) & (ys < cy + half) & (xs >= cx - half) & (xs < cx + half)
    return images * (~hole).unsqueeze(1).to(images.dtype)


class AutoAugmentGroups:
    """torchvision v2 AutoAugment (CIFAR-10 policy, fill 128) applied to ``groups`` chunks of a batch.

    v2.AutoAugment draws one sub-policy per call; calling it per image would be per-sample Python in
    the hot loop. Each chunk gets its own independent draw, so a batch of 128 in 16 groups sees 16
    sub-policies. Set ``groups`` to the batch size for the exact per-image behaviour.
    """

    def __init__(self, groups: int = 16) -> None:
        self.groups = groups
        self.transform = v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10, fill=128)

    def __call__(self, images_nchw_uint8: torch.Tensor) -> torch.Tensor:
        chunks = images_nchw_uint8.tensor_split(min(self.groups, len(images_nchw_uint8)))
        return torch.cat([self.transform(chunk) for chunk in chunks])


class DeviceAugment:
    """The training transform for in-memory datasets: crop+flip, optional AutoAugment and Cutout, normalise.

    Input uint8 NHWC on the device; output normalised float NCHW with channels_last strides.
    """

    def __init__(
        self,
        padding: int = 4,
        autoaugment: bool = False,
        autoaugment_groups: int = 16,
        cutout: int = 0,
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
    ) -> None:
        self.padding = padding
        self.autoaugment = AutoAugmentGroups(autoaugment_groups) if autoaugment else None
        self.cutout = cutout
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.padding:
            images = random_crop_flip(images, self.padding, generator)
        x = images.permute(0, 3, 1, 2)
        if self.autoaugment is not None:
            x = self.autoaugment(x)
        x = x.float().div_(255)
        if self.cutout:
            x = cutout(x, self.cutout, generator)
        # channels_last: what cuDNN wants under bf16, and measured faster on CPU too (the crop path is
        # NHWC already; AutoAugment returns plain NCHW).
        if self.mean.device != x.device:  # move the constants once, not every batch
            self.mean, self.std = self.mean.to(x.device), self.std.to(x.device)
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)


def to_eval_tensor(images: torch.Tensor, mean=CIFAR_MEAN, std=CIFAR_STD) -> torch.Tensor:
    """uint8 NHWC -> normalised float NCHW, no augmentation."""
    x = images.permute(0, 3, 1, 2).float().div_(255)
    mean_t = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t
