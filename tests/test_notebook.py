"""``notebooks/cifar_lt_rl_results.ipynb``: clean nbformat-4 JSON, and every code cell runs, in order, against a
throw-away project in which ``cifar_lt_rl`` has been run with ``--env test``."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import matplotlib
import pytest
import torch

from tests.pipelines.conftest import AGNOSTIC, new_project, run_pipeline

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "cifar_lt_rl_results.ipynb"
NS = "cifar_lt_rl"
TEST_ENV_ORDER = ["forward5", "forward2", "uniform", "backward2", "backward5"]
SADE_ORDER = [f"forward{r}" for r in (50, 25, 10, 5, 2)] + ["uniform"] + [f"backward{r}" for r in (2, 5, 10, 25, 50)]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.fixture(scope="module")
def notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def executed(notebook, tmp_path_factory):
    """The namespace left by exec-ing every code cell against a finished test-env run."""
    project = new_project(tmp_path_factory.mktemp("notebook") / "project")
    run_pipeline(project, NS)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict = {"__name__": "__notebook__"}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LONGTAIL_LAB_PROJECT", str(project))
        env.setenv("LONGTAIL_LAB_ENV", "test")
        for index, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                exec(compile(source(cell), f"<notebook cell {index}>", "exec"), namespace)
    yield namespace
    namespace["session"].close()
    plt.close("all")


def test_notebook_is_clean_nbformat4(notebook):
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
    cells = notebook["cells"]
    assert {cell["cell_type"] for cell in cells} == {"markdown", "code"}
    ids = [cell["id"] for cell in cells]  # required from nbformat 4.5 on
    assert all(ids) and len(set(ids)) == len(ids)
    for cell in cells:
        assert isinstance(cell["metadata"], dict) and source(cell).strip()
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
        else:
            assert "outputs" not in cell and "execution_count" not in cell


def test_notebook_reads_through_the_catalog_not_files(notebook):
    code = "\n".join(source(cell) for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert "bootstrap_project(PROJECT_PATH)" in code and "session.load_context().catalog" in code
    for forbidden in ("glob", "data/0", "open(", "read_csv", "json.load"):
        assert forbidden not in code, forbidden


def test_config_cell_reads_project_and_env_from_the_environment(executed):
    assert executed["PROJECT_PATH"].name == "project"
    assert executed["ENV"] == "test"
    assert executed["metrics"]["train"]["epochs"] == 2  # conf/test


def test_table_is_in_sade_order_and_matches_the_metrics(executed):
    table, metrics = executed["table"], executed["metrics"]
    assert list(table.index) == TEST_ENV_ORDER and set(table.index) == set(AGNOSTIC)
    assert list(table.columns) == [
        "top1_equal_weights",
        "top1_aggregated",
        "weight_expert1",
        "weight_expert2",
        "weight_expert3",
    ]
    assert table.loc["uniform", "top1_equal_weights"] == pytest.approx(metrics["top1"])
    for name in TEST_ENV_ORDER:
        assert table.loc[name, "top1_equal_weights"] == pytest.approx(metrics["test_agnostic"][name])
        assert table.loc[name, "top1_aggregated"] == pytest.approx(metrics["test_agnostic_aggregated"][name])
        weights = table.loc[name, ["weight_expert1", "weight_expert2", "weight_expert3"]].tolist()
        assert weights == pytest.approx(metrics["expert_weights"][name])
        assert sum(weights) == pytest.approx(1.0, abs=1e-3)  # reports hold 4 significant digits


def test_sade_position_orders_the_full_benchmark_too(executed):
    shuffled = random.Random(0).sample(SADE_ORDER, len(SADE_ORDER))
    assert sorted(shuffled, key=executed["sade_position"]) == SADE_ORDER


def test_model_is_rebuilt_from_the_checkpoint(executed):
    checkpoint, model = executed["checkpoint"], executed["model"]
    assert executed["model_name"] == checkpoint["model_signature"]["name"] == "resnet32_experts"
    assert executed["model_kwargs"] == checkpoint["model_signature"]["kwargs"]
    assert not model.training
    state = model.state_dict()
    assert state.keys() == checkpoint["model"].keys()
    assert all(torch.equal(state[key], checkpoint["model"][key]) for key in state)
    assert executed["num_params"] == sum(p.numel() for p in model.parameters()) > 0
    assert list(executed["history"]["epoch"]) == [1, 2]


def test_version_pinning_snippet_runs(notebook, executed):
    """The python block of the 'Older versions' markdown cell works as written (one run: old = latest)."""
    markdown = "\n".join(source(cell) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    (snippet,) = re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)
    namespace = dict(executed)
    exec(compile(snippet, "<versions snippet>", "exec"), namespace)
    assert len(namespace["versions"]) == 1
    assert namespace["old_metrics"] == executed["metrics"]
    assert namespace["old_checkpoint"]["run_config"] == executed["checkpoint"]["run_config"]
