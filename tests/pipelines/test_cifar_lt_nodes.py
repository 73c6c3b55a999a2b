"""``cifar_lt`` node functions called directly (no session): bad split lists fail before any training."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList
from longtail_lab.engine.checkpoints import RunCheckpoints
from longtail_lab.errors import DataError
from longtail_lab.pipelines.cifar_lt.nodes import train_model
from longtail_lab.pipelines.cifar_lt.parameters import CifarLtParams
from tests.fixtures import write_tiny_cifar10

PARAMS = {
    "dataset": "tiny",
    "model": {"name": "resnet32", "widths": [4, 8, 8], "blocks": 1},
    "loss": "ce",
    "augment": {"padding": 4},
    "train": {"epochs": 1, "batch_size": 16, "warmup_epochs": 0, "milestones": [], "progress": False},
}
RUN_CONFIG = {
    "namespace": "cifar_lt",
    **CifarLtParams.from_params(PARAMS, "cifar_lt").run_config("cifar_lt"),
    "run": {},
}


@pytest.fixture()
def sources(tmp_path):
    write_tiny_cifar10(tmp_path / "raw", train_per_class=4, test_per_class=2)
    return ImageSources({"tiny": {"format": "cifar", "dataset": "cifar10", "path": str(tmp_path / "raw")}})


def _train(sources, split, tmp_path):
    return train_model(
        sources,
        split,
        {"content_sha256": split.content_hash()},
        RunCheckpoints(tmp_path / "runs"),
        RUN_CONFIG,
    )


def test_split_label_that_disagrees_with_the_dataset_names_the_line(sources, tmp_path):
    train = sources.load("tiny").train
    labels = train.labels[:6].copy()
    labels[4] = (labels[4] + 1) % 10
    split = LabelList(train.items[:6], labels, (1, 2, 3, 4, 5, 6))
    with pytest.raises(DataError, match=r"split_list, line 5: item '4' has label .* another dataset \(1 lines"):
        _train(sources, split, tmp_path)
    assert not (tmp_path / "runs").exists()


def test_split_item_missing_from_the_dataset_is_an_error(sources, tmp_path):
    split = LabelList(("0", "99999"), np.array([0, 0]))
    with pytest.raises(DataError, match=r"entry 2: item '99999' is not in the dataset"):
        _train(sources, split, tmp_path)


def test_split_label_beyond_the_classes_is_an_error(sources, tmp_path):
    train = sources.load("tiny").train
    split = LabelList(train.items[:2], np.array([train.labels[0], 10]), (1, 2))
    with pytest.raises(DataError, match=r"line 2: label 10 is not below the number of classes \(10\)"):
        _train(sources, split, tmp_path)


def test_a_consistent_split_trains_and_records_its_class_counts(sources, tmp_path):
    train = sources.load("tiny").train
    split = LabelList(train.items, train.labels.copy())
    checkpoint, history = _train(sources, split, tmp_path)
    assert checkpoint["class_counts"] == [4] * 10
    assert history["images"].tolist() == [40]
    assert (tmp_path / "runs" / checkpoint["fingerprint"] / "last.pt").is_file()
