"""Batched prediction over arrays or files, with a reduce hook (e.g. the mean softmax over the clips of a sample)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from longtail_lab.data.images.files import ImageFiles
from longtail_lab.engine.predict import image_batches, mean_softmax_over_clips, predict, predict_logits


class MeanColour(nn.Module):
    """Logits = a linear map of each image's mean colour (deterministic, no BatchNorm)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(3, 4)
        self.num_classes = 4

    def forward(self, x):
        return self.linear(x.mean((2, 3)))


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    items = []
    for i, image in enumerate(pixels):
        (tmp_path / "test" / "c").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(tmp_path / "test" / "c" / f"{i}.png")
        items.append(f"test/c/{i}.png")
    return pixels, ImageFiles(tmp_path, np.zeros(10, dtype=np.int64), ("c",), tuple(items))


def test_files_and_arrays_give_the_same_logits(folder):
    pixels, files = folder
    cpu = torch.device("cpu")
    from_arrays = predict_logits(MeanColour(), pixels, batch_size=3, device=cpu)
    from_files = predict_logits(MeanColour(), files, batch_size=3, device=cpu, workers=2)
    assert from_arrays.shape == (10, 4) and torch.equal(from_arrays, from_files)
    assert [len(b) for b in image_batches(files, 4, cpu, workers=0)] == [4, 4, 2]


def test_reduce_hook_averages_the_softmax_over_each_samples_clips():
    model = MeanColour()
    clips = torch.randn(6, 3, 3, 8, 8)  # 6 samples x 3 clips
    batches = [clips[:4].flatten(0, 1), clips[4:].flatten(0, 1)]  # whole samples per batch
    seen = []
    out = predict(
        model,
        batches,
        torch.device("cpu"),
        transform=lambda x, g: x,
        reduce=mean_softmax_over_clips(3),
        on_batch=seen.append,
    )
    scores = torch.cat(out)
    expected = model(clips.flatten(0, 1)).softmax(-1).view(6, 3, 4).mean(1)
    torch.testing.assert_close(scores, expected)
    assert seen == [4, 2]  # samples, not clips
    with pytest.raises(ValueError, match="not a whole number of 3-clip samples"):
        predict(model, [clips[0, :2]], torch.device("cpu"), transform=lambda x, g: x, reduce=mean_softmax_over_clips(3))
