"""``data.in_memory: false``: the training pipelines on the files of an image folder, through real Kedro sessions.

Images decoded in DataLoader workers and augmented on the device from the same generators as the in-memory path
must give the same training, bit for bit, and the same evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from longtail_lab.errors import ParameterError
from tests.fixtures import make_project_copy, tiny_cifar
from tests.pipelines.conftest import run_pipeline, versioned

FOLDER = "data/01_raw/cifar10-jpg"  # the catalog's cifar10_jpg image folder


def write_png_folder(root: Path) -> None:
    """The tiny CIFAR-10 as ``<root>/<train|test>/<class>/<n>.png`` (lossless: the pixels of the arrays)."""
    for part, data in zip(("train", "test"), tiny_cifar(10, train_per_class=30, test_per_class=10), strict=True):
        for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
            folder = root / part / data.classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:04d}.png")


def image_folder_project(root: Path) -> Path:
    project = make_project_copy(root)
    write_png_folder(project / FOLDER)
    return project


def run_on_folder(root: Path, pipeline: str, in_memory: bool, **extra) -> Path:
    project = image_folder_project(root)
    data = {"in_memory": in_memory, "workers": 2, **extra.pop("data", {})}
    run_pipeline(project, pipeline, {pipeline: {"dataset": "cifar10_jpg", "data": data, **extra}})
    return project / "data" / "test_env"


def outputs(out: Path, pipeline: str) -> tuple[dict, dict, str]:
    metrics = json.loads(versioned(out / "08_reporting" / pipeline / "metrics.json").read_text())
    model = torch.load(versioned(out / "06_models" / pipeline / "model.pt"), weights_only=True)
    history = versioned(out / "07_model_output" / pipeline / "training_history.csv").read_text()
    return metrics, model, history


def _without_timing(history: str) -> list[list[str]]:
    rows = [line.split(",") for line in history.splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if name not in ("time_s", "images_per_s")]
    return [[row[i] for i in keep] for row in rows]


@pytest.mark.parametrize("pipeline", ["cifar_lt", pytest.param("cifar_lt_rl", marks=pytest.mark.slow)])
def test_file_backed_training_equals_in_memory_training(tmp_path, pipeline):
    memory = outputs(run_on_folder(tmp_path / "memory", pipeline, True), pipeline)
    files = outputs(run_on_folder(tmp_path / "files", pipeline, False), pipeline)
    (m_metrics, m_model, m_history), (f_metrics, f_model, f_history) = memory, files
    assert m_model["fingerprint"] == f_model["fingerprint"]
    for key, value in m_model["model"].items():
        assert torch.equal(value, f_model["model"][key]), key
    assert _without_timing(m_history) == _without_timing(f_history)
    for key in ("top1", "many", "medium", "few", "ece", "test_agnostic"):
        assert m_metrics[key] == f_metrics[key], key
    assert f_metrics["num_test"] == 100 and f_metrics["dataset"] == "cifar10_jpg"


def test_file_backed_run_decodes_nothing_before_training(tmp_path, monkeypatch):
    """The split is made from the folder's listing; only training and evaluation decode, in workers."""
    import longtail_lab.data.images.files as files

    calls = []
    original = files.decode_images
    monkeypatch.setattr(files, "decode_images", lambda paths, workers=4: calls.append(len(paths)) or original(paths))
    run_on_folder(tmp_path / "p", "cifar_lt", False, data={"workers": 0})
    assert calls == []  # nothing decoded all at once: the in-memory reader never ran


def test_in_memory_false_on_a_pickled_dataset_names_the_key(tmp_path):
    project = make_project_copy(tmp_path / "p")
    with pytest.raises(ParameterError, match=r"'cifar_lt\.data\.in_memory' is false, but dataset 'cifar100'"):
        run_pipeline(project, "cifar_lt", {"cifar_lt": {"data": {"in_memory": False}}})
    assert not any((project / "data" / "test_env").rglob("*.json"))


def test_broken_image_in_the_folder_names_the_file(tmp_path):
    project = image_folder_project(tmp_path / "p")
    victim = sorted((project / FOLDER / "train").rglob("*.png"))[0]
    victim.write_bytes(b"not a png")
    with pytest.raises(Exception, match=rf"{victim.name}: cannot decode image"):
        run_pipeline(
            project,
            "cifar_lt",
            {
                "cifar_lt": {
                    "dataset": "cifar10_jpg",
                    "data": {"in_memory": False, "workers": 0},
                    "split": {"imbalance_ratio": 1, "n_max": 30},  # every training image is used
                }
            },
        )
