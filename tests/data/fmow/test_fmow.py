"""fMoW crop rule (fMoW baseline ``_process_file``), records, layout index, resize and the crop writer."""

from __future__ import annotations

import json
import typing

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from longtail_lab.data.fmow.crop_rule import (
    CATEGORIES_ALPHABETICAL,
    CATEGORIES_BASELINE,
    CATEGORY_ORDERS,
    RESIZE_METHODS,
    CropOptions,
    RecordError,
    band_multiplier,
    context_windows,
    crop_image,
    index_layout,
    parse_boxes,
    read_record,
    resize_linear,
)
from longtail_lab.data.fmow.crop_writer import CropParams, plan_crops, summarise_crop_folder
from longtail_lab.errors import DataError, ParameterError
from tests.fmow_fixtures import (
    CORRUPT_JPEG,
    CORRUPT_JSON,
    EXPECTED_CSV_ROWS,
    EXPECTED_SKIPS,
    GREEN,
    RED,
    write_fmow_image,
    write_fmow_tree,
)

# Hand-computed: box side s in an image whose relevant extent is 500 px (quirk: rows for widths,
# cols for heights) -> (multiplier, int(s * m / 2)). Edges 0.5, 0.4 and 0.1 belong to the band above.
BANDS = {
    260: (0.15, 19),  # 0.52
    250: (0.15, 18),  # 0.50
    220: (0.2, 22),  # 0.44
    200: (0.2, 20),  # 0.40
    170: (0.3, 25),  # 0.34
    120: (0.5, 30),  # 0.24
    70: (1.0, 35),  # 0.14
    50: (1.0, 25),  # 0.10
    30: (2.0, 30),  # 0.06
}
# The same boxes placed at offset 300: window = [300 - buffer, 300 + s + buffer).
BAND_WINDOWS = {
    260: (281, 579),
    250: (282, 568),
    220: (278, 542),
    200: (280, 520),
    170: (275, 495),
    120: (270, 450),
    70: (265, 405),
    50: (275, 375),
    30: (270, 360),
}


def test_every_width_band_with_the_quirk():
    # image 500 rows x 1000 cols: width ratio = w / 500 (rows); the 40 px height: 40 / 1000 -> m 2, buffer 40
    sides = list(BANDS)
    boxes = np.array([[300, 200, s, 40] for s in sides])
    found = context_windows(boxes, (500, 1000))
    assert found.ok.all()
    assert found.multipliers[:, 0].tolist() == [BANDS[s][0] for s in sides]
    assert found.multipliers[:, 1].tolist() == [2.0] * len(sides)
    assert found.windows.tolist() == [[*BAND_WINDOWS[s][:1], 160, BAND_WINDOWS[s][1], 280] for s in sides]


def test_every_height_band_with_the_quirk():
    # image 1000 rows x 500 cols: height ratio = h / 500 (cols); the 40 px width: 40 / 1000 -> m 2, buffer 40
    sides = list(BANDS)
    boxes = np.array([[200, 300, 40, s] for s in sides])
    found = context_windows(boxes, (1000, 500))
    assert found.multipliers[:, 1].tolist() == [BANDS[s][0] for s in sides]
    assert found.multipliers[:, 0].tolist() == [2.0] * len(sides)
    assert found.windows.tolist() == [[160, BAND_WINDOWS[s][0], 280, BAND_WINDOWS[s][1]] for s in sides]


def test_band_multiplier_edges():
    ratios = [0.0, 0.0999, 0.1, 0.1999, 0.2, 0.3, 0.3999, 0.4, 0.4999, 0.5, 1.0, 7.0]
    assert band_multiplier(ratios).tolist() == [2, 2, 1, 1, 0.5, 0.3, 0.3, 0.2, 0.2, 0.15, 0.15, 0.15]


