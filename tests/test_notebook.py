"""``notebooks/cifar_lt_rl_results.ipynb``, executed for real: every cell runs in a Jupyter kernel (nbclient +
ipykernel) against a throw-away project in which ``cifar_lt_rl`` has been run with ``--env test``; every plot cell
shows an image; what it prints and tabulates equals the run's metrics JSON. Plus the cheap structural checks and
the guard against the blank-plot bug (a library module choosing matplotlib's backend at import).

Kernel: ``pip install -e ".[dev]"`` installs ``nbclient`` and ``ipykernel``. The test does not rely on an installed
kernelspec (``python -m ipykernel install`` is not needed, and a user-level ``python3`` spec pointing at another
interpreter is ignored): it asks for ipykernel's built-in ``python3`` spec, which runs ``sys.executable -m
ipykernel_launcher``, i.e. this interpreter with this environment's packages.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.pipelines.conftest import AGNOSTIC, new_project, run_pipeline, versioned

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "cifar_lt_rl_results.ipynb"
NS = "cifar_lt_rl"
TEST_ENV_ORDER = ["forward5", "forward2", "uniform", "backward2", "backward5"]
SADE_ORDER = [f"forward{r}" for r in (50, 25, 10, 5, 2)] + ["uniform"] + [f"backward{r}" for r in (2, 5, 10, 25, 50)]
PLOT_TAG = "plot"  # cell metadata tag of every cell that draws a figure
PLOT_CELLS = ["agnostic-plot", "curves", "review-curves"]  # (a reflective run draws the review figure too)
PROBE = "__notebook_probe__"


def dev_dependency(name: str):
    """Fail, not skip, without the dev extra: a skipped notebook test would let blank plots through again."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(f'{name} is missing: pip install -e ".[dev]" ({exc})')


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.fixture(scope="module")
def notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------ structure


def test_notebook_is_clean_nbformat45(notebook):
    assert (notebook["nbformat"], notebook["nbformat_minor"]) == (4, 5)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
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
    nbformat = dev_dependency("nbformat")
    nbformat.validate(nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4))


def test_notebook_reads_through_the_catalog_not_files(notebook):
    code = "\n".join(source(cell) for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert "bootstrap_project(PROJECT_PATH)" in code
    assert "KedroSession.create(project_path=PROJECT_PATH, env=ENV)" in code
    assert "catalog = context.catalog" in code and "catalog.load(" in code
    assert not re.search(r"\b[ri]?glob\b", code), "globbing for files"  # (the word, so config "globals" passes)
    for forbidden in ("data/0", "open(", "read_csv", "json.load", "matplotlib.use(", "switch_backend"):
        assert forbidden not in code, forbidden


def test_plot_cells_are_tagged(notebook):
    """The tag is how the execution test finds the plot cells: exactly the cells that call pyplot's show()."""
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    tagged = [cell["id"] for cell in code if PLOT_TAG in cell["metadata"].get("tags", [])]
    drawing = [cell["id"] for cell in code if "plt.show()" in source(cell)]
    assert tagged == drawing == PLOT_CELLS


# ------------------------------------------------------------------------------ matplotlib backend at import

BACKEND_CALL = re.compile(r"\b(?:matplotlib|mpl)\.use\(|\bswitch_backend\(")


def test_no_library_module_sets_a_matplotlib_backend():
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "src" / "longtail_lab").rglob("*.py"))
        if BACKEND_CALL.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "choosing a backend at import blanks the plots of a notebook that imports these"


def test_importing_the_plots_keeps_the_notebook_backend():
    """In a fresh interpreter (this one may have imported the plots already): select the backend Jupyter uses and
    import pyplot, then the plots; the backend must not change. (Other modules: the source scan above.)"""
    code = (
        "import matplotlib\n"
        "matplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot\n"
        "before = matplotlib.get_backend()\n"
        "import longtail_lab.evaluation.plots\n"
        "after = matplotlib.get_backend()\n"
        "assert after == before, (before, after)\n"
        "print(after)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "module://matplotlib_inline.backend_inline"


# --------------------------------------------------------------------------------------- executed notebook


class _HtmlTable(HTMLParser):
    """The rows of a DataFrame's text/html output, as lists of cell texts, by section (thead / tbody)."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {"thead": [], "tbody": []}
        self._section = "thead"
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.rows:
            self._section = tag
        elif tag == "tr":
            self.rows[self._section].append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self.rows[self._section][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_table(html: str) -> tuple[list[str], dict[str, list[str]]]:
    """(column names, {index label: cell texts}) of a DataFrame rendered by pandas' _repr_html_."""
    parser = _HtmlTable()
    parser.feed(html)
    columns = parser.rows["thead"][0][1:]  # the first header cell is above the index (a second row names it)
    rows = {row[0]: row[1:] for row in parser.rows["tbody"]}
    assert all(len(cells) == len(columns) for cells in rows.values()), parser.rows
    return columns, rows


def text_of(cell: dict) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out["output_type"] == "stream")


