"""``cifar_lt`` end to end through real Kedro sessions (env ``test``: tiny split, 2 epochs of a tiny ResNet-32)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.lists.long_tail import test_agnostic_counts as agnostic_counts
from longtail_lab.errors import DataError
from longtail_lab.models import build_model
from tests.pipelines.conftest import AGNOSTIC, new_project, outputs_snapshot, run_pipeline, version_names, versioned

NS = "cifar_lt"
EPOCHS = 2  # conf/test
COUNTS = class_profile("exponential", 100, 10, 20)  # conf/test: 100 classes, ratio 10, n_max 20
VERSIONED = {
    "split_list": "02_intermediate/{ns}/train_split.txt",
    "split_summary": "02_intermediate/{ns}/split_summary.json",
    "test_agnostic_lists": "02_intermediate/{ns}/test_agnostic",
    "class_histogram": "08_reporting/{ns}/class_histogram.png",
    "model_checkpoint": "06_models/{ns}/model.pt",
    "training_history": "07_model_output/{ns}/training_history.csv",
    "metrics": "08_reporting/{ns}/metrics.json",
    "per_class_accuracy": "08_reporting/{ns}/per_class_accuracy.csv",
    "test_agnostic_accuracy": "08_reporting/{ns}/test_agnostic_accuracy.csv",
    "accuracy_vs_frequency": "08_reporting/{ns}/accuracy_vs_frequency.png",
    "test_agnostic_plot": "08_reporting/{ns}/test_agnostic_accuracy.png",
    "training_curves": "08_reporting/{ns}/training_curves.png",
    "run_config": "02_intermediate/{ns}/run_config.json",
}
SADE_ORDER = ["forward5", "forward2", "uniform", "backward2", "backward5"]  # conf/test ratios [5, 2]


@dataclass
class Runs:
    project: Path
    first: str  # version (run timestamp) of each run
    second: str
    balanced: str
    after_first: dict  # output snapshots
    after_second: dict

    def out(self, name: str, version: str) -> Path:
        return versioned(self.project / "data" / "test_env" / VERSIONED[name].format(ns=NS), version)

    def metrics(self, version: str) -> dict:
        return json.loads(self.out("metrics", version).read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    project = new_project(tmp_path_factory.mktemp("cifar_lt") / "project")

    run_pipeline(project, "cifar_lt")
    (first,) = version_names(project)
    after_first = outputs_snapshot(project)

    run_pipeline(project, "cifar_lt")
    (second,) = version_names(project) - {first}
    after_second = outputs_snapshot(project)

    run_pipeline(project, "cifar_lt", {NS: {"loss": "balanced_softmax"}})
    (balanced,) = version_names(project) - {first, second}
    return Runs(project, first, second, balanced, after_first, after_second)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_every_output_is_written_once_per_run(runs):
    for name, pattern in VERSIONED.items():
        folder = runs.project / "data" / "test_env" / pattern.format(ns=NS)
        assert sorted(p.name for p in folder.iterdir()) == sorted([runs.first, runs.second, runs.balanced]), name
    assert runs.first < runs.second < runs.balanced


def test_train_split_follows_the_test_profile(runs):
    lines = _lines(runs.out("split_list", runs.first))
    assert len(lines) == COUNTS.sum() == 737
    labels = np.array([int(line.rsplit(" ", 1)[1]) for line in lines])
    assert np.bincount(labels, minlength=100).tolist() == COUNTS.tolist()
    items = [line.rsplit(" ", 1)[0] for line in lines]
    assert len(set(items)) == len(items)
    assert all(0 <= int(item) < 3000 for item in items)  # indices into the 30-per-class official train array

    summary = json.loads(runs.out("split_summary", runs.first).read_text())
    assert summary["class_counts"] == COUNTS.tolist()
    assert summary["total"] == 737
    assert (summary["dataset"], summary["imbalance_ratio"], summary["n_max"]) == ("cifar100", 10, 20)
    assert summary["shot_group_sizes"] == {"many": 0, "medium": 1, "few": 99}


def test_test_agnostic_lists(runs):
    folder = runs.out("test_agnostic_lists", runs.first)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.txt" for n in AGNOSTIC)
    for name, (direction, ratio) in AGNOSTIC.items():
        expected = agnostic_counts(COUNTS, ratio or 1.0, 10, direction)
        lines = _lines(folder / f"{name}.txt")
        assert len(lines) == expected.sum(), name
        labels = np.array([int(line.rsplit(" ", 1)[1]) for line in lines])
        assert np.bincount(labels, minlength=100).tolist() == expected.tolist(), name
    assert len(_lines(folder / "uniform.txt")) == 1000
    # forward keeps the head's proportion, backward reverses it
    forward = np.bincount([int(x.rsplit(" ", 1)[1]) for x in _lines(folder / "forward5.txt")], minlength=100)
    backward = np.bincount([int(x.rsplit(" ", 1)[1]) for x in _lines(folder / "backward5.txt")], minlength=100)
    assert forward[0] == 10 and backward[0] == 2
    assert forward[99] == 2 and backward[99] == 10


def test_metrics_and_tables(runs):
    metrics = runs.metrics(runs.first)
    assert 0.0 <= metrics["top1"] <= 1.0
    assert metrics["num_test"] == 1000
    assert {"many", "medium", "few", "ece"} <= set(metrics)
    assert metrics["many"] is None  # no class has more than 100 training images at n_max 20
    assert (metrics["many_classes"], metrics["medium_classes"], metrics["few_classes"]) == (0, 1, 99)
    assert metrics["dataset"] == "cifar100"
    assert metrics["imbalance_ratio"] == 10
    # where the result comes from: the environment, the split's settings and content, the run
    assert metrics["kedro_env"] == "test"
    assert metrics["split"] == {
        "profile": "exponential",
        "imbalance_ratio": 10,
        "n_max": 20,
        "seed": 0,
        "total": 737,
        "content_sha256": json.loads(runs.out("split_summary", runs.first).read_text())["content_sha256"],
    }
    assert metrics["test_agnostic_settings"] == {"ratios": [5, 2], "n_max": 10, "seed": 0}
    assert metrics["run"]["run_id"] == runs.first and metrics["run"]["pipelines"] == ["cifar_lt"]
    assert metrics["loss"] == "ce"
    assert metrics["train"]["epochs"] == EPOCHS
    assert metrics["train"]["resumed_from_epoch"] == 0

    agnostic = pd.read_csv(runs.out("test_agnostic_accuracy", runs.first))
    # head-heavy to tail-heavy, in the JSON and the CSV alike (not alphabetical)
    assert list(metrics["test_agnostic"]) == SADE_ORDER
    assert list(agnostic["distribution"]) == SADE_ORDER
    for row in agnostic.itertuples():
        assert metrics["test_agnostic"][row.distribution] == pytest.approx(row.top1)
        direction, ratio = AGNOSTIC[row.distribution]
        assert row.num_test == agnostic_counts(COUNTS, ratio or 1.0, 10, direction).sum()
    assert metrics["test_agnostic"]["uniform"] == pytest.approx(metrics["top1"])

    table = pd.read_csv(runs.out("per_class_accuracy", runs.first))
    assert len(table) == 100
    assert list(table.columns) == ["class_id", "class_name", "train_count", "test_count", "shot_group", "accuracy"]
    assert table["train_count"].tolist() == COUNTS.tolist()
    assert (table["test_count"] == 10).all()
    assert table["accuracy"].between(0, 1).all()
    # reports hold 4 significant digits
    assert metrics["top1"] == pytest.approx(table["accuracy"].mean(), rel=1e-3)  # balanced test set: micro == macro
    assert metrics["few"] == pytest.approx(table.loc[table["shot_group"] == "few", "accuracy"].mean(), rel=1e-3)
    assert metrics["medium"] == pytest.approx(table.loc[table["shot_group"] == "medium", "accuracy"].mean(), rel=1e-3)
    assert all(len(f"{v:.10g}".lstrip("0.").rstrip("0")) <= 4 for v in table["accuracy"].dropna())


def test_training_history(runs):
    history = pd.read_csv(runs.out("training_history", runs.first))
    assert history["epoch"].tolist() == [1, 2]
    assert history["lr"].tolist() == pytest.approx([0.1, 0.01])  # warm-up 1 epoch, milestone at epoch 1
    assert (history["images"] == 737).all()


def test_run_config_records_the_checked_parameters_and_the_run(runs):
    config = json.loads(runs.out("run_config", runs.first).read_text())
    assert config["namespace"] == NS and config["dataset"] == "cifar100"
    assert config["train"]["epochs"] == EPOCHS and config["train"]["milestones"] == [1]
    assert config["model"] == {"name": "resnet32", **_model_kwargs()}
    assert config["run"]["env"] == "test" and config["run"]["run_id"] == runs.first
    balanced = json.loads(runs.out("run_config", runs.balanced).read_text())
    assert balanced["loss"] == "balanced_softmax"
    assert balanced["run"]["runtime_params"] == {NS: {"loss": "balanced_softmax"}}


def test_figures_are_png(runs):
    for name in ("class_histogram", "accuracy_vs_frequency", "test_agnostic_plot", "training_curves"):
        data = runs.out(name, runs.first).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
        assert len(data) > 1000


def test_model_checkpoint_loads_weights_only(runs):
    checkpoint = torch.load(runs.out("model_checkpoint", runs.first), weights_only=True)
    assert checkpoint["model_signature"] == {"name": "resnet32", "num_classes": 100, "kwargs": _model_kwargs()}
    assert checkpoint["class_counts"] == COUNTS.tolist()
    assert checkpoint["fingerprint"] == runs.metrics(runs.first)["fingerprint"]
    model = build_model("resnet32", 100, **_model_kwargs())
    model.load_state_dict(checkpoint["model"])
    assert model.fc.weight.shape == (100, 8)
    run_dirs = runs.project / "data" / "test_env" / "06_models" / NS / "runs"
    assert (run_dirs / checkpoint["fingerprint"] / "last.pt").is_file()


def _model_kwargs() -> dict:
    return {"blocks": 1, "normed_classifier": False, "scale": 30.0, "widths": [4, 8, 8]}


def test_second_run_adds_a_version_and_leaves_the_first_untouched(runs):
    first_files = {k: v for k, v in runs.after_second.items() if f"/{runs.first}/" in k}
    assert first_files == {k: v for k, v in runs.after_first.items() if f"/{runs.first}/" in k}
    assert len(first_files) == len(VERSIONED) + 4  # the test-agnostic folder holds five files
    new = set(runs.after_second) - set(runs.after_first)
    assert new and all(f"/{runs.second}/" in k for k in new)
    # the resume checkpoint of the finished run was not rewritten
    last = [k for k in runs.after_first if k.endswith("last.pt")]
    assert len(last) == 1 and runs.after_second[last[0]] == runs.after_first[last[0]]


def test_second_run_resumes_the_finished_training(runs):
    first, second = runs.metrics(runs.first), runs.metrics(runs.second)
    assert second["train"]["resumed_from_epoch"] == EPOCHS
    assert second["fingerprint"] == first["fingerprint"]
    assert second["top1"] == first["top1"]
    a = torch.load(runs.out("model_checkpoint", runs.first), weights_only=True)["model"]
    b = torch.load(runs.out("model_checkpoint", runs.second), weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    history_first = pd.read_csv(runs.out("training_history", runs.first))
    history_second = pd.read_csv(runs.out("training_history", runs.second))
    assert history_second["loss"].tolist() == history_first["loss"].tolist()


def test_runtime_params_change_the_loss_and_the_fingerprint(runs):
    ce, balanced = runs.metrics(runs.first), runs.metrics(runs.balanced)
    assert balanced["fingerprint"] != ce["fingerprint"]
    assert balanced["train"]["resumed_from_epoch"] == 0  # a new configuration trains from scratch
    assert balanced["train"]["epochs"] == EPOCHS  # sibling settings from conf/test survive the override
    run_dirs = runs.project / "data" / "test_env" / "06_models" / NS / "runs"
    assert sorted(p.name for p in run_dirs.iterdir()) == sorted([ce["fingerprint"], balanced["fingerprint"]])
    ce_loss = pd.read_csv(runs.out("training_history", runs.first))["loss"]
    bs_loss = pd.read_csv(runs.out("training_history", runs.balanced))["loss"]
    assert not np.allclose(ce_loss, bs_loss)
    # the split does not depend on the loss
    assert runs.out("split_list", runs.balanced).read_bytes() == runs.out("split_list", runs.first).read_bytes()


def test_unknown_dataset_fails_and_writes_nothing(runs):
    before = outputs_snapshot(runs.project)
    with pytest.raises(DataError, match=r"'cifar_lt.dataset' .*\(cifar10, cifar100, cifar10_jpg\), got 'imagenet_lt'"):
        run_pipeline(runs.project, "cifar_lt", {NS: {"dataset": "imagenet_lt"}})
    assert outputs_snapshot(runs.project) == before
    assert version_names(runs.project) == {runs.first, runs.second, runs.balanced}