def test_quirk_and_intuitive_ratios_differ_on_a_non_square_image():
    box = np.array([[400, 200, 120, 120]])
    quirk = context_windows(box, (500, 1000), ratio_quirk=True)  # w/500 = 0.24 -> 0.5; h/1000 = 0.12 -> 1
    assert quirk.multipliers.tolist() == [[0.5, 1.0]]
    assert quirk.windows.tolist() == [[370, 140, 550, 380]]
    plain = context_windows(box, (500, 1000), ratio_quirk=False)  # w/1000 = 0.12 -> 1; h/500 = 0.24 -> 0.5
    assert plain.multipliers.tolist() == [[1.0, 0.5]]
    assert plain.windows.tolist() == [[340, 170, 580, 350]]
    square = np.array([[10, 10, 120, 120]])
    same = [context_windows(square, (600, 600), ratio_quirk=q).windows.tolist() for q in (True, False)]
    assert same[0] == same[1]


def test_windows_are_clipped_at_all_four_borders():
    # 100 rows x 200 cols. Top-left box: w/100 = 0.2 -> 0.5 (buffer 5), h/200 = 0.05 -> 2 (buffer 10).
    # Bottom-right box: w/100 = 0.14 -> 1 (buffer 7), h/200 = 0.05 -> 2 (buffer 10). Full box: 0.15 both.
    boxes = np.array([[2, 3, 20, 10], [185, 88, 14, 10], [0, 0, 200, 100]])
    found = context_windows(boxes, (100, 200))
    assert found.ok.all()
    assert found.windows.tolist() == [[0, 0, 27, 23], [178, 78, 200, 100], [0, 0, 200, 100]]


def test_tiny_and_empty_boxes_are_flagged():
    boxes = np.array(
        [
            [10, 10, 2, 50],  # w <= 2
            [10, 10, 50, 2],  # h <= 2
            [10, 10, -5, 50],  # negative width
            [10, 10, 3, 3],  # smallest kept box
            [300, 10, 20, 20],  # starts right of a 200-wide image
            [-100, 10, 20, 20],  # ends left of it (buffer 5 -> x1 = -75)
            [10, 150, 20, 20],  # below a 100-row image
        ]
    )
    found = context_windows(boxes, (100, 200))
    assert found.status.tolist() == ["too_small"] * 3 + ["", "empty_window", "empty_window", "empty_window"]


def _scalar_rule(box, rows, cols, quirk):
    """Straight transcription of the baseline's per-box code, for the vectorised version to match."""
    x, y, w, h = box
    if w <= 2 or h <= 2:
        return None
    mw = mh = 0.15
    wr, hr = (w / rows, h / cols) if quirk else (w / cols, h / rows)
    for lo, hi, m in ((0.4, 0.5, 0.2), (0.3, 0.4, 0.3), (0.2, 0.3, 0.5), (0.1, 0.2, 1), (-1e9, 0.1, 2)):
        mw = m if lo <= wr < hi else mw
        mh = m if lo <= hr < hi else mh
    wb, hb = int((w * mw) / 2.0), int((h * mh) / 2.0)
    r1, r2, c1, c2 = max(y - hb, 0), min(y + h + hb, rows), max(x - wb, 0), min(x + w + wb, cols)
    return None if r1 >= r2 or c1 >= c2 else [c1, r1, c2, r2]


@pytest.mark.parametrize("quirk", [True, False])
def test_vectorised_rule_matches_the_per_box_transcription(quirk):
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(50, 3000, 400), rng.integers(50, 3000, 400)
    w, h = rng.integers(-3, 2500, 400), rng.integers(-3, 2500, 400)
    x, y = rng.integers(-200, 3000, 400), rng.integers(-200, 3000, 400)
    boxes = np.stack([x, y, w, h], 1)
    found = context_windows(boxes, np.stack([rows, cols], 1), ratio_quirk=quirk)
    for i in range(400):
        expected = _scalar_rule(boxes[i].tolist(), int(rows[i]), int(cols[i]), quirk)
        assert (found.windows[i].tolist() if found.ok[i] else None) == expected


