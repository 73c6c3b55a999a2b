"""``seg_labels`` end to end through real Kedro sessions (env ``test``) on generated Cityscapes/GTAV/SYNTHIA trees."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import DatasetError
from PIL import Image

from longtail_lab.data.segmentation.label_spaces import (
    TRAINID19_NAMES,
    class_names,
)
from longtail_lab.data.segmentation.layouts import stal_label_path
from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import make_project_copy
from tests.pipelines.conftest import outputs_snapshot
from tests.seg_fixtures import (
    CITYSCAPES_FRAMES,
    CITYSCAPES_TO_TRAIN,
    GTAV_FRAMES,
    SYNTHIA_FRAMES,
    SYNTHIA_TO_TRAIN,
    cityscapes_paths,
    expected_counts,
    expected_train_ids,
    write_cityscapes,
    write_gtav,
    write_synthia,
)

NAMESPACES = ("cityscapes", "gtav", "synthia")


def run(project: Path, params: dict | None = None, namespaces: list[str] | None = None) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test", runtime_params=params or {}) as session:
        session.run(pipeline_names=["seg_labels"], namespaces=namespaces)


def versions(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")) if path.exists() else []


def latest(path: Path) -> Path:
    return path / versions(path)[-1] / path.name


def outputs(project: Path, ns: str) -> dict:
    primary = project / "data/test_env/03_primary/seg_labels" / ns
    reporting = project / "data/test_env/08_reporting/seg_labels" / ns
    return {
        "folder": latest(primary / "label_maps"),
        "stats": pd.read_csv(latest(primary / "class_pixel_stats.csv")),
        "summary": json.loads(latest(reporting / "summary.json").read_text()),
        "plot": latest(reporting / "class_pixel_frequencies.png"),
    }


def new_project(root: Path, cityscapes=True, gtav=True, synthia=True, **kwargs) -> tuple[Path, dict]:
    project = make_project_copy(root)
    raw = project / "data/01_raw"
    written = {}
    if cityscapes:
        written["cityscapes"] = write_cityscapes(raw / "cityscapes", missing_label=kwargs.get("missing_label", True))
    if gtav:
        written["gtav"] = write_gtav(raw / "gtav", corrupt_label=kwargs.get("corrupt_label", True))
    if synthia:
        written["synthia"] = write_synthia(raw / "synthia")
    return project, written


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    project, written = new_project(tmp_path_factory.mktemp("seg"))
    run(project)
    return project, written


EXPECTED = {
    "cityscapes": (CITYSCAPES_FRAMES, CITYSCAPES_TO_TRAIN),
    "gtav": (GTAV_FRAMES, CITYSCAPES_TO_TRAIN),
    "synthia": (SYNTHIA_FRAMES, SYNTHIA_TO_TRAIN),
}


@pytest.mark.parametrize("ns", NAMESPACES)
def test_class_pixel_statistics_are_exact(converted, ns):
    project, _ = converted
    out = outputs(project, ns)
    frames, table = EXPECTED[ns]
    counts, ignore = expected_counts(frames, table)
    stats = out["stats"]
    assert stats["class_id"].tolist() == list(range(19))
    assert stats["name"].tolist() == list(TRAINID19_NAMES)
    assert stats["pixels"].tolist() == counts.tolist()
    np.testing.assert_allclose(stats["pixel_fraction"], counts / counts.sum())
    present = [[raw for raw in pixels if table.get(raw) == c] for pixels in frames.values() for c in range(19)]
    images = np.array([bool(p) for p in present]).reshape(len(frames), 19).sum(axis=0)
    assert stats["images_containing"].tolist() == images.tolist()
    summary = out["summary"]
    assert summary["status"] == "converted"
    assert summary["converted"] == len(frames)
    assert (summary["labelled_pixels"], summary["ignore_pixels"]) == (counts.sum(), ignore)
    assert summary["ignore_fraction"] == pytest.approx(ignore / (128 * len(frames)))
    assert summary["absent_classes"] == [TRAINID19_NAMES[c] for c in range(19) if counts[c] == 0]
    assert out["plot"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("ns", NAMESPACES)
def test_written_train_id_images(converted, ns):
    project, written = converted
    folder = outputs(project, ns)["folder"]
    index = pd.read_csv(folder / "index.csv", keep_default_na=False)
    table = EXPECTED[ns][1]
    assert len(index) == len(written[ns])
    for (_, row), ids in zip(index.iterrows(), written[ns].values(), strict=True):
        img = Image.open(folder / row["label"])
        assert img.mode == "L"
        assert (np.asarray(img) == expected_train_ids(ids, table)).all(), row["label"]
        assert (project / "data/01_raw" / ns / row["image"]).is_file()
    per_image = pd.read_csv(folder / "class_pixels.csv", dtype={"label": str})
    assert per_image["label"].tolist() == index["label"].tolist()
    assert (per_image.drop(columns="label").sum(axis=1) == 128).all()


def test_cityscapes_layout_cities_and_stal_lists(converted):
    project, _ = converted
    out = outputs(project, "cityscapes")
    folder, summary = out["folder"], out["summary"]
    assert summary["city_counts"] == {"train": {"aachen": 2, "bochum": 1}, "val": {"frankfurt": 1}}
    assert summary["images_per_split"] == {"train": 3, "val": 1}
    check = summary["official_city_check"]
    assert check["train"]["complete"] is False and check["train"]["differences"]["aachen"] == {
        "found": 2,
        "official": 174,
    }
    for split in ("train", "val"):
        lines = (folder / "lists" / f"{split}.txt").read_text().splitlines()
        assert lines == [cityscapes_paths(*key)[0] for key in CITYSCAPES_FRAMES if key[0] == split]
        for line in lines:  # STAL's loader finds every label in the converted folder
            assert (folder / stal_label_path(line)).is_file()
            assert (project / "data/01_raw/cityscapes" / line).is_file()


def test_missing_and_corrupt_labels_are_reported_skips(converted):
    project, _ = converted
    city = outputs(project, "cityscapes")["summary"]
    assert city["images_found"] == 5 and city["skipped"] == 1
    assert city["skipped_files"] == [
        {
            "image": "leftImg8bit/train/bochum/bochum_000001_000019_leftImg8bit.png",
            "label": "gtFine/train/bochum/bochum_000001_000019_gtFine_labelIds.png",
            "reason": "label file missing",
        }
    ]
    gtav = outputs(project, "gtav")["summary"]
    assert gtav["images_found"] == 3 and gtav["converted"] == 2 and gtav["skipped"] == 1
    (skip,) = gtav["skipped_files"]
    assert skip["label"] == "labels/00003.png" and "cannot decode label image" in skip["reason"]


def test_rerun_makes_a_new_identical_version(converted, tmp_path):
    project, _ = converted
    label_maps = project / "data/test_env/03_primary/seg_labels/gtav/label_maps"
    (first,) = versions(label_maps)
    run(project, namespaces=["gtav"])
    first_version, second = versions(label_maps)
    assert first_version == first
    for name in ("labels/00001.png", "labels/00002.png", "class_pixels.csv", "index.csv"):
        assert (label_maps / first / "label_maps" / name).read_bytes() == (
            label_maps / second / "label_maps" / name
        ).read_bytes()
    # --namespaces=gtav touched no other dataset
    assert len(versions(project / "data/test_env/03_primary/seg_labels/cityscapes/label_maps")) == 1


@pytest.mark.slow  # three namespaces through one session; absent datasets are also covered by the unit tests
def test_only_cityscapes_present_runs_and_reports_the_others_absent(tmp_path):
    project, _ = new_project(tmp_path / "p", gtav=False, synthia=False, missing_label=False)
    run(project)
    assert outputs(project, "cityscapes")["summary"]["converted"] == 4
    for ns in ("gtav", "synthia"):
        out = outputs(project, ns)
        assert out["summary"]["status"] == "absent" and out["summary"]["converted"] == 0
        assert out["stats"]["pixels"].sum() == 0
    with pytest.raises(
        DataError, match=r"gtav: gtav dataset root does not exist \(parameter 'gtav\.seg_labels\.required'"
    ):
        run(project, {"gtav": {"seg_labels": {"required": True}}}, namespaces=["gtav"])


def test_unknown_ids_fail_clearly_or_are_counted(tmp_path):
    project = make_project_copy(tmp_path / "p")
    write_cityscapes(project / "data/01_raw/cityscapes", extra_ids={7: 100, 40: 20, 255: 8})
    with pytest.raises(DatasetError, match=r"aachen_000000_000019_gtFine_labelIds.png: label ids \[40, 255\]") as err:
        run(project, namespaces=["cityscapes"])
    cause = err.value
    while cause.__cause__ is not None:  # the catalog wraps the writer's error in DatasetErrors
        cause = cause.__cause__
    assert isinstance(cause, DataError)
    assert not versions(
        project / "data/test_env/03_primary/seg_labels/cityscapes/label_maps"
    )  # no half-written version

    run(project, {"cityscapes": {"seg_labels": {"unknown_ids": "to_ignore"}}}, namespaces=["cityscapes"])
    summary = outputs(project, "cityscapes")["summary"]
    assert summary["unknown_ids"] == {"40": 20, "255": 8}
    assert summary["converted"] == 4


def test_on_bad_label_error_names_the_missing_file(tmp_path):
    project, _ = new_project(tmp_path / "p", gtav=False, synthia=False)
    with pytest.raises(DatasetError, match=r"bochum_000001_000019_gtFine_labelIds.png: label file missing for image"):
        run(project, {"cityscapes": {"seg_labels": {"on_bad_label": "error"}}}, namespaces=["cityscapes"])


def test_synthia16_label_space_and_resize(tmp_path):
    project, written = new_project(tmp_path / "p", cityscapes=False, gtav=False)
    run(project, {"synthia": {"seg_labels": {"label_space": "synthia16", "resize": [8, 4]}}}, namespaces=["synthia"])
    out = outputs(project, "synthia")
    names = class_names("synthia16")
    counts, _ = expected_counts(SYNTHIA_FRAMES, SYNTHIA_TO_TRAIN)
    keep = [TRAINID19_NAMES.index(n) for n in names]
    assert out["stats"]["name"].tolist() == list(names)
    assert out["summary"]["resize"] == [8, 4] and out["summary"]["num_classes"] == 16
    # after a 2x nearest downscale the statistics count the written 8x4 maps
    assert out["stats"]["pixels"].sum() + out["summary"]["ignore_pixels"] == 2 * 32
    for name, ids in written["synthia"].items():
        label = np.asarray(Image.open(out["folder"] / "GT/LABELS" / f"{name}.png"))
        assert label.shape == (4, 8)
        full = expected_train_ids(ids, {raw: keep.index(t) for raw, t in SYNTHIA_TO_TRAIN.items() if t in keep})
        assert set(np.unique(label).tolist()) <= set(np.unique(full).tolist())
    assert counts[[9, 14, 16]].sum() == 0


def test_run_config_records_the_checked_block(converted):
    project, _ = converted
    for ns in NAMESPACES:
        config = json.loads(latest(project / "data/test_env/02_intermediate" / ns / "run_config.json").read_text())
        settings = {"label_space": "trainid19", "resize": None, "unknown_ids": "error", "on_bad_label": "skip"}
        assert config["seg_labels"] == {
            **settings,
            "workers": 1 if ns == "synthia" else 2,
            "required": False,
            **({"splits": ["train", "val"]} if ns == "cityscapes" else {}),
        }
        assert config["namespace"] == ns and config["run"]["env"] == "test"


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory):
    """Every dataset and no outputs: the runs against it must fail and write nothing."""
    project, _ = new_project(tmp_path_factory.mktemp("seg_clean"))
    return project


KEYS = "label_space, resize, unknown_ids, on_bad_label, workers, required"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (  # (1) an unknown key at the top of the namespace block
            {"gtav": {"seg_label": {"workers": 1}}},
            ("gtav.seg_label", "is unknown (did you mean 'seg_labels'?); known keys: seg_labels"),
        ),
        (  # (2) an unknown nested key
            {"cityscapes": {"seg_labels": {"split": ["val"]}}},
            ("cityscapes.seg_labels.split", f"is unknown (did you mean 'splits'?); known keys: {KEYS}, splits"),
        ),
        (  # ... splits is a Cityscapes key only
            {"gtav": {"seg_labels": {"splits": ["train"]}}},
            ("gtav.seg_labels.splits", f"is unknown; known keys: {KEYS}"),
        ),
        (  # (3) a wrong type
            {"synthia": {"seg_labels": {"workers": "two"}}},
            ("synthia.seg_labels.workers", "must be an integer >= 1, got 'two'"),
        ),
        (
            {"gtav": {"seg_labels": {"resize": 512}}},
            ("gtav.seg_labels.resize", "must be a list of 2: [an integer, an integer] or null, got 512"),
        ),
        (
            {"synthia": {"seg_labels": {"resize": [0, 4]}}},
            ("synthia.seg_labels.resize", "must be null or [width, height] with both >= 1, got [0, 4]"),
        ),
    ],
)
def test_bad_parameter_names_the_full_key_and_nothing_is_written(clean_project, params, problem):
    with pytest.raises(ParameterError) as info:
        run(clean_project, params)
    assert info.value.problems == [problem]
    assert str(info.value) == f"parameter '{problem[0]}' {problem[1]}"
    assert outputs_snapshot(clean_project) == {}


def test_every_bad_key_of_every_namespace_in_one_error(clean_project):
    params = {
        "cityscapes": {"seg_labels": {"label_space": "trainid20", "splits": "train"}},
        "gtav": {"seg_labels": {"required": "yes"}},
        "synthia": {"seg_labels": {"unknown_ids": "drop", "colours": True}},
    }
    with pytest.raises(ParameterError) as info:
        run(clean_project, params)
    spaces = "'trainid19', 'synthia16', 'synthia13', 'stal_compact16'"
    assert info.value.problems == [
        ("cityscapes.seg_labels.label_space", f"must be one of {spaces}, got 'trainid20'"),
        ("cityscapes.seg_labels.splits", "must be a list of strings or null, got 'train'"),
        ("gtav.seg_labels.required", "must be true or false, got 'yes'"),
        ("synthia.seg_labels.colours", f"is unknown; known keys: {KEYS}"),
        ("synthia.seg_labels.unknown_ids", "must be one of 'error', 'to_ignore', got 'drop'"),
    ]
    assert str(info.value).startswith("5 bad parameters:\n  - parameter 'cityscapes.seg_labels.label_space'")
    assert outputs_snapshot(clean_project) == {}


def test_a_split_missing_from_the_dataset_names_the_key_and_writes_no_labels(tmp_path):
    project, _ = new_project(tmp_path / "p", gtav=False, synthia=False)
    with pytest.raises(DataError, match=r"^parameter 'cityscapes\.seg_labels\.splits': .*split\(s\) \['test'\] not"):
        run(project, {"cityscapes": {"seg_labels": {"splits": ["train", "test"]}}}, namespaces=["cityscapes"])
    assert not versions(project / "data/test_env/03_primary/seg_labels/cityscapes/label_maps")
