"""The official ImageNet-LT / Places-LT / iNaturalist-2018 lists of ``../shared/data/splits`` (skipped when
absent): they validate, their summaries give the published shot groups, and the test-agnostic lists we
generate have exactly the official totals (and per-class counts, up to classes tied in frequency)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longtail_lab.data.lists.checks import check_list
from longtail_lab.data.lists.format import read_list
from longtail_lab.data.lists.long_tail import shot_groups
from longtail_lab.data.lists.long_tail import test_agnostic_counts as agnostic_counts
from tests.fixtures import SHARED_DATA, make_project_copy
from tests.pipelines.conftest import run_pipeline, versioned

SPLITS = SHARED_DATA / "splits"
needs_splits = pytest.mark.skipif(not SPLITS.is_dir(), reason=f"{SPLITS} not available")
RATIOS = (50, 25, 10, 5, 2)


def _official(folder: str, name: str, num_classes: int):
    return read_list(SPLITS / folder / name, num_classes)


@needs_splits
@pytest.mark.parametrize(
    ("folder", "prefix", "num_classes", "sizes"),
    [
        ("imagenet_lt", "ImageNet_LT_", 1000, {"val": 20, "test": 50, "uniform": 50}),
        ("places_lt", "Places_LT_", 365, {"val": 20, "test": 100, "uniform": 100}),
        ("inat18", "iNaturalist18_", 8142, {"val": 3, "uniform": 3}),
    ],
)
def test_official_lists_validate_and_balanced_lists_are_balanced(folder, prefix, num_classes, sizes):
    for path in sorted((SPLITS / folder).glob("*.txt")):
        lst = read_list(path, num_classes)
        assert check_list(lst, str(path), num_classes) == [], path.name  # labels, duplicates, paths
    for name, per_class in sizes.items():
        counts = _official(folder, f"{prefix}{name}.txt", num_classes).class_counts(num_classes)
        assert (counts == per_class).all(), name


@needs_splits
def test_places_lt_shot_groups_from_the_official_train_list():
    counts = _official("places_lt", "Places_LT_train.txt", 365).class_counts(365)
    assert counts.sum() == 62_500 and counts.max() == 4_980 and counts.min() == 5
    assert {k: len(v) for k, v in shot_groups(counts).items()} == {"many": 131, "medium": 163, "few": 71}


@needs_splits
@pytest.mark.parametrize(
    ("folder", "prefix", "num_classes", "n_max", "totals"),
    [
        ("imagenet_lt", "ImageNet_LT_", 1000, 50, (12_058, 14_437, 19_059, 24_365, 35_574)),
        ("places_lt", "Places_LT_", 365, 100, (8_989, 10_727, 14_103, 17_970, 26_155)),
    ],
)
def test_formula_totals_equal_the_official_lists(folder, prefix, num_classes, n_max, totals):
    """Totals depend only on the profile (not on which class has which rank), so no train list is needed."""
    any_ranking = np.arange(num_classes)[::-1]
    for ratio, total in zip(RATIOS, totals, strict=True):
        for direction in ("forward", "backward"):
            official = _official(folder, f"{prefix}{direction}{ratio}.txt", num_classes).class_counts(num_classes)
            ours = agnostic_counts(any_ranking, ratio, n_max, direction)
            assert int(ours.sum()) == int(official.sum()) == total
            assert sorted(ours.tolist()) == sorted(official.tolist())


@needs_splits
@pytest.mark.parametrize(
    ("name", "factor", "total"),
    [
        ("forward3", 0.3333, 11_147),
        ("backward3", 0.333, 11_137),
        ("forward2", None, 12_906),
        ("backward2", None, 12_906),
    ],
)
def test_inat_totals_with_the_official_rounded_factors(name, factor, total):
    official = _official("inat18", f"iNaturalist18_{name}.txt", 8142).class_counts(8142)
    direction, ratio = name[:-1], int(name[-1])
    ours = agnostic_counts(np.arange(8142)[::-1], ratio, 3, direction, factor=factor)
    assert int(ours.sum()) == int(official.sum()) == total
    assert sorted(ours.tolist()) == sorted(official.tolist())
    if factor is not None:  # the exact 1/3 gives one image more (and no empty class)
        assert int(agnostic_counts(np.arange(8142), ratio, 3, direction).sum()) == 11_148


@pytest.fixture(scope="module")
def places_project(tmp_path_factory):
    """A session run of ``places_lt`` straight on ../shared (no copy): lists only, no images."""
    if not SPLITS.is_dir():
        pytest.skip(f"{SPLITS} not available")
    project = make_project_copy(tmp_path_factory.mktemp("places") / "project")
    (project / "conf" / "test" / "catalog_real_places.yml").write_text(
        "places_lt.raw_list_files:\n  type: longtail_lab.io.ListFolderDataset\n"
        f"  path: {SPLITS}\n  lists: places_lt\n  images: null\n"
    )
    params = {
        "places_lt": {
            "lists": {"num_classes": 365},
            "check": {"files": False},
            "class_remap": {"mode": "none"},
            "generate": {"test_agnostic": {"ratios": list(RATIOS), "n_max": 100}},
        }
    }
    run_pipeline(project, "places_lt", params)
    return project


def test_places_lt_session_on_the_official_lists(places_project):
    summary = json.loads(
        versioned(places_project / "data" / "test_env" / "08_reporting" / "places_lt" / "list_summary.json").read_text()
    )
    assert summary["num_classes"] == 365  # the runtime parameters restore the real size
    assert summary["train"]["shot_group_sizes"] == {"many": 131, "medium": 163, "few": 71}
    assert summary["lists"]["train"]["total"] == 62_500
    assert summary["check"]["problems"] == 0 and summary["check"]["files_checked"] is False
    for ratio, total in zip(RATIOS, (8_989, 10_727, 14_103, 17_970, 26_155), strict=True):
        for direction in ("forward", "backward"):
            versus = summary["generated"][f"{direction}{ratio}"]["vs_official"]
            assert versus["total"] == versus["official_total"] == total
            assert versus["same_count_profile"]
            assert versus["untied_classes_differing"] == []  # only classes tied in frequency may differ
    assert summary["generated"]["uniform"]["vs_official"]["classes_differing"] == 0