def test_parse_boxes_single_dict_list_and_bad_entries():
    single = parse_boxes({"bounding_boxes": {"box": [1, 2, 30, 40], "ID": 9, "category": "dam"}})
    assert single.boxes.tolist() == [[1, 2, 30, 40]] and single.ids.tolist() == [9] and single.categories == ("dam",)
    mixed = parse_boxes(
        {
            "bounding_boxes": [
                {"box": [1.0, 2, 30, 40], "ID": 1},  # integral floats are fine; no category (test set)
                {"box": [1, 2, 30], "ID": 2, "category": "dam"},
                {"box": [1, 2, 3.5, 4], "ID": 3},
                {"ID": 4},
                {"box": [1, 2, 30, 40], "ID": 1, "category": "dam"},
                "junk",
            ]
        }
    )
    assert mixed.ids.tolist() == [1] and mixed.categories == (None,)
    assert [(i, r) for i, r, _ in mixed.problems] == [
        (2, "bad_box"),
        (3, "bad_box"),
        (4, "bad_box"),
        (1, "duplicate_box_id"),
        (None, "bad_box"),
    ]


@pytest.mark.parametrize(
    "content", [b'{"bounding_boxes": [', b"[1, 2]", b'{"gsd": 0.5}', b"\xff\xfe\x00garbage", b'{"bounding_boxes": 3}']
)
def test_unreadable_records_raise_record_errors(tmp_path, content):
    path = tmp_path / "a_rgb.json"
    path.write_bytes(content)
    with pytest.raises(RecordError) as err:
        parse_boxes(read_record(path))
    assert err.value.reason == "unreadable_json"


def test_resize_linear_matches_torch_bilinear_without_antialias():
    rng = np.random.default_rng(1)
    for h, w in [(37, 53), (224, 224), (500, 260), (1000, 900), (112, 448)]:
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ours = resize_linear(image, (224, 224)).astype(int)
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float()
        ref = torch.nn.functional.interpolate(tensor, (224, 224), mode="bilinear", align_corners=False, antialias=False)
        ref = ref[0].permute(1, 2, 0).to(torch.uint8).numpy().astype(int)  # truncation, like astype(np.uint8)
        assert np.abs(ours - ref).max() <= 1
        assert (ours == ref).mean() > 0.99
        if (h, w) == (224, 224):
            assert np.array_equal(ours, image)


def test_resize_linear_halving_averages_two_by_two_blocks():
    image = np.random.default_rng(2).integers(0, 256, (8, 6, 3), dtype=np.uint8)
    blocks = image.reshape(4, 2, 3, 2, 3).astype(np.float32).mean(axis=(1, 3))
    assert np.array_equal(resize_linear(image, (3, 4)), np.floor(blocks + 1e-4).astype(np.uint8))


def test_categories_lists():
    assert len(CATEGORIES_BASELINE) == 62 == len(set(CATEGORIES_BASELINE))
    assert "false_detection" not in CATEGORIES_BASELINE
    assert CATEGORIES_ALPHABETICAL == tuple(sorted(CATEGORIES_BASELINE))
    assert CATEGORIES_BASELINE.index("impoverished_settlement") == 42  # baseline label 43 - 1
    assert CATEGORIES_ALPHABETICAL.index("impoverished_settlement") == 25
    assert CATEGORIES_BASELINE[0] == "airport" and CATEGORIES_BASELINE[-1] == "zoo"


def _options(**kw):
    return CropOptions(labels={n: i for i, n in enumerate(CATEGORIES_BASELINE)}, **kw)


