"""``cifar_lt_rl`` through real Kedro sessions (env ``test``) on a tiny official-format CIFAR-100 layout,
plus the parameter block and its recipe resolution on their own."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch
from rich.console import Console

import longtail_lab.progress as progress_module
from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.lists.long_tail import test_agnostic_counts as agnostic_counts
from longtail_lab.engine.predict import predict_expert_logits
from longtail_lab.errors import ParameterError
from longtail_lab.models import build_model
from longtail_lab.pipelines.cifar_lt_rl.parameters import CifarLtRlParams
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
    "test_agnostic_plot": "08_reporting/{ns}/test_agnostic_accuracy.png",
    "training_curves": "08_reporting/{ns}/training_curves.png",
}
SADE_ORDER = ["forward5", "forward2", "uniform", "backward2", "backward5"]  # conf/test ratios [5, 2]
BOTH_POOLS = {NS: {"aggregation": {"pools": ["test", "train_reshaped"]}}}


@dataclass
class Runs:
    project: Path
    sade_rl: str
    rerun: str
    bsce: str
    terminal: str  # what the first run drew on a (forced) terminal

    def out(self, name: str, version: str) -> Path:
        return versioned(self.project / "data" / "test_env" / OUTPUTS[name].format(ns=NS), version)

    def json(self, name: str, version: str) -> dict:
        return json.loads(self.out(name, version).read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    project = new_project(tmp_path_factory.mktemp("cifar_lt_rl") / "project")
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with pytest.MonkeyPatch.context() as patch:  # as typed at a terminal: every step draws its rich bar
        patch.setattr(progress_module, "terminal_console", lambda requested=None: console)
        run_pipeline(project, NS)
    (sade_rl,) = version_names(project)
    run_pipeline(project, NS, BOTH_POOLS)  # same training configuration: resumed (finished), two pools
    (rerun,) = version_names(project) - {sade_rl}
    run_pipeline(project, NS, {NS: {"method": "bsce", "reflective": False, "recipe": "sade"}})
    (bsce,) = version_names(project) - {sade_rl, rerun}
    return Runs(project, sade_rl, rerun, bsce, out.getvalue())


def test_every_long_step_shows_a_bar_at_a_terminal(runs):
    """Training, test-time aggregation and evaluation each draw progress (a terminal run used to crash at the
    first epoch: the bar's fields were dropped by rich's ``reset``)."""
    for text in ("epoch 1/2", "epoch 2/2", "img/s", "aggregation views, epoch 1", "predicting the test set"):
        assert text in runs.terminal, text


def test_every_output_is_versioned_per_run(runs):
    for name, pattern in OUTPUTS.items():
        folder = runs.project / "data" / "test_env" / pattern.format(ns=NS)
        assert sorted(p.name for p in folder.iterdir()) == sorted([runs.sade_rl, runs.rerun, runs.bsce]), name
    for name in ("accuracy_vs_frequency", "expert_accuracy", "test_agnostic_plot", "training_curves"):
        assert runs.out(name, runs.sade_rl).read_bytes().startswith(b"\x89PNG")


def test_default_run_config_is_the_ltrl_sade_rl_recipe_with_test_overrides(runs):
    config = runs.json("run_config", runs.sade_rl)
    assert (config["method"], config["reflective"], config["recipe"]) == ("sade", True, "ltrl")
    assert config["model"]["name"] == "resnet32_experts" and config["model"]["widths"] == [4, 6, 8]
    augment = {k: config["augment"][k] for k in ("padding", "rotation", "autoaugment", "cutout", "autoaugment_groups")}
    assert augment == {"padding": 4, "rotation": 0, "autoaugment": True, "cutout": 16, "autoaugment_groups": 4}
    assert config["train"]["epochs"] == 2 and config["train"]["milestones"] == [1]  # conf/test recipe override
    assert config["train"]["nesterov"] is True and config["train"]["batch_size"] == 64
    assert config["method_options"] == {"tau": 2.0}
    # the released code's per-batch class-count temperature is on, its epoch-1 zero-memory review off
    assert config["reflective_learning"]["batch_class_temperature"] is True
    assert config["reflective_learning"]["first_epoch_zero_memory"] is False
    assert config["aggregation"]["pools"] == ["test"] and config["run"]["env"] == "test"


def test_sade_rl_metrics_report_equal_and_aggregated_weights(runs):
    metrics = runs.json("metrics", runs.sade_rl)
    assert (metrics["method"], metrics["reflective"], metrics["recipe"]) == ("sade", True, "ltrl")
    assert metrics["num_test"] == 1000
    assert list(metrics["test_agnostic"]) == SADE_ORDER
    assert list(metrics["test_agnostic_aggregated"]) == SADE_ORDER
    assert metrics["aggregation_pools"] == ["test"] and metrics["kedro_env"] == "test"
    assert metrics["test_agnostic"]["uniform"] == pytest.approx(metrics["top1"])
    for name, weights in metrics["expert_weights"].items():
        assert len(weights) == 3 and sum(weights) == pytest.approx(1.0, abs=1e-3), name  # 4 significant digits
    assert set(metrics["experts"]) == {"expert1", "expert2", "expert3", "equal_weights", "aggregated_uniform"}
    assert metrics["aggregated"]["top1"] == pytest.approx(metrics["test_agnostic_aggregated"]["uniform"])
    assert metrics["train"]["train_time_s"] > 0 and metrics["train"]["images_per_s"] > 0
    assert metrics["train"]["epochs"] == 2

    table = pd.read_csv(runs.out("test_agnostic_accuracy", runs.sade_rl))
    assert {"top1_equal_weights", "top1_aggregated", "weight_expert1", "weight_expert3"} <= set(table.columns)
    assert list(table["distribution"]) == SADE_ORDER
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
    # the report holds the weights to 4 significant digits: the prediction may flip on a near-tie
    assert float((aggregated.argmax(1) == labels).float().mean()) == pytest.approx(
        metrics["aggregated"]["top1"], abs=2e-3
    )


def test_reflective_history_and_checkpointed_memory(runs):
    history = pd.read_csv(runs.out("training_history", runs.sade_rl))
    assert history["epoch"].tolist() == [1, 2]
    assert {"review_loss", "review_kept", "conflicting_tensors"} <= set(history.columns)
    assert history["review_loss"].iloc[0] == 0.0  # no stored predictions in epoch 1 (first_epoch_zero_memory off)
    assert history["review_kept"].between(0.0, 1.0).all()
    # per shot group (conf/test: 1 medium class, 99 few, no many): the share kept and the mean review loss
    assert history["review_kept_many"].isna().all() and history["review_loss_many"].isna().all()
    assert history["review_kept_few"].between(0.0, 1.0).all() and history["review_kept_medium"].between(0, 1).all()
    kept_all = history["review_kept"].iloc[1]
    assert min(history["review_kept_few"].iloc[1], history["review_kept_medium"].iloc[1]) <= kept_all + 1e-6
    assert history["conflicting_tensors"].between(0.0, 1.0).all()
    checkpoint = torch.load(runs.out("model_checkpoint", runs.sade_rl), weights_only=True)
    last = torch.load(
        runs.project / "data" / "test_env" / "06_models" / NS / "runs" / checkpoint["fingerprint"] / "last.pt",
        weights_only=True,
    )
    assert last["objective"]["memory"].shape == (int(COUNTS.sum()), 100)
    assert bool(last["objective"]["has_memory"].all())
    assert last["objective"]["centres"].shape == (100, 8)  # class medians of the 8-d expert-average feature


def test_expert_weights_json(runs):
    weights = runs.json("expert_weights", runs.sade_rl)
    assert weights["learned"] is True and list(weights["pools"]) == ["test"]
    test_pool = weights["pools"]["test"]
    assert list(test_pool["distributions"]) == SADE_ORDER
    assert test_pool["images"] == 1000  # the union of the lists' images: here all of the tiny test set
    for result in test_pool["distributions"].values():
        assert len(result["stability"]) == result["epochs_run"]


def test_train_reshaped_pool_is_reported_beside_the_test_pool(runs):
    """SADE's released CIFAR script: the balanced training set reshaped to each test distribution."""
    weights = runs.json("expert_weights", runs.rerun)
    assert list(weights["pools"]) == ["test", "train_reshaped"]
    # the tiny layout has 30 training images per class: uniform takes them all (3,000 images)
    assert weights["pools"]["train_reshaped"]["images"] == 3000
    metrics = runs.json("metrics", runs.rerun)
    assert metrics["aggregation_pools"] == ["test", "train_reshaped"]
    assert list(metrics["test_agnostic_aggregated_train_reshaped"]) == SADE_ORDER
    assert set(metrics["expert_weights_train_reshaped"]) == set(SADE_ORDER)
    table = pd.read_csv(runs.out("test_agnostic_accuracy", runs.rerun))
    assert {"top1_aggregated_train_reshaped", "train_reshaped_weight_expert1"} <= set(table.columns)
    for row in table.itertuples():
        expected = metrics["test_agnostic_aggregated_train_reshaped"][row.distribution]
        assert row.top1_aggregated_train_reshaped == pytest.approx(expected)


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
    assert config["reflective_learning"] is None
    metrics = runs.json("metrics", runs.bsce)
    assert set(metrics["experts"]) == {"expert1", "equal_weights"}
    assert metrics["experts"]["expert1"]["top1"] == pytest.approx(metrics["top1"])
    assert "aggregated" not in metrics and "expert_weights" not in metrics and metrics["aggregation_pools"] == []
    assert runs.json("expert_weights", runs.bsce) == {"learned": False, "reason": "single-expert model", "pools": {}}
    history = pd.read_csv(runs.out("training_history", runs.bsce))
    assert "review_loss" not in history.columns
    assert metrics["fingerprint"] != runs.json("metrics", runs.sade_rl)["fingerprint"]


