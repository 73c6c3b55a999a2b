"""Project wiring: the pipeline registry and the settings (soft parameter merge)."""

from __future__ import annotations

import os

import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.startup import bootstrap_project

from tests.fixtures import PROJECT_ROOT

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="module")
def pipelines():
    bootstrap_project(PROJECT_ROOT)
    from longtail_lab.pipeline_registry import register_pipelines

    return register_pipelines()


def test_registry_default_is_the_main_job(pipelines):
    """``kedro run`` with no --pipelines (and kedro-viz) opens on cifar_lt_rl, SADE + reflective learning."""
    assert {"cifar_lt", "lt_splits", "cifar_lt_rl", "__default__"} <= set(pipelines)
    assert pipelines["__default__"].to_json() == pipelines["cifar_lt_rl"].to_json()


def test_cifar_lt_nodes_are_namespaced(pipelines):
    names = {n.name for n in pipelines["cifar_lt"].nodes}
    assert names == {
        "cifar_lt.check_parameters",
        "cifar_lt.make_long_tail_split",
        "cifar_lt.plot_split_histogram",
        "cifar_lt.make_test_agnostic_lists",
        "cifar_lt.train_model",
        "cifar_lt.evaluate_model",
    }
    # the first node reads the whole parameter block; every other node reads the checked run configuration
    assert pipelines["cifar_lt"].inputs() == {"raw_image_datasets", "params:cifar_lt", "cifar_lt.run_checkpoints", "run_info"}
    assert "cifar_lt.metrics" in pipelines["cifar_lt"].outputs()


def test_lt_splits_has_one_instance_per_dataset(pipelines):
    names = {n.name for n in pipelines["lt_splits"].nodes}
    for ns in ("cifar10_lt", "cifar100_lt"):
        assert {f"{ns}.check_parameters", f"{ns}.make_long_tail_split", f"{ns}.make_test_agnostic_lists"} <= names
    assert len(names) == 8
    assert pipelines["lt_splits"].inputs() == {"raw_image_datasets", "run_info", "params:cifar10_lt", "params:cifar100_lt"}


def test_settings_use_soft_parameter_merge():
    from longtail_lab import settings

    assert settings.CONFIG_LOADER_CLASS is OmegaConfigLoader
    assert settings.CONFIG_LOADER_ARGS["merge_strategy"]["parameters"] == "soft"
    assert settings.CONFIG_LOADER_ARGS["base_env"] == "base"


def test_test_env_overrides_leaves_and_keeps_siblings():
    from longtail_lab import settings

    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env="test", **settings.CONFIG_LOADER_ARGS)
    params = loader["parameters"]["cifar_lt"]
    # overridden by conf/test
    assert params["train"]["epochs"] == 2
    assert params["model"]["widths"] == [4, 8, 8]
    assert params["split"]["n_max"] == 20
    # kept from conf/base thanks to the soft merge
    assert params["train"]["lr"] == 0.1
    assert params["train"]["nesterov"] is True
    assert params["model"]["name"] == "resnet32"
    assert params["split"]["profile"] == "exponential"
    assert params["loss"] == "ce"
    assert params["dataset"] == "cifar100"


def test_runtime_params_merge_deeply_over_the_test_env():
    from longtail_lab import settings

    loader = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"),
        env="test",
        runtime_params={"cifar_lt": {"loss": "balanced_softmax", "train": {"epochs": 1}}},
        **settings.CONFIG_LOADER_ARGS,
    )
    params = loader["parameters"]["cifar_lt"]
    assert params["loss"] == "balanced_softmax"
    assert params["train"]["epochs"] == 1
    assert params["train"]["batch_size"] == 64
    assert params["train"]["lr"] == 0.1


PIPELINES = [
    "lt_splits", "cifar_lt", "cifar_lt_rl", "list_splits", "imagenet_lt", "places_lt", "inat18_lt", "ntu_lt",
    "ntu_lt_pyskl", "fmow_crops", "seg_labels",
]  # fmt: skip
LAYERS = {"raw", "intermediate", "primary", "models", "model_output", "reporting"}


def test_registry_has_every_pipeline(pipelines):
    assert set(PIPELINES) | {"__default__"} == set(pipelines)


@pytest.mark.parametrize("name", PIPELINES)
def test_every_dataset_is_persisted_with_a_viz_layer(pipelines, name):
    """Inputs and final outputs are catalog datasets with a kedro-viz layer; only hand-offs between two nodes
    of the same run may stay in memory."""
    from kedro.framework.session import KedroSession
    from kedro.io import MemoryDataset

    with KedroSession.create(project_path=PROJECT_ROOT, env="base") as session:
        catalog = session.load_context().catalog
    pipeline = pipelines[name]
    # run_info (environment, run id, overrides) is put into the catalog by hooks.RunInfoHooks for every run
    names = [d for d in pipeline.datasets() if not d.startswith("params:") and d not in ("parameters", "run_info")]
    assert len(names) >= 3
    handoffs = pipeline.all_outputs() - pipeline.outputs()
    for dataset_name in names:
        dataset = catalog.get(dataset_name)
        if dataset is None or isinstance(dataset, MemoryDataset):
            assert dataset_name in handoffs, f"{dataset_name} is an input or final output but not in the catalog"
            continue
        assert dataset.metadata["kedro-viz"]["layer"] in LAYERS, dataset_name