def test_crop_image_writes_the_context_window_at_224(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    boxes = [
        {"box": [200, 120, 100, 60], "ID": 3, "category": "port", "colour": GREEN},  # 100/400 rows -> 0.5
        {"box": [20, 20, 2, 40], "ID": 4, "category": "port"},  # too small
        {"box": [20, 20, 40, 40], "ID": 5, "category": "false_detection"},
    ]
    write_fmow_image(raw, "train/port/port_1/port_1_0_rgb", (600, 400), boxes)
    task = ("train", "category", "port/port_1", "train/port/port_1/port_1_0_rgb.json")
    task += ("train/port/port_1/port_1_0_rgb.jpg", "port_1_0_rgb")
    crops, skips = crop_image(task, raw, out, _options())
    # widths: 100 / 400 rows = 0.25 -> 0.5 (buffer 25); heights: 60 / 600 cols = 0.1 -> 1 (buffer 30)
    assert len(crops) == 1
    row = dict(zip(["split", "source", "id", "cat", "label", "x0", "y0", "x1", "y1"], crops[0][:9], strict=True))
    assert (row["id"], row["cat"], row["label"]) == (3, "port", CATEGORIES_BASELINE.index("port"))
    assert (row["x0"], row["y0"], row["x1"], row["y1"]) == (175, 90, 325, 210)
    assert crops[0][-3:] == (0.5, 1.0, "images/train/port/port_1/port_3/port_1_0_rgb.jpg")
    assert sorted((s[2], s[3]) for s in skips) == [(4, "too_small"), (5, "unknown_category")]
    with Image.open(out / crops[0][-1]) as crop:
        assert crop.size == (224, 224) and crop.format == "JPEG"
        pixels = np.asarray(crop.convert("RGB")).astype(int)
    assert np.abs(pixels[112, 112] - GREEN).max() < 12  # the box sits in the middle of its context
    # the box spans crop columns 25/150*224 .. 125/150*224 -> the border columns are background
    assert np.abs(pixels[112, 5] - GREEN).max() > 60 and np.abs(pixels[5, 112] - GREEN).max() > 60


def test_pil_option_resizes_with_antialiasing(tmp_path):
    raw = tmp_path / "raw"
    write_fmow_image(raw, "test/0000009/0000009_0_rgb", (600, 400), [{"box": [100, 100, 300, 200], "ID": 1}])
    task = ("test", "flat", "0000009", "test/0000009/0000009_0_rgb.json", "test/0000009/0000009_0_rgb.jpg")
    task += ("0000009_0_rgb",)
    outs = {}
    for method in ("cv2_linear", "pil_bilinear"):
        crops, _ = crop_image(task, raw, tmp_path / method, _options(resize=method))
        assert crops[0][4] == -1 and crops[0][-1] == "images/test/0000009/1/0000009_0_rgb.jpg"
        with Image.open(tmp_path / method / crops[0][-1]) as img:
            assert img.size == (224, 224)
            outs[method] = np.asarray(img).astype(int)
    assert np.abs(outs["cv2_linear"] - outs["pil_bilinear"]).mean() < 10  # same window, different filter


def test_index_layout_reports_unusable_files(tmp_path):
    root = write_fmow_tree(tmp_path / "fmow")
    (root / "train" / "airport" / "airport_0" / "airport_0_9_rgb.jpg").write_bytes(b"x")  # no JSON
    (root / "val" / "airport" / "airport_5" / "airport_5_7_rgb.json").write_text("{}")  # no image
    (root / "train" / "stray_rgb.json").write_text("{}")  # wrong depth
    index = index_layout(root)
    assert index.splits == ("test", "train", "val")
    assert len(index.images) == 9  # the 7 good images + the corrupt JPEG + the corrupt JSON; no _msrgb
    assert not index.images["json"].str.contains("msrgb").any()
    assert set(index.images["layout"]) == {"category", "flat"}
    got = set(zip(index.problems["path"], index.problems["reason"], strict=True))
    assert got == {
        ("train/airport/airport_0/airport_0_9_rgb.jpg", "missing_json"),
        ("val/airport/airport_5/airport_5_7_rgb.json", "missing_image"),
        ("train/stray_rgb.json", "bad_layout"),
    }
    with pytest.raises(DataError, match="does not exist"):
        index_layout(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"split": ["train"]}, "parameter 'fmow_crops.split' is unknown (did you mean 'splits'?)"),
        ({"splits": "train"}, "parameter 'fmow_crops.splits' must be a list of strings, got 'train'"),
        ({"splits": []}, "parameter 'fmow_crops.splits' must name at least one split, got []"),
        ({"category_order": "random"}, "parameter 'fmow_crops.category_order' must be one of 'baseline', 'alpha"),
        ({"resize": "nearest"}, "parameter 'fmow_crops.resize' must be one of 'cv2_linear', 'pil_bilinear'"),
        ({"jpeg_quality": 0}, "parameter 'fmow_crops.jpeg_quality' must be an integer >= 1 and <= 100, got 0"),
        ({"workers": 0}, "parameter 'fmow_crops.workers' must be an integer >= 1 or null, got 0"),
        ({"target_size": [224]}, "parameter 'fmow_crops.target_size' must be an integer >= 1 or a list of 2"),
        ({"target_size": [224, 0]}, "parameter 'fmow_crops.target_size' must be an integer >= 1 or a list of 2"),
        ({"ratio_quirk": "yes"}, "parameter 'fmow_crops.ratio_quirk' must be true or false, got 'yes'"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ParameterError) as info:
        CropParams.from_params(params, "fmow_crops")
    assert str(info.value).startswith(message)
    assert len(info.value.problems) == 1


