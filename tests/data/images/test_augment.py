"""Batched device-side augmentation: crop+flip as one gather, Cutout, the full training transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from longtail_lab.data.images.augment import (
    CIFAR_MEAN,
    CIFAR_STD,
    AutoAugmentGroups,
    DeviceAugment,
    cutout,
    random_crop_flip,
    to_eval_tensor,
)


def _random_batch(n: int, seed: int = 0, h: int = 32, w: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, h, w, 3), generator=g, dtype=torch.uint8)


def _coordinate_images(n: int) -> torch.Tensor:
    """Every pixel (r, c) holds (r + 1, c + 1, 200 + image index): unique within an image, never 0."""
    rows = torch.arange(1, 33, dtype=torch.uint8)[:, None].expand(32, 32)
    cols = torch.arange(1, 33, dtype=torch.uint8)[None, :].expand(32, 32)
    out = torch.empty((n, 32, 32, 3), dtype=torch.uint8)
    out[..., 0] = rows
    out[..., 1] = cols
    out[..., 2] = (200 + torch.arange(n, dtype=torch.uint8))[:, None, None]
    return out


def test_crop_flip_without_padding_is_identity_or_mirror():
    images = _random_batch(64)
    out = random_crop_flip(images, 0, torch.Generator().manual_seed(1))
    assert out.shape == images.shape
    assert out.dtype == torch.uint8
    flipped = 0
    for i in range(len(images)):
        same = torch.equal(out[i], images[i])
        mirror = torch.equal(out[i], images[i].flip(1))  # flip along the width axis (NHWC)
        assert same or mirror, f"sample {i} is neither the input nor its horizontal mirror"
        flipped += int(mirror and not same)
    assert 10 < flipped < 54  # p = 0.5 per sample


def test_crop_flip_with_padding_takes_one_window_of_the_zero_padded_image():
    n, pad = 48, 4
    images = _coordinate_images(n)
    padded = torch.nn.functional.pad(images, (0, 0, pad, pad, pad, pad))
    out = random_crop_flip(images, pad, torch.Generator().manual_seed(0))
    assert out.shape == (n, 32, 32, 3)
    offsets, flips = set(), set()
    for i in range(n):
        matches = []
        for oy in range(2 * pad + 1):
            for ox in range(2 * pad + 1):
                window = padded[i, oy : oy + 32, ox : ox + 32]
                for flip in (False, True):
                    if torch.equal(out[i], window.flip(1) if flip else window):
                        matches.append((oy, ox, flip))
        assert len(matches) == 1, f"sample {i}: output is not a single padded window ({matches})"
        oy, ox, flip = matches[0]
        offsets.add((oy, ox))
        flips.add(flip)
        # every non-zero pixel comes from this image, at a consistent offset
        kept = out[i, ..., 0] > 0
        assert torch.all(out[i, ..., 2][kept] == 200 + i)
        assert torch.all(out[i, ..., 2][~kept] == 0)
    assert len(offsets) > 10  # offsets really vary over the 9 x 9 grid
    assert flips == {False, True}


def test_crop_flip_seeded_generator_is_deterministic():
    images = _random_batch(16)
    a = random_crop_flip(images, 4, torch.Generator().manual_seed(123))
    b = random_crop_flip(images, 4, torch.Generator().manual_seed(123))
    c = random_crop_flip(images, 4, torch.Generator().manual_seed(124))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_crop_flip_keeps_non_square_sizes():
    images = _random_batch(4, h=20, w=12)
    assert random_crop_flip(images, 2, torch.Generator().manual_seed(0)).shape == (4, 20, 12, 3)


@pytest.mark.parametrize("size", [16, 8, 5])
def test_cutout_zeroes_one_square_and_nothing_else(size):
    g = torch.Generator().manual_seed(0)
    images = torch.rand((64, 3, 32, 32), generator=g) * 0.9 + 0.1  # never 0 before Cutout
    out = cutout(images, size, torch.Generator().manual_seed(5))
    assert out.shape == images.shape and out.dtype == images.dtype
    side = 2 * (size // 2)  # the hole spans [c - size // 2, c + size // 2)
    for i in range(len(images)):
        hole = out[i] == 0
        assert torch.equal(hole[0], hole[1]) and torch.equal(hole[0], hole[2]), "same hole in every channel"
        rows = torch.nonzero(hole[0].any(1)).flatten()
        cols = torch.nonzero(hole[0].any(0)).flatten()
        assert len(rows) >= 1, f"sample {i}: no hole"
        # a filled rectangle, at most size x size (clipped at the border)
        assert len(rows) <= side and len(cols) <= side
        assert int(rows[-1] - rows[0]) + 1 == len(rows) and int(cols[-1] - cols[0]) + 1 == len(cols)
        assert int(hole[0].sum()) == len(rows) * len(cols)
        assert len(rows) >= size // 2 and len(cols) >= size // 2  # centre inside the image
        assert torch.equal(out[i][~hole], images[i][~hole])


def test_cutout_is_deterministic_with_a_seeded_generator():
    images = torch.ones((8, 3, 32, 32))
    a = cutout(images, 16, torch.Generator().manual_seed(9))
    b = cutout(images, 16, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


def test_device_augment_without_padding_only_normalises():
    images = _random_batch(5)
    out = DeviceAugment(padding=0)(images, torch.Generator().manual_seed(0))
    assert out.dtype == torch.float32
    assert out.shape == (5, 3, 32, 32)
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    expected = (images.permute(0, 3, 1, 2).float() / 255 - mean) / std
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(to_eval_tensor(images), expected)
    # a white pixel of channel 0 is (1 - 0.4914) / 0.2023
    white = to_eval_tensor(torch.full((1, 2, 2, 3), 255, dtype=torch.uint8))
    assert white[0, 0, 0, 0].item() == pytest.approx((1 - 0.4914) / 0.2023, rel=1e-5)


def test_device_augment_default_is_seeded_crop_flip():
    images = _random_batch(8)
    aug = DeviceAugment()
    a = aug(images, torch.Generator().manual_seed(3))
    b = aug(images, torch.Generator().manual_seed(3))
    assert a.dtype == torch.float32 and a.shape == (8, 3, 32, 32)
    assert torch.equal(a, b)
    expected = to_eval_tensor(random_crop_flip(images, 4, torch.Generator().manual_seed(3)))
    torch.testing.assert_close(a, expected)


def test_device_augment_with_autoaugment_and_cutout_keeps_shape():
    torch.manual_seed(0)
    images = _random_batch(20)
    aug = DeviceAugment(autoaugment=True, autoaugment_groups=4, cutout=16)
    out = aug(images, torch.Generator().manual_seed(0))
    assert out.dtype == torch.float32
    assert out.shape == (20, 3, 32, 32)
    assert torch.isfinite(out).all()
    # Cutout zeroes the [0, 1] image before normalisation: every image holds -mean/std pixels in all channels
    zero = (-torch.tensor(CIFAR_MEAN) / torch.tensor(CIFAR_STD)).view(1, 3, 1, 1)
    hole = torch.isclose(out, zero.expand_as(out), atol=1e-5).all(1)
    assert bool(hole.flatten(1).any(1).all())


def test_autoaugment_groups_keep_shape_and_dtype():
    torch.manual_seed(1)
    images = _random_batch(10).permute(0, 3, 1, 2)
    out = AutoAugmentGroups(groups=3)(images)
    assert out.shape == images.shape and out.dtype == torch.uint8
    # more groups than images: one chunk per image
    assert AutoAugmentGroups(groups=64)(images[:2]).shape == (2, 3, 32, 32)


def test_numpy_batch_round_trip():
    arr = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    out = to_eval_tensor(torch.from_numpy(arr))
    back = (out * torch.tensor(CIFAR_STD).view(1, 3, 1, 1) + torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)) * 255
    np.testing.assert_allclose(back.permute(0, 2, 3, 1).numpy(), arr, atol=1e-3)
