"""Label tables and lookup tables: Cityscapes / GTAV / SYNTHIA ids -> trainIds and the SYNTHIA protocols."""

from __future__ import annotations

import typing

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from longtail_lab.data.segmentation.conversion import (
    BAD_LABEL_POLICIES,
    UNKNOWN_POLICIES,
    ConversionSettings,
    LabelMapWriter,
    class_stats_table,
    read_conversion,
)
from longtail_lab.data.segmentation.label_spaces import (
    LABEL_SPACES,
    TRAINID19_NAMES,
    cityscapes_train_id,
    class_names,
    class_pixel_counts,
    map_ids,
    resize_nearest,
    source_lut,
    space_lut,
    to_label_space,
)
from longtail_lab.data.segmentation.layouts import decode_label, discover
from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import SHARED_DATA
from tests.seg_fixtures import SYNTHIA_TO_TRAIN, png16_bytes

# The official cityscapesScripts table, written out by hand: id -> (name, trainId as evaluated; 255 = ignore).
OFFICIAL = {
    -1: ("license plate", 255), 0: ("unlabeled", 255), 1: ("ego vehicle", 255), 2: ("rectification border", 255),
    3: ("out of roi", 255), 4: ("static", 255), 5: ("dynamic", 255), 6: ("ground", 255), 7: ("road", 0),
    8: ("sidewalk", 1), 9: ("parking", 255), 10: ("rail track", 255), 11: ("building", 2), 12: ("wall", 3),
    13: ("fence", 4), 14: ("guard rail", 255), 15: ("bridge", 255), 16: ("tunnel", 255), 17: ("pole", 5),
    18: ("polegroup", 255), 19: ("traffic light", 6), 20: ("traffic sign", 7), 21: ("vegetation", 8),
    22: ("terrain", 9), 23: ("sky", 10), 24: ("person", 11), 25: ("rider", 12), 26: ("car", 13), 27: ("truck", 14),
    28: ("bus", 15), 29: ("caravan", 255), 30: ("trailer", 255), 31: ("train", 16), 32: ("motorcycle", 17),
    33: ("bicycle", 18),
}  # fmt: skip
# RIPU/STAL compact SYNTHIA indexing (segmentation_stal.md C.3)
STAL_COMPACT = {3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7,
    6: 8, 1: 9, 10: 10, 17: 11, 8: 12, 19: 13, 12: 14, 11: 15,
}  # fmt: skip
CITYSCAPES_SAMPLE = SHARED_DATA / "samples" / "cityscapes"
FRAME = "frankfurt_000000_000294"


def test_every_official_id_maps_as_the_table_says():
    assert len(OFFICIAL) == 35  # ids 0..33 and -1
    for label_id, (name, train_id) in OFFICIAL.items():
        assert cityscapes_train_id(label_id) == train_id, (label_id, name)
        if train_id != 255:
            assert TRAINID19_NAMES[train_id] == name
    assert sorted(t for _, t in OFFICIAL.values() if t != 255) == list(range(19))


@pytest.mark.parametrize("source", ["cityscapes", "gtav"])
def test_lookup_table_matches_the_table_for_all_34_ids(source):
    lut, known = source_lut(source)
    ids = np.arange(34, dtype=np.uint8).reshape(2, 17)
    mapped, unknown = map_ids(ids, lut, known, "error", "x.png")
    assert unknown == {}
    assert mapped.dtype == np.uint8
    assert mapped.ravel().tolist() == [OFFICIAL[i][1] for i in range(34)]
    assert known.tolist() == [i < 34 for i in range(256)]


def test_ids_outside_the_table_are_an_error_naming_file_and_values():
    lut, known = source_lut("cityscapes")
    ids = np.array([[7, 34, 255], [255, 7, 8]], dtype=np.uint8)
    with pytest.raises(DataError, match=r"frame\.png: label ids \[34, 255\] .*\{34: 1, 255: 2\}"):
        map_ids(ids, lut, known, "error", "frame.png")
    with pytest.raises(DataError, match="is not in the cityscapesScripts label table"):
        cityscapes_train_id(34)


def test_unknown_ids_to_ignore_are_counted():
    lut, known = source_lut("cityscapes")
    mapped, unknown = map_ids(np.array([[7, 34, 255, 40]], dtype=np.uint8), lut, known, "to_ignore", "f.png")
    assert mapped.tolist() == [[0, 255, 255, 255]]
    assert unknown == {34: 1, 40: 1, 255: 1}


