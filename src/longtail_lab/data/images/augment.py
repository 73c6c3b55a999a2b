"""Batched, device-side augmentation for in-memory uint8 image batches (no per-sample Python)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from longtail_lab.params import ParamBlock, setting

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


@dataclass(frozen=True, kw_only=True)
class AugmentParams(ParamBlock):
    """The training augmentation of in-memory image splits (the keyword arguments of ``DeviceAugment``)."""

    padding: int = setting(4, ge=0)  # random crop with this zero padding + horizontal flip; 0 = neither
    autoaugment: bool = False  # CIFAR-10 AutoAugment policy
    autoaugment_groups: int = setting(16, ge=1)  # independent policy draws per batch
    cutout: int = setting(0, ge=0)  # hole size in pixels, 0 = off
    rotation: float = setting(0.0, ge=0, le=180)  # RandomRotation(degrees), 0 = off
    mean: tuple[float, float, float] = CIFAR_MEAN
    std: tuple[float, float, float] = setting(CIFAR_STD, gt=0)


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


def rotate(images: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each float NCHW image by its own angle (degrees, counter-clockwise) about the image centre.

    Same convention as torchvision's ``rotate``/``RandomRotation`` defaults: nearest interpolation, the output
    keeps the input size (``expand=False``) and pixels that come from outside the image are 0. One
    ``affine_grid`` + ``grid_sample`` for the whole batch.
    """
    n, c, h, w = images.shape
    rad = torch.deg2rad(angles.to(device=images.device, dtype=torch.float32)).reshape(n)
    cos, sin = rad.cos(), rad.sin()
    # Output pixel (x, y) (centred pixel units, y down) reads the source at R(-angle) (x, y); affine_grid works in
    # coordinates normalised by half the width/height, hence the aspect factors on the off-diagonal terms.
    theta = torch.zeros((n, 2, 3), device=images.device, dtype=torch.float32)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * (h / w)
    theta[:, 1, 0] = sin * (w / h)
    theta[:, 1, 1] = cos
    grid = F.affine_grid(theta, [n, c, h, w], align_corners=False).to(images.dtype)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def random_rotation(images: torch.Tensor, degrees: float, generator: torch.Generator | None) -> torch.Tensor:
    """RandomRotation(degrees) on float NCHW: per-image angle uniform in [-degrees, degrees], nearest, fill 0."""
    if degrees == 0 or len(images) == 0:
        return images
    u = torch.rand((len(images),), device=images.device, generator=generator)
    return rotate(images, (2 * u - 1) * degrees)