def test_splits_missing_from_the_raw_tree_are_named(tmp_path):
    index = index_layout(write_fmow_tree(tmp_path / "fmow"))
    with pytest.raises(DataError, match=r"^parameter 'fmow_crops\.splits': \['seq'\] not found under .*fmow"):
        plan_crops(index, CropParams(splits=("train", "seq")))


def test_crop_params_defaults_and_choices_match_the_crop_rule():
    params = CropParams.from_params(None, "fmow_crops")
    assert params.to_dict() == {
        "splits": ["train", "val", "test"], "target_size": 224, "ratio_quirk": True, "category_order": "baseline",
        "resize": "cv2_linear", "jpeg_quality": 95, "workers": None,
    }  # fmt: skip
    assert params.size == (224, 224)
    assert CropParams.from_params({"target_size": [300, 200]}, "fmow_crops").size == (300, 200)
    hints = typing.get_type_hints(CropParams)
    assert typing.get_args(hints["category_order"]) == tuple(CATEGORY_ORDERS)
    assert typing.get_args(hints["resize"]) == RESIZE_METHODS


def _write(tmp_path, params, name):
    index = index_layout(tmp_path / "fmow")
    folder, final = tmp_path / name / "tmp", tmp_path / name / "final"
    folder.mkdir(parents=True)
    plan_crops(index, CropParams.from_params(params, "fmow_crops")).write(folder, final)
    return folder, final


def test_writer_outputs_patchdrop_csvs_tables_and_skips(tmp_path):
    write_fmow_tree(tmp_path / "fmow")
    folder, final = _write(tmp_path, {"workers": 1}, "a")
    for split, n in EXPECTED_CSV_ROWS.items():
        table = pd.read_csv(folder / f"{split}.csv", header=None)
        assert table.shape == (n, 2)
        assert table[0].dtype.kind == "i" and table[0].between(0, 61).all()
        for path in table[1]:
            assert path.startswith(str(final) + "/images/")
            with Image.open(folder / path[len(str(final)) + 1 :]) as img:
                assert img.size == (224, 224)
    train = pd.read_csv(folder / "train.csv", header=None)
    assert sorted(train[0]) == [0, 0, 19, 61]  # airport x2, fountain, zoo (baseline order)
    assert pd.read_csv(folder / "test.csv", header=None)[0].tolist() == [42]  # the labelled test box only
    categories = pd.read_csv(folder / "categories.csv")
    assert categories["name"].tolist() == list(CATEGORIES_BASELINE) and categories["label"].tolist() == list(range(62))
    skipped = pd.read_csv(folder / "skipped.csv")
    assert set(zip(skipped["split"], skipped["path"], skipped["reason"], strict=True)) == EXPECTED_SKIPS
    metadata = pd.read_csv(folder / "metadata.csv", keep_default_na=False)
    assert len(metadata) == 7 and (metadata["label"] == -1).sum() == 1  # the unlabelled public-test box
    zoo = metadata[metadata["box_id"] == 7].iloc[0]
    assert zoo[["x0", "y0", "x1", "y1", "image_width", "image_height"]].tolist() == [57, 20, 113, 80, 200, 100]
    summary = summarise_crop_folder(folder)
    assert summary["crops"] == 7 and summary["skipped"] == 4
    assert (summary["skipped_files"], summary["skipped_boxes"]) == (2, 2)
    assert summary["splits"]["train"]["skipped_by_reason"] == {
        "too_small": 1,
        "unreadable_image": 1,
        "unreadable_json": 1,
    }
    assert summary["splits"]["test"]["unlabelled_crops"] == 1
    assert summary["skipped_examples"]["unreadable_image"] == [CORRUPT_JPEG]
    assert summary["skipped_examples"]["unreadable_json"] == [CORRUPT_JSON]
    assert summary["crops_per_category"]["airport"] == 3
    assert sum(summary["multiplier_counts"]["width"].values()) == 7
    with Image.open(folder / metadata[metadata["box_id"] == 100].iloc[0]["crop"]) as img:
        assert np.abs(np.asarray(img)[112, 112].astype(int) - RED).max() < 12