def test_synthia_ids_to_19_trainids():
    lut, known = source_lut("synthia")
    ids = np.arange(23, dtype=np.uint16)[None]
    mapped, unknown = map_ids(ids, lut, known, "error", "s.png")
    assert unknown == {}
    assert mapped[0].tolist() == [SYNTHIA_TO_TRAIN.get(i, 255) for i in range(23)]
    # terrain, truck, train are never produced from SYNTHIA
    assert not {9, 14, 16} & set(mapped.ravel().tolist())
    # 16-bit values beyond the SYNTHIA ids are unknown; in to_ignore mode they become 255
    with pytest.raises(DataError, match=r"\[23, 300\]"):
        map_ids(np.array([[3, 23, 300]], dtype=np.uint16), lut, known, "error", "s.png")
    mapped, unknown = map_ids(np.array([[3, 23, 300]], dtype=np.uint16), lut, known, "to_ignore", "s.png")
    assert mapped.tolist() == [[0, 255, 255]] and unknown == {23: 1, 300: 1}


def test_synthia_16_and_13_class_protocols():
    names16 = class_names("synthia16")
    assert len(names16) == 16 and not {"terrain", "truck", "train"} & set(names16)
    names13 = class_names("synthia13")
    assert names13 == tuple(n for n in names16 if n not in ("wall", "fence", "pole"))
    ids = np.arange(23, dtype=np.uint16)[None]
    for space, names in (("synthia16", names16), ("synthia13", names13)):
        lut, known = source_lut("synthia", space)
        mapped, _ = map_ids(ids, lut, known, "error", "s.png")
        for raw in range(23):
            name = TRAINID19_NAMES[SYNTHIA_TO_TRAIN[raw]] if raw in SYNTHIA_TO_TRAIN else None
            expected = names.index(name) if name in names else 255
            assert mapped[0, raw] == expected, (space, raw)


def test_stal_compact16_is_ripus_indexing_and_clashes_with_19_class_ids():
    lut, known = source_lut("synthia", "stal_compact16")
    mapped, _ = map_ids(np.arange(23, dtype=np.uint16)[None], lut, known, "error", "s.png")
    assert {raw: int(mapped[0, raw]) for raw in STAL_COMPACT} == STAL_COMPACT
    # the documented inconsistency: SYNTHIA sky gets id 9, which is terrain among 19-class trainIds
    assert TRAINID19_NAMES[STAL_COMPACT[1]] == "terrain"


def test_trainid19_to_compact_spaces_for_evaluation():
    train_ids = np.array(list(range(19)) + [255])
    assert to_label_space(train_ids, "trainid19").tolist() == list(range(19)) + [255]
    assert to_label_space(train_ids, "synthia16").tolist() == [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 255, 9, 10, 11, 12, 255, 13, 255, 14, 15, 255,
    ]  # fmt: skip
    assert to_label_space(train_ids, "synthia13").tolist() == [
        0, 1, 2, 255, 255, 255, 3, 4, 5, 255, 6, 7, 8, 9, 255, 10, 255, 11, 12, 255,
    ]  # fmt: skip
    assert space_lut("synthia16")[200] == 255
    with pytest.raises(DataError, match="outside 0..255"):
        to_label_space(np.array([-1, 3]), "synthia16")
    with pytest.raises(DataError, match="unknown label space .synthia15."):
        to_label_space(train_ids, "synthia15")


def test_nearest_resize_keeps_only_existing_ids():
    rng = np.random.default_rng(0)
    label = rng.choice(np.array([0, 3, 13, 255], dtype=np.uint8), size=(37, 53))
    for size in ((20, 11), (101, 77), (53, 37)):
        out = resize_nearest(label, size)
        assert out.shape == (size[1], size[0]) and out.dtype == np.uint8
        assert set(np.unique(out).tolist()) <= {0, 3, 13, 255}
    # an exact 2x downscale picks one of each 2x2 block's pixels
    blocks = np.kron(np.arange(6, dtype=np.uint8).reshape(2, 3), np.ones((2, 2), dtype=np.uint8))
    assert resize_nearest(blocks, (3, 2)).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_sixteen_bit_png_round_trip(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 65535, size=(5, 7, 3)).astype(np.uint16)
    rgb[..., 0] = np.arange(35).reshape(5, 7) % 23
    path = tmp_path / "label.png"
    path.write_bytes(png16_bytes(rgb))
    ids = decode_label("synthia", path)
    assert ids.dtype == np.uint16 and ids.shape == (5, 7)
    assert (ids == rgb[..., 0]).all()
    # Pillow would have returned the high byte (0 for every class id): why SYNTHIA is decoded by torchvision
    assert (np.asarray(Image.open(path))[..., 0] == 0).all()


def test_class_pixel_counts_and_stray_ids():
    label = np.array([[0, 0, 1, 255], [18, 255, 255, 1]], dtype=np.uint8)
    counts, ignore = class_pixel_counts(label, 19)
    assert counts[[0, 1, 18]].tolist() == [2, 2, 1] and counts.sum() == 5 and ignore == 3
    with pytest.raises(DataError, match=r"ids \[16\] outside 0..15"):
        class_pixel_counts(np.array([[16]], dtype=np.uint8), 16)