def gaussian_blur(images: torch.Tensor, sigmas: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Gaussian blur of float NCHW images with one sigma per image, vectorised (a grouped separable conv).

    The kernel is torchvision's (``exp(-x^2 / 2 sigma^2)`` on ``kernel_size`` integer taps, normalised) with
    reflect padding, so each image equals ``torchvision...gaussian_blur(image, kernel_size, sigma)``.
    """
    n, c, h, w = images.shape
    half = min(kernel_size // 2, h - 1, w - 1)  # reflect padding needs pad < size (tiny test images)
    taps = torch.arange(-half, half + 1, device=images.device, dtype=torch.float32)
    sig = sigmas.to(device=images.device, dtype=torch.float32).reshape(n, 1)
    kernel = torch.exp(-0.5 * (taps / sig) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(images.dtype).repeat_interleave(c, 0)  # [N*C, k]
    k = 2 * half + 1
    x = F.pad(images.reshape(1, n * c, h, w), (half, half, half, half), mode="reflect")
    x = F.conv2d(x, kernel.view(n * c, 1, k, 1), groups=n * c)
    x = F.conv2d(x, kernel.view(n * c, 1, 1, k), groups=n * c)
    return x.view(n, c, h, w)


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
    """The training transform for in-memory datasets: crop+flip, optional AutoAugment, rotation and Cutout, normalise.

    Input uint8 NHWC on the device; output normalised float NCHW with channels_last strides. ``rotation=15`` is
    SADE's CIFAR recipe (crop, flip, RandomRotation(15), normalise); it rotates the [0, 1] image, so the
    uncovered corners are black (0) before normalisation, like torchvision's default fill.
    """

    def __init__(
        self,
        padding: int = 4,
        autoaugment: bool = False,
        autoaugment_groups: int = 16,
        cutout: int = 0,
        rotation: float = 0,
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
    ) -> None:
        self.padding = padding
        self.autoaugment = AutoAugmentGroups(autoaugment_groups) if autoaugment else None
        self.cutout = cutout
        self.rotation = float(rotation)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.padding:
            images = random_crop_flip(images, self.padding, generator)
        x = images.permute(0, 3, 1, 2)
        if self.autoaugment is not None:
            x = self.autoaugment(x)
        x = x.float().div_(255)
        if self.rotation:
            x = random_rotation(x, self.rotation, generator)
        if self.cutout:
            x = cutout(x, self.cutout, generator)
        # channels_last: what cuDNN wants under bf16, and measured faster on CPU too (the crop path is
        # NHWC already; AutoAugment returns plain NCHW).
        if self.mean.device != x.device:  # move the constants once, not every batch
            self.mean, self.std = self.mean.to(x.device), self.std.to(x.device)
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)


class StrongViewAugment:
    """SADE's strong view for test-time aggregation (the MoCo v2 recipe), batched on the device.

    RandomCrop(32, padding 4) -> RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), p=0.8) -> RandomGrayscale(0.2) ->
    RandomApply(GaussianBlur(sigma in [0.1, 2]), p=0.2) -> HorizontalFlip -> Normalize. The flip is drawn with
    the crop (a flip commutes with these colour ops and the symmetric blur). Input uint8 NHWC on the device,
    output normalised float NCHW (channels_last), the same contract as :class:`DeviceAugment`, so it can be
    the ``transform`` of ``predict_expert_logits``.

    Randomness (all from ``generator``, never the global RNG, so equal generator states give equal views):

    * crop offsets, flips, the three "apply?" coin flips and the blur sigma: per image, vectorised;
    * ColorJitter's four factors and its random op order: one draw per group of images. The batch is cut
      into ``groups`` chunks and each chunk is jittered with torchvision's v2 kernels using its own draw
      (like :class:`AutoAugmentGroups`); which images of the chunk keep the jitter is still decided per
      image. ``groups`` >= the batch size gives exact per-image draws (slower: one kernel call per image).

    Colour ops run on float [0, 1] images (the reference runs PIL on uint8 and rounds after each op).
    The blur uses a fixed ``blur_kernel`` taps (default ``2 * ceil(3 * sigma_max) + 1`` = 13, covering
    +-3 sigma at the largest sigma) with reflect padding; PIL's ``GaussianBlur(radius=sigma)`` has no kernel
    size (it approximates the Gaussian with box blurs), so this is the closest fixed-size equivalent.
    """

    def __init__(
        self,
        padding: int = 4,
        jitter: Sequence[float] = (0.4, 0.4, 0.4, 0.1),
        jitter_p: float = 0.8,
        grayscale_p: float = 0.2,
        blur_p: float = 0.2,
        blur_sigma: Sequence[float] = (0.1, 2.0),
        blur_kernel: int | None = None,
        groups: int = 16,
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
    ) -> None:
        brightness, contrast, saturation, hue = (float(v) for v in jitter)
        if min(brightness, contrast, saturation) < 0 or not 0 <= hue <= 0.5:
            raise ValueError(f"jitter must be (brightness, contrast, saturation >= 0, 0 <= hue <= 0.5), got {jitter}")
        for name, p in (("jitter_p", jitter_p), ("grayscale_p", grayscale_p), ("blur_p", blur_p)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        if not 0 < blur_sigma[0] <= blur_sigma[1]:
            raise ValueError(f"blur_sigma must be 0 < low <= high, got {blur_sigma}")
        if groups < 1:
            raise ValueError(f"groups must be >= 1, got {groups}")
        self.padding = padding
        # ColorJitter ranges: [max(0, 1 - v), 1 + v] for the three factors, [-hue, hue] for the hue shift
        self.low = torch.tensor([max(0.0, 1 - brightness), max(0.0, 1 - contrast), max(0.0, 1 - saturation), -hue])
        self.high = torch.tensor([1 + brightness, 1 + contrast, 1 + saturation, hue])
        self.jitter_p, self.grayscale_p, self.blur_p = float(jitter_p), float(grayscale_p), float(blur_p)
        self.blur_sigma = (float(blur_sigma[0]), float(blur_sigma[1]))
        self.blur_kernel = blur_kernel or 2 * math.ceil(3 * self.blur_sigma[1]) + 1
        if self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be odd, got {self.blur_kernel}")
        self.groups = groups
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)

    _KERNELS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)

    def _jitter(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        chunks = x.tensor_split(min(self.groups, len(x)))
        dev = x.device
        u = torch.rand((len(chunks), 4), device=dev, generator=generator)
        factors = (self.low.to(dev) + u * (self.high - self.low).to(dev)).tolist()
        orders = torch.rand((len(chunks), 4), device=dev, generator=generator).argsort(1).tolist()  # randperm(4)
        out = []
        for chunk, factor, order in zip(chunks, factors, orders, strict=True):
            for op in order:
                chunk = self._KERNELS[op](chunk, factor[op])
            out.append(chunk)
        return torch.cat(out)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        images = random_crop_flip(images, self.padding, generator)  # padding 0: flip only
        x = images.permute(0, 3, 1, 2).float().div_(255)
        n, dev = len(x), x.device
        if n == 0:
            return x
        coins = torch.rand((n, 3), device=dev, generator=generator)
        apply_jitter = (coins[:, 0] < self.jitter_p).view(n, 1, 1, 1)
        apply_gray = (coins[:, 1] < self.grayscale_p).view(n, 1, 1, 1)
        apply_blur = (coins[:, 2] < self.blur_p).view(n, 1, 1, 1)
        lo, hi = self.blur_sigma
        sigmas = lo + (hi - lo) * torch.rand((n,), device=dev, generator=generator)
        if self.jitter_p > 0:
            x = torch.where(apply_jitter, self._jitter(x, generator), x)
        if self.grayscale_p > 0:
            x = torch.where(apply_gray, TF.rgb_to_grayscale(x, num_output_channels=3), x)
        if self.blur_p > 0:
            x = torch.where(apply_blur, gaussian_blur(x, sigmas, self.blur_kernel), x)
        if self.mean.device != dev:
            self.mean, self.std = self.mean.to(dev), self.std.to(dev)
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)


def to_eval_tensor(images: torch.Tensor, mean=CIFAR_MEAN, std=CIFAR_STD) -> torch.Tensor:
    """uint8 NHWC -> normalised float NCHW, no augmentation."""
    x = images.permute(0, 3, 1, 2).float().div_(255)
    mean_t = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t
