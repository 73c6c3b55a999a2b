"""The pipeline registry (names, families, lazy building) and the conf/ layout by family."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.startup import bootstrap_project

from tests.fixtures import PROJECT_ROOT

OLD_NAMES = [
    "cifar_lt_rl", "cifar_lt", "lt_splits", "list_splits", "imagenet_lt", "places_lt", "inat18_lt", "ntu_lt",
    "ntu_lt_pyskl", "fmow_crops", "seg_labels",
]  # fmt: skip
FAMILIES = {  # family -> (namespaces of its nodes, nodes)
    "ltrl": ({"cifar_lt_rl"}, 7),
    "brl": ({"ntu60_xsub", "ntu60_xview", "ntu120_xsub", "ntu120_xset", "nwucla"}, 5 * 3 + 4),
    "patchdrop": ({"fmow_crops"}, 4),
    "stal": ({"cityscapes", "gtav", "synthia"}, 3 * 4),
}
NTU = ("ntu60_xsub", "ntu60_xview", "ntu120_xsub", "ntu120_xset")


@pytest.fixture(scope="module")
def pipelines():
    bootstrap_project(PROJECT_ROOT)
    from longtail_lab.pipeline_registry import register_pipelines

    return register_pipelines()


def test_every_old_name_and_every_family_is_registered(pipelines):
    assert set(pipelines) == {"__default__", *OLD_NAMES, *FAMILIES}
    for name in pipelines:
        assert len(pipelines[name].nodes) >= 4, name


def test_default_is_the_main_job(pipelines):
    """``kedro run`` with no --pipelines (and kedro-viz) opens on cifar_lt_rl, SADE + reflective learning."""
    assert pipelines["__default__"].to_json() == pipelines["cifar_lt_rl"].to_json()


@pytest.mark.parametrize("family", FAMILIES)
def test_family_is_the_chain_of_its_paper(pipelines, family):
    namespaces, nodes = FAMILIES[family]
    pipeline = pipelines[family]
    assert {node.namespace.split(".")[0] for node in pipeline.nodes} == namespaces
    assert len(pipeline.nodes) == nodes


def test_brl_is_ntu_lt_then_its_pyskl_pickles_with_one_check_per_namespace(pipelines):
    brl = pipelines["brl"]
    assert set(brl.nodes) == set(pipelines["ntu_lt"].nodes) | set(pipelines["ntu_lt_pyskl"].nodes)
    checks = sorted(node.name for node in brl.nodes if node.name.endswith(".check_parameters"))
    assert checks == sorted(f"{ns}.check_parameters" for ns in (*NTU, "nwucla"))
    assert {f"{ns}.lt_annotations" for ns in NTU} <= brl.outputs()
    assert "ntu60_xsub.lt_lists" not in brl.inputs()  # ntu_lt writes the lists the pyskl step reads


def test_ltrl_is_the_main_job_without_the_list_pipelines(pipelines):
    assert set(pipelines["ltrl"].nodes) == set(pipelines["cifar_lt_rl"].nodes)


@pytest.mark.parametrize("namespace", ["imagenet_lt", "places_lt", "inat18_lt"])
def test_list_dataset_is_its_namespace_of_list_splits(pipelines, namespace):
    from longtail_lab.pipelines.list_splits.pipeline import dataset_pipeline

    pipeline = pipelines[namespace]
    assert set(pipeline.nodes) == set(dataset_pipeline(namespace).nodes)
    assert {node.namespace for node in pipeline.nodes} == {namespace}
    assert pipeline.inputs() == {f"params:{namespace}", "run_info", f"{namespace}.raw_list_files"}


def test_every_pipeline_package_is_registered_under_its_name(pipelines):
    from kedro.framework.project import find_pipelines
    from kedro.framework.project import pipelines as project_pipelines

    project_pipelines.set_requested(None)  # a session run earlier in this process may have narrowed it
    found = find_pipelines(raise_errors=True)
    assert set(found) - {"__default__"} == {"cifar_lt_rl", "cifar_lt", "lt_splits", "list_splits", "ntu_lt",
                                            "ntu_lt_pyskl", "fmow_crops", "seg_labels"}  # fmt: skip
    for name, pipeline in found.items():
        if name != "__default__":
            assert pipelines[name].to_json() == pipeline.to_json(), name


def test_a_pipeline_is_built_only_when_asked_for():
    """``--pipelines=brl`` imports the packages of its chain only (not the CIFAR training code)."""
    code = (
        "import json, sys\n"
        "from longtail_lab.pipeline_registry import register_pipelines\n"
        "registry = register_pipelines()\n"
        "registry['brl']\n"
        "print(json.dumps([m.split('.')[2] for m in sys.modules if m.startswith('longtail_lab.pipelines.')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert {"ntu_lt", "ntu_lt_pyskl"} <= loaded
    assert not loaded & {"cifar_lt_rl", "cifar_lt", "lt_splits", "list_splits", "fmow_crops", "seg_labels"}


def test_kedro_run_of_a_family_runs_its_chain(tmp_path):
    """``kedro run --pipelines=brl``: Kedro's selective loading asks the registry for a name with no package."""
    from kedro.framework.session import KedroSession

    from tests.fixtures import make_project_copy
    from tests.ntu_fixtures import write_ntu_lt_raw, write_pyskl_pickles

    project = make_project_copy(tmp_path / "project")
    written = write_ntu_lt_raw(project / "data" / "01_raw")
    write_pyskl_pickles(project / "data" / "01_raw", written["full"])
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test") as session:
        session.run(pipeline_names=["brl"])
    out = project / "data" / "test_env"
    for ns in (*NTU, "nwucla"):
        (config,) = (out / "02_intermediate" / ns / "run_config.json").glob("*/run_config.json")
        assert json.loads(config.read_text())["run"]["pipelines"] == ["brl"]
        assert list((out / "02_intermediate" / ns / "lt_lists").glob("*/lt_lists/*_exp_*.txt")), ns
    for ns in NTU:
        assert list((out / "03_primary" / ns / "lt_3danno.pkl").glob("*/lt_3danno.pkl")), ns