def test_class_stats_table():
    pixels = pd.DataFrame({"label": ["a", "b"], "ignore": [5, 0], "0": [10, 0], "1": [0, 30], "2": [0, 0]})
    stats = class_stats_table(pixels, ("road", "sidewalk", "building"))
    assert stats["pixels"].tolist() == [10, 30, 0]
    assert stats["pixel_fraction"].tolist() == [0.25, 0.75, 0.0]
    assert stats["images_containing"].tolist() == [1, 1, 0]
    assert stats["image_fraction"].tolist() == [0.5, 0.5, 0.0]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"label_space": "x"}, "parameter 'gtav.seg_labels.label_space' must be one of 'trainid19', 'synthia16'"),
        ({"unknown_ids": "drop"}, "parameter 'gtav.seg_labels.unknown_ids' must be one of 'error', 'to_ignore'"),
        ({"on_bad_label": "warn"}, "parameter 'gtav.seg_labels.on_bad_label' must be one of 'skip', 'error'"),
        ({"resize": [0, 5]}, "parameter 'gtav.seg_labels.resize' must be null or [width, height] with both >= 1"),
        ({"resize": 512}, "parameter 'gtav.seg_labels.resize' must be a list of 2: [an integer, an integer] or null"),
        ({"workers": 0}, "parameter 'gtav.seg_labels.workers' must be an integer >= 1, got 0"),
        ({"workers": 2, "splits": ["train"]}, "parameter 'gtav.seg_labels.splits' is unknown; known keys: label_space"),
    ],
)
def test_bad_settings_name_the_parameter(params, message):
    with pytest.raises(ParameterError) as info:
        ConversionSettings.from_params(params, "gtav.seg_labels")
    assert str(info.value).startswith(message)
    assert len(info.value.problems) == 1


def test_conversion_settings_defaults_and_label_spaces():
    settings = ConversionSettings.from_params({"resize": [8, 4]}, "synthia.seg_labels")
    assert settings == ConversionSettings(resize=(8, 4))
    assert settings.to_dict() == {
        "label_space": "trainid19", "resize": [8, 4], "unknown_ids": "error", "on_bad_label": "skip", "workers": 4
    }  # fmt: skip
    assert typing.get_args(typing.get_type_hints(ConversionSettings)["label_space"]) == tuple(LABEL_SPACES)
    assert typing.get_args(typing.get_type_hints(ConversionSettings)["unknown_ids"]) == UNKNOWN_POLICIES
    assert typing.get_args(typing.get_type_hints(ConversionSettings)["on_bad_label"]) == BAD_LABEL_POLICIES


# ------------------------------------------------------------------------------ the real Cityscapes frame
@pytest.fixture
def real_frame():
    if not CITYSCAPES_SAMPLE.is_dir():
        pytest.skip(f"{CITYSCAPES_SAMPLE} is absent")
    return {kind: CITYSCAPES_SAMPLE / f"{FRAME}_{kind}.png" for kind in ("leftImg8bit", "gtFine_labelIds")} | {
        kind: CITYSCAPES_SAMPLE / f"{FRAME}_gtFine_{kind}.png" for kind in ("labelTrainIds", "instanceIds")
    }


def test_real_frame_label_ids_map_to_its_train_ids_but_77_boundary_pixels(real_frame):
    ids = decode_label("cityscapes", real_frame["gtFine_labelIds"])
    train = np.asarray(Image.open(real_frame["labelTrainIds"]))
    lut, known = source_lut("cityscapes")
    mapped, unknown = map_ids(ids, lut, known, "error", "real")
    assert unknown == {}
    assert ids.size == 32_768
    assert int((mapped != train).sum()) == 77
    instances = np.asarray(Image.open(real_frame["instanceIds"])).astype(np.int64)
    assert (np.where(instances >= 1000, instances // 1000, instances) == ids).all()


def test_real_frame_through_the_writer(real_frame, tmp_path):
    """The frame linked into a Cityscapes tree (not copied) and converted like a dataset."""
    root = tmp_path / "cityscapes"
    for kind, sub in (("leftImg8bit", "leftImg8bit"), ("gtFine_labelIds", "gtFine")):
        folder = root / sub / "val" / "frankfurt"
        folder.mkdir(parents=True)
        (folder / real_frame[kind].name).symlink_to(real_frame[kind])
    out = tmp_path / "out"
    out.mkdir()
    LabelMapWriter(discover("cityscapes", root), ConversionSettings(workers=1)).write(out, out)
    written = np.asarray(Image.open(out / "gtFine/val/frankfurt" / f"{FRAME}_gtFine_labelTrainIds.png"))
    assert int((written != np.asarray(Image.open(real_frame["labelTrainIds"]))).sum()) == 77
    report, pixels = read_conversion(out)
    assert report["city_counts"] == {"val": {"frankfurt": 1}}
    assert int(pixels.drop(columns="label").to_numpy().sum()) == 32_768
    assert (out / "lists" / "val.txt").read_text() == f"leftImg8bit/val/frankfurt/{FRAME}_leftImg8bit.png\n"
