"""File datasets: list file -> lazily decoded images in DataLoader workers -> the training loop."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from longtail_lab.data.images.files import FileImageDataset, ListImageDataset
from longtail_lab.data.lists.format import LabelList
from longtail_lab.engine.batches import DeviceArrayBatches, LoaderBatches, epoch_batches
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.trainer import fit
from longtail_lab.errors import DataError
from longtail_lab.methods.losses import CrossEntropy
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_signature

# worker transforms are deterministic (random augmentation runs on the device, from a checkpointed generator)
TRANSFORM = v2.Compose([v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])


@pytest.fixture()
def image_list(tmp_path):
    """24 PNGs of 3 classes; pixel (0, 0) red channel stores the file number."""
    items, labels = [], []
    for i in range(24):
        label = i % 3
        folder = tmp_path / "images" / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.full((32, 32, 3), 40 * label, dtype=np.uint8)
        pixels[:, :, 0] = i
        Image.fromarray(pixels).save(folder / f"{i}.png")
        items.append(f"class{label}/{i}.png")
        labels.append(label)
    return tmp_path / "images", LabelList(tuple(items), np.array(labels))


def test_batches_carry_images_labels_and_split_indices(image_list):
    root, lst = image_list
    batches = LoaderBatches(ListImageDataset(root, lst, TRANSFORM), 8, torch.device("cpu"), seed=1, workers=2)
    assert len(batches) == 3
    seen = []
    for batch in batches.epoch(0):
        images, labels, idx = batch.inputs, batch.targets, batch.indices
        assert len(batch) == len(idx)
        assert images.shape[1:] == (3, 32, 32) and images.dtype == torch.float32
        file_numbers = torch.round(images[:, 0, 0, 0] * 255).long()
        assert torch.equal(labels, torch.as_tensor(lst.labels)[idx])
        assert torch.equal(file_numbers, idx)  # the item at split position i is file i
        seen += idx.tolist()
    assert sorted(seen) == list(range(24))


def test_epoch_order_depends_only_on_seed_and_epoch(image_list):
    root, lst = image_list

    def order(seed, epoch, rank=0, world_size=1):
        b = LoaderBatches(ListImageDataset(root, lst, TRANSFORM), 8, torch.device("cpu"), seed, 0, rank, world_size)
        return [i for batch in b.epoch(epoch) for i in batch.indices.tolist()]

    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(1, 1)
    shards = order(1, 0, 0, 2), order(1, 0, 1, 2)
    assert sorted(shards[0] + shards[1]) == list(range(24)) and not set(shards[0]) & set(shards[1])


def test_training_loop_runs_on_file_batches(image_list):
    root, lst = image_list
    cfg = TrainConfig(epochs=2, batch_size=8, warmup_epochs=0, milestones=(), accelerator="cpu", progress=False)
    make_batches = partial(LoaderBatches, ListImageDataset(root, lst, TRANSFORM), 8, seed=0, workers=2)
    result = fit(
        partial(build_model, "resnet32", 3, widths=(4, 8, 8)),
        lambda device, rank, world_size: make_batches(device=device, rank=rank, world_size=world_size),
        SupervisedObjective(CrossEntropy()),
        cfg,
        model_signature("resnet32", 3, widths=[4, 8, 8]),
    )
    assert [r["images"] for r in result.history] == [24, 24]
    assert [r["steps"] for r in result.history] == [3, 3]


def test_missing_image_is_reported_before_any_decoding(image_list):
    root, lst = image_list
    (root / "class1" / "4.png").unlink()
    with pytest.raises(DataError, match=r"line 5: image .*class1/4.png does not exist"):
        ListImageDataset(root, lst, TRANSFORM)


def _flip_noise(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random device-side augmentation of uint8 NHWC batches (flip + noise), like ``DeviceAugment``."""
    x = images.permute(0, 3, 1, 2).float() / 255
    flip = torch.rand(len(x), generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x + 0.01 * torch.randn(x.shape, generator=generator)


def test_file_batches_equal_in_memory_batches_epoch_after_epoch(image_list):
    """Same order and augmentation streams: a file-backed run sees exactly the batches of the in-memory run."""
    root, lst = image_list
    files = FileImageDataset([root / item for item in lst.items], lst.labels)
    pixels = np.stack([files[i][0].numpy() for i in range(len(files))])
    memory = DeviceArrayBatches(pixels, lst.labels, 5, _flip_noise, torch.device("cpu"), seed=3)
    loader = LoaderBatches(files, 5, torch.device("cpu"), seed=3, workers=2, augment=_flip_noise)
    assert len(memory) == len(loader) == 5
    for epoch in range(3):
        a, b = list(memory.epoch(epoch)), list(loader.epoch(epoch))
        assert [len(x) for x in a] == [len(x) for x in b] == [5, 5, 5, 5, 4]
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x.inputs, y.inputs) and torch.equal(x.indices, y.indices)
            assert torch.equal(x.targets, y.targets)


def test_file_batches_resume_at_an_epoch_boundary(image_list):
    root, lst = image_list
    files = FileImageDataset([root / item for item in lst.items], lst.labels)

    def batches():
        return LoaderBatches(files, 8, torch.device("cpu"), seed=5, workers=0, augment=_flip_noise)

    full = batches()
    list(full.epoch(0))
    state = full.state_dict()
    expected = [x.inputs for x in full.epoch(1)]
    resumed = batches()
    resumed.load_state_dict(state)
    got = [x.inputs for x in resumed.epoch(1)]
    assert len(got) == 3 and all(torch.equal(x, y) for x, y in zip(expected, got, strict=True))
    # without the state the order is the same (it depends on seed and epoch) but the augmentation is not
    fresh = [x.inputs for x in batches().epoch(1)]
    assert not all(torch.equal(x, y) for x, y in zip(expected, fresh, strict=True))


def test_a_batch_of_one_is_dropped_like_in_memory():
    order = torch.arange(9)
    assert [len(b) for b in epoch_batches(order, 4)] == [4, 4]  # the ninth sample alone would break BatchNorm
    assert [len(b) for b in epoch_batches(torch.arange(1), 4)] == [1]


def test_file_batches_leave_the_global_rng_alone(image_list):
    """AutoAugment draws from the global RNG: starting DataLoader workers must not move it."""
    root, lst = image_list
    files = FileImageDataset([root / item for item in lst.items], lst.labels)
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    list(LoaderBatches(files, 8, torch.device("cpu"), seed=5, workers=2, augment=_flip_noise).epoch(0))
    assert torch.equal(torch.rand(3), expected)