# ---------------------------------------------------------------------- the parameter block on its own
RECIPES = {
    "ltrl": {"augment": {"autoaugment": True, "cutout": 16}, "train": {"epochs": 400, "milestones": [0.5, 0.8, 0.9]}},
    "sade": {"augment": {"rotation": 15}, "train": {"epochs": 200, "milestones": [160, 180]}},
}
MODELS = {"sade": {"name": "resnet32_experts", "widths": [16, 24, 48]}, "bsce": {"name": "resnet32"}}


def _params(**overrides) -> dict:
    params = {
        "dataset": "cifar100",
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
    return {**params, **overrides}


def _resolve(**overrides):
    return CifarLtRlParams.from_params(_params(**overrides), NS).run_config(NS)


def test_explicit_parameters_override_the_recipe_and_the_method_model():
    config = _resolve(train={"epochs": 30, "batch_size": 64}, augment={"cutout": 8}, model={"widths": [16, 32, 64]})
    # the recipe's milestones are fractions of the run: a 30-epoch run decays at 15/24/27
    assert (config["train"]["epochs"], config["train"]["milestones"], config["train"]["batch_size"]) == (
        30,
        [15, 24, 27],
        64,
    )
    assert (config["augment"]["autoaugment"], config["augment"]["cutout"]) == (True, 8)
    assert config["model"] == {"name": "resnet32_experts", "widths": [16, 32, 64]}
    assert RECIPES["ltrl"]["augment"]["cutout"] == 16  # the parameters themselves are not modified
    bsce = _resolve(method="bsce", reflective=False)
    assert bsce["method_options"] == {} and bsce["reflective_learning"] is None
    assert _resolve(recipe="sade")["train"]["milestones"] == [160, 180]  # epochs as epochs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"method": "ldam"}, r"parameter 'cifar_lt_rl.method' must be one of balanced_softmax, bsce, ce, sade"),
        ({"recipe": "fast"}, r"parameter 'cifar_lt_rl.recipe' must be one of ltrl, sade, got 'fast'"),
        ({"reflective": "yes"}, r"parameter 'cifar_lt_rl.reflective' must be true or false, got 'yes'"),
        ({"method": "ce"}, r"parameter 'cifar_lt_rl.models' has no model for method 'ce'"),
        ({"train": {"epoch": 3}}, r"parameter 'cifar_lt_rl.train.epoch' is unknown \(did you mean 'epochs'\?\)"),
        ({"train": {"epochs": "three"}}, r"parameter 'cifar_lt_rl.train.epochs' must be an integer >= 1, got 'three'"),
        ({"train": {"lr": float("nan")}}, r"parameter 'cifar_lt_rl.train.lr' must be a finite number > 0, got nan"),
        ({"augment": {"rotate": 3}}, r"parameter 'cifar_lt_rl.augment.rotate' is unknown"),
        ({"reflective_learning": {"alpha": 3}}, r"'cifar_lt_rl.reflective_learning.alpha' must be .* <= 1, got 3"),
        ({"recipes": {"ltrl": {"optimizer": {}}}}, r"parameter 'cifar_lt_rl.recipes.ltrl.optimizer' is unknown"),
        ({"aggregation": {"epochz": 3}}, r"parameter 'cifar_lt_rl.aggregation.epochz' is unknown"),
        ({"aggregation": {"pools": ["val"]}}, r"'cifar_lt_rl.aggregation.pools\[0\]' must be one of 'test', 'train_re"),
        ({"reflectve": False}, r"parameter 'cifar_lt_rl.reflectve' is unknown \(did you mean 'reflective'\?\)"),
        ({"split": {"imbalance_ratio": "abc"}}, r"'cifar_lt_rl.split.imbalance_ratio' must be a finite number >= 1"),
        (
            {"split": {"seed": -1}},
            r"'cifar_lt_rl.split.seed' must be an integer seed, 0 <= seed < 2\*\*32 \(at most 4294967295\), got -1",
        ),
        ({"test_agnostic": {"ratios": "abc"}}, r"'cifar_lt_rl.test_agnostic.ratios' must be a list of finite numbers"),
        (
            {"models": {"sade": {"name": "resnet32_experts", "widthz": [1]}}},
            r"'cifar_lt_rl.models.sade.widthz' is unkn",
        ),
    ],
)
def test_bad_parameters_fail_naming_the_full_key(overrides, message):
    with pytest.raises(ParameterError, match=message):
        _resolve(**overrides)


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ParameterError) as info:
        _resolve(reflectve=False, train={"epochs": "three", "lr": -1}, aggregation={"epochz": 3})
    keys = [key for key, _ in info.value.problems]
    assert keys == [
        "cifar_lt_rl.reflectve",
        "cifar_lt_rl.train.epochs",
        "cifar_lt_rl.train.lr",
        "cifar_lt_rl.aggregation.epochz",
    ] or sorted(keys) == sorted(
        ["cifar_lt_rl.reflectve", "cifar_lt_rl.train.epochs", "cifar_lt_rl.train.lr", "cifar_lt_rl.aggregation.epochz"]
    )
    assert str(info.value).startswith("4 bad parameters:\n  - parameter 'cifar_lt_rl.")


