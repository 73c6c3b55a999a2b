"""``lt_splits`` end to end through a real Kedro session, both dataset namespaces (env ``test``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.lists.long_tail import test_agnostic_counts as agnostic_counts
from longtail_lab.errors import DataError
from tests.pipelines.conftest import AGNOSTIC, outputs_snapshot, run_pipeline, version_names, versioned

NAMESPACES = {"cifar10_lt": ("cifar10", 10), "cifar100_lt": ("cifar100", 100)}


def _labels(path, num_classes):
    lines = path.read_text().splitlines()
    return np.bincount([int(line.rsplit(" ", 1)[1]) for line in lines], minlength=num_classes), len(lines)


@pytest.fixture
def split_project(project_factory):
    project = project_factory(cifar10=True)
    run_pipeline(project, "lt_splits")
    return project


@pytest.mark.parametrize("ns", sorted(NAMESPACES))
def test_split_list_summary_and_histogram(split_project, ns):
    dataset, num_classes = NAMESPACES[ns]
    expected = class_profile("exponential", num_classes, 10, 20)
    data = split_project / "data" / "test_env"

    counts, lines = _labels(versioned(data / "02_intermediate" / ns / "train_split.txt"), num_classes)
    assert lines == expected.sum()
    assert counts.tolist() == expected.tolist()

    summary = json.loads(versioned(data / "02_intermediate" / ns / "split_summary.json").read_text())
    assert summary["dataset"] == dataset
    assert summary["num_classes"] == num_classes
    assert summary["class_counts"] == expected.tolist()
    assert summary["total"] == int(expected.sum())
    assert (summary["max_count"], summary["min_count"]) == (20, int(expected[-1]))

    png = versioned(data / "08_reporting" / ns / "class_histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("ns", sorted(NAMESPACES))
def test_test_agnostic_lists(split_project, ns):
    _, num_classes = NAMESPACES[ns]
    train_counts = class_profile("exponential", num_classes, 10, 20)
    folder = versioned(split_project / "data" / "test_env" / "02_intermediate" / ns / "test_agnostic")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.txt" for name in AGNOSTIC)
    for name, (direction, ratio) in AGNOSTIC.items():
        expected = agnostic_counts(train_counts, ratio or 1.0, 10, direction)
        counts, lines = _labels(folder / f"{name}.txt", num_classes)
        assert lines == expected.sum(), name
        assert counts.tolist() == expected.tolist(), name
    uniform, _ = _labels(folder / "uniform.txt", num_classes)
    assert (uniform == 10).all()


def test_both_namespaces_share_one_run_version(split_project):
    (version,) = version_names(split_project)
    for ns in NAMESPACES:
        assert (split_project / "data" / "test_env" / "02_intermediate" / ns / "train_split.txt" / version).is_dir()
    # lt_splits trains nothing
    assert not (split_project / "data" / "test_env" / "06_models").exists()


def test_rerun_gives_identical_splits_in_a_new_version(split_project):
    (first,) = version_names(split_project)
    run_pipeline(split_project, "lt_splits")
    (second,) = version_names(split_project) - {first}
    for ns in NAMESPACES:
        path = split_project / "data" / "test_env" / "02_intermediate" / ns / "train_split.txt"
        assert versioned(path, first).read_bytes() == versioned(path, second).read_bytes()


def test_runtime_override_reaches_one_namespace_only(project_factory):
    project = project_factory(cifar10=True)
    run_pipeline(project, "lt_splits", {"cifar10_lt": {"split": {"imbalance_ratio": 2}}})
    data = project / "data" / "test_env" / "02_intermediate"
    ten = json.loads(versioned(data / "cifar10_lt" / "split_summary.json").read_text())
    hundred = json.loads(versioned(data / "cifar100_lt" / "split_summary.json").read_text())
    assert ten["imbalance_ratio"] == 2
    assert ten["class_counts"] == class_profile("exponential", 10, 2, 20).tolist()
    assert ten["n_max"] == 20  # sibling from conf/test kept
    assert hundred["imbalance_ratio"] == 10


def test_unknown_split_key_fails_and_writes_nothing(project_factory):
    project = project_factory(cifar10=True)
    before = outputs_snapshot(project)
    with pytest.raises(DataError, match=r"'cifar10_lt\.split\.rho' is unknown"):
        run_pipeline(project, "lt_splits", {"cifar10_lt": {"split": {"rho": 5}}})
    # every block of the run is checked before any node runs: not even the other namespace writes anything
    assert outputs_snapshot(project) == before
