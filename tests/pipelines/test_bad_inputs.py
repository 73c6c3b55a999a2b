"""Bad inputs through real Kedro sessions: hostile fMoW records are counted skips, an empty training list
stops ``list_splits`` naming its file, a byte-order mark is stripped and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from longtail_lab.errors import DataError
from tests.fixtures import make_project_copy
from tests.fmow_fixtures import EXPECTED_SKIPS, write_fmow_tree
from tests.list_fixtures import write_list_dataset
from tests.pipelines.conftest import outputs_snapshot, run_pipeline, versioned

DEEP = '{"bounding_boxes": ' + "[" * 200_000 + "]" * 200_000 + "}"  # RecursionError in the JSON decoder
HOSTILE_FMOW = {  # file -> (record, reason, box id)
    "train/zoo/zoo_8/zoo_8_0_rgb.json": ({"bounding_boxes": [{"box": [1, 2, 1e20, 4], "ID": 3}]}, "bad_box", "3"),
    "train/zoo/zoo_9/zoo_9_0_rgb.json": ({"bounding_boxes": [{"box": [1, 2, 30, 40], "ID": 2**70}]}, "bad_box", ""),
    "val/zoo/zoo_7/zoo_7_0_rgb.json": (DEEP, "unreadable_json", ""),
}  # fmt: skip


def test_hostile_fmow_records_are_counted_skips_and_the_run_finishes(tmp_path):
    project = make_project_copy(tmp_path / "project")
    raw = write_fmow_tree(project / "data" / "01_raw" / "fmow")
    for rel, (record, _, _) in HOSTILE_FMOW.items():
        path = raw / rel
        path.parent.mkdir(parents=True)
        path.write_text(record if isinstance(record, str) else json.dumps(record))
        path.with_suffix(".jpg").write_bytes((raw / "train/zoo/zoo_3/zoo_3_0_rgb.jpg").read_bytes())
    run_pipeline(project, "fmow_crops")  # conf/test: two worker processes
    folder = versioned(project / "data/test_env/03_primary/fmow_crops/crops")
    skipped = pd.read_csv(folder / "skipped.csv", keep_default_na=False, dtype={"box_id": str})
    hostile = {(rel.split("/")[0], rel, reason) for rel, (_, reason, _) in HOSTILE_FMOW.items()}
    assert set(zip(skipped["split"], skipped["path"], skipped["reason"], strict=True)) == EXPECTED_SKIPS | hostile
    box_ids = dict(zip(skipped["path"], skipped["box_id"], strict=True))
    assert {rel: box_ids[rel] for rel in HOSTILE_FMOW} == {rel: box for rel, (_, _, box) in HOSTILE_FMOW.items()}
    summary = json.loads(versioned(project / "data/test_env/08_reporting/fmow_crops/summary.json").read_text())
    assert summary["crops"] == 7 and summary["skipped"] == 4 + 3
    assert summary["skipped_by_reason"]["bad_box"] == 2 and summary["skipped_by_reason"]["unreadable_json"] == 2


def _places(tmp_path: Path, edit) -> tuple[Path, Path]:
    project = make_project_copy(tmp_path / "project")
    root = project / "data" / "01_raw" / "places_lt"
    write_list_dataset(root, "places_lt")
    edit(root / "lists")
    return project, root / "lists"


@pytest.mark.parametrize("content", ["", "\n\n", "not-a-line\n"])
def test_an_empty_training_list_stops_list_splits_naming_the_file(tmp_path, content):
    project, lists = _places(tmp_path, lambda folder: (folder / "Places_LT_train.txt").write_text(content))
    params = {"places_lt": {"check": {"strict": False}}}
    with pytest.raises(DataError) as info:
        run_pipeline(project, "places_lt", params)
    left = " left (1 bad line(s) left out)" if content.strip() else ""
    assert str(info.value) == (
        f"{lists / 'Places_LT_train.txt'}: the list 'train' has no entries{left}; parameter "
        "'places_lt.lists.train' trains on it or ranks the classes by it, which needs at least one image"
    )
    written = list(outputs_snapshot(project))
    assert [path.split("/")[3] for path in written] == ["places_lt"]  # its run_config only
    assert "run_config.json" in written[0]


def test_a_byte_order_mark_is_stripped_and_recorded_with_file_checks_on(tmp_path):
    def add_bom(folder):
        path = folder / "Places_LT_val.txt"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    project, _ = _places(tmp_path, add_bom)
    run_pipeline(project, "places_lt")  # strict, files checked: a BOM-hidden first image would stop it
    summary = json.loads(versioned(project / "data/test_env/08_reporting/places_lt/list_summary.json").read_text())
    assert summary["check"]["problems"] == 0
    assert summary["check"]["lists"]["val"]["bom_stripped"] is True
    assert "bom_stripped" not in summary["check"]["lists"]["train"]
    lists = versioned(project / "data/test_env/02_intermediate/places_lt/lists")
    assert not (lists / "val.txt").read_text().startswith("\ufeff")
