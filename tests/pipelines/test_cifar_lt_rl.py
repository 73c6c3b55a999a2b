"""``cifar_lt_rl`` through real Kedro sessions (env ``test``) on a tiny official-format CIFAR-100 layout,
plus the recipe resolution node on its own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch

from longtail_lab.data.long_tail import class_profile
from longtail_lab.data.long_tail import test_agnostic_counts as agnostic_counts
from longtail_lab.engine.predict import predict_expert_logits
from longtail_lab.models import build_model
from longtail_lab.pipelines.cifar_lt_rl.nodes import resolve_run_config
from tests.fixtures import tiny_cifar
from tests.pipelines.conftest import AGNOSTIC, new_project, run_pipeline, version_names, versioned

NS = "cifar_lt_rl"
COUNTS = class_profile("exponential", 100, 10, 20)  # conf/test
OUTPUTS = {
    "run_config": "02_intermediate/{ns}/run_config.json",
    "split_list": "02_intermediate/{ns}/train_split.txt",
    "model_checkpoint": "06_models/{ns}/model.pt",
    "training_history": "07_model_output/{ns}/training_history.csv",
    "expert_weights": "07_model_output/{ns}/expert_weights.json",
    "metrics": "08_reporting/{ns}/metrics.json",
    "per_class_accuracy": "08_reporting/{ns}/per_class_accuracy.csv",
    "test_agnostic_accuracy": "08_reporting/{ns}/test_agnostic_accuracy.csv",
    "accuracy_vs_frequency": "08_reporting/{ns}/accuracy_vs_frequency.png",
    "expert_accuracy": "08_reporting/{ns}/expert_accuracy.png",
}


@dataclass
class Runs:
    project: Path
    sade_rl: str
    rerun: str
    bsce: str

    def out(self, name: str, version: str) -> Path:
        return versioned(self.project / "data" / OUTPUTS[name].format(ns=NS), version)

    def json(self, name: str, version: str) -> dict:
        return json.loads(self.out(name, version).read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    project = new_project(tmp_path_factory.mktemp("cifar_lt_rl") / "project")
    run_pipeline(project, NS)
    (sade_rl,) = version_names(project)
    run_pipeline(project, NS)
    (rerun,) = version_names(project) - {sade_rl}
    run_pipeline(project, NS, {NS: {"method": "bsce", "reflective": False, "recipe": "sade"}})
    (bsce,) = version_names(project) - {sade_rl, rerun}
    return Runs(project, sade_rl, rerun, bsce)


def test_every_output_is_versioned_per_run(runs):
    for name, pattern in OUTPUTS.items():
        folder = runs.project / "data" / pattern.format(ns=NS)
        assert sorted(p.name for p in folder.iterdir()) == sorted([runs.sade_rl, runs.rerun, runs.bsce]), name
    for name in ("accuracy_vs_frequency", "expert_accuracy"):
        assert runs.out(name, runs.sade_rl).read_bytes().startswith(b"\x89PNG")


def test_default_run_config_is_the_ltrl_sade_rl_recipe_with_test_overrides(runs):
    config = runs.json("run_config", runs.sade_rl)
    assert (config["method"], config["reflective"], config["recipe"]) == ("sade", True, "ltrl")
    assert config["model"]["name"] == "resnet32_experts" and config["model"]["widths"] == [4, 6, 8]
    assert config["augment"] == {
        "padding": 4,
        "rotation": 0,
        "autoaugment": True,
        "cutout": 16,
        "autoaugment_groups": 4,
    }
    assert config["train"]["epochs"] == 2 and config["train"]["milestones"] == [1]  # conf/test recipe override
    assert config["train"]["nesterov"] is True and config["train"]["batch_size"] == 64
    assert config["method_options"] == {"tau": 2.0}
    assert config["reflective_learning"]["official_quirks"] is False


def test_sade_rl_metrics_report_equal_and_aggregated_weights(runs):
    metrics = runs.json("metrics", runs.sade_rl)
    assert (metrics["method"], metrics["reflective"], metrics["recipe"]) == ("sade", True, "ltrl")
    assert metrics["num_test"] == 1000
    assert sorted(metrics["test_agnostic"]) == sorted(AGNOSTIC)
    assert sorted(metrics["test_agnostic_aggregated"]) == sorted(AGNOSTIC)
    assert metrics["test_agnostic"]["uniform"] == pytest.approx(metrics["top1"])
    for name, weights in metrics["expert_weights"].items():
        assert len(weights) == 3 and sum(weights) == pytest.approx(1.0, abs=1e-5), name
    assert set(metrics["experts"]) == {"expert1", "expert2", "expert3", "equal_weights", "aggregated_uniform"}
    assert metrics["aggregated"]["top1"] == pytest.approx(metrics["test_agnostic_aggregated"]["uniform"])
    assert metrics["train"]["train_time_s"] > 0 and metrics["train"]["images_per_s"] > 0
    assert metrics["train"]["epochs"] == 2

    table = pd.read_csv(runs.out("test_agnostic_accuracy", runs.sade_rl))
    assert {"top1_equal_weights", "top1_aggregated", "weight_expert1", "weight_expert3"} <= set(table.columns)
    for row in table.itertuples():
        direction, ratio = AGNOSTIC[row.distribution]
        assert row.num_test == agnostic_counts(COUNTS, ratio or 1.0, 10, direction).sum()
        assert row.top1_aggregated == pytest.approx(metrics["test_agnostic_aggregated"][row.distribution])
        assert row.weight_expert1 == pytest.approx(metrics["expert_weights"][row.distribution][0])
        assert 1 <= row.aggregation_epochs <= 2


def test_reported_accuracies_match_a_fresh_prediction_from_the_checkpoint(runs):
    checkpoint = torch.load(runs.out("model_checkpoint", runs.sade_rl), weights_only=True)
    config = checkpoint["run_config"]
    kwargs = {k: v for k, v in config["model"].items() if k != "name"}
    model = build_model(config["model"]["name"], 100, **kwargs)
    model.load_state_dict(checkpoint["model"])
    _, test = tiny_cifar(100, train_per_class=30, test_per_class=10)  # the layout new_project wrote
    experts = predict_expert_logits(model, test.images)
    labels = torch.from_numpy(test.labels)
    metrics = runs.json("metrics", runs.sade_rl)
    assert float((experts.mean(0).argmax(1) == labels).float().mean()) == pytest.approx(metrics["top1"])
    for k in range(3):
        assert float((experts[k].argmax(1) == labels).float().mean()) == pytest.approx(
            metrics["experts"][f"expert{k + 1}"]["top1"]
        )
    w = torch.tensor(metrics["expert_weights"]["uniform"])
    aggregated = torch.einsum("e,enc->nc", w, experts)
    assert float((aggregated.argmax(1) == labels).float().mean()) == pytest.approx(metrics["aggregated"]["top1"])


def test_reflective_history_and_checkpointed_memory(runs):
    history = pd.read_csv(runs.out("training_history", runs.sade_rl))
    assert history["epoch"].tolist() == [1, 2]
    assert {"review_loss", "review_kept", "conflicting_tensors"} <= set(history.columns)
    assert history["review_loss"].iloc[0] == 0.0  # no stored predictions in epoch 1 (default, no quirks)
    assert history["review_kept"].between(0.0, 1.0).all()
    assert history["conflicting_tensors"].between(0.0, 1.0).all()
    checkpoint = torch.load(runs.out("model_checkpoint", runs.sade_rl), weights_only=True)
    last = torch.load(
        runs.project / "data" / "06_models" / NS / "runs" / checkpoint["fingerprint"] / "last.pt", weights_only=True
    )
    assert last["objective"]["memory"].shape == (int(COUNTS.sum()), 100)
    assert bool(last["objective"]["has_memory"].all())
    assert last["objective"]["centres"].shape == (100, 8)  # class medians of the 8-d expert-average feature


def test_expert_weights_json(runs):
    weights = runs.json("expert_weights", runs.sade_rl)
    assert weights["learned"] is True
    assert sorted(weights["distributions"]) == sorted(AGNOSTIC)
    for result in weights["distributions"].values():
        assert len(result["stability"]) == result["epochs_run"]


def test_rerun_resumes_the_finished_training_and_reproduces_the_report(runs):
    first, again = runs.json("metrics", runs.sade_rl), runs.json("metrics", runs.rerun)
    assert again["train"]["resumed_from_epoch"] == 2
    assert again["fingerprint"] == first["fingerprint"]
    assert again["top1"] == first["top1"]
    assert again["expert_weights"] == first["expert_weights"]  # aggregation is seeded


def test_bsce_without_reflection_under_the_sade_recipe(runs):
    config = runs.json("run_config", runs.bsce)
    assert (config["method"], config["reflective"], config["recipe"]) == ("bsce", False, "sade")
    assert config["model"]["name"] == "resnet32"
    assert config["augment"]["rotation"] == 15 and config["augment"]["autoaugment"] is False
    assert config["reflective_learning"] == {}
    metrics = runs.json("metrics", runs.bsce)
    assert set(metrics["experts"]) == {"expert1", "equal_weights"}
    assert metrics["experts"]["expert1"]["top1"] == pytest.approx(metrics["top1"])
    assert "aggregated" not in metrics and metrics["expert_weights"] == {}
    assert runs.json("expert_weights", runs.bsce) == {
        "learned": False,
        "reason": "single-expert model",
        "distributions": {},
    }
    history = pd.read_csv(runs.out("training_history", runs.bsce))
    assert "review_loss" not in history.columns
    assert metrics["fingerprint"] != runs.json("metrics", runs.sade_rl)["fingerprint"]


# ------------------------------------------------------------------------------- resolve_run_config
RECIPES = {
    "ltrl": {"augment": {"autoaugment": True, "cutout": 16}, "train": {"epochs": 400, "milestones": [200, 320, 360]}},
    "sade": {"augment": {"rotation": 15}, "train": {"epochs": 200, "milestones": [160, 180]}},
}
MODELS = {"sade": {"name": "resnet32_experts", "widths": [16, 24, 48]}, "bsce": {"name": "resnet32"}}


def _resolve(**overrides):
    args = {
        "method": "sade",
        "reflective": True,
        "recipe": "ltrl",
        "recipes": RECIPES,
        "models": MODELS,
        "model": {},
        "method_options": {"sade": {"tau": 2.0}},
        "reflective_learning": {"alpha": 0.01},
        "augment": {},
        "train": {"batch_size": 128},
    }
    return resolve_run_config(**{**args, **overrides})


def test_explicit_parameters_override_the_recipe_and_the_method_model():
    config = _resolve(train={"epochs": 30, "batch_size": 64}, augment={"cutout": 8}, model={"widths": [16, 32, 64]})
    assert config["train"] == {"epochs": 30, "milestones": [200, 320, 360], "batch_size": 64}
    assert config["augment"] == {"autoaugment": True, "cutout": 8}
    assert config["model"] == {"name": "resnet32_experts", "widths": [16, 32, 64]}
    assert RECIPES["ltrl"]["augment"]["cutout"] == 16  # the parameters themselves are not modified
    bsce = _resolve(method="bsce", reflective=False)
    assert bsce["method_options"] == {} and bsce["reflective_learning"] == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"method": "ldam"}, r"parameter 'method': unknown method 'ldam'"),
        ({"recipe": "fast"}, r"parameter 'recipe': unknown recipe 'fast'; known: \['ltrl', 'sade'\]"),
        ({"reflective": "yes"}, r"parameter 'reflective' must be true or false"),
        ({"method": "ce"}, r"parameter 'models' has no model for method 'ce'"),
        ({"train": {"epoch": 3}}, r"parameter 'train.epoch' is not a training setting"),
        ({"augment": {"rotate": 3}}, r"parameter 'augment.rotate' is unknown"),
        ({"reflective_learning": {"alpha": 3}}, r"reflective_learning.alpha' must be in \[0, 1\]"),
        ({"recipes": {"ltrl": {"optimizer": {}}}}, r"parameter 'recipes.ltrl.optimizer' is unknown"),
    ],
)
def test_bad_parameters_fail_before_any_data_is_read(overrides, message):
    with pytest.raises(ValueError, match=message):
        _resolve(**overrides)
