"""Long-tail profiles, the reference per-class selection and the test-agnostic counts (spec §4.1, §4.3)."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.lists import long_tail as lt
from longtail_lab.data.lists.long_tail import class_profile, frequency_class_map, select_per_class, shot_groups
from longtail_lab.errors import DataError
from tests.fixtures import SHARED_DATA


def _cifar100_counts(ratio: float) -> np.ndarray:
    return class_profile("exponential", 100, ratio, 500)


# --- profiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "total", "min_count", "groups"),
    [(100, 10_847, 5, (35, 35, 30)), (50, 12_608, 10, (41, 41, 18)), (10, 19_573, 50, (69, 31, 0))],
)
def test_exponential_cifar100_profile_matches_reference_table(ratio, total, min_count, groups):
    counts = _cifar100_counts(ratio)
    assert counts.dtype == np.int64
    assert counts.shape == (100,)
    assert int(counts.sum()) == total
    assert int(counts[0]) == int(counts.max()) == 500
    assert int(counts[-1]) == int(counts.min()) == min_count
    assert np.all(np.diff(counts) <= 0)  # class 0 is the head, no class shuffling
    sizes = shot_groups(counts)
    assert (len(sizes["many"]), len(sizes["medium"]), len(sizes["few"])) == groups


def test_exponential_profile_uses_floor_of_the_reference_formula():
    counts = _cifar100_counts(100)
    expected = [int(500 * 0.01 ** (i / 99)) for i in range(100)]
    assert counts.tolist() == expected
    assert counts[:3].tolist() == [500, 477, 455]  # 500 * 0.9545 = 477.3, 500 * 0.9112 = 455.6


def test_ratio_one_is_balanced():
    assert class_profile("exponential", 7, 1, 40).tolist() == [40] * 7


def test_step_profile():
    assert class_profile("step", 10, 10, 100).tolist() == [100] * 5 + [10] * 5


def test_step_profile_odd_class_count_puts_the_extra_class_in_the_tail():
    assert class_profile("step", 5, 4, 100).tolist() == [100, 100, 25, 25, 25]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"imbalance_ratio": 0.5}, "imbalance_ratio"),
        ({"imbalance_ratio": 0}, "imbalance_ratio"),
        ({"n_max": 0}, "n_max"),
        ({"profile": "linear"}, "linear"),
    ],
)
def test_profile_rejects_bad_parameters(kwargs, fragment):
    args = {"profile": "exponential", "num_classes": 10, "imbalance_ratio": 10, "n_max": 100, **kwargs}
    with pytest.raises(DataError, match=fragment):
        class_profile(**args)


def test_profile_rejects_a_class_with_zero_samples():
    # 5 * 0.01 ** (i / 99) drops below 1 first at i = 35
    with pytest.raises(DataError, match=r"class 35 gets 0 samples"):
        class_profile("exponential", 100, 100, 5)


def test_shot_groups_thresholds_are_inclusive_for_medium():
    groups = shot_groups(np.array([101, 100, 20, 19, 500, 0]))
    assert groups == {"many": [0, 4], "medium": [1, 2], "few": [3, 5]}


def test_shot_groups_ratio_100_class_ids():
    groups = shot_groups(_cifar100_counts(100))
    assert groups["many"] == list(range(35))
    assert groups["medium"] == list(range(35, 70))
    assert groups["few"] == list(range(70, 100))


# --- selection ---------------------------------------------------------------------------------


def test_select_per_class_hand_computed_small_case():
    # One RandomState(0); class 0 indices [0, 2, 4] shuffle to [4, 2, 0], then (same RNG, continuing)
    # class 1 [1, 3, 5] -> [5, 1, 3], class 2 [6, 7] -> [6, 7]; keep the first 2 / 1 / 1.
    labels = np.array([0, 1, 0, 1, 0, 1, 2, 2])
    kept = select_per_class(labels, np.array([2, 1, 1]), seed=0)
    assert kept.tolist() == [4, 2, 5, 6]


def test_select_per_class_hand_computed_case_distinguishes_reseeding_per_class():
    # class 0 -> [1, 3, 6, 9], class 1 -> [2, 5, 7, 10], class 2 -> [0, 4, 8, 11]. With one RandomState(0)
    # shared by all classes the first 3 / 2 / 2 after shuffling are [6, 9, 3], [2, 7], [11, 0]. Re-seeding
    # for each class would give [6, 9, 3], [7, 10], [8, 11]; numpy's Generator API yet another result.
    labels = np.array([2, 0, 1, 0, 2, 1, 0, 1, 2, 0, 1, 2])
    kept = select_per_class(labels, np.array([3, 2, 2]), seed=0)
    assert kept.tolist() == [6, 9, 3, 2, 7, 11, 0]


def test_select_per_class_matches_the_reference_procedure_on_a_larger_set():
    labels = np.random.default_rng(5).integers(0, 6, size=400)
    counts = np.array([30, 25, 20, 15, 10, 5])
    kept = select_per_class(labels, counts, seed=3)
    rng = np.random.RandomState(3)
    expected = []
    for c, n in enumerate(counts):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        expected.extend(idx[:n].tolist())
    assert kept.tolist() == expected


def test_select_per_class_output_is_grouped_class_by_class_and_unique():
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(5), 12))
    counts = np.array([12, 9, 6, 3, 1])
    kept = select_per_class(labels, counts, seed=0)
    assert labels[kept].tolist() == np.repeat(np.arange(5), counts).tolist()
    assert len(set(kept.tolist())) == len(kept) == counts.sum()


def test_select_per_class_depends_on_seed():
    labels = np.repeat(np.arange(3), 50)
    counts = np.array([10, 10, 10])
    a = select_per_class(labels, counts, seed=0)
    assert np.array_equal(a, select_per_class(labels, counts, seed=0))
    assert not np.array_equal(a, select_per_class(labels, counts, seed=1))


def test_select_per_class_errors_when_a_class_is_too_small():
    labels = np.array([0, 0, 0, 1, 1])
    with pytest.raises(DataError, match=r"class 1 has 2 samples but the profile asks for 3"):
        select_per_class(labels, np.array([3, 3]), seed=0)


# --- test-agnostic counts ----------------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "total"), [(50, 2_486), (25, 2_956), (10, 3_876), (5, 4_932), (2, 7_166)])
def test_cifar100_test_agnostic_totals(ratio, total):
    train = _cifar100_counts(100)
    forward = lt.test_agnostic_counts(train, ratio, 100, "forward")
    backward = lt.test_agnostic_counts(train, ratio, 100, "backward")
    assert int(forward.sum()) == total
    assert int(backward.sum()) == total
    # class 0 is the most frequent training class: forward gives it n_max, backward the least
    assert forward[0] == 100 and forward[-1] == int(100 / ratio)
    assert backward[-1] == 100 and backward[0] == int(100 / ratio)
    assert backward.tolist() == forward[::-1].tolist()


def test_uniform_gives_n_max_everywhere():
    counts = lt.test_agnostic_counts(_cifar100_counts(100), 50, 100, "uniform")
    assert counts.tolist() == [100] * 100


def test_test_agnostic_ranks_by_training_frequency_not_class_id():
    train = np.array([10, 50, 20, 500, 5])  # class 3 is the head, class 4 the rarest
    assert frequency_class_map(train).tolist() == [3, 1, 2, 0, 4]
    # ranks 0..4 get floor(100 * 0.1 ** (k / 4)) = 100, 56, 31, 17, 10
    assert lt.test_agnostic_counts(train, 10, 100, "forward").tolist() == [17, 56, 31, 100, 10]
    backward = lt.test_agnostic_counts(train, 10, 100, "backward")
    assert backward.tolist() == [56, 17, 31, 10, 100]
    assert int(np.argmax(backward)) == 4  # the rarest training class gets the most test samples


def test_frequency_rank_breaks_ties_by_class_id():
    assert frequency_class_map(np.array([5, 7, 5, 7])).tolist() == [2, 0, 3, 1]
    assert lt.test_agnostic_counts(np.array([5, 5, 5]), 4, 100, "forward").tolist() == [100, 50, 25]


def test_unknown_direction_is_an_error():
    with pytest.raises(DataError, match="sideways"):
        lt.test_agnostic_counts(np.array([3, 2, 1]), 10, 100, "sideways")


def test_test_agnostic_names():
    assert lt.test_agnostic_name("forward", 50) == "forward50"
    assert lt.test_agnostic_name("backward", 2.0) == "backward2"
    assert lt.test_agnostic_name("forward", 2.5) == "forward2.5"
    assert lt.test_agnostic_name("uniform", None) == "uniform"


PLACES = SHARED_DATA / "splits" / "places_lt"


@pytest.mark.parametrize(("name", "total"), [("forward50", 8_989), ("backward50", 8_989), ("forward2", 26_155)])
def test_official_places_lt_lists_have_the_formula_profile(name, total):
    """§4.3: recomputed from the training counts, totals match exactly and per-rank counts up to ties."""
    if not (PLACES / "Places_LT_train.txt").is_file():
        pytest.skip(f"{PLACES} not available")
    from longtail_lab.data.lists.format import read_list

    train = read_list(PLACES / "Places_LT_train.txt", 365).class_counts(365)
    official = read_list(PLACES / f"Places_LT_{name}.txt", 365).class_counts(365)
    direction = name.rstrip("0123456789")
    ours = lt.test_agnostic_counts(train, int(name[len(direction) :]), 100, direction)
    assert int(ours.sum()) == int(official.sum()) == total
    assert sorted(ours.tolist()) == sorted(official.tolist())
