"""``fmow_crops`` end to end through a real Kedro session (env ``test``) on a generated fMoW tree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import make_project_copy
from tests.fmow_fixtures import CORRUPT_JPEG, CORRUPT_JSON, EXPECTED_CSV_ROWS, EXPECTED_SKIPS, TREE, write_fmow_tree
from tests.pipelines.conftest import outputs_snapshot, run_pipeline, versioned

CROPS = Path("data/test_env/03_primary/fmow_crops/crops")
REPORTS = Path("data/test_env/08_reporting/fmow_crops")


def _versions(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = make_project_copy(tmp_path_factory.mktemp("fmow") / "project")
    write_fmow_tree(project / "data" / "01_raw" / "fmow")
    run_pipeline(project, "fmow_crops")
    return project


def test_crops_csvs_and_tables_in_one_version(project):
    folder = versioned(project / CROPS)
    assert {"train.csv", "val.csv", "test.csv", "categories.csv", "metadata.csv", "skipped.csv"} <= {
        p.name for p in folder.iterdir()
    }
    for split, n in EXPECTED_CSV_ROWS.items():
        table = pd.read_csv(folder / f"{split}.csv", header=None)  # PatchDrop's reader
        assert table.shape == (n, 2)
        assert table[0].between(0, 61).all()
        for path in table[1]:
            assert Path(path).is_absolute() and Path(path).is_relative_to(folder.resolve())  # this very version
            with Image.open(path) as img:
                assert img.size == (224, 224)
    skipped = pd.read_csv(folder / "skipped.csv")
    assert set(zip(skipped["split"], skipped["path"], skipped["reason"], strict=True)) == EXPECTED_SKIPS
    metadata = pd.read_csv(folder / "metadata.csv", keep_default_na=False)
    expected_boxes = {(b["ID"], rel.split("/", 1)[0]) for _, rel, _, boxes, _ in TREE for b in boxes}
    expected_boxes -= {(8, "train"), (6, "val")}  # too small; window off the image
    assert set(zip(metadata["box_id"], metadata["split"], strict=True)) == expected_boxes
    colours = {b["ID"]: b["colour"] for _, _, _, boxes, _ in TREE for b in boxes}
    for box_id, rel in zip(metadata["box_id"], metadata["crop"], strict=True):
        with Image.open(folder / rel) as img:  # the box fills the middle of its crop
            assert np.abs(np.asarray(img)[112, 112].astype(int) - colours[box_id]).max() < 15


def test_summary_and_plot(project):
    summary = json.loads(versioned(project / REPORTS / "summary.json").read_text())
    assert summary["crops"] == 7 and summary["skipped"] == 4
    assert summary["skipped_by_reason"] == {
        "empty_window": 1,
        "too_small": 1,
        "unreadable_image": 1,
        "unreadable_json": 1,
    }
    assert summary["skipped_examples"]["unreadable_image"] == [CORRUPT_JPEG]
    assert summary["skipped_examples"]["unreadable_json"] == [CORRUPT_JSON]
    assert {s: v["csv_rows"] for s, v in summary["splits"].items()} == EXPECTED_CSV_ROWS
    assert summary["splits"]["test"]["unlabelled_crops"] == 1
    assert summary["workers"] == 2 and summary["ratio_quirk"] is True and summary["category_order"] == "baseline"
    assert summary["crop_folder"] == str(versioned(project / CROPS).resolve())
    png = versioned(project / REPORTS / "overview.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_rerun_makes_a_new_version_and_keeps_the_old(project):
    first = versioned(project / CROPS)
    before = (first / "train.csv").read_bytes()
    run_pipeline(project, "fmow_crops", {"fmow_crops": {"ratio_quirk": False, "workers": 1}})
    versions = _versions(project / CROPS)
    assert len(versions) == 2 and len(_versions(project / REPORTS / "summary.json")) == 2
    assert (first / "train.csv").read_bytes() == before
    second = versioned(project / CROPS, versions[-1])
    paths = pd.read_csv(second / "train.csv", header=None)[1]
    assert all(Path(p).is_relative_to(second.resolve()) and Path(p).exists() for p in paths)
    summary = json.loads(versioned(project / REPORTS / "summary.json", versions[-1]).read_text())
    assert summary["ratio_quirk"] is False and summary["workers"] == 1
    zoo = pd.read_csv(second / "metadata.csv").set_index("box_id").loc[7]
    # intuitive ratios on the 200x100 image: w 50/200 -> 0.5 (12), h 40/100 -> 0.2 (4), vs the quirk's 57..113
    assert zoo[["x0", "y0", "x1", "y1"]].tolist() == [48, 26, 122, 74]


def test_run_config_records_the_checked_block(project):
    path = project / "data/test_env/02_intermediate/fmow_crops/run_config.json"
    config = json.loads(versioned(path, _versions(path)[0]).read_text())
    assert config == {
        "namespace": "fmow_crops",
        "splits": ["train", "val", "test"],
        "target_size": 224,
        "ratio_quirk": True,
        "category_order": "baseline",
        "resize": "cv2_linear",
        "jpeg_quality": 95,
        "workers": 2,
        "run": config["run"],
    }
    assert config["run"]["env"] == "test" and config["run"]["pipelines"] == ["fmow_crops"]


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory):
    """A raw tree and no outputs: the runs against it must fail and write nothing."""
    project = make_project_copy(tmp_path_factory.mktemp("fmow_clean") / "project")
    write_fmow_tree(project / "data" / "01_raw" / "fmow")
    return project


KEYS = "splits, target_size, ratio_quirk, category_order, resize, jpeg_quality, workers"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (  # (1) an unknown key of the block (fmow_crops is not namespaced: its keys are the top level)
            {"fmow_crops": {"split": ["train"]}},
            ("fmow_crops.split", f"is unknown (did you mean 'splits'?); known keys: {KEYS}"),
        ),
        (  # (2) a nested key under a setting (the block has no sub-blocks): the setting is named
            {"fmow_crops": {"resize": {"method": "pil_bilinear"}}},
            ("fmow_crops.resize", "must be one of 'cv2_linear', 'pil_bilinear', got {'method': 'pil_bilinear'}"),
        ),
        (  # (3) a wrong type
            {"fmow_crops": {"jpeg_quality": "high"}},
            ("fmow_crops.jpeg_quality", "must be an integer >= 1 and <= 100, got 'high'"),
        ),
        (
            {"fmow_crops": {"target_size": [224, 0]}},
            (
                "fmow_crops.target_size",
                "must be an integer >= 1 or a list of 2: [an integer, an integer], got [224, 0]",
            ),
        ),
        (  # a typo in the block's name: no node reads it, so the run is refused
            {"fmow_crop": {"workers": 1}},
            (
                "fmow_crop.workers",
                "(from --params) is not read by this run (did you mean 'fmow_crops'?); its parameter blocks are "
                "fmow_crops and the catalog switches download_raw",
            ),
        ),
    ],
)
def test_bad_parameter_names_the_full_key_and_nothing_is_written(clean_project, params, problem):
    with pytest.raises(ParameterError) as info:
        run_pipeline(clean_project, "fmow_crops", params)
    assert info.value.problems == [problem]
    assert str(info.value) == f"parameter '{problem[0]}' {problem[1]}"
    assert outputs_snapshot(clean_project) == {}


def test_every_bad_key_in_one_error(clean_project):
    params = {"fmow_crops": {"splits": "train", "workers": 0, "ratio_quirk": "yes", "colour": "rgb"}}
    with pytest.raises(ParameterError) as info:
        run_pipeline(clean_project, "fmow_crops", params)
    assert info.value.problems == [
        ("fmow_crops.colour", f"is unknown; known keys: {KEYS}"),
        ("fmow_crops.splits", "must be a list of strings, got 'train'"),
        ("fmow_crops.ratio_quirk", "must be true or false, got 'yes'"),
        ("fmow_crops.workers", "must be an integer >= 1 or null, got 0"),
    ]
    assert str(info.value).startswith("4 bad parameters:\n  - parameter 'fmow_crops.colour' is unknown")
    assert outputs_snapshot(clean_project) == {}


def test_a_split_missing_from_the_raw_tree_names_the_key_and_writes_no_crops(tmp_path):
    project = make_project_copy(tmp_path / "project")
    write_fmow_tree(project / "data" / "01_raw" / "fmow")
    with pytest.raises(DataError, match=r"^parameter 'fmow_crops\.splits': \['seq'\] not found under"):
        run_pipeline(project, "fmow_crops", {"fmow_crops": {"splits": ["train", "seq"]}})
    assert not (project / CROPS).exists()
    assert [path.split("/")[3] for path in outputs_snapshot(project)] == ["fmow_crops"]  # its run_config only


def test_missing_raw_tree_is_one_clear_error(tmp_path):
    project = make_project_copy(tmp_path / "project")
    with pytest.raises(Exception, match=r"01_raw/fmow: fMoW root folder does not exist"):
        run_pipeline(project, "fmow_crops")
    assert not (project / CROPS).exists()