def test_alphabetical_order_and_the_pool_give_the_same_crops(tmp_path):
    write_fmow_tree(tmp_path / "fmow")
    serial, _ = _write(tmp_path, {"workers": 1, "splits": ["train", "test"]}, "serial")
    pooled, _ = _write(tmp_path, {"workers": 2, "splits": ["train", "test"], "category_order": "alphabetical"}, "pool")
    assert not (pooled / "val.csv").exists()
    assert pd.read_csv(pooled / "test.csv", header=None)[0].tolist() == [25]
    a = pd.read_csv(serial / "metadata.csv").drop(columns="label")
    b = pd.read_csv(pooled / "metadata.csv").drop(columns="label")
    pd.testing.assert_frame_equal(a, b)
    for rel in a["crop"]:
        assert (serial / rel).read_bytes() == (pooled / rel).read_bytes()
    assert json.loads((pooled / "crop_run.json").read_text())["workers"] == 2


def test_fixture_images_hit_every_band_and_every_border(tmp_path):
    """The same hand-computed windows, through real fMoW-layout files and the writer."""
    raw = tmp_path / "fmow"
    wide = [{"box": [300, 200, s, 40], "ID": s, "category": "park"} for s in BANDS]  # 1000 cols x 500 rows
    tall = [{"box": [200, 300, 40, s], "ID": 1000 + s, "category": "park"} for s in BANDS]  # 500 cols x 1000 rows
    edges = [{"box": b, "ID": 2000 + i, "category": "park"} for i, b in enumerate([[2, 3, 20, 10], [185, 88, 14, 10]])]
    write_fmow_image(raw, "train/park/park_1/park_1_0_rgb", (1000, 500), wide)
    write_fmow_image(raw, "train/park/park_2/park_2_0_rgb", (500, 1000), tall)
    write_fmow_image(raw, "train/park/park_3/park_3_0_rgb", (200, 100), edges)
    folder, _ = _write(tmp_path, {"workers": 1, "splits": ["train"]}, "bands")
    meta = pd.read_csv(folder / "metadata.csv").set_index("box_id")
    for s, (lo, hi) in BAND_WINDOWS.items():
        assert meta.loc[s, ["x0", "y0", "x1", "y1", "mult_w", "mult_h"]].tolist() == [lo, 160, hi, 280, BANDS[s][0], 2]
        row = meta.loc[1000 + s, ["x0", "y0", "x1", "y1", "mult_w", "mult_h"]].tolist()
        assert row == [160, lo, 280, hi, 2, BANDS[s][0]]
    assert meta.loc[[2000, 2001], ["x0", "y0", "x1", "y1"]].values.tolist() == [[0, 0, 27, 23], [178, 78, 200, 100]]
    assert len(pd.read_csv(folder / "train.csv", header=None)) == 2 * len(BANDS) + 2
