"""Layout discovery of Cityscapes / GTAV / SYNTHIA roots, label decoding, STAL list paths, city counts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from longtail_lab.data.segmentation.layouts import (
    CITYSCAPES_CITY_COUNTS,
    city_count_check,
    decode_label,
    discover,
    image_size,
    stal_label_path,
)
from longtail_lab.errors import DataError
from tests.seg_fixtures import GTAV_FRAMES, H, W, cityscapes_paths, write_cityscapes, write_gtav, write_synthia


def test_cityscapes_pairs_cities_splits_and_missing_labels(tmp_path):
    write_cityscapes(tmp_path, missing_label=True)
    orphan = tmp_path / "gtFine/train/bochum/bochum_000009_000019_gtFine_labelIds.png"
    Image.fromarray(np.zeros((H, W), dtype=np.uint8)).save(orphan)
    index = discover("cityscapes", tmp_path)
    assert index.exists and index.layout == "cityscapes"
    assert [(s.split, s.city) for s in index.samples] == [
        ("train", "aachen"),
        ("train", "aachen"),
        ("train", "bochum"),
        ("val", "frankfurt"),
    ]
    first = index.samples[0]
    assert (first.image, first.label) == cityscapes_paths("train", "aachen", "000000_000019")
    assert [s.image for s in index.missing_labels] == ["leftImg8bit/train/bochum/bochum_000001_000019_leftImg8bit.png"]
    assert index.orphan_labels == ("gtFine/train/bochum/bochum_000009_000019_gtFine_labelIds.png",)
    assert index.splits == ("train", "val")

    val = index.select_splits(["val"])
    assert [s.city for s in val.samples] == ["frankfurt"] and not val.missing_labels and not val.orphan_labels
    assert index.select_splits(None) is index
    with pytest.raises(DataError, match=r"^parameter 'splits': .*split\(s\) \['test'\] not found; found \['train'"):
        index.select_splits(["train", "test"])
    with pytest.raises(DataError, match=r"^parameter 'cityscapes\.seg_labels\.splits': "):
        index.select_splits(["test"], "cityscapes.seg_labels.splits")


def test_cityscapes_bad_names_and_wrong_layout(tmp_path):
    bad = tmp_path / "a" / "leftImg8bit/train/aachen/bochum_000000_000019_leftImg8bit.png"
    bad.parent.mkdir(parents=True)
    Image.fromarray(np.zeros((2, 2, 3), dtype=np.uint8)).save(bad)
    with pytest.raises(DataError, match="bochum_000000_000019_leftImg8bit.png: not a Cityscapes image name"):
        discover("cityscapes", tmp_path / "a")
    (tmp_path / "b" / "images").mkdir(parents=True)
    with pytest.raises(DataError, match="no leftImg8bit/ folder; the cityscapes layout is"):
        discover("cityscapes", tmp_path / "b")
    with pytest.raises(DataError, match="no gtav images found"):
        discover("gtav", tmp_path / "b")
    with pytest.raises(DataError, match="layout 'kitti' is unknown"):
        discover("kitti", tmp_path)


def test_absent_root_is_reported_not_raised(tmp_path):
    index = discover("gtav", tmp_path / "nowhere")
    assert not index.exists and index.samples == ()


def test_gtav_and_synthia_layouts(tmp_path):
    write_gtav(tmp_path / "gtav", corrupt_label=True)
    (tmp_path / "gtav/images/00004.png").write_bytes((tmp_path / "gtav/images/00001.png").read_bytes())
    gtav = discover("gtav", tmp_path / "gtav")
    assert [(s.image, s.label, s.split) for s in gtav.samples] == [
        (f"images/{n}.png", f"labels/{n}.png", "all") for n in ("00001", "00002", "00003")
    ]
    assert [s.label for s in gtav.missing_labels] == ["labels/00004.png"]
    write_synthia(tmp_path / "synthia")
    synthia = discover("synthia", tmp_path / "synthia")
    assert [(s.image, s.label) for s in synthia.samples] == [
        ("RGB/0000000.png", "GT/LABELS/0000000.png"),
        ("RGB/0000001.png", "GT/LABELS/0000001.png"),
    ]


def test_decode_palette_indices_and_bad_label_files(tmp_path):
    written = write_gtav(tmp_path, corrupt_label=True)
    label = tmp_path / "labels/00001.png"
    assert Image.open(label).mode == "P"
    assert (decode_label("gtav", label) == written["00001"]).all()  # indices, not palette colours
    with pytest.raises(DataError, match=r"00003.png: cannot decode label image"):
        decode_label("gtav", tmp_path / "labels/00003.png")
    with pytest.raises(DataError, match=r"00003.png: cannot decode label image"):
        decode_label("synthia", tmp_path / "labels/00003.png")
    with pytest.raises(DataError, match="label image has mode RGB; expected single-channel ids"):
        decode_label("cityscapes", tmp_path / "images/00001.png")
    assert image_size(tmp_path / "images/00001.png") == (W, H)
    assert list(GTAV_FRAMES) == ["00001", "00002"]


def test_stal_list_line_to_label_path():
    line = "leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png"
    assert stal_label_path(line) == "gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png"
    # STAL's renamed source images follow the same rule
    assert (
        stal_label_path("leftImg8bit/train/gta5/gta5_00001_000019_leftImg8bit.png")
        == "gtFine/train/gta5/gta5_00001_000019_gtFine_labelTrainIds.png"
    )
    for bad in ("train/aachen/x_leftImg8bit.png", "leftImg8bit/train/x.png", "leftImg8bit/leftImg8bit.png"):
        with pytest.raises(DataError, match="STAL list line"):
            stal_label_path(bad)


def test_city_counts_against_the_official_splits():
    assert sum(CITYSCAPES_CITY_COUNTS["train"].values()) == 2975
    assert len(CITYSCAPES_CITY_COUNTS["train"]) == 18
    assert sum(CITYSCAPES_CITY_COUNTS["val"].values()) == 500
    full = {"train": dict(CITYSCAPES_CITY_COUNTS["train"]), "test": {"berlin": 3}}
    assert city_count_check(full) == {"train": {"complete": True, "official_total": 2975, "differences": {}}}
    partial = city_count_check({"val": {"frankfurt": 267, "lindau": 58, "bonn": 1}})
    assert partial["val"]["complete"] is False
    assert partial["val"]["differences"] == {
        "bonn": {"found": 1, "official": 0},
        "lindau": {"found": 58, "official": 59},
        "munster": {"found": 0, "official": 174},
    }
