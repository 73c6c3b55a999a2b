"""Batched rotation (SADE's CIFAR recipe) and the strong views of SADE's test-time aggregation."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from longtail_lab.data.images.augment import (
    CIFAR_MEAN,
    CIFAR_STD,
    DeviceAugment,
    StrongViewAugment,
    gaussian_blur,
    random_crop_flip,
    random_rotation,
    rotate,
    to_eval_tensor,
)

MEAN = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)


def _uint8(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, size, size, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _float(n: int, h: int = 8, w: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand((n, 3, h, w), generator=torch.Generator().manual_seed(seed)) * 0.9 + 0.1  # never 0


# ---------------------------------------------------------------- rotation


def test_zero_degrees_is_the_identity():
    x = _float(4)
    assert random_rotation(x, 0, torch.Generator().manual_seed(0)) is x
    assert torch.equal(rotate(x, torch.zeros(4)), x)


def test_fixed_angles_rotate_counter_clockwise_like_torchvision():
    x = _float(2, 6, 6)
    quarter = rotate(x, torch.full((2,), 90.0))
    assert torch.equal(quarter, torch.rot90(x, 1, dims=(2, 3)))  # the top row becomes the left column
    assert torch.equal(quarter[0, :, :, 0], x[0, :, 0, :].flip(-1))
    assert torch.equal(rotate(x, torch.full((2,), 180.0)), x.flip(2, 3))
    # per-image angles, non-square images: equal to torchvision's rotate (nearest, fill 0) image by image
    y = _float(3, 10, 14, seed=1)
    angles = torch.tensor([-15.0, 7.5, 30.0])
    out = rotate(y, angles)
    for i in range(3):
        assert torch.equal(out[i], TF.rotate(y[i : i + 1], float(angles[i]))[0])


def test_rotation_fills_with_zero_and_is_seeded():
    ones = torch.ones(8, 3, 16, 16)
    out = random_rotation(ones, 15, torch.Generator().manual_seed(0))
    assert out.shape == ones.shape
    assert set(out.unique().tolist()) == {0.0, 1.0}  # nearest: only input values and the fill
    assert bool((out[:, :, 8, 8] == 1).all())  # the centre stays inside
    assert int((out == 0).flatten(1).any(1).sum()) >= 6  # most images lose a corner (|angle| > ~4 degrees)
    # 15 degrees at most: a 45-degree rotation uncovers far more
    assert (out == 0).sum() < (rotate(ones, torch.full((8,), 45.0)) == 0).sum()
    x = _float(8)
    a = random_rotation(x, 15, torch.Generator().manual_seed(3))
    assert torch.equal(a, random_rotation(x, 15, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, random_rotation(x, 15, torch.Generator().manual_seed(4)))


def test_device_augment_with_rotation_keeps_the_batch_contract():
    images = _uint8(16)
    aug = DeviceAugment(rotation=15)
    out = aug(images, torch.Generator().manual_seed(0))
    assert out.shape == (16, 3, 32, 32) and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, aug(images, torch.Generator().manual_seed(0)))
    # rotation after crop+flip, before normalisation: the same crop as without rotation, black corners
    white = torch.full((16, 32, 32, 3), 255, dtype=torch.uint8)
    plain = DeviceAugment(padding=0)(white, None)
    rotated = DeviceAugment(padding=0, rotation=15)(white, torch.Generator().manual_seed(0))
    black = (-MEAN / STD).expand_as(rotated)
    assert bool(torch.isclose(rotated, black).any()) and bool(torch.isclose(rotated, plain).any())
    unrotated = DeviceAugment(rotation=0)(images, torch.Generator().manual_seed(0))
    torch.testing.assert_close(unrotated, to_eval_tensor(random_crop_flip(images, 4, torch.Generator().manual_seed(0))))


# ---------------------------------------------------------------- blur


def test_per_image_blur_equals_torchvision_image_by_image():
    x = _float(4, 32, 32, seed=2)
    sigmas = torch.tensor([0.1, 0.5, 1.0, 2.0])
    out = gaussian_blur(x, sigmas, 13)
    for i in range(4):
        expected = TF.gaussian_blur(x[i : i + 1], [13, 13], [float(sigmas[i])] * 2)[0]
        torch.testing.assert_close(out[i], expected, rtol=0, atol=1e-5)
    assert torch.equal(
        gaussian_blur(torch.full((2, 3, 8, 8), 0.3), torch.tensor([1.0, 2.0]), 13).round(decimals=5),
        torch.full((2, 3, 8, 8), 0.3).round(decimals=5),
    )


# ---------------------------------------------------------------- strong views


def test_strong_view_shape_dtype_and_normalised_range():
    images = _uint8(24)
    out = StrongViewAugment()(images, torch.Generator().manual_seed(0))
    assert out.shape == (24, 3, 32, 32) and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last)
    raw = out * STD + MEAN  # back to [0, 1]
    assert float(raw.min()) >= -1e-5 and float(raw.max()) <= 1 + 1e-5


def test_strong_view_is_a_function_of_the_generator_state():
    images = _uint8(24)
    aug = StrongViewAugment(groups=4)
    g = torch.Generator().manual_seed(7)
    first = aug(images, g)
    second = aug(images, g)  # the generator moved on: a new draw
    again = aug(images, torch.Generator().manual_seed(7))
    assert torch.equal(first, again)
    assert not torch.equal(first, second)
    # not governed by the global RNG
    torch.manual_seed(0)
    a = aug(images, torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    assert torch.equal(a, aug(images, torch.Generator().manual_seed(1)))


def test_strong_view_without_colour_ops_is_crop_and_flip():
    images = _uint8(12)
    aug = StrongViewAugment(jitter_p=0, grayscale_p=0, blur_p=0)
    out = aug(images, torch.Generator().manual_seed(2))
    expected = to_eval_tensor(random_crop_flip(images, 4, torch.Generator().manual_seed(2)))
    torch.testing.assert_close(out, expected)


def test_strong_view_colour_operations_take_effect():
    images = _uint8(16)
    g = torch.Generator().manual_seed(0)
    gray = StrongViewAugment(jitter_p=0, grayscale_p=1, blur_p=0)(images, g) * STD + MEAN
    torch.testing.assert_close(gray[:, 0], gray[:, 1], rtol=0, atol=1e-5)
    torch.testing.assert_close(gray[:, 0], gray[:, 2], rtol=0, atol=1e-5)
    plain = StrongViewAugment(jitter_p=0, grayscale_p=0, blur_p=0)
    for kwargs in ({"jitter_p": 1.0}, {"blur_p": 1.0, "blur_sigma": (1.5, 2.0)}):
        changed = StrongViewAugment(**{"jitter_p": 0, "grayscale_p": 0, "blur_p": 0, **kwargs})
        a = changed(images, torch.Generator().manual_seed(1))
        b = plain(images, torch.Generator().manual_seed(1))
        assert not torch.isclose(a, b, atol=1e-3).flatten(1).all(1).any(), f"{kwargs}: some image unchanged"
    # blur smooths: neighbouring pixels get closer
    blurred = StrongViewAugment(jitter_p=0, grayscale_p=0, blur_p=1, blur_sigma=(2.0, 2.0))(images, g)
    sharp = plain(images, g)
    assert blurred.diff(dim=3).abs().mean() < 0.5 * sharp.diff(dim=3).abs().mean()


def test_strong_view_groups_and_parameters():
    images = _uint8(5)
    for groups in (1, 2, 5, 64):  # more groups than images: one draw per image
        assert StrongViewAugment(groups=groups)(images, torch.Generator().manual_seed(0)).shape == (5, 3, 32, 32)
    assert StrongViewAugment().blur_kernel == 13  # 2 * ceil(3 * 2.0) + 1
    assert StrongViewAugment()(images[:0], None).shape[0] == 0
    with pytest.raises(ValueError, match="blur_p"):
        StrongViewAugment(blur_p=1.5)
    with pytest.raises(ValueError, match="groups"):
        StrongViewAugment(groups=0)
    with pytest.raises(ValueError, match="odd"):
        StrongViewAugment(blur_kernel=4)