# ------------------------------------------------------------------------------------------------ conf/


def _parameters(env: str, runtime_params: dict | None = None) -> dict:
    from longtail_lab import settings

    loader = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"), env=env, runtime_params=runtime_params or {}, **settings.CONFIG_LOADER_ARGS
    )
    return loader["parameters"]


CIFAR_BLOCKS = ("cifar10_lt", "cifar100_lt", "cifar_lt", "cifar_lt_rl")
BASE_SPLIT = {"profile": "exponential", "imbalance_ratio": 100, "n_max": None, "seed": 0}
BASE_AGNOSTIC = {"ratios": [50, 25, 10, 5, 2], "n_max": 100, "seed": 0}


@pytest.mark.parametrize(
    ("env", "split", "agnostic"),
    [
        ("base", BASE_SPLIT, BASE_AGNOSTIC),
        ("local", BASE_SPLIT, BASE_AGNOSTIC),
        ("test", {**BASE_SPLIT, "imbalance_ratio": 10, "n_max": 20}, {"ratios": [5, 2], "n_max": 10, "seed": 0}),
    ],
)
def test_one_cifar_split_for_every_block_that_makes_one(env, split, agnostic):
    params = _parameters(env)
    for block in CIFAR_BLOCKS:
        assert params[block]["split"] == split, block
        assert params[block]["test_agnostic"] == agnostic, block
    assert [params[block]["dataset"] for block in CIFAR_BLOCKS] == ["cifar10", "cifar100", "cifar100", "cifar100"]


def test_an_override_of_one_block_split_stays_in_that_block():
    params = _parameters(
        "test", {"cifar_lt": {"split": {"imbalance_ratio": 50}}, "cifar10_lt": {"test_agnostic": {"n_max": 7}}}
    )
    assert params["cifar_lt"]["split"] == {**BASE_SPLIT, "imbalance_ratio": 50, "n_max": 20}
    assert params["cifar10_lt"]["test_agnostic"]["n_max"] == 7
    for block in ("cifar100_lt", "cifar_lt_rl"):
        assert params[block]["split"]["imbalance_ratio"] == 10 and params[block]["test_agnostic"]["n_max"] == 10


def test_conf_is_grouped_by_family():
    """Only globals.yml (and the catalog entries every family uses) sit at the top of an environment."""
    families = ["brl", "ltrl", "patchdrop", "stal"]
    for env, top in (("base", ["catalog_shared.yml", "globals.yml"]), ("test", ["globals.yml"])):
        root = PROJECT_ROOT / "conf" / env
        assert sorted(path.name for path in root.iterdir()) == sorted([*families, *top]), env
        for path in root.glob("*/*"):
            assert path.name.startswith(("parameters_", "catalog_")) and path.suffix == ".yml", path