def data_of(cell: dict, mime: str) -> list[str]:
    return [
        out["data"][mime]
        for out in cell.get("outputs", [])
        if out["output_type"] in ("display_data", "execute_result") and mime in out["data"]
    ]


@pytest.fixture(scope="module")
def executed(notebook, tmp_path_factory):
    """The notebook executed in a fresh ipykernel, in a throw-away project after ``kedro run --env test
    --pipelines=cifar_lt_rl``, plus what the run wrote (read from its files, independently of the notebook)."""
    nbformat, nbclient = dev_dependency("nbformat"), dev_dependency("nbclient")
    dev_dependency("ipykernel")
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    project = new_project(tmp_path_factory.mktemp("notebook") / "project")
    run_pipeline(project, NS)
    workdir = tmp_path_factory.mktemp("notebook_cwd")  # not the project: PROJECT_PATH must come from the env var

    nb = nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4)  # (joins the source lines)
    nb.cells.insert(  # before the final session.close(): what the kernel holds, for the checks below
        len(nb.cells) - 1,
        nbformat.v4.new_code_cell(
            "import json as _json, torch as _torch\n"
            "_state = model.state_dict()\n"
            f"print({PROBE!r} + _json.dumps({{\n"
            "    'PROJECT_PATH': str(PROJECT_PATH), 'ENV': ENV, 'OUTPUT_ROOT': OUTPUT_ROOT,\n"
            "    'backend': __import__('matplotlib').get_backend(),\n"
            "    'model_name': model_name, 'model_kwargs': model_kwargs, 'num_params': num_params,\n"
            "    'signature': checkpoint['model_signature'],\n"
            "    'training': model.training,\n"
            "    'state_matches': _state.keys() == checkpoint['model'].keys()\n"
            "        and all(_torch.equal(_state[k], checkpoint['model'][k]) for k in _state),\n"
            "    'checkpoint_params': sum(p.numel() for p in checkpoint['model'].values()),\n"
            "    'history_epochs': history['epoch'].tolist(),\n"
            "    'versions': versions, 'old_metrics_equal': old_metrics == metrics,\n"
            "    'old_checkpoint_run_config_equal': old_checkpoint['run_config'] == checkpoint['run_config'],\n"
            "}))"
        ),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "KEDRO_ENV")}
    env.update(
        LONGTAIL_LAB_PROJECT=str(project),
        LONGTAIL_LAB_ENV="test",
        KEDRO_DISABLE_TELEMETRY="true",
        PYDEVD_DISABLE_FILE_VALIDATION="1",  # debugpy's frozen-modules note on stderr
    )
    # ipykernel's own "python3" spec (kernel_dirs=[]): this interpreter, whatever kernelspecs are installed
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = nbclient.NotebookClient(
        nb, km=km, timeout=300, allow_errors=True, resources={"metadata": {"path": str(workdir)}}
    )
    start = time.perf_counter()
    try:
        client.execute(env=env, cleanup_kc=True)  # cleanup_kc: shut the kernel down (nbclient does not own km)
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    seconds = time.perf_counter() - start

    outputs = project / "data" / "test_env"
    metrics = json.loads(versioned(outputs / "08_reporting" / NS / "metrics.json").read_text())
    weights = json.loads(versioned(outputs / "07_model_output" / NS / "expert_weights.json").read_text())
    cells = {cell.get("id"): cell for cell in nb.cells}
    (probe_cell,) = [cell for cell in nb.cells if PROBE in text_of(cell)] or [None]
    probe = json.loads(text_of(probe_cell).split(PROBE, 1)[1]) if probe_cell else {}
    return {
        "nb": nb,
        "cells": cells,
        "project": project,
        "metrics": metrics,
        "expert_weights": weights,
        "probe": probe,
        "seconds": seconds,
    }


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_every_cell_runs_without_error(executed):
    errors = [
        f"cell {cell.get('id')}: {out['ename']}: {out['evalue']}\n" + "\n".join(out["traceback"])
        for cell in executed["nb"].cells
        if cell["cell_type"] == "code"
        for out in cell["outputs"]
        if out["output_type"] == "error"
    ]
    assert errors == [], "\n\n".join(errors)
    code = [cell for cell in executed["nb"].cells if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in code)
    assert executed["probe"], "the probe cell printed nothing"


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_every_plot_cell_shows_an_image(executed):
    """The blank-plot bug: with a backend forced to Agg, plt.show() displays nothing and the cell has no image."""
    plot_cells = [cell for cell in executed["nb"].cells if PLOT_TAG in cell["metadata"].get("tags", [])]
    assert [cell["id"] for cell in plot_cells] == PLOT_CELLS
    for cell in plot_cells:
        images = data_of(cell, "image/png")
        assert len(images) == 1, f"cell {cell['id']}: {len(images)} images; outputs {cell['outputs']}"
        assert len(images[0]) > 1000  # base64 of a real PNG, not an empty canvas
    others = [cell["id"] for cell in executed["nb"].cells if cell not in plot_cells and data_of(cell, "image/png")]
    assert others == []
    assert executed["probe"]["backend"] == "module://matplotlib_inline.backend_inline"


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_config_comes_from_the_environment_and_env_picks_the_test_outputs(executed):
    probe = executed["probe"]
    assert Path(probe["PROJECT_PATH"]) == executed["project"].resolve()
    assert probe["ENV"] == "test" and probe["OUTPUT_ROOT"] == "data/test_env"
    assert "results are read from data/test_env/" in text_of(executed["cells"]["session"])


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_headline_shows_the_metrics_environment_and_split(executed):
    metrics, text = executed["metrics"], text_of(executed["cells"]["metrics"])
    split, run = metrics["split"], metrics["run"]
    assert metrics["kedro_env"] == "test" and metrics["train"]["epochs"] == 2  # conf/test
    for expected in (
        f"{metrics['method']} (reflective: {metrics['reflective']}, recipe: {metrics['recipe']}) on cifar100",
        f"run {run['run_id']}: kedro env test, pipelines {NS}",
        f"imbalance ratio {split['imbalance_ratio']:g}, n_max {split['n_max']}, seed {split['seed']}",
        f"{split['total']} training images, sha256 {split['content_sha256'][:16]}",
        f"top1 {100 * metrics['top1']:.2f}%",
        f"medium {100 * metrics['medium']:.2f}%",
        f"few {100 * metrics['few']:.2f}%",
        f"ECE {metrics['ece']:.4f}",
        f"test-time aggregation pools: {', '.join(metrics['aggregation_pools'])}",
    ):
        assert expected in text, f"{expected!r} not in\n{text}"
    assert ("many n/a" if metrics["many"] is None else f"many {100 * metrics['many']:.2f}%") in text

    columns, rows = html_table(data_of(executed["cells"]["experts"], "text/html")[0])
    assert columns == ["top1", "many", "medium", "few"] and list(rows) == list(metrics["experts"])
    for name, cells in rows.items():
        for column, shown in zip(columns, cells, strict=True):
            value = metrics["experts"][name][column]
            assert shown in ("None", "NaN") if value is None else float(shown) == pytest.approx(value, rel=1e-5)


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_table_is_in_sade_order_and_matches_the_metrics(executed):
    metrics = executed["metrics"]
    columns, rows = html_table(data_of(executed["cells"]["agnostic"], "text/html")[0])
    assert list(rows) == TEST_ENV_ORDER == list(metrics["test_agnostic"]) and set(rows) == set(AGNOSTIC)
    assert list(rows) == [name for name in SADE_ORDER if name in rows]
    assert columns == [
        "num_test",
        "top1_equal_weights",
        "top1_aggregated",
        "weight_expert1",
        "weight_expert2",
        "weight_expert3",
    ]
    table = {name: dict(zip(columns, map(float, cells), strict=True)) for name, cells in rows.items()}
    assert table["uniform"]["top1_equal_weights"] == pytest.approx(metrics["top1"])
    assert table["uniform"]["num_test"] == metrics["num_test"]
    learned = executed["expert_weights"]["pools"]["test"]["distributions"]
    for name in TEST_ENV_ORDER:
        row = table[name]
        assert row["top1_equal_weights"] == pytest.approx(metrics["test_agnostic"][name])
        assert row["top1_aggregated"] == pytest.approx(metrics["test_agnostic_aggregated"][name])
        weights = [row[f"weight_expert{k}"] for k in (1, 2, 3)]
        assert weights == pytest.approx(metrics["expert_weights"][name])
        assert weights == pytest.approx(learned[name]["weights"])
        assert sum(weights) == pytest.approx(1.0, abs=1e-3)  # reports hold 4 significant digits
    pools = text_of(executed["cells"]["agnostic"])
    assert f"pool 'test' ({executed['expert_weights']['pools']['test']['images']} images)" in pools


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_model_is_rebuilt_from_the_checkpoint(executed):
    probe, text = executed["probe"], text_of(executed["cells"]["model"])
    assert probe["model_name"] == probe["signature"]["name"] == "resnet32_experts"
    assert probe["model_kwargs"] == probe["signature"]["kwargs"]
    assert probe["model_kwargs"]["widths"] == [4, 6, 8]  # conf/test
    assert probe["state_matches"] and probe["training"] is False
    assert 0 < probe["num_params"] <= probe["checkpoint_params"]  # the state also holds buffers (batch norm)
    assert f"resnet32_experts {probe['model_kwargs']}: {probe['num_params']:,} parameters, 100 classes" in text
    assert probe["history_epochs"] == [1, 2]


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_version_pinning_cell_runs(executed):
    """One run: its only version is both the newest and the oldest."""
    probe, metrics = executed["probe"], executed["metrics"]
    assert probe["versions"] == [metrics["run"]["run_id"]]
    assert probe["old_metrics_equal"] and probe["old_checkpoint_run_config_equal"]
    assert f"1 version(s) of {NS}.metrics: {metrics['run']['run_id']}" in text_of(executed["cells"]["versions"])


@pytest.mark.slow  # a real Jupyter kernel runs the notebook: about a minute
def test_notebook_runs_in_reasonable_time(executed):
    assert executed["seconds"] < 120, executed["seconds"]