def test_an_unknown_dataset_is_reported_with_the_other_bad_keys():
    from longtail_lab.data.images.sources import ImageSources

    cifar = {"format": "cifar", "path": "x"}
    sources = ImageSources({"cifar10": cifar, "cifar10_jpg": cifar})
    with pytest.raises(ParameterError) as info:
        CifarLtRlParams.from_params(_params(dataset="cifar10jpg", aggregation={"epochz": 3}), NS, sources)
    assert [key for key, _ in info.value.problems] == ["cifar_lt_rl.aggregation.epochz", "cifar_lt_rl.dataset"]
    assert "must name a raw dataset of the catalog (cifar10, cifar10_jpg), got 'cifar10jpg'" in str(info.value)
    with pytest.raises(ParameterError) as info:  # a dataset that fails its own check is not checked again
        CifarLtRlParams.from_params(_params(dataset=3), NS, sources)
    assert [key for key, _ in info.value.problems] == ["cifar_lt_rl.dataset"]
    assert CifarLtRlParams.from_params(_params(dataset="cifar10"), NS, sources).dataset == "cifar10"


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (
            {"epochs": 30, "milestones": [200, 320, 360]},
            r"'cifar_lt_rl.train.milestones' must fall inside the 30-epoch",
        ),
        ({"epochs": 3}, r"'cifar_lt_rl.train.warmup_epochs' = 5 does not fit a 3-epoch run"),
        ({"epochs": 6}, r"'cifar_lt_rl.train.warmup_epochs' = 5 ends after the first lr decay at epoch 3"),
        ({"milestones": [0.5, 2]}, r"'cifar_lt_rl.train.milestones' must be all epochs .* or all fractions"),
        ({"milestones": [0.9, 0.5]}, r"'cifar_lt_rl.train.milestones' must be in increasing order"),
    ],
)
def test_a_schedule_that_does_not_fit_the_run_is_refused(train, message):
    with pytest.raises(ParameterError, match=message):
        _resolve(train=train)


def test_a_shortened_run_keeps_the_recipe_shape_and_a_short_warmup_fits():
    config = _resolve(train={"epochs": 10})
    assert config["train"]["milestones"] == [5, 8, 9] and config["train"]["warmup_epochs"] == 5
    config = _resolve(train={"epochs": 3, "warmup_epochs": 1})
    assert config["train"]["milestones"] == [1, 2, 2]  # floor(0.5 * 3), floor(0.8 * 3), floor(0.9 * 3)
