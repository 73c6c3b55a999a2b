"""Hostile fMoW records: every per-file failure becomes a counted skip naming the file, never a crash."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from longtail_lab.data.fmow.crop_rule import (
    CATEGORIES_BASELINE,
    RecordError,
    index_layout,
    parse_boxes,
    read_record,
)
from longtail_lab.data.fmow.crop_writer import CropParams, plan_crops, summarise_crop_folder
from tests.fmow_fixtures import write_fmow_image

GOOD = "train/zoo/zoo_1/zoo_1_0_rgb"
# name -> (record text, skip reason, box id in skipped.csv or None for the whole file, words of the detail)
HOSTILE = {
    "huge_width": (
        json.dumps({"bounding_boxes": [{"box": [10, 10, 1e20, 30], "ID": 5, "category": "zoo"}]}),
        "bad_box",
        5,
        "out of range",
    ),
    "huge_id": (
        json.dumps({"bounding_boxes": [{"box": [10, 10, 30, 30], "ID": 2**70, "category": "zoo"}]}),
        "bad_box",
        None,
        "out of range",
    ),
    "huge_int_width": (
        json.dumps({"bounding_boxes": [{"box": [10, 10, 2**62, 30], "ID": 6, "category": "zoo"}]}),
        "bad_box",
        6,
        "out of range",
    ),
    "deep": ('{"bounding_boxes": ' + "[" * 200_000 + "]" * 200_000 + "}", "unreadable_json", None, "nested"),
}


def test_a_box_value_beyond_any_image_is_a_bad_box():
    found = parse_boxes({"bounding_boxes": [{"box": [1, 2, 1e20, 4], "ID": 3}, {"box": [1, 2, 30, 40], "ID": 4}]})
    assert found.ids.tolist() == [4]
    assert [(i, r) for i, r, _ in found.problems] == [(3, "bad_box")]
    assert "out of range" in found.problems[0][2]


def test_an_id_beyond_int64_is_a_bad_box_without_an_id():
    found = parse_boxes({"bounding_boxes": [{"box": [1, 2, 30, 40], "ID": 2**70}]})
    assert len(found.ids) == 0
    assert [(i, r) for i, r, _ in found.problems] == [(None, "bad_box")]
    assert str(2**70) in found.problems[0][2]


def test_deeply_nested_json_is_an_unreadable_record(tmp_path):
    path = tmp_path / "a_rgb.json"
    path.write_text(HOSTILE["deep"][0])
    with pytest.raises(RecordError) as err:
        read_record(path)
    assert err.value.reason == "unreadable_json"
    assert "nested" in str(err.value)


def test_hostile_records_are_counted_skips_and_the_good_image_is_cropped(tmp_path):
    raw, folder = tmp_path / "raw", tmp_path / "out"
    write_fmow_image(raw, GOOD, (100, 80), [{"box": [30, 20, 30, 30], "ID": 1, "category": "zoo"}])
    for name, (text, *_rest) in HOSTILE.items():
        base = f"train/zoo/{name}/{name}_0_rgb"
        write_fmow_image(raw, base, (100, 80), [{"box": [30, 20, 30, 30], "ID": 1, "category": "zoo"}])
        (raw / f"{base}.json").write_text(text)
    writer = plan_crops(index_layout(raw), CropParams(splits=("train",), workers=1))
    folder.mkdir()
    writer.write(folder, folder)
    skipped = pd.read_csv(folder / "skipped.csv", keep_default_na=False, dtype={"box_id": str})
    got = {row.path: (row.reason, row.box_id, row.detail) for row in skipped.itertuples()}
    assert set(got) == {f"train/zoo/{name}/{name}_0_rgb.json" for name in HOSTILE}
    for name, (_, reason, box_id, words) in HOSTILE.items():
        found_reason, found_id, detail = got[f"train/zoo/{name}/{name}_0_rgb.json"]
        assert (found_reason, found_id) == (reason, "" if box_id is None else str(box_id))
        assert words in detail
    summary = summarise_crop_folder(folder)
    assert summary["crops"] == 1 and summary["skipped"] == 4
    assert summary["skipped_by_reason"] == {"bad_box": 3, "unreadable_json": 1}
    assert summary["skipped_files"] == 2 and summary["skipped_boxes"] == 2
    metadata = pd.read_csv(folder / "metadata.csv")
    assert metadata["source_image"].tolist() == [f"{GOOD}.jpg"]
    assert metadata["label"].tolist() == [CATEGORIES_BASELINE.index("zoo")]


def _write(raw, folder, workers=1):
    writer = plan_crops(index_layout(raw), CropParams(splits=("train",), workers=workers))
    folder.mkdir()
    writer.write(folder, folder)
    return pd.read_csv(folder / "skipped.csv", keep_default_na=False, dtype={"box_id": str})


def test_any_other_failure_of_one_file_is_a_crop_failed_skip(tmp_path, monkeypatch):
    import longtail_lab.data.fmow.crop_rule as fmow

    raw = tmp_path / "raw"
    write_fmow_image(raw, GOOD, (100, 80), [{"box": [30, 20, 30, 30], "ID": 1, "category": "zoo"}])

    def broken(*args, **kwargs):
        raise ZeroDivisionError("the window rule broke")

    monkeypatch.setattr(fmow, "context_windows", broken)
    skipped = _write(raw, tmp_path / "out")
    assert skipped[["path", "reason", "detail"]].values.tolist() == [
        [f"{GOOD}.json", "crop_failed", "ZeroDivisionError: the window rule broke"]
    ]


def test_a_name_that_is_not_utf8_is_a_skip_not_a_crash_when_the_tables_are_written(tmp_path):
    raw = tmp_path / "raw"
    write_fmow_image(raw, GOOD, (100, 80), [{"box": [30, 20, 30, 30], "ID": 1, "category": "zoo"}])
    bad_dir = os.fsencode(raw / "train" / "zoo") + b"/zoo_\xff"
    os.makedirs(bad_dir)
    for ext in (b".jpg", b".json"):
        shutil.copy(os.fsencode(raw / GOOD) + ext, bad_dir + b"/zoo_\xff_0_rgb" + ext)
    skipped = _write(raw, tmp_path / "out")
    assert skipped[["path", "reason", "detail"]].values.tolist() == [
        ["train/zoo/zoo_\\xff", "bad_name", "not valid UTF-8"]
    ]
    assert pd.read_csv(tmp_path / "out" / "metadata.csv")["source_image"].tolist() == [f"{GOOD}.jpg"]
