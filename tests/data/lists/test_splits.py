"""Long-tailed training lists with their summaries, and the test-agnostic test lists."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.lists import splits
from longtail_lab.data.lists.long_tail import class_profile, select_per_class
from longtail_lab.errors import DataError

RATIOS = [50, 25, 10, 5, 2]


def _arrays(per_class: list[int], seed: int = 0, size: int = 1) -> ImageArrays:
    """Shuffled labels with ``per_class[c]`` rows of class c; tiny images (the lists only use labels)."""
    labels = np.repeat(np.arange(len(per_class)), per_class)
    np.random.default_rng(seed).shuffle(labels)
    images = np.zeros((len(labels), size, size, 3), dtype=np.uint8)
    return ImageArrays(images, labels, tuple(f"c{i}" for i in range(len(per_class))))


def test_long_tail_list_follows_profile_and_reference_selection():
    train = _arrays([25] * 6 + [22] + [25] * 3)  # n_max defaults to the smallest class: 22
    lst, summary = splits.long_tail_list(train, "exponential", 10, None, seed=0)
    counts = class_profile("exponential", 10, 10, 22)
    assert counts.tolist() == [22, 17, 13, 10, 7, 6, 4, 3, 2, 2]
    assert lst.class_counts(10).tolist() == counts.tolist()
    # grouped class by class, in class order
    assert lst.labels.tolist() == np.repeat(np.arange(10), counts).tolist()
    # items are the string indices chosen by the reference procedure
    kept = select_per_class(train.labels, counts, 0)
    assert lst.items == tuple(str(i) for i in kept)
    assert all(train.labels[int(item)] == label for item, label in zip(lst.items, lst.labels, strict=True))
    assert summary["n_max"] == 22
    assert summary["total"] == int(counts.sum()) == len(lst)
    assert summary["class_counts"] == counts.tolist()
    assert summary["max_count"] == 22 and summary["min_count"] == 2
    assert summary["shot_groups"] == {"many": [], "medium": [0], "few": list(range(1, 10))}
    assert summary["shot_group_sizes"] == {"many": 0, "medium": 1, "few": 9}
    assert summary["content_sha256"] == lst.content_hash()
    assert summary["num_classes"] == 10
    assert summary["classes"] == [f"c{i}" for i in range(10)]
    assert (summary["profile"], summary["imbalance_ratio"], summary["seed"]) == ("exponential", 10, 0)


def test_long_tail_list_explicit_n_max_and_seed_change_the_list():
    train = _arrays([30] * 4)
    a, sa = splits.long_tail_list(train, "step", 5, 20, seed=0)
    b, sb = splits.long_tail_list(train, "step", 5, 20, seed=1)
    assert sa["class_counts"] == sb["class_counts"] == [20, 20, 4, 4]
    assert sa["n_max"] == 20
    assert a.items != b.items
    assert sa["content_sha256"] != sb["content_sha256"]
    again, _ = splits.long_tail_list(train, "step", 5, 20, seed=0)
    assert again.items == a.items


def test_long_tail_list_keeps_non_index_items():
    base = _arrays([3, 3])
    named = ImageArrays(base.images, base.labels, base.classes, tuple(f"train/x/{i}.png" for i in range(6)))
    lst, _ = splits.long_tail_list(named, "exponential", 3, None, seed=0)
    kept = select_per_class(named.labels, np.array([3, 1]), 0)
    assert lst.items == tuple(f"train/x/{i}.png" for i in kept)


def test_long_tail_list_too_few_samples_is_an_error():
    with pytest.raises(DataError, match="lower n_max"):
        splits.long_tail_list(_arrays([10, 10]), "exponential", 2, 11, seed=0)


def test_cifar100_shaped_long_tail_summary():
    train = _arrays([500] * 100)
    lst, summary = splits.long_tail_list(train, "exponential", 100, None, seed=0)
    assert summary["n_max"] == 500
    assert summary["total"] == len(lst) == 10_847
    assert summary["shot_group_sizes"] == {"many": 35, "medium": 35, "few": 30}
    assert summary["max_count"] == 500 and summary["min_count"] == 5


def test_test_agnostic_lists_cifar100():
    test = _arrays([100] * 100, seed=3)
    train_counts = class_profile("exponential", 100, 100, 500)
    lists = splits.test_agnostic_lists(test, train_counts, RATIOS, 100, seed=0)
    assert list(lists) == [
        "forward50", "forward25", "forward10", "forward5", "forward2", "uniform",
        "backward50", "backward25", "backward10", "backward5", "backward2",
    ]  # fmt: skip
    totals = {50: 2_486, 25: 2_956, 10: 3_876, 5: 4_932, 2: 7_166}
    for ratio, total in totals.items():
        assert len(lists[f"forward{ratio}"]) == total
        assert len(lists[f"backward{ratio}"]) == total
        forward = lists[f"forward{ratio}"].class_counts(100)
        backward = lists[f"backward{ratio}"].class_counts(100)
        expected = [int(100 * (1 / ratio) ** (k / 99)) for k in range(100)]
        assert forward.tolist() == expected
        assert backward.tolist() == expected[::-1]
    assert lists["uniform"].class_counts(100).tolist() == [100] * 100
    assert sorted(int(i) for i in lists["uniform"].items) == list(range(10_000))
    # each list is drawn anew with the same seed, from the test set's own rows
    counts = lists["forward10"].class_counts(100)
    kept = select_per_class(test.labels, counts, 0)
    assert lists["forward10"].items == tuple(str(i) for i in kept)
    assert lists["forward10"].labels.tolist() == test.labels[kept].tolist()


def test_test_agnostic_lists_rank_by_training_frequency():
    test = _arrays([10] * 5)
    train_counts = np.array([10, 50, 20, 500, 5])  # class 3 is the head, class 4 the rarest
    lists = splits.test_agnostic_lists(test, train_counts, [4], 10, seed=0)
    assert list(lists) == ["forward4", "uniform", "backward4"]
    # ranks 0..4 get floor(10 * 0.25 ** (k / 4)) = 10, 7, 5, 3, 2
    assert lists["forward4"].class_counts(5).tolist() == [3, 7, 5, 10, 2]
    assert lists["backward4"].class_counts(5).tolist() == [7, 3, 5, 2, 10]
    assert lists["uniform"].class_counts(5).tolist() == [10] * 5
