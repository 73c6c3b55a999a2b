"""Project wiring: pipeline structure, catalog and settings (soft parameter merge). Registry names and
families: test_registry.py."""

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
    assert pipelines["cifar_lt"].inputs() == {
        "raw_image_datasets",
        "params:cifar_lt",
        "cifar_lt.run_checkpoints",
        "run_info",
    }
    assert "cifar_lt.metrics" in pipelines["cifar_lt"].outputs()


def test_lt_splits_has_one_instance_per_dataset(pipelines):
    names = {n.name for n in pipelines["lt_splits"].nodes}
    for ns in ("cifar10_lt", "cifar100_lt"):
        assert {f"{ns}.check_parameters", f"{ns}.make_long_tail_split", f"{ns}.make_test_agnostic_lists"} <= names
    assert len(names) == 8
    assert pipelines["lt_splits"].inputs() == {
        "raw_image_datasets",
        "run_info",
        "params:cifar10_lt",
        "params:cifar100_lt",
    }


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


def _catalog(env: str, runtime_params: dict | None = None) -> dict:
    from longtail_lab import settings

    loader = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"), env=env, runtime_params=runtime_params or {}, **settings.CONFIG_LOADER_ARGS
    )
    return loader["catalog"]


def test_cifar_pickles_are_downloaded_unless_switched_off():
    sources = _catalog("local")["raw_image_datasets"]["sources"]
    assert sources["cifar100"]["download"] is True and sources["cifar10"]["download"] is True
    off = _catalog("local", {"download_raw": False})["raw_image_datasets"]["sources"]
    assert off["cifar100"]["download"] is False


def test_test_environment_writes_apart_from_real_runs():
    """A smoke run must never become "the latest" result of a real run: its outputs live under data/test_env."""
    base, test = _catalog("local"), _catalog("test")
    for name in ("{ns}.metrics", "{ns}.model_checkpoint", "{ns}.split_list", "fmow_crop_folder"):
        assert base[name]["filepath"].startswith("data/0"), name
        assert test[name]["filepath"].startswith("data/test_env/0"), name
    assert test["{ns}.run_checkpoints"]["path"] == "data/test_env/06_models/{ns}/runs"
    # raw inputs are shared
    assert test["raw_image_datasets"]["sources"]["cifar100"]["path"] == "data/01_raw"


def test_kedro_commands_print_no_omegaconf_deprecation_warnings(tmp_path):
    """Kedro's config loader uses an API omegaconf 2.4 deprecates; settings.py silences it for the CLI too."""
    import subprocess
    import sys

    code = (
        "import longtail_lab.settings as s\n"
        "from kedro.config import OmegaConfigLoader\n"
        f"OmegaConfigLoader({str(PROJECT_ROOT / 'conf')!r}, env='test', **s.CONFIG_LOADER_ARGS)['catalog']\n"
    )
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True)
    assert "register_new_resolver" not in result.stderr


def test_a_typo_in_the_namespace_of_an_override_stops_the_run_before_anything(tmp_path):
    from kedro.framework.session import KedroSession

    from longtail_lab.errors import ParameterError
    from tests.fixtures import make_project_copy

    project = make_project_copy(tmp_path / "project")
    bootstrap_project(project)
    params = {"cifar_lt_r": {"train": {"epochs": 1}}}
    with KedroSession.create(project_path=project, env="test", runtime_params=params) as session:
        with pytest.raises(ParameterError, match=r"'cifar_lt_r.train.epochs' \(from --params\) is not read by this run "
                           r"\(did you mean 'cifar_lt_rl'\?\)"):  # fmt: skip
            session.run(pipeline_names=["cifar_lt_rl"])
    assert not (project / "data" / "test_env").exists()


def test_bad_input_errors_print_their_message_without_a_traceback(capsys, monkeypatch):
    from longtail_lab.errors import DataError, ParameterError
    from longtail_lab.hooks import short_input_errors

    passed_on = []
    hook = short_input_errors(lambda *exc: passed_on.append(exc[0]))
    monkeypatch.delenv("LONGTAIL_TRACEBACK", raising=False)
    hook(ParameterError, ParameterError([("a.b", "is unknown")]), None)
    hook(DataError, DataError("cifar100: downloading https://x failed"), None)
    err = capsys.readouterr().err
    assert "ParameterError: parameter 'a.b' is unknown\n(the run stopped before any node ran; nothing was" in err
    assert "DataError: cifar100: downloading https://x failed\n(the run stopped; outputs of the nodes" in err
    assert passed_on == []
    hook(KeyError, KeyError("bug"), None)  # anything else keeps its traceback
    monkeypatch.setenv("LONGTAIL_TRACEBACK", "1")
    hook(DataError, DataError("x"), None)
    assert passed_on == [KeyError, DataError]


def test_unusable_checkpoints_busy_configurations_and_full_disks_print_without_a_traceback(capsys, monkeypatch):
    import errno

    from kedro.io.core import DatasetError

    from longtail_lab.errors import CheckpointError, ConfigurationBusyError
    from longtail_lab.hooks import short_input_errors

    passed_on = []
    hook = short_input_errors(lambda *exc: passed_on.append(exc[0]))
    monkeypatch.delenv("LONGTAIL_TRACEBACK", raising=False)
    full = DatasetError("Failed while saving data to dataset JSONDataset(...)")
    full.__cause__ = OSError(errno.ENOSPC, "No space left on device while writing /data/m.json/v/m.json")
    for exc in (CheckpointError("/x/last.pt: refused"), ConfigurationBusyError("/x: busy"), full):
        hook(type(exc), exc, None)
    err = capsys.readouterr().err
    assert "CheckpointError: /x/last.pt: refused\n" in err and "ConfigurationBusyError: /x: busy\n" in err
    assert "DatasetError: Failed while saving data to dataset JSONDataset(...)\n" in err
    assert passed_on == []
    other = DatasetError("a bug")
    other.__cause__ = OSError(errno.EBADF, "bad file descriptor")
    hook(DatasetError, other, None)
    assert passed_on == [DatasetError]
